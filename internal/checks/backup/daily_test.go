package backup

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestBackupDay(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	weekdays := mustRule(t, []string{"mon", "tue", "wed", "thu", "fri"}, 26, 1, true)
	every := mustRule(t, nil, 26, 1, true)
	six := 6 * time.Hour
	at := func(mo time.Month, d, h int) time.Time { return time.Date(2024, mo, d, h, 0, 0, 0, berlin) }
	for _, tc := range []struct {
		name       string
		now        time.Time
		ru         rule
		start, end time.Time
	}{
		{"after the verdict time", at(5, 14, 8), every, at(5, 13, 6), at(5, 14, 6)},
		{"before the verdict time", at(5, 14, 5), every, at(5, 12, 6), at(5, 13, 6)},
		{"exactly at it", at(5, 14, 6), every, at(5, 13, 6), at(5, 14, 6)},
		{"Monday morning, weekdays: Friday", at(5, 13, 8), weekdays, at(5, 10, 6), at(5, 11, 6)},
		{"Sunday, weekdays: Friday", at(5, 12, 12), weekdays, at(5, 10, 6), at(5, 11, 6)},
		// The night of the change to summer time is one hour shorter.
		{"DST", at(4, 1, 8), every, at(3, 31, 6), at(4, 1, 6)},
		{"month boundary", at(3, 1, 7), every, at(2, 29, 6), at(3, 1, 6)},
	} {
		s, e := backupDay(tc.now, six, tc.ru)
		if !s.Equal(tc.start) || !e.Equal(tc.end) {
			t.Errorf("%s: %v – %v, want %v – %v", tc.name, s, e, tc.start, tc.end)
		}
	}
}

func TestDailyVerdict(t *testing.T) {
	now := time.Date(2024, 5, 14, 8, 0, 0, 0, time.UTC) // Tuesday; judges Monday 06:00 – Tuesday 06:00
	at := func(d, h int) time.Time { return time.Date(2024, 5, d, h, 0, 0, 0, time.UTC) }
	p := ProductConfig{Type: Veeam, Name: "FS"}
	six := 6 * time.Hour
	for _, tc := range []struct {
		name   string
		jobs   []job
		ru     rule
		want   core.Status
		en, de string
	}{
		{"night after midnight counts for the evening", []job{{Time: at(14, 2), Outcome: success}}, mustRule(t, nil, 26, 1, true),
			core.StatusOK, "Veeam FS: backup of Mon 2024-05-13 succeeded (successful jobs: 1)", "Veeam FS: Backup vom Mo 13.05.2024 erfolgreich (erfolgreiche Jobs: 1)"},
		{"failed, then retried successfully", []job{{Time: at(13, 22), Outcome: failed, Reason: "disk full"}, {Time: at(13, 23), Outcome: success}}, mustRule(t, nil, 26, 1, true),
			core.StatusOK, "succeeded (successful jobs: 1)", "erfolgreich"},
		{"failed with the product's reason", []job{{Time: at(13, 22), Outcome: failed, Reason: "disk full"}, {Time: at(12, 22), Outcome: success}}, mustRule(t, nil, 26, 1, true),
			core.StatusFailure, "Veeam FS: backup of Mon 2024-05-13 failed (successful jobs: 0 of 1): disk full", "Backup vom Mo 13.05.2024 fehlgeschlagen (erfolgreiche Jobs: 0 von 1): disk full"},
		{"warnings not counted", []job{{Time: at(13, 22), Outcome: warning, Reason: "CBT"}}, mustRule(t, nil, 26, 1, false),
			core.StatusFailure, "failed (successful jobs: 0 of 1): CBT", "fehlgeschlagen"},
		{"warnings counted", []job{{Time: at(13, 22), Outcome: warning, Reason: "CBT"}}, mustRule(t, nil, 26, 1, true),
			core.StatusOK, "succeeded", "erfolgreich"},
		{"too few", []job{{Time: at(13, 12), Outcome: success}}, mustRule(t, nil, 26, 2, true),
			core.StatusFailure, "backup of Mon 2024-05-13 incomplete (successful jobs: 1 of 2)", "unvollständig (erfolgreiche Jobs: 1 von 2)"},
		{"missing: jobs only outside the day", []job{{Time: at(13, 5), Outcome: success}, {Time: at(14, 7), Outcome: success}}, mustRule(t, nil, 26, 1, true),
			core.StatusFailure, "backup of Mon 2024-05-13 missing (no job ran)", "Backup vom Mo 13.05.2024 fehlt (kein Job gelaufen)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dailyVerdict(p, tc.jobs, tc.ru, now, six)
			if r.Key != "daily:veeam:FS" || r.Status != tc.want || !strings.Contains(r.Message.EN, tc.en) || !strings.Contains(r.Message.DE, tc.de) || r.Value != nil {
				t.Errorf("got %v %q / %q (value %v)", r.Status, r.Message.EN, r.Message.DE, r.Value)
			}
		})
	}
}

func TestDailyParams(t *testing.T) {
	for _, bad := range []string{`"25:00"`, `"6"`, `"06:00:00"`, `6`} {
		c, err := newCheck(json.RawMessage(`{"products":[{"type":"veeam"}],"daily_verdict_at":`+bad+`}`), fakeEnv(nil, nil))
		if err == nil {
			err = c.Init()
		}
		if err == nil {
			t.Errorf("daily_verdict_at %s accepted", bad)
		}
	}
	// The verdict time moves the day: at 08:00 with verdicts at 09:00 the
	// day judged is still Saturday 09:00 to Sunday 09:00, before the job.
	jobs := []job{{Time: time.Date(2024, 5, 12, 22, 0, 0, 0, time.UTC), Outcome: success}}
	readers := map[string]reader{Veeam: func(_ context.Context, _ ProductConfig, _ time.Time) ([]job, error) { return jobs, nil }}
	got := runAt(t, `{"products":[{"type":"veeam"}],"daily_verdict_at":"09:00"}`, time.Date(2024, 5, 13, 8, 0, 0, 0, time.UTC), readers)
	if len(got) != 2 || got[1].Status != core.StatusFailure || !strings.Contains(got[1].Message.EN, "backup of Sat 2024-05-11 missing") {
		t.Errorf("09:00: %+v", got)
	}
	got = runAt(t, `{"products":[{"type":"veeam"}]}`, time.Date(2024, 5, 13, 8, 0, 0, 0, time.UTC), readers)
	if got[1].Status != core.StatusOK || !strings.Contains(got[1].Message.EN, "backup of Sun 2024-05-12 succeeded") {
		t.Errorf("06:00: %+v", got)
	}
	// Time Machine and the generic rule know only their newest backup.
	readers[Generic] = readers[Veeam]
	if got := runAt(t, `{"products":[{"type":"generic","path":"/x"}]}`, time.Date(2024, 5, 13, 8, 0, 0, 0, time.UTC), readers); len(got) != 1 {
		t.Errorf("generic has a daily verdict: %+v", got)
	}
}
