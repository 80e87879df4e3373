package program

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/sys/windows/registry"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/uninstallreg"
)

// writeUninstallKey writes an uninstall key of the 64-bit HKLM view and
// returns its removal.
func writeUninstallKey(t *testing.T, name string, values map[string]string) func() error {
	t.Helper()
	path := uninstallreg.Key + `\` + name
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, path, registry.ALL_ACCESS|registry.WOW64_64KEY)
	if err != nil {
		t.Fatalf(`creating HKLM\%s: %v`, path, err)
	}
	defer k.Close()
	removed := false
	remove := func() error {
		removed = true
		return registry.DeleteKey(registry.LOCAL_MACHINE, path)
	}
	t.Cleanup(func() {
		if !removed {
			remove()
		}
	})
	for n, v := range values {
		if err := k.SetStringValue(n, v); err != nil {
			t.Fatalf(`HKLM\%s\%s: %v`, path, n, err)
		}
	}
	return remove
}

// TestUninstallEntryWatched runs on Windows and in the Wine lane
// (test/e2e): a program written into the real uninstall registry makes an
// "absent" check fail, and its removal makes it pass again. A second
// program stays, as on any real machine: an empty list is an error.
func TestUninstallEntryWatched(t *testing.T) {
	writeUninstallKey(t, "WachtOtherTool", map[string]string{"DisplayName": "Wacht Other Tool", "DisplayVersion": "1.0"})
	remove := writeUninstallKey(t, "WachtWatchedTool", map[string]string{"DisplayName": "Wacht Watched Remote Tool", "DisplayVersion": "4.2.1", "Publisher": "Wacht Test"})
	c, err := check.New("program", json.RawMessage(`{"name":"*watched REMOTE*","expect":"absent","publisher":"wacht*"}`))
	if err != nil {
		t.Fatal(err)
	}
	runOnce := func() check.Result {
		var got collect
		if err := c.Run(context.Background(), &got); err != nil || len(got) != 1 {
			t.Fatalf("run: %v %+v", err, got)
		}
		return got[0]
	}
	if r := runOnce(); r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "Wacht Watched Remote Tool 4.2.1") {
		t.Errorf("installed: %s %+v", r.Status, r.Message)
	}
	if err := remove(); err != nil {
		t.Fatal(err)
	}
	if r := runOnce(); r.Status != core.StatusOK || !strings.Contains(r.Message.EN, "No installed program matches") {
		t.Errorf("removed: %s %+v", r.Status, r.Message)
	}
}
