package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/installer"
)

// TestEnrollLog: enroll --log appends the failure as the command prints
// it, creating the folder (the MSI's custom action reads nothing else).
func TestEnrollLog(t *testing.T) {
	file := filepath.Join(t.TempDir(), "new", "enroll.log")
	var stdout, stderr bytes.Buffer
	for range 2 {
		if code := run([]string{"enroll", "--token", "wacht1_not-a-token", "--data", t.TempDir(), "--log", file}, &stdout, &stderr); code != 1 {
			t.Fatalf("exit %d, want 1; stderr %s", code, stderr.String())
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ wacht-agent enroll: .*token.*$`)
	if n := len(line.FindAll(b, -1)); n != 2 {
		t.Errorf("enroll.log has %d failure lines, want 2:\n%s", n, b)
	}
	if !bytes.Contains(stderr.Bytes(), bytes.TrimSpace(bytes.SplitN(b, []byte(" "), 2)[1][:20])) {
		t.Errorf("the log line %q is not what stderr says: %s", b, stderr.String())
	}
}

// TestMSINames: the MSI installs the service and the tray's Run value
// under the names this binary uses for install and uninstall.
func TestMSINames(t *testing.T) {
	if serviceName != installer.ServiceName {
		t.Errorf("service %q here, %q in the MSI", serviceName, installer.ServiceName)
	}
	if agent.TrayRunValue != installer.TrayRunValue {
		t.Errorf("tray Run value %q here, %q in the MSI", agent.TrayRunValue, installer.TrayRunValue)
	}
}
