package agent

import (
	"os"
	"testing"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

func TestParseSystemdJobs(t *testing.T) {
	for file, want := range map[string]string{
		"systemctl-list-jobs-reboot.txt":       protocol.GoodbyeReboot,
		"systemctl-list-jobs-poweroff.txt":     protocol.GoodbyeShutdown,
		"systemctl-list-jobs-service-stop.txt": "",
	} {
		b, err := os.ReadFile("testdata/goodbye/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if got := parseSystemdJobs(b); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
	if got := parseSystemdJobs(nil); got != "" {
		t.Errorf("no jobs: %q", got)
	}
}
