package memory

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
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
			"Memory is 50.0 % used (8.0 GB available of 16.0 GB)", "Arbeitsspeicher ist zu 50,0 % belegt (8,0 GB von 16,0 GB verfügbar)"},
		{"", usage{Total: 8 * gb, Available: gb, UsedPercent: 87.5}, core.StatusWarning,
			"Memory is 87.5 % used (1.0 GB available of 8.0 GB)", "Arbeitsspeicher ist zu 87,5 % belegt (1,0 GB von 8,0 GB verfügbar)"},
		{`{"warn":50,"fail":60}`, usage{Total: 4 * gb, Available: 512 << 20, UsedPercent: 87.5}, core.StatusFailure,
			"Memory is 87.5 % used (512.0 MB available of 4.0 GB)", "Arbeitsspeicher ist zu 87,5 % belegt (512,0 MB von 4,0 GB verfügbar)"},
	} {
		c, err := newCheck(json.RawMessage(tc.params), fakeReader{u: tc.u})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Init(); err != nil {
			t.Fatal(err)
		}
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
	if err := c.Run(context.Background(), &collect{}); !errors.Is(err, want) {
		t.Errorf("err %v", err)
	}
	c, _ = newCheck(nil, fakeReader{})
	if err := c.Run(context.Background(), &collect{}); err == nil {
		t.Error("zero total accepted")
	}
	c, _ = newCheck(json.RawMessage(`{"warn":99,"fail":90}`), fakeReader{})
	if c.Init() == nil {
		t.Error("warn above fail accepted")
	}
}

func TestRegistered(t *testing.T) {
	c, err := check.New(Name, nil)
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
