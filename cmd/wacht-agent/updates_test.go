package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/updates"
)

type cliSource struct {
	name string
	us   []core.Update
	err  error
}

func (s cliSource) Name() string                                { return s.name }
func (s cliSource) Scan(context.Context) ([]core.Update, error) { return s.us, s.err }
func (s cliSource) Install(context.Context, []core.Update, func(updates.Result)) ([]updates.Result, error) {
	return nil, errors.New("not here")
}

func TestUpdatesPrintsAndFailsOnAFailedScan(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	ok := cliSource{name: core.SourceApt, us: []core.Update{{Key: "apt:openssl@3.0.22-1~deb12u2", Source: core.SourceApt, ID: "openssl",
		Version: "3.0.22-1~deb12u2", Installed: "3.0.19-1~deb12u2", Title: "openssl", Classification: core.ClassSecurity}}}
	bad := cliSource{name: core.SourceDnf, err: errors.New("Error: Failed to download metadata for repo 'baseos'")}
	pending := func(context.Context) core.RebootState {
		return core.RebootState{Pending: true, Reasons: []string{"/var/run/reboot-required"}}
	}

	var out bytes.Buffer
	if err := scanAndPrint(context.Background(), []updates.Source{ok}, pending, false, "en", now, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apt:openssl@3.0.22-1~deb12u2", "3.0.19-1~deb12u2 → 3.0.22-1~deb12u2", "security", "Restart: pending (/var/run/reboot-required)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	err := scanAndPrint(context.Background(), []updates.Source{ok, bad}, pending, true, "en", now, &out)
	if err == nil || !strings.Contains(err.Error(), "dnf") {
		t.Fatalf("a failed scan must fail the command: %v", err)
	}
	var got updatesScan
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Missing) != 1 || len(got.Sources) != 2 || got.Sources[1].Status != core.ScanError ||
		!strings.Contains(got.Sources[1].Message.EN, "baseos") || !got.Reboot.Pending {
		t.Errorf("json %+v", got)
	}

	if err := scanAndPrint(context.Background(), nil, pending, false, "en", now, &out); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("no source: %v", err)
	}
	if code, _, errOut := runCLI("updates", "--bogus"); code != 2 || !strings.Contains(errOut, "bogus") {
		t.Errorf("bad flag: %d %q", code, errOut)
	}
}
