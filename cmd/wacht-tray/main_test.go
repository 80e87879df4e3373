//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/tray"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

func TestStatusFlag(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	l, err := trayipc.Listen(filepath.Join(t.TempDir(), "run", "tray.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- trayipc.Serve(ctx, l, func(ctx context.Context, p trayipc.Peer, op string, data json.RawMessage) (any, error) {
			switch op {
			case trayipc.OpStatus:
				return trayipc.Status{Version: 1, Hostname: "pc-anna", Connected: true, Overall: trayipc.OverallProblems, Problems: 2,
					Branding: trayipc.Branding{Show: true, ProductName: "Müller IT"}}, nil
			case trayipc.OpRequests:
				return trayipc.Requests{}, nil
			}
			return nil, &trayipc.Error{Code: trayipc.CodeUnknownOp}
		}, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-done }()

	var out, errOut bytes.Buffer
	if code := run([]string{"--status", "--lang", "de", "--agent", l.Addr()}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var snap tray.Snapshot
	if err := json.Unmarshal(out.Bytes(), &snap); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if !snap.Reachable || snap.Status.Hostname != "pc-anna" || snap.Menu.Items[0].Title != "IT ist über 2 Probleme informiert" ||
		snap.Menu.Tooltip != "Müller IT – IT ist über 2 Probleme informiert" || snap.Menu.Badge != tray.BadgeProblem {
		t.Errorf("snapshot %s", out.String())
	}

	// Without an agent: exit 1, and the menu says so.
	out.Reset()
	t.Setenv("WACHT_TRAY_AGENT", filepath.Join(t.TempDir(), "none.sock"))
	if code := run([]string{"--status", "--lang", "en"}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d without an agent", code)
	}
	if !strings.Contains(out.String(), "Monitoring service not reachable – retrying") || !strings.Contains(out.String(), `"reachable": false`) {
		t.Errorf("output %s", out.String())
	}
}

func TestFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "wacht-tray ") {
		t.Errorf("--version: %d %q", code, out.String())
	}
	if code := run([]string{"--lang", "fr", "--status"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "de or en") {
		t.Errorf("--lang fr: %d %q", code, errOut.String())
	}
}
