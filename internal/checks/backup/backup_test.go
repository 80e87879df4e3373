package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/check/checktest"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/wevtapi"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type collect []check.Result

func (c *collect) Report(r check.Result) { *c = append(*c, r) }

func TestParseRestic(t *testing.T) {
	jobs, err := parseResticSnapshots(read(t, "restic-0.14-snapshots.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 {
		t.Fatalf("got %d jobs, want 2", len(jobs))
	}
	want := time.Date(2026, 11, 26, 22, 36, 46, 127967230, time.UTC)
	if !jobs[1].Time.Equal(want) || jobs[1].Outcome != success || jobs[1].Name != "snapshot a3bc24a4" {
		t.Errorf("second snapshot = %+v", jobs[1])
	}
	if _, err := parseResticSnapshots([]byte("Fatal: wrong password")); err == nil {
		t.Error("garbage parsed")
	}
}

func TestParseBorg(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	jobs, err := parseBorgList(read(t, "borg-1.2.4-list.json"), berlin)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].Outcome != success || jobs[0].Name != "first-2026-11-26T22:36:48" {
		t.Fatalf("jobs = %+v", jobs)
	}
	// Borg's zone-less local time is read in the given zone (CET, +1).
	if want := time.Date(2026, 11, 26, 21, 36, 48, 0, time.UTC); !jobs[0].Time.Equal(want) {
		t.Errorf("time = %v, want %v", jobs[0].Time, want)
	}
	jobs, err = parseBorgList(read(t, "borg-checkpoint-list.json"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if jobs[0].Outcome != success || jobs[1].Outcome != failed || !strings.Contains(jobs[1].Reason, "interrupted") {
		t.Errorf("checkpoint not a failure: %+v", jobs)
	}
}

func TestEvents(t *testing.T) {
	for _, tc := range []struct {
		file     string
		classify func(event) (job, bool)
		ok       bool
		outcome  outcome
		name     string
		reason   string
		when     time.Time
	}{
		{"wsb-event4-success.xml", wsbJob, true, success, "Windows Server Backup", "", time.Date(2024, 3, 11, 21, 14, 52, 905136700, time.UTC)},
		{"wsb-event5-failed.xml", wsbJob, true, failed, "Windows Server Backup", "event 5, error code 0x807800C5", time.Date(2024, 3, 12, 21, 3, 17, 446871100, time.UTC)},
		{"wsb-event5-rendered-de.xml", wsbJob, true, failed, "Windows Server Backup", "Auf das Ziel für die Sicherung kann nicht zugegriffen werden", time.Time{}},
		{"wsb-event1-started.xml", wsbJob, false, 0, "", "", time.Time{}},
		{"veeam-br-190-warning.xml", wsbJob, false, 0, "", "", time.Time{}},
		{"veeam-br-190-warning.xml", veeamJob, true, warning, "Fileserver täglich", "Changed block tracking cannot be enabled", time.Date(2024, 5, 6, 22, 41, 9, 652344100, time.UTC)},
		{"veeam-br-190-success.xml", veeamJob, true, success, "Fileserver täglich", "", time.Time{}},
		{"veeam-agent-190-failed.xml", veeamJob, true, failed, "Empfang Sicherung", "The target disk is full", time.Time{}},
		{"wsb-event4-success.xml", veeamJob, false, 0, "", "", time.Time{}},
	} {
		ev, err := parseEvent(read(t, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		j, ok := tc.classify(ev)
		if ok != tc.ok {
			t.Errorf("%s: ok = %v, want %v", tc.file, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if j.Outcome != tc.outcome || j.Name != tc.name || !strings.Contains(j.Reason, tc.reason) || (tc.reason == "" && j.Reason != "") {
			t.Errorf("%s: got %+v, want outcome %v name %q reason ~%q", tc.file, j, tc.outcome, tc.name, tc.reason)
		}
		if !tc.when.IsZero() && !j.Time.Equal(tc.when) {
			t.Errorf("%s: time %v, want %v", tc.file, j.Time, tc.when)
		}
	}
	jobs, err := jobsFromEvents([][]byte{read(t, "wsb-event1-started.xml"), read(t, "wsb-event4-success.xml"), read(t, "wsb-event5-failed.xml")}, wsbJob)
	if err != nil || len(jobs) != 2 {
		t.Errorf("jobsFromEvents = %+v, %v", jobs, err)
	}
	if _, err := parseEvent([]byte("<Event><System><EventID>x</EventID></System></Event>")); err == nil {
		t.Error("bad event ID parsed")
	}
}

func TestTimeMachine(t *testing.T) {
	one := func(name string) (time.Time, error) {
		ts, err := parseBackupList(string(read(t, name)), time.UTC)
		if err == nil && len(ts) != 1 {
			err = fmt.Errorf("%d backups", len(ts))
		}
		if err != nil {
			return time.Time{}, err
		}
		return ts[0], nil
	}
	got, err := one("tmutil-latestbackup-apfs.txt")
	if err != nil || !got.Equal(time.Date(2024, 5, 13, 10, 15, 32, 0, time.UTC)) {
		t.Errorf("APFS: %v, %v", got, err)
	}
	got, err = one("tmutil-latestbackup-hfs.txt")
	if err != nil || !got.Equal(time.Date(2019, 11, 4, 18, 30, 12, 0, time.UTC)) {
		t.Errorf("HFS: %v, %v", got, err)
	}
	if _, err := parseBackupList(string(read(t, "tmutil-fda.txt")), time.UTC); !errors.Is(err, errNoFullDiskAccess) {
		t.Errorf("FDA: %v", err)
	}
	ts, err := parseBackupList(string(read(t, "tmutil-listbackups-apfs.txt"))+"/Volumes/TM/Backups.backupdb/mac/2024-05-13-121500.inProgress\n", time.UTC)
	if err != nil || len(ts) != 4 || !ts[1].Equal(time.Date(2024, 5, 12, 9, 12, 44, 0, time.UTC)) {
		t.Errorf("listbackups: %v, %v", ts, err)
	}
	if _, err := parseBackupList("/Volumes/TM/no stamp here\n", time.UTC); err == nil {
		t.Error("path without a time stamp accepted")
	}
	dests, err := parseDestinationInfo(string(read(t, "tmutil-destinationinfo.txt")))
	if err != nil || len(dests) != 2 || dests[0].Name != "TM Backup" || dests[0].Mount != "/Volumes/TM Backup" ||
		dests[1].Kind != "Network" || !strings.HasPrefix(dests[1].URL, "smb://") {
		t.Errorf("destinations = %+v, %v", dests, err)
	}
	if dests, err := parseDestinationInfo(string(read(t, "tmutil-destinationinfo-none.txt"))); err != nil || len(dests) != 0 {
		t.Errorf("none = %+v, %v", dests, err)
	}

	now := time.Date(2024, 5, 13, 18, 0, 0, 0, time.Local)
	fake := func(out map[string]string) tmutil {
		return func(_ context.Context, args ...string) (string, error) {
			return out[args[0]], nil
		}
	}
	tm := readTimeMachine(fake(map[string]string{
		"destinationinfo": string(read(t, "tmutil-destinationinfo.txt")),
		"listbackups":     string(read(t, "tmutil-listbackups-apfs.txt")),
	}))
	jobs, err := tm(context.Background(), ProductConfig{Type: TimeMachine}, now)
	if err != nil || len(jobs) != 4 || jobs[3].Name != "TM Backup" || jobs[3].Outcome != success {
		t.Errorf("readTimeMachine = %+v, %v", jobs, err)
	}
	// The history gives Time Machine a daily verdict: Sunday's two backups
	// (09:12, 23:19) fall in Sunday 06:00 to Monday 06:00.
	got2 := runAt(t, `{"products":[{"type":"timemachine"}],"min_successes":2}`, time.Date(2024, 5, 13, 18, 0, 0, 0, time.Local), map[string]reader{TimeMachine: tm})
	if len(got2) != 2 || got2[0].Status != core.StatusOK || got2[1].Key != "daily:timemachine" || got2[1].Status != core.StatusOK ||
		!strings.Contains(got2[1].Message.EN, "Time Machine: backup of Sun 2024-05-12 succeeded (successful jobs: 2)") {
		t.Errorf("Time Machine verdicts: %+v", got2)
	}
	_, err = readTimeMachine(fake(map[string]string{
		"destinationinfo": string(read(t, "tmutil-fda.txt")),
		"listbackups":     string(read(t, "tmutil-fda.txt")),
	}))(context.Background(), ProductConfig{Type: TimeMachine}, now)
	if !errors.Is(err, errNoFullDiskAccess) {
		t.Errorf("FDA not reported: %v", err)
	}
	_, err = readTimeMachine(fake(map[string]string{
		"destinationinfo": string(read(t, "tmutil-destinationinfo-none.txt")),
	}))(context.Background(), ProductConfig{Type: TimeMachine}, now)
	if err == nil || !strings.Contains(err.Error(), "no backup destination") || check.ErrorText(err).DE != "Time Machine hat kein Backup-Ziel eingerichtet" {
		t.Errorf("no destination: %v", err)
	}
}

func mustRule(t *testing.T, days []string, maxAge float64, minS int, warnOK bool) rule {
	t.Helper()
	r, err := newRule(days, maxAge, minS, warnOK)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEffectiveAge(t *testing.T) {
	weekdays := mustRule(t, []string{"mon", "tue", "wed", "thu", "fri"}, 26, 1, true)
	every := mustRule(t, nil, 26, 1, true)
	fri := time.Date(2024, 5, 10, 22, 0, 0, 0, time.UTC) // a Friday
	monMorning := time.Date(2024, 5, 13, 8, 0, 0, 0, time.UTC)
	if got := effectiveAge(fri, monMorning, weekdays); got != 10*time.Hour {
		t.Errorf("weekdays: %v, want 10h (Sat and Sun skipped)", got)
	}
	if got := effectiveAge(fri, monMorning, every); got != 58*time.Hour {
		t.Errorf("every day: %v, want 58h", got)
	}
	if got := effectiveAge(monMorning, fri, every); got != 0 {
		t.Errorf("future: %v", got)
	}
}

func TestEvaluate(t *testing.T) {
	now := time.Date(2024, 5, 13, 8, 0, 0, 0, time.UTC) // Monday
	at := func(d, h int) time.Time { return time.Date(2024, 5, d, h, 0, 0, 0, time.UTC) }
	p := ProductConfig{Type: Veeam, Name: "Fileserver"}
	weekdays := []string{"mon", "tue", "wed", "thu", "fri"}
	for _, tc := range []struct {
		name  string
		jobs  []job
		rule  rule
		want  core.Status
		match string
	}{
		{"fresh", []job{{Time: at(12, 22), Outcome: success}}, mustRule(t, nil, 26, 1, true), core.StatusOK, "last successful backup 2024-05-12"},
		{"too old", []job{{Time: at(10, 22), Outcome: success}}, mustRule(t, nil, 26, 1, true), core.StatusFailure, "older than the allowed 26 h"},
		{"weekend skipped", []job{{Time: at(10, 22), Outcome: success}}, mustRule(t, weekdays, 26, 1, true), core.StatusOK, "Veeam Fileserver"},
		{"none", nil, mustRule(t, nil, 26, 1, true), core.StatusFailure, "no successful backup"},
		{"warning ok", []job{{Time: at(12, 22), Outcome: warning, Reason: "CBT"}}, mustRule(t, nil, 26, 1, true), core.StatusOK, "with warnings"},
		{"warning not ok", []job{{Time: at(11, 22), Outcome: success}, {Time: at(12, 22), Outcome: warning, Reason: "CBT"}}, mustRule(t, nil, 48, 1, false), core.StatusFailure, "completed with warnings (not counted as success): CBT"},
		{"latest failed", []job{{Time: at(12, 22), Outcome: failed, Reason: "target disk full", Name: "FS"}, {Time: at(12, 20), Outcome: success}}, mustRule(t, nil, 26, 1, true), core.StatusFailure, "last failed job 2024-05-12 22:00 (FS) failed: target disk full"},
		{"failure then success", []job{{Time: at(12, 20), Outcome: failed}, {Time: at(12, 22), Outcome: success}}, mustRule(t, nil, 26, 1, true), core.StatusOK, "last failed job"},
		{"too few", []job{{Time: at(12, 22), Outcome: success}}, mustRule(t, nil, 26, 2, true), core.StatusFailure, "1 of 2 expected successful jobs"},
		{"enough", []job{{Time: at(12, 21), Outcome: success}, {Time: at(12, 22), Outcome: success}, {Time: at(1, 22), Outcome: success}}, mustRule(t, nil, 26, 2, true), core.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := evaluate(p, tc.jobs, tc.rule, now)
			if r.Status != tc.want || !strings.Contains(r.Message.EN, tc.match) || r.Key != "veeam:Fileserver" {
				t.Errorf("got %v %q (key %q), want %v ~%q", r.Status, r.Message.EN, r.Key, tc.want, tc.match)
			}
			if r.Message.DE == "" || r.Message.DE == r.Message.EN {
				t.Errorf("German message missing: %q", r.Message.DE)
			}
		})
	}
	r := evaluate(p, []job{{Time: at(12, 20), Outcome: success}}, mustRule(t, nil, 26, 1, true), now)
	if r.Value == nil || *r.Value != 12 || r.Unit != "h" || !strings.Contains(r.Message.DE, "12.05.2024 20:00") && !strings.Contains(r.Message.DE, "(vor 12,0 h)") {
		t.Errorf("value/German: %v %q %q", r.Value, r.Unit, r.Message.DE)
	}
}

func fakeEnv(detect func(context.Context) []ProductConfig, readers map[string]reader) env {
	return env{now: func() time.Time { return time.Date(2024, 5, 13, 8, 0, 0, 0, time.UTC) }, detect: detect, readers: readers}
}

func TestParams(t *testing.T) {
	if _, err := newCheck(nil, fakeEnv(nil, nil)); !errors.Is(err, check.ErrNotConfigured) {
		t.Errorf("nil params without detection: %v, want ErrNotConfigured", err)
	}
	for _, bad := range []string{
		`{"products":[{"type":"restic"}]}`,
		`{"products":[{"type":"generic"}]}`,
		`{"products":[{"type":"nope","path":"x"}]}`,
		`{"products":[{"type":"generic","path":"/a"},{"type":"generic","path":"/b"}]}`,
		`{"products":[{"type":"generic","path":"/a"}],"expected_days":["someday"]}`,
		`{"products":[{"type":"generic","path":"/a"}],"expected_days":["ẞẞ"]}`,
		`{"products":[{"type":"generic","path":"/a"}],"expected_days":["m"]}`,
		`{"products":[{"type":"generic","path":"/a"}],"max_age_hours":-1}`,
		`{"products":[{"type":"generic","path":"/a","min_successes":0}]}`,
		`{"products":[{"type":"borg","repository":"/r","password_env":"X"}]}`,
		`{"products":[{"type":"generic","path":"/a","password":"secret"}]}`,
	} {
		c, err := newCheck(json.RawMessage(bad), fakeEnv(nil, nil))
		if err == nil {
			err = c.Init()
		}
		if err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	c, err := newCheck(json.RawMessage(`{"products":[{"type":"generic","path":"/a","name":"nas"},{"type":"generic","path":"/b"}],"expected_days":["Mon","freitag"," Di "],"warnings_ok":false}`), fakeEnv(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Init(); err != nil {
		t.Fatal(err)
	}
	ru, _ := c.ruleFor(c.p.Products[0])
	if !ru.Expected[time.Monday] || !ru.Expected[time.Friday] || !ru.Expected[time.Tuesday] || ru.Expected[time.Sunday] || ru.WarningsOK || ru.MaxAge != 26*time.Hour {
		t.Errorf("rule = %+v", ru)
	}
}

func TestRunAutoDetect(t *testing.T) {
	none := func(context.Context) []ProductConfig { return nil }
	c, err := newCheck(nil, fakeEnv(none, nil))
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
	if len(got) != 1 || got[0].Status != core.StatusWarning || got[0].Message.EN != "No supported backup product found" {
		t.Errorf("no product: %+v", got)
	}

	wsb := func(context.Context) []ProductConfig {
		return []ProductConfig{{Type: WindowsBackup}, {Type: Veeam}, {Type: TimeMachine}}
	}
	readers := map[string]reader{
		WindowsBackup: func(context.Context, ProductConfig, time.Time) ([]job, error) {
			return jobsFromEvents([][]byte{read(t, "wsb-event4-success.xml")}, wsbJob)
		},
		Veeam: func(context.Context, ProductConfig, time.Time) ([]job, error) {
			return nil, errors.Join(errors.ErrUnsupported, errors.New("no event log"))
		},
	}
	c, _ = newCheck(nil, fakeEnv(wsb, readers))
	_ = c.Init()
	got = nil
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("results = %+v", got)
	}
	// The 2024-03-11 success is two months old at the fake clock.
	if got[0].Key != "windows_server_backup" || got[0].Status != core.StatusFailure {
		t.Errorf("wsb: %+v", got[0])
	}
	// Sunday 2024-05-12 06:00 to Monday 06:00 saw no job.
	if got[1].Key != "daily:windows_server_backup" || got[1].Status != core.StatusFailure ||
		got[1].Message.EN != "Windows Server Backup: backup of Sun 2024-05-12 missing (no job ran)" ||
		got[1].Message.DE != "Windows Server Backup: Backup vom So 12.05.2024 fehlt (kein Job gelaufen)" {
		t.Errorf("wsb daily: %+v", got[1])
	}
	// An unreadable product's daily verdict says so too, so that no earlier
	// verdict stays standing.
	if got[2].Key != "veeam" || got[2].Status != core.StatusUnsupported ||
		got[3].Key != "daily:veeam" || got[3].Status != core.StatusUnsupported || got[3].Message != got[2].Message {
		t.Errorf("veeam: %+v", got[2:4])
	}
	if got[4].Key != "timemachine" || got[4].Status != core.StatusUnsupported {
		t.Errorf("timemachine without reader: %+v", got[4])
	}
}

func TestGeneric(t *testing.T) {
	dir := t.TempDir()
	checktest.Allow(nil, []string{dir})
	old := time.Date(2024, 5, 10, 22, 0, 0, 0, time.UTC)
	newer := time.Date(2024, 5, 12, 23, 0, 0, 0, time.UTC)
	if err := os.MkdirAll(dir+"/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	for name, mt := range map[string]time.Time{"a.bak": old, "sub/b.bak": newer} {
		if err := os.WriteFile(dir+"/"+name, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dir+"/"+name, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	raw := json.RawMessage(`{"products":[{"type":"generic","path":"` + dir + `"},{"type":"generic","name":"gone","path":"` + dir + `/missing"}],"max_age_hours":12}`)
	c, err := newCheck(raw, fakeEnv(nil, portableReaders()))
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
	if len(got) != 2 || got[0].Status != core.StatusOK || got[0].Value == nil || *got[0].Value != 9 {
		t.Fatalf("generic: %+v", got)
	}
	if got[1].Key != "generic:gone" || got[1].Status != core.StatusError || !strings.Contains(got[1].Message.EN, "could not be read") {
		t.Errorf("missing path: %+v", got[1])
	}
	// The same folder, judged at a later clock, is too old.
	c.env.now = func() time.Time { return newer.Add(13 * time.Hour) }
	got = nil
	_ = c.Run(context.Background(), &got)
	if got[0].Status != core.StatusFailure {
		t.Errorf("old folder: %+v", got[0])
	}
}

// fakeLog serves captured event XML per channel and records the queries.
type fakeLog struct {
	events  map[string][]string
	missing map[string]bool
	fail    error // every read fails with it
	asked   []string
}

func (f *fakeLog) Read(_ context.Context, channel, xpath string, max int) ([]string, error) {
	f.asked = append(f.asked, channel+" "+xpath)
	if f.missing[channel] {
		return nil, errors.Join(errChannelNotFound, errors.New("EvtQuery: 15007"))
	}
	if f.fail != nil {
		return nil, f.fail
	}
	evs := f.events[channel]
	if len(evs) > max {
		evs = evs[:max]
	}
	return evs, nil
}

func TestReadEvents(t *testing.T) {
	log := &fakeLog{
		events:  map[string][]string{"Application": {string(read(t, "veeam-agent-190-failed.xml"))}},
		missing: map[string]bool{"Veeam Backup": true, "Microsoft-Windows-Backup": true},
	}
	jobs, err := readEvents(log, veeamJob, veeamQueries...)(context.Background(), ProductConfig{}, time.Time{})
	if err != nil || len(jobs) != 1 || jobs[0].Outcome != failed {
		t.Fatalf("Veeam Agent only: %+v, %v", jobs, err)
	}
	if len(log.asked) != 2 || !strings.Contains(log.asked[1], "Provider[@Name='Veeam Agent'] and EventID=190") ||
		!strings.Contains(log.asked[1], "timediff(@SystemTime) <= 2678400000") {
		t.Errorf("queries: %q", log.asked)
	}
	if _, err := readEvents(log, wsbJob, wsbQuery)(context.Background(), ProductConfig{}, time.Time{}); err == nil ||
		!strings.Contains(err.Error(), "Microsoft-Windows-Backup not found") ||
		check.ErrorText(err).DE != "Ereignisprotokoll-Kanal Microsoft-Windows-Backup nicht gefunden (ist das Produkt installiert?)" {
		t.Errorf("missing required channel: %v", err)
	}
	// A failing event log call names the channel, the call and the reason
	// in both languages (Wine: EvtQuery fails without an error code).
	log = &fakeLog{fail: &wevtapi.CallError{Call: "EvtQuery Microsoft-Windows-Backup", Err: wevtapi.ErrNoErrorCode}}
	_, err = readEvents(log, wsbJob, wsbQuery)(context.Background(), ProductConfig{}, time.Time{})
	if txt := check.ErrorText(err); txt.EN != "reading event log channel Microsoft-Windows-Backup: EvtQuery Microsoft-Windows-Backup failed without an error code (the call may not be implemented on this system)" ||
		!strings.HasPrefix(txt.DE, "Lesen des Ereignisprotokoll-Kanals Microsoft-Windows-Backup: EvtQuery Microsoft-Windows-Backup ist ohne Fehlercode fehlgeschlagen") {
		t.Errorf("failing call: %+v", txt)
	}

	// Too many events for one read: the window shrinks so the newest are kept.
	many := make([]string, maxEvents)
	for i := range many {
		many[i] = string(read(t, "wsb-event4-success.xml"))
	}
	log = &fakeLog{events: map[string][]string{"Microsoft-Windows-Backup": many}}
	if _, err := readEvents(log, wsbJob, wsbQuery)(context.Background(), ProductConfig{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if len(log.asked) != 3 || !strings.Contains(log.asked[2], "<= 172800000") {
		t.Errorf("window not shrunk: %q", log.asked)
	}

	log = &fakeLog{events: map[string][]string{"Microsoft-Windows-Backup": {"<Event>broken"}}}
	if _, err := readEvents(log, wsbJob, wsbQuery)(context.Background(), ProductConfig{}, time.Time{}); err == nil {
		t.Error("broken XML accepted")
	}
}
