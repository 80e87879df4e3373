package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check/checktest"
	"github.com/wacht-rmm/wacht/internal/core"
)

func TestParseAcrocmd(t *testing.T) {
	jobs, err := parseAcrocmdActivities(string(read(t, "acrocmd-list-activities-raw.txt")), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	// Validation, recovery and the running backup are not jobs.
	if len(jobs) != 3 {
		t.Fatalf("jobs = %+v", jobs)
	}
	want := []struct {
		out  outcome
		when time.Time
	}{
		{success, time.Date(2026, 11, 23, 22, 41, 17, 0, time.UTC)},
		{warning, time.Date(2026, 11, 24, 22, 52, 40, 0, time.UTC)},
		{failed, time.Date(2026, 11, 25, 22, 3, 11, 0, time.UTC)},
	}
	for i, w := range want {
		if jobs[i].Outcome != w.out || !jobs[i].Time.Equal(w.when) || jobs[i].Name != "Running backup plan 'Fileserver täglich'" {
			t.Errorf("job %d = %+v, want %v at %v", i, jobs[i], w.out, w.when)
		}
	}
	if jobs[2].Reason != "failed" {
		t.Errorf("reason without details column = %q", jobs[2].Reason)
	}

	jobs, err = parseAcrocmdActivities(string(read(t, "acronis-activities-codes.txt")), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 4 || jobs[0].Outcome != success || jobs[1].Outcome != warning || jobs[2].Outcome != failed || jobs[3].Outcome != failed {
		t.Fatalf("codes: %+v", jobs)
	}
	if jobs[1].Reason != "Some files were skipped: access denied" || jobs[2].Reason != "Cancelled by user" ||
		jobs[3].Reason != `The backup location is not available: \\nas01\acronis` || jobs[0].Reason != "" {
		t.Errorf("reasons: %q %q %q", jobs[1].Reason, jobs[2].Reason, jobs[3].Reason)
	}
	if jobs[0].Name != "Protection plan Büro-PCs" || !jobs[3].Time.Equal(time.Date(2026, 11, 23, 23, 1, 9, 0, time.UTC)) {
		t.Errorf("name/time after a multi-byte letter: %+v", jobs[0])
	}

	for _, bad := range []string{"", "Error: unable to connect to the Acronis Managed Machine Service", "State\tResult\tStart time\ncompleted\tsucceeded\tyesterday"} {
		if _, err := parseAcrocmdActivities(bad, time.UTC); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAcronisOutcome(t *testing.T) {
	for in, want := range map[string]outcome{
		"succeeded": success, "6": success, "OK": success,
		"Succeeded with warnings": warning, "5": warning, "warning": warning,
		"failed": failed, "11": failed, "1": failed, "cancelled": failed, "Canceled": failed, "error": failed, "timedout": failed,
	} {
		if got, ok := acronisOutcome(in); !ok || got != want {
			t.Errorf("%q = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "running", "0", "7"} {
		if _, ok := acronisOutcome(in); ok {
			t.Errorf("%q treated as ended", in)
		}
	}
}

// TestAcronisReader runs a stand-in acrocmd (a shell script printing the
// capture) the way the agent runs the real one, and checks that a missing
// tool is "not found", never a success.
func TestAcronisReader(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in is a shell script")
	}
	dir := t.TempDir()
	checktest.Allow([]string{dir}, nil)
	capture, _ := filepath.Abs("testdata/acronis-activities-codes.txt")
	bin := filepath.Join(dir, "acrocmd")
	script := "#!/bin/sh\n[ \"$*\" = 'list activities --output=raw' ] || { echo \"bad args: $*\" >&2; exit 2; }\nexec cat '" + capture + "'\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.Local)
	got := runAt(t, `{"products":[{"type":"acronis"}]}`, now, map[string]reader{Acronis: readAcronis([]string{filepath.Join(dir, "none"), bin}, nil)})
	if got[0].Key != "acronis" || got[0].Status != core.StatusFailure ||
		!strings.Contains(got[0].Message.EN, "Acronis (best effort): last successful backup") ||
		!strings.Contains(got[0].Message.EN, "The backup location is not available") {
		t.Errorf("continuous: %v %q", got[0].Status, got[0].Message.EN)
	}
	if len(got) != 2 || got[1].Key != "daily:acronis" || got[1].Status != core.StatusFailure ||
		!strings.Contains(got[1].Message.EN, "backup of Mon 2026-11-23 failed") {
		t.Errorf("daily: %+v", got[1:])
	}

	_, err := readAcronis([]string{filepath.Join(dir, "none")}, nil)(context.Background(), ProductConfig{Type: Acronis}, now)
	if !errors.Is(err, errAcronisNotFound) {
		t.Errorf("missing tool: %v", err)
	}
	got = runAt(t, `{"products":[{"type":"acronis"}]}`, now, map[string]reader{Acronis: readAcronis(nil, nil)})
	if got[0].Status != core.StatusError || !strings.Contains(got[0].Message.EN, "Acronis not found") {
		t.Errorf("not found: %v %q", got[0].Status, got[0].Message.EN)
	}

	fail := filepath.Join(dir, "acrocmd-down")
	if err := os.WriteFile(fail, []byte("#!/bin/sh\necho 'Unable to connect to the Acronis Managed Machine Service' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = readAcronis(nil, nil)(context.Background(), ProductConfig{Type: Acronis, Binary: fail}, now)
	if err == nil || !strings.Contains(err.Error(), "Managed Machine Service") || !strings.Contains(err.Error(), "agent service running?") {
		t.Errorf("acrocmd fails, service state unknown: %v", err)
	}
	state := func(s string, err error) serviceState {
		return func(context.Context) (string, error) { return s, err }
	}
	_, err = readAcronis(nil, state("stopped", nil))(context.Background(), ProductConfig{Type: Acronis, Binary: fail}, now)
	if err == nil || !strings.HasPrefix(err.Error(), "the Acronis agent service is stopped, so backups do not run: acrocmd-down list") {
		t.Errorf("service stopped: %v", err)
	}
	for _, svc := range []serviceState{state("running", nil), state("", errors.New("no systemd"))} {
		_, err = readAcronis(nil, svc)(context.Background(), ProductConfig{Type: Acronis, Binary: fail}, now)
		if err == nil || !strings.Contains(err.Error(), "agent service running?") {
			t.Errorf("service running or unknown: %v", err)
		}
	}
}

func TestParseAcronisTime(t *testing.T) {
	want := time.Date(2026, 11, 23, 22, 0, 4, 0, time.UTC)
	for _, s := range []string{"2026-11-23 22:00:04", "2026-11-23T22:00:04Z", "11.23.2026 22:00:04", "11/23/2026 10:00:04 PM", "11/23/2026 22:00:04"} {
		if got, err := parseAcronisTime(s, time.UTC); err != nil || !got.Equal(want) {
			t.Errorf("%q = %v, %v", s, got, err)
		}
	}
	// day.month.year is not guessed.
	if _, err := parseAcronisTime("23.11.2026 22:00:04", time.UTC); err == nil {
		t.Error("day.month.year accepted")
	}
}
