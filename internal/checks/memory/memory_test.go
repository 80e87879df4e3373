package memory

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checks/internal/procs"
	"github.com/wacht-rmm/wacht/internal/core"
)

type fakeReader struct {
	u   usage
	err error
}

func (f fakeReader) Memory(context.Context) (usage, error) { return f.u, f.err }

type collect []check.Result

func (c *collect) Report(r check.Result) { *c = append(*c, r) }

func TestRun(t *testing.T) {
	const gb = 1 << 30
	for _, tc := range []struct {
		params string
		u      usage
		status core.Status
		en, de string
	}{
		{"", usage{Total: 16 * gb, Available: 8 * gb, UsedPercent: 50}, core.StatusOK,
			"Memory is 50.0 % used averaged over 5 s (8.0 GB available of 16.0 GB)", "Arbeitsspeicher ist im Mittel über 5 s zu 50,0 % belegt (8,0 GB von 16,0 GB verfügbar)"},
		{"", usage{Total: 8 * gb, Available: gb, UsedPercent: 87.5}, core.StatusWarning,
			"Memory is 87.5 % used averaged over 5 s (1.0 GB available of 8.0 GB)", "Arbeitsspeicher ist im Mittel über 5 s zu 87,5 % belegt (1,0 GB von 8,0 GB verfügbar)"},
		{`{"warn":50,"fail":60,"window":"0s"}`, usage{Total: 4 * gb, Available: 512 << 20, UsedPercent: 87.5}, core.StatusFailure,
			"Memory is 87.5 % used (512.0 MB available of 4.0 GB)", "Arbeitsspeicher ist zu 87,5 % belegt (512,0 MB von 4,0 GB verfügbar)"},
		{`{"window":"2m"}`, usage{Total: 4 * gb, Available: 2 * gb, UsedPercent: 50}, core.StatusOK,
			"Memory is 50.0 % used averaged over 2 min (2.0 GB available of 4.0 GB)", "Arbeitsspeicher ist im Mittel über 2 min zu 50,0 % belegt (2,0 GB von 4,0 GB verfügbar)"},
	} {
		c, err := newCheck(json.RawMessage(tc.params), fakeReader{u: tc.u})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Init(); err != nil {
			t.Fatal(err)
		}
		c.sleep = noSleep
		var got collect
		if err := c.Run(context.Background(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("%d results", len(got))
		}
		r := got[0]
		if r.Status != tc.status || *r.Value != tc.u.UsedPercent || r.Unit != "%" {
			t.Errorf("got %+v", r)
		}
		if r.Message.EN != tc.en || r.Message.DE != tc.de {
			t.Errorf("message %q / %q", r.Message.EN, r.Message.DE)
		}
	}
}

func TestErrors(t *testing.T) {
	want := errors.New("boom")
	c, _ := newCheck(nil, fakeReader{err: want})
	c.sleep = noSleep
	if err := c.Run(context.Background(), &collect{}); !errors.Is(err, want) {
		t.Errorf("err %v", err)
	}
	c, _ = newCheck(nil, fakeReader{})
	c.sleep = noSleep
	if err := c.Run(context.Background(), &collect{}); err == nil || !strings.Contains(check.ErrorText(err).DE, "meldet insgesamt 0 Byte") {
		t.Errorf("zero total: %v", err)
	}
	// The top processes of a failing result that cannot be read are named
	// as unreadable, with the reason, in both languages.
	c, _ = newCheck(json.RawMessage(`{"window":"0s"}`), &seqReader{pct: []float64{99}})
	c.snap = func(context.Context) (procs.Snapshot, error) {
		return procs.Snapshot{}, msg.Call("CreateToolhelp32Snapshot", errors.New("Access is denied."))
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil || len(got) != 1 ||
		!strings.HasSuffix(got[0].Message.EN, "; the top processes could not be read: CreateToolhelp32Snapshot failed: Access is denied.") ||
		!strings.HasSuffix(got[0].Message.DE, "; die Top-Prozesse konnten nicht gelesen werden: CreateToolhelp32Snapshot fehlgeschlagen: Access is denied.") {
		t.Errorf("unreadable processes: %+v, %v", got, err)
	}
	if _, err := newCheck(json.RawMessage(`{"warn":99,"fail":90}`), fakeReader{}); err == nil {
		t.Error("warn above fail accepted")
	}
}

func TestRegistered(t *testing.T) {
	c, err := check.New(Name, json.RawMessage(`{"window":"1s"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || *got[0].Value <= 0 || *got[0].Value > 100 {
		t.Errorf("real memory reading: %+v", got)
	}
}

func noSleep(context.Context, time.Duration) error { return nil }

// seqReader returns one reading after another.
type seqReader struct {
	pct []float64
	i   int
}

func (s *seqReader) Memory(context.Context) (usage, error) {
	v := s.pct[s.i%len(s.pct)]
	s.i++
	return usage{Total: 8 << 30, Available: uint64((100 - v) / 100 * (8 << 30)), UsedPercent: v}, nil
}

func TestAverageAndTopProcesses(t *testing.T) {
	seq := &seqReader{pct: []float64{80, 90, 100, 90, 80, 100}}
	c, _ := newCheck(nil, seq)
	var slept []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	c.snap = func(context.Context) (procs.Snapshot, error) {
		return procs.Snapshot{Procs: map[int32]procs.Proc{
			4711: {PID: 4711, Name: "sqlservr.exe", RSS: 5 << 30},
			12:   {PID: 12, Name: "explorer.exe", RSS: 300 << 20},
		}}, nil
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	r := got[0]
	if seq.i != 6 || len(slept) != 5 || slept[0] != time.Second {
		t.Fatalf("%d samples, sleeps %v", seq.i, slept)
	}
	if r.Status != core.StatusWarning || *r.Value != 90 ||
		!strings.HasSuffix(r.Message.EN, "; top processes: sqlservr.exe (PID 4711) 5.0 GB, explorer.exe (PID 12) 300.0 MB") ||
		!strings.HasSuffix(r.Message.DE, "; Top-Prozesse: sqlservr.exe (PID 4711) 5,0 GB, explorer.exe (PID 12) 300,0 MB") {
		t.Fatalf("%+v", r)
	}
	// One 100 % spike among low readings passes.
	seq = &seqReader{pct: []float64{40, 40, 100, 40, 40, 40}}
	c, _ = newCheck(nil, seq)
	c.sleep = noSleep
	got = nil
	c.Run(context.Background(), &got)
	if got[0].Status != core.StatusOK || *got[0].Value != 50 {
		t.Fatalf("spike: %+v", got[0])
	}
	// Cancelled while waiting for the next sample.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, _ = newCheck(nil, seq)
	if err := c.Run(ctx, &collect{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
