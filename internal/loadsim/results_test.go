package loadsim

import (
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

func TestMakeResultsValidAndVaried(t *testing.T) {
	rs := makeResults(schedule, 500, 0.1, nowMS())
	if err := (protocol.Results{Results: rs}).Validate(); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	keys := map[string]bool{}
	var bad int
	for _, r := range rs {
		if ids[r.ID] {
			t.Fatalf("duplicate result ID %s", r.ID)
		}
		ids[r.ID] = true
		keys[r.Check+"/"+r.Key] = true
		if r.Status != core.StatusOK {
			bad++
		}
		if r.Message.EN == "" || r.Message.DE == "" {
			t.Fatalf("result without message: %+v", r)
		}
	}
	if len(keys) != 500 {
		t.Errorf("%d distinct check instances in 500 results, want 500", len(keys))
	}
	// 10 % failure rate: far from 0 and from 500 (binomial, p < 1e-9 outside).
	if bad < 15 || bad > 100 {
		t.Errorf("%d of 500 results not ok at a 10 %% failure rate", bad)
	}
}

func TestGermanDecimalComma(t *testing.T) {
	rs := makeResults(schedule[:1], 1, 0, time.Now())
	if !strings.Contains(rs[0].Message.DE, ",") || strings.Contains(rs[0].Message.EN, ",") {
		t.Errorf("messages %q / %q: want a decimal comma in German only", rs[0].Message.DE, rs[0].Message.EN)
	}
	if formatDE(12.5) != "12,5" {
		t.Errorf("formatDE(12.5) = %q", formatDE(12.5))
	}
}
