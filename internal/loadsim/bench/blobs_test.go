//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/loadsim"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
)

// TestParseStatus reads a /proc/<pid>/status captured from a process that
// had used 60 MB more than it holds now.
func TestParseStatus(t *testing.T) {
	b, err := os.ReadFile("testdata/status")
	if err != nil {
		t.Fatal(err)
	}
	rss, peak := parseStatus(b)
	if rss != 13508.0/1024 || peak != 74852.0/1024 {
		t.Errorf("parseStatus = %v, %v MB; want VmRSS 13508 kB, VmHWM 74852 kB", rss, peak)
	}
	if rss, peak := parseStatus([]byte("Name:\tx\nVmRSS:\n")); rss != 0 || peak != 0 {
		t.Errorf("without values: %v, %v", rss, peak)
	}
	// This process is alive: its own figures are there.
	if rss, peak := rssMB(os.Getpid()); rss <= 0 || peak < rss {
		t.Errorf("rssMB(self) = %v, %v", rss, peak)
	}
}

func TestSummarize(t *testing.T) {
	var fs []fetch
	for i := 1; i <= 20; i++ { // 1 s … 20 s, in reverse
		fs = append(fs, fetch{took: time.Duration(21-i) * time.Second, bytes: 100 << 20})
	}
	fs[3].retry = map[string]int{"transport": 2}
	fs = append(fs, fetch{took: time.Hour, bytes: 10 << 20, err: "transport", retry: map[string]int{"transport": 4}},
		fetch{took: time.Millisecond, err: "HTTP 401"})
	var p BlobPass
	summarize(&p, fs, 10*time.Second)
	// 2,010 MB over 10 s; the failed downloads count bytes, not durations.
	if p.Downloads != 22 || p.MBps != 201 || p.P50 != 10*time.Second || p.P95 != 19*time.Second || p.Max != 20*time.Second {
		t.Errorf("summarize = %+v", p)
	}
	if p.Errors["transport"] != 1 || p.Errors["HTTP 401"] != 1 || errCount(p.Errors) != 2 || p.Retries["transport"] != 6 {
		t.Errorf("errors = %v, retries %v", p.Errors, p.Retries)
	}
	var empty BlobPass
	summarize(&empty, nil, 0)
	if empty.MBps != 0 || empty.P50 != 0 || empty.P95 != 0 {
		t.Errorf("no downloads: %+v", empty)
	}
	for _, c := range []struct {
		n    int
		q    float64
		want time.Duration
	}{{1, 0.95, 1}, {2, 0.5, 1}, {3, 0.5, 2}, {200, 0.95, 190}, {200, 0.5, 100}} {
		ds := make([]time.Duration, c.n)
		for i := range ds {
			ds[i] = time.Duration(i + 1)
		}
		if got := quantile(ds, c.q); got != c.want {
			t.Errorf("quantile of 1…%d at %v = %v, want %v", c.n, c.q, got, c.want)
		}
	}
}

func TestErrKind(t *testing.T) {
	for err, want := range map[error]string{
		nil:                        "",
		fmt.Errorf("HTTP 403: {}"): "HTTP 403",
		fmt.Errorf("%w: 3 bytes", loadsim.ErrBlobMismatch): "mismatch",
		errors.New("connection reset"):                     "transport",
	} {
		if got := errKind(err); got != want {
			t.Errorf("errKind(%v) = %q, want %q", err, got, want)
		}
	}
}

// TestServerConstants keeps the simulator's copy of the route and header
// (it links no server code) equal to the server's.
func TestServerConstants(t *testing.T) {
	if loadsim.BlobPath != blobs.Path || loadsim.TicketHeader != blobs.TicketHeader {
		t.Errorf("loadsim %s %s, server %s %s", loadsim.BlobPath, loadsim.TicketHeader, blobs.Path, blobs.TicketHeader)
	}
}

// TestIssueTickets: the bench's tickets are what the server accepts.
func TestIssueTickets(t *testing.T) {
	dir := t.TempDir()
	box, err := seal.LoadKey(filepath.Join(dir, seal.KeyFile)) // as wacht serve creates it
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("ab", 32)
	ts, err := issueTickets(dir, sum, []int64{7, 9})
	if err != nil || len(ts) != 2 {
		t.Fatalf("issueTickets = %v, %v", ts, err)
	}
	server := blobs.NewTickets(box.Derive(blobs.TicketPurpose))
	for i, want := range []int64{7, 9} {
		if d, err := server.Check(ts[i], sum, time.Now()); err != nil || d != want {
			t.Errorf("ticket %d: device %d, %v", i, d, err)
		}
	}
	if _, err := issueTickets(dir, sum, []int64{7, 0}); err == nil {
		t.Error("a ticket for an agent without a device")
	}
}

// TestAttempt retries a failed connection, not a refusal or a wrong file,
// and at most fetchAttempts times.
func TestAttempt(t *testing.T) {
	defer func(d time.Duration) { fetchBackoff = d }(fetchBackoff)
	fetchBackoff = time.Millisecond
	failing := func(errs ...error) download {
		return func(string) (int64, time.Duration, error) {
			if len(errs) == 0 {
				return 100, time.Second, nil
			}
			err := errs[0]
			errs = errs[1:]
			return 1, time.Second, err
		}
	}
	reset := errors.New("connection reset by peer")
	for name, c := range map[string]struct {
		get            download
		err            string
		retries, bytes int
		cpu            time.Duration
	}{
		"at once":          {failing(), "", 0, 100, time.Second},
		"after two resets": {failing(reset, reset), "", 2, 102, 3 * time.Second},
		"refused":          {failing(errors.New("HTTP 401: ticket"), reset), "HTTP 401", 0, 1, time.Second},
		"wrong file":       {failing(loadsim.ErrBlobMismatch), "mismatch", 0, 1, time.Second},
		"always reset":     {failing(reset, reset, reset, reset, reset, reset), "transport", fetchAttempts - 1, fetchAttempts, fetchAttempts * time.Second},
	} {
		var cpu atomic.Int64
		f := attempt(0, "ticket", c.get, &cpu)
		if f.err != c.err || f.retry["transport"] != c.retries || f.bytes != int64(c.bytes) || time.Duration(cpu.Load()) != c.cpu {
			t.Errorf("%s: %+v, cpu %v", name, f, time.Duration(cpu.Load()))
		}
	}
}
