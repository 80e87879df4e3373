package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

func testHistoryRetentionSettings(t *testing.T, cs core.Store) {
	s := cs.(*store.DB)
	r, err := s.HistoryRetention(ctx)
	must(t, "HistoryRetention", err)
	if r != store.DefaultHistoryRetention || r.RawDays != 14 || r.RollupDays != 400 {
		t.Errorf("default retention = %+v", r)
	}
	for _, bad := range []store.HistoryRetention{{RawDays: 7, RollupDays: 400}, {RawDays: 30, RollupDays: 20}, {RawDays: 14, RollupDays: 40000}} {
		wantErr(t, fmt.Sprintf("SetHistoryRetention %+v", bad), s.SetHistoryRetention(ctx, bad), core.ErrInvalid)
	}
	must(t, "SetHistoryRetention", s.SetHistoryRetention(ctx, store.HistoryRetention{RawDays: 9, RollupDays: 90}))
	if r, err := s.HistoryRetention(ctx); err != nil || r != (store.HistoryRetention{RawDays: 9, RollupDays: 90}) {
		t.Errorf("after set: %+v, %v", r, err)
	}
	must(t, "garbage", s.SetSetting(ctx, store.SettingHistoryRawDays, "zwei Wochen"))
	_, err = s.HistoryRetention(ctx)
	wantErr(t, "garbage setting", err, core.ErrInvalid)
	_, err = s.MaintainHistory(ctx, t0)
	wantErr(t, "MaintainHistory with garbage setting", err, core.ErrInvalid)
}

// testHistoryRollup: raw results past the raw period become hourly rollups
// (min, mean, max, count, worst status), listed with the raw ones; a late
// result of a rolled-up hour is merged into it; rollups past their period go.
func testHistoryRollup(t *testing.T, cs core.Store) {
	s := cs.(*store.DB)
	d := device(t, s, "pc")
	must(t, "SetHistoryRetention", s.SetHistoryRetention(ctx, store.HistoryRetention{RawDays: 10, RollupDays: 30}))
	now := t0
	hour := now.Add(-12 * 24 * time.Hour).Truncate(time.Hour) // rolled up
	ancient := now.Add(-40 * 24 * time.Hour)                  // past the rollups too
	rs := []core.Result{
		{ID: "a1", Check: "disk", Key: "/", Status: core.StatusOK, Value: fp(10), Unit: "%", Message: core.Text{EN: "x"}, At: hour.Add(time.Minute)},
		{ID: "a2", Check: "disk", Key: "/", Status: core.StatusWarning, Value: fp(60), Unit: "%", At: hour.Add(30 * time.Minute)},
		{ID: "a3", Check: "disk", Key: "/", Status: core.StatusOK, Value: fp(20), Unit: "%", At: hour.Add(59 * time.Minute)},
		{ID: "a4", Check: "disk", Key: "/", Status: core.StatusFailure, Value: fp(99), Unit: "%", At: hour.Add(-time.Minute)},
		{ID: "m1", Check: "mem", Status: core.StatusError, At: hour.Add(time.Minute)},
		{ID: "old", Check: "disk", Key: "/", Status: core.StatusOK, Value: fp(1), Unit: "%", At: ancient},
		{ID: "r1", Check: "disk", Key: "/", Status: core.StatusOK, Value: fp(30), Unit: "%", At: now.Add(-time.Hour)},
		{ID: "r2", Check: "disk", Key: "/", Status: core.StatusOK, Value: fp(31), Unit: "%", At: now.Add(-9 * 24 * time.Hour)},
	}
	must(t, "SaveResults", s.SaveResults(ctx, d.ID, rs))
	rep, err := s.MaintainHistory(ctx, now)
	must(t, "MaintainHistory", err)
	if rep.RolledUp != 6 || rep.RollupsDeleted != 1 {
		t.Errorf("report = %+v, want 6 results rolled up, 1 rollup deleted", rep)
	}
	if n, err := s.CountResults(ctx, d.ID); err != nil || n != 2 {
		t.Errorf("CountResults = %d, %v; want the 2 raw results left", n, err)
	}
	states, err := s.ListCheckStates(ctx, d.ID)
	must(t, "ListCheckStates", err)
	if len(states) != 2 || *states[0].Value != 30 {
		t.Errorf("current state changed by retention: %+v", states)
	}

	want := func(what string, h []core.Result, ids []string) {
		t.Helper()
		var got []string
		for _, r := range h {
			if r.Rollup != nil {
				got = append(got, "rollup "+r.At.Format("02T15"))
			} else {
				got = append(got, r.ID)
			}
		}
		if !slices.Equal(got, ids) {
			t.Errorf("%s = %v, want %v", what, got, ids)
		}
	}
	h, err := s.ListCheckHistory(ctx, d.ID, "disk", "/", now.Add(-30*24*time.Hour), time.Time{}, 0)
	must(t, "ListCheckHistory", err)
	want("30-day history", h, []string{"r1", "r2", "rollup " + hour.Format("02T15"), "rollup " + hour.Add(-time.Hour).Format("02T15")})
	if len(h) == 4 {
		r := h[2]
		if r.Status != core.StatusWarning || r.Value == nil || *r.Value != 30 || r.Unit != "%" || r.ID != "" ||
			r.Rollup.Results != 3 || *r.Rollup.Min != 10 || *r.Rollup.Max != 60 || !r.At.Equal(hour) {
			t.Errorf("rollup = %+v %+v", r, r.Rollup)
		}
		if h[3].Status != core.StatusFailure || *h[3].Value != 99 || h[3].Rollup.Results != 1 {
			t.Errorf("rollup of the hour before = %+v %+v", h[3], h[3].Rollup)
		}
	}
	// A rollup is listed when its hour ends after since.
	h, err = s.ListCheckHistory(ctx, d.ID, "disk", "/", hour.Add(59*time.Minute), time.Time{}, 0)
	must(t, "ListCheckHistory since inside the hour", err)
	want("history since inside the rolled-up hour", h, []string{"r1", "r2", "rollup " + hour.Format("02T15")})
	h, err = s.ListCheckHistory(ctx, d.ID, "disk", "/", now.Add(-30*24*time.Hour), time.Time{}, 2)
	must(t, "ListCheckHistory limit", err)
	want("limited history", h, []string{"r1", "r2"})
	mem, err := s.ListCheckHistory(ctx, d.ID, "mem", "", time.Time{}, time.Time{}, 0)
	must(t, "ListCheckHistory mem", err)
	if len(mem) != 1 || mem[0].Rollup == nil || mem[0].Value != nil || mem[0].Rollup.Min != nil ||
		mem[0].Status != core.StatusError || mem[0].Rollup.Results != 1 {
		t.Errorf("mem rollup = %+v", mem)
	}

	// A late result of the rolled-up hour is folded in by the next run.
	must(t, "late", s.SaveResults(ctx, d.ID, []core.Result{
		{ID: "a5", Check: "disk", Key: "/", Status: core.StatusOK, Value: fp(5), Unit: "%", At: hour.Add(10 * time.Minute)}}))
	rep, err = s.MaintainHistory(ctx, now)
	must(t, "MaintainHistory again", err)
	if rep.RolledUp != 1 {
		t.Errorf("second report = %+v, want 1 result rolled up", rep)
	}
	h, err = s.ListCheckHistory(ctx, d.ID, "disk", "/", hour, time.Time{}, 0)
	must(t, "ListCheckHistory after merge", err)
	if r := h[len(h)-1]; r.Rollup == nil || r.Rollup.Results != 4 || *r.Rollup.Min != 5 || *r.Rollup.Max != 60 ||
		*r.Value != 95.0/4 || r.Status != core.StatusWarning {
		t.Errorf("merged rollup = %+v %+v", r, r.Rollup)
	}
	rep, err = s.MaintainHistory(ctx, now)
	must(t, "MaintainHistory idle", err)
	if rep.RolledUp != 0 || rep.RollupsDeleted != 0 {
		t.Errorf("idle report = %+v", rep)
	}
}

// testHistoryPartitions: results are stored exactly once however often they
// are delivered, before and after the maintenance job moved them into day
// partitions (PostgreSQL); partitions past the raw period are rolled up and
// dropped whole.
func testHistoryPartitions(t *testing.T, cs core.Store) {
	s := cs.(*store.DB)
	d := device(t, s, "pc")
	now := t0
	var batch []core.Result
	for i := range 48 {
		batch = append(batch, core.Result{ID: fmt.Sprintf("p-%d", i), Check: "cpu", Status: core.StatusOK, Value: fp(float64(i)),
			At: now.Add(-time.Duration(i) * time.Hour)})
	}
	future := core.Result{ID: "clock-skew", Check: "cpu", Status: core.StatusOK, At: now.Add(400 * 24 * time.Hour)}
	batch = append(batch, future)
	must(t, "SaveResults", s.SaveResults(ctx, d.ID, batch))
	rep, err := s.MaintainHistory(ctx, now)
	must(t, "MaintainHistory", err)
	if s.Dialect() == store.Postgres {
		if rep.PartitionsCreated != 14+1+7 {
			t.Errorf("created %d partitions, want 22 (14 days back, today, 7 ahead)", rep.PartitionsCreated)
		}
		if n := count(t, s, `SELECT count(*) FROM check_results_default`); n != 1 {
			t.Errorf("%d rows left in the default partition, want 1 (the skewed clock)", n)
		}
		if n := count(t, s, `SELECT count(*) FROM pg_inherits WHERE inhparent = 'check_results'::regclass`); n != 23 {
			t.Errorf("%d partitions, want 23", n)
		}
	}
	must(t, "redelivery", s.SaveResults(ctx, d.ID, batch))
	if n, err := s.CountResults(ctx, d.ID); err != nil || n != 49 {
		t.Errorf("CountResults after redelivery = %d, %v; want 49", n, err)
	}
	if rep, err = s.MaintainHistory(ctx, now); err != nil || rep.PartitionsCreated != 0 || rep.RolledUp != 0 {
		t.Errorf("second run = %+v, %v; want nothing to do", rep, err)
	}

	if s.Dialect() == store.Postgres {
		// A run that died between detaching a partition and dropping it:
		// the next run rolls the detached table up all the same.
		name := "check_results_p" + now.Add(-2*24*time.Hour).Format("20060102")
		if _, err := s.SQL().ExecContext(ctx, `ALTER TABLE check_results DETACH PARTITION `+name); err != nil {
			t.Fatal(err)
		}
	}
	// 13½ days on, the raw period of 14 days starts 12 hours before now:
	// the partitions of the 13 days before yesterday are rolled up and
	// dropped, 13 new ones are created ahead.
	later := now.Add(13*24*time.Hour + 12*time.Hour)
	rep, err = s.MaintainHistory(ctx, later)
	must(t, "MaintainHistory later", err)
	if s.Dialect() == store.Postgres && (rep.PartitionsDropped != 13 || rep.PartitionsCreated != 13) {
		t.Errorf("later report = %+v, want 13 partitions dropped, 13 created", rep)
	}
	cutoff := later.Add(-14 * 24 * time.Hour).Truncate(time.Hour)
	var raw []core.Result
	for _, r := range batch {
		if !r.At.Before(cutoff) {
			raw = append(raw, r)
		}
	}
	if len(raw) != 14 || rep.RolledUp != int64(len(batch)-len(raw)) {
		t.Errorf("rolled up %d results, %d left; want %d and 14", rep.RolledUp, len(raw), len(batch)-len(raw))
	}
	h, err := s.ListCheckHistory(ctx, d.ID, "cpu", "", now.Add(-3*24*time.Hour), time.Time{}, 0)
	must(t, "ListCheckHistory", err)
	var rollups, results int
	for _, r := range h {
		if r.Rollup != nil {
			rollups++
			results += r.Rollup.Results
		} else {
			results++
		}
	}
	if rollups != len(batch)-len(raw) || results != 49 {
		t.Errorf("history: %d rollups covering %d results; want %d rollups, 49 results", rollups, results, len(batch)-len(raw))
	}
	must(t, "redelivery after retention", s.SaveResults(ctx, d.ID, raw))
	if n, err := s.CountResults(ctx, d.ID); err != nil || n != len(raw) {
		t.Errorf("CountResults after redelivery = %d, %v; want %d", n, err, len(raw))
	}
}

func count(t *testing.T, s *store.DB, q string) int {
	t.Helper()
	var n int
	must(t, q, s.SQL().QueryRowContext(ctx, q).Scan(&n))
	return n
}
