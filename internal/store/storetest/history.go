package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// historyTests are the conformance tests of core.ResultStore.ListCheckHistory
// and of history retention.
var historyTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"ListCheckHistory", testListCheckHistory},
	{"HistoryRetentionSettings", testHistoryRetentionSettings},
	{"HistoryRollup", testHistoryRollup},
	{"HistoryPartitions", testHistoryPartitions},
}

func testListCheckHistory(t *testing.T, s core.Store) {
	d := device(t, s, "pc")
	other := device(t, s, "other")
	var rs []core.Result
	for i := range 6 {
		at := t0.Add(time.Duration(i) * time.Minute)
		st := core.StatusOK
		if i == 4 {
			st = core.StatusFailure
		}
		rs = append(rs,
			core.Result{ID: fmt.Sprintf("c-%d", i), Check: "disk", Key: "C:", Status: st, Value: fp(float64(i)), Unit: "%",
				Message: core.Text{EN: fmt.Sprintf("en %d", i), DE: fmt.Sprintf("de %d", i)}, At: at},
			core.Result{ID: fmt.Sprintf("d-%d", i), Check: "disk", Key: "D:", Status: core.StatusOK, Value: fp(50), Unit: "%", At: at},
			core.Result{ID: fmt.Sprintf("m-%d", i), Check: "mem", Status: core.StatusOK, At: at})
	}
	// Shuffled on purpose: listed newest first regardless of insert order.
	slices.Reverse(rs[6:12])
	must(t, "SaveResults", s.SaveResults(ctx, d.ID, rs))
	must(t, "SaveResults other", s.SaveResults(ctx, other.ID, []core.Result{
		{ID: "o-1", Check: "disk", Key: "C:", Status: core.StatusOK, Value: fp(1), At: t0.Add(time.Hour)}}))

	all, err := s.ListCheckHistory(ctx, d.ID, "disk", "C:", time.Time{}, time.Time{}, 0)
	must(t, "ListCheckHistory all", err)
	if got := ids(all); !slices.Equal(got, []string{"c-5", "c-4", "c-3", "c-2", "c-1", "c-0"}) {
		t.Fatalf("disk C: = %v", got)
	}
	r := all[1]
	if r.Check != "disk" || r.Key != "C:" || r.Status != core.StatusFailure || r.Value == nil || *r.Value != 4 ||
		r.Unit != "%" || r.Message != (core.Text{EN: "en 4", DE: "de 4"}) || !r.At.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("c-4 = %+v", r)
	}
	if all[0].At.Location() != time.UTC {
		t.Errorf("time zone = %v, want UTC", all[0].At.Location())
	}

	since, err := s.ListCheckHistory(ctx, d.ID, "disk", "C:", t0.Add(3*time.Minute), time.Time{}, 0)
	must(t, "ListCheckHistory since", err)
	if got := ids(since); !slices.Equal(got, []string{"c-5", "c-4", "c-3"}) {
		t.Errorf("since 3 min = %v", got)
	}
	until, err := s.ListCheckHistory(ctx, d.ID, "disk", "C:", t0.Add(time.Minute), t0.Add(4*time.Minute), 0)
	must(t, "ListCheckHistory until", err)
	if got := ids(until); !slices.Equal(got, []string{"c-3", "c-2", "c-1"}) {
		t.Errorf("from 1 min until 4 min = %v", got)
	}
	limited, err := s.ListCheckHistory(ctx, d.ID, "disk", "C:", t0.Add(time.Minute), time.Time{}, 2)
	must(t, "ListCheckHistory limit", err)
	if got := ids(limited); !slices.Equal(got, []string{"c-5", "c-4"}) {
		t.Errorf("limit 2 = %v", got)
	}
	dkey, err := s.ListCheckHistory(ctx, d.ID, "disk", "D:", time.Time{}, time.Time{}, 0)
	must(t, "ListCheckHistory D:", err)
	if got := ids(dkey); !slices.Equal(got, []string{"d-5", "d-4", "d-3", "d-2", "d-1", "d-0"}) {
		t.Errorf("disk D: = %v", got)
	}
	mem, err := s.ListCheckHistory(ctx, d.ID, "mem", "", time.Time{}, time.Time{}, 0)
	must(t, "ListCheckHistory mem", err)
	if len(mem) != 6 || mem[0].Value != nil {
		t.Errorf("mem = %v (first value %v), want 6 rows without value", ids(mem), mem[0].Value)
	}
	for _, q := range []struct {
		dev        int64
		check, key string
	}{{d.ID, "disk", ""}, {d.ID, "cpu", ""}, {999999, "disk", "C:"}, {d.ID, "disk", "c:"}} {
		none, err := s.ListCheckHistory(ctx, q.dev, q.check, q.key, time.Time{}, time.Time{}, 0)
		must(t, "ListCheckHistory unknown", err)
		if len(none) != 0 {
			t.Errorf("device %d check %q key %q: got %v, want none", q.dev, q.check, q.key, ids(none))
		}
	}
	o, err := s.ListCheckHistory(ctx, other.ID, "disk", "C:", time.Time{}, time.Time{}, 0)
	must(t, "ListCheckHistory other", err)
	if got := ids(o); !slices.Equal(got, []string{"o-1"}) {
		t.Errorf("other device = %v", got)
	}
}
