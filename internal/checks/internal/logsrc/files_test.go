package logsrc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func appendLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := from; i < to; i++ {
		fmt.Fprintf(f, "2026-11-26T22:%02d:%02d.000000+00:00 host app[%d]: event %d\n", i/60%60, i%60, 100+i, i)
	}
}

// readIDs reads with a fresh Files value each time, as an agent restart
// would, and returns the event numbers seen.
func readIDs(t *testing.T, path string, bm json.RawMessage) ([]int, json.RawMessage) {
	t.Helper()
	fs := Files{Paths: []string{path}, Now: func() time.Time { return time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC) }}
	es, nb, err := fs.Read(context.Background(), bm, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, e := range es {
		var n int
		if _, err := fmt.Sscanf(e.Message, "event %d", &n); err != nil || e.Log != path {
			t.Fatalf("message %q of log %q", e.Message, e.Log)
		}
		ids = append(ids, n)
	}
	return ids, nb
}

func TestFilesEachLineOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "syslog")
	var seen []int
	check := func(bm json.RawMessage) json.RawMessage {
		ids, nb := readIDs(t, path, bm)
		seen = append(seen, ids...)
		return nb
	}
	appendLines(t, path, 0, 5)
	bm := check(nil)
	appendLines(t, path, 5, 8)
	bm = check(bm)
	bm = check(bm) // nothing new

	// A half-written line waits for its end.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprint(f, "2026-11-26T22:00:08.000000+00:00 host app[108]: event 8")
	f.Close()
	bm = check(bm)
	f, _ = os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprint(f, "\n")
	f.Close()
	appendLines(t, path, 9, 10)
	bm = check(bm)

	// Rotation the logrotate way: rename to .1, then new lines in both the
	// old file (still open by the daemon) and the new one.
	appendLines(t, path, 10, 12)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path+".1", 12, 14)
	appendLines(t, path, 14, 16)
	bm = check(bm)
	appendLines(t, path, 16, 17)
	bm = check(bm)

	// Truncation in place (copytruncate).
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, 17, 18)
	check(bm)

	if len(seen) != 18 {
		t.Fatalf("saw %d events: %v", len(seen), seen)
	}
	for i, n := range seen {
		if n != i {
			t.Fatalf("events out of order, lost or doubled: %v", seen)
		}
	}
}

func TestFilesFirstRun(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "syslog")
	f, _ := os.Create(path)
	fmt.Fprintln(f, "2026-11-24T10:00:00.000000+00:00 host app[1]: event 0")
	fmt.Fprintln(f, "2026-11-26T10:00:00.000000+00:00 host app[1]: event 1")
	f.Close()
	// Only what is newer than since counts on the first run.
	if ids, _ := readIDs(t, path, nil); len(ids) != 1 || ids[0] != 1 {
		t.Errorf("first run: %v", ids)
	}
	// A large file is read from its last FirstMax bytes, at a line start.
	appendLines(t, path, 2, 200)
	fs := Files{Paths: []string{path}, FirstMax: 1000}
	es, _, err := fs.Read(context.Background(), nil, time.Time{})
	if err != nil || len(es) == 0 || len(es) > 20 || es[len(es)-1].Message != "event 199" {
		t.Errorf("bounded first run: %d %v", len(es), err)
	}
	for _, e := range es {
		if e.Source != "app" {
			t.Fatalf("partial line read: %+v", e)
		}
	}
	missing := Files{Paths: []string{filepath.Join(dir, "nope")}}
	if _, _, err := missing.Read(context.Background(), nil, time.Time{}); !errors.Is(err, os.ErrNotExist) {
		t.Error("missing file not reported")
	}
}

// TestFilesMaxRead reads in small portions, across a rotation, with a
// fresh reader each run: every line once, in order.
func TestFilesMaxRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	appendLines(t, path, 0, 30)
	var bm json.RawMessage
	var seen []int
	read := func() {
		fs := Files{Paths: []string{path}, MaxRead: 300}
		es, nb, err := fs.Read(context.Background(), bm, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			var n int
			fmt.Sscanf(e.Message, "event %d", &n)
			seen = append(seen, n)
		}
		bm = nb
	}
	read()
	if len(seen) == 0 || len(seen) >= 30 {
		t.Fatalf("first portion of 300 bytes gave %d lines", len(seen))
	}
	appendLines(t, path, 30, 40)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, 40, 45)
	for range 20 {
		read()
	}
	if len(seen) != 45 {
		t.Fatalf("saw %d: %v", len(seen), seen)
	}
	for i, n := range seen {
		if n != i {
			t.Fatalf("out of order, lost or doubled: %v", seen)
		}
	}
}
