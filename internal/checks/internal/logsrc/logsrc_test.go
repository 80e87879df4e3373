package logsrc

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/platform/wevtapi"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseJournal(t *testing.T) {
	es, cursor, err := ParseJournal(read(t, "journal-crit.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 {
		t.Fatalf("%d entries", len(es))
	}
	if !strings.HasPrefix(cursor, "s=8f2c1e6b3a5d4b0e9c7f1a2b3c4d5e6f;i=1a2b6;") {
		t.Errorf("cursor %q", cursor)
	}
	e := es[0]
	if e.Source != "systemd" || e.Unit != "init.scope" || e.Priority != 3 || e.PID != "1" || e.Host != "srv-fs01" || e.Log != "journal" ||
		e.Message != "Failed to start backup.service - Nightly backup to NAS." ||
		!e.Time.Equal(time.Date(2026, 11, 26, 21, 10, 5, 123456000, time.UTC)) {
		t.Errorf("entry 0: %+v", e)
	}
	// Byte-array MESSAGE with escape sequences, no unit, falls back to nothing.
	if es[1].Source != "kernel" || !strings.Contains(es[1].Message, "EXT4-fs error (device sdb1)") || !strings.HasPrefix(es[1].Message, "\x1b[0;1;31m") {
		t.Errorf("entry 1: %+v", es[1])
	}
	// Latin-1 bytes are not UTF-8: replaced, not dropped.
	if es[2].Priority != 2 || !strings.Contains(es[2].Message, "Pr\uFFFDfung") || !strings.HasPrefix(es[2].Message, "Device: /dev/sda [SAT]") {
		t.Errorf("entry 2: %+v", es[2])
	}
	if es[3].Source != "CRON" {
		t.Errorf("repeated field: %+v", es[3])
	}
	if _, _, err := ParseJournal([]byte("{not json\n")); err == nil {
		t.Error("broken line accepted")
	}
}

func TestJournalBookmark(t *testing.T) {
	capture := read(t, "journal-crit.json")
	var calls [][]string
	j := Journal{Args: []string{"-p", "0..3"}, Run: func(_ context.Context, name string, args ...string) ([]byte, error) {
		calls = append(calls, append([]string{name}, args...))
		if len(calls) == 1 {
			return capture, nil
		}
		return nil, nil
	}}
	since := time.Unix(1795700000, 0)
	es, bm, err := j.Read(context.Background(), nil, since)
	if err != nil || len(es) != 4 {
		t.Fatal(len(es), err)
	}
	if got := strings.Join(calls[0], " "); !strings.Contains(got, "--since @1795700000") || !strings.HasSuffix(got, "-p 0..3") {
		t.Errorf("first call %q", got)
	}
	es, bm2, err := j.Read(context.Background(), bm, since)
	if err != nil || len(es) != 0 || string(bm2) != string(bm) {
		t.Fatalf("second read: %d %s %v", len(es), bm2, err)
	}
	got := strings.Join(calls[1], " ")
	if !strings.Contains(got, "--after-cursor s=8f2c1e6b3a5d4b0e9c7f1a2b3c4d5e6f;i=1a2b6;") || strings.Contains(got, "--since") {
		t.Errorf("second call %q", got)
	}

	// A cursor journalctl rejects falls back to the lookback window.
	calls = nil
	bad := Journal{Run: func(_ context.Context, name string, args ...string) ([]byte, error) {
		calls = append(calls, append([]string{name}, args...))
		if strings.Contains(strings.Join(args, " "), "--after-cursor") {
			return nil, errors.New("journalctl: exit status 1: Failed to seek to cursor: Invalid argument")
		}
		return capture, nil
	}}
	es, _, err = bad.Read(context.Background(), json.RawMessage(`{"cursor":"garbage"}`), since)
	if err != nil || len(es) != 4 || len(calls) != 2 || !strings.Contains(strings.Join(calls[1], " "), "--since @1795700000") {
		t.Errorf("bad cursor: %d %v %q", len(es), err, calls)
	}
}

func TestParseSyslogLine(t *testing.T) {
	now := time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)
	lines := strings.Split(strings.TrimSpace(string(read(t, "syslog-debian12.log"))), "\n")
	e := ParseSyslogLine(lines[3], now)
	if e.Source != "systemd" || e.PID != "1" || e.Host != "srv-fs01" || e.Message != "Failed to start backup.service - Nightly backup to NAS." ||
		!e.Time.Equal(time.Date(2026, 11, 26, 21, 14, 9, 552871000, time.UTC)) || e.Priority != -1 {
		t.Errorf("rfc3339: %+v", e)
	}
	if e := ParseSyslogLine(lines[4], now); e.Source != "kernel" || e.PID != "" || !strings.HasPrefix(e.Message, "[27417.123456] EXT4-fs error") {
		t.Errorf("kernel: %+v", e)
	}
	lines = strings.Split(strings.TrimSpace(string(read(t, "messages-rhel.log"))), "\n")
	if e := ParseSyslogLine(lines[1], now); e.Source != "kernel" || e.Host != "srv-app02" || !e.Time.Equal(time.Date(2026, 11, 26, 22, 14, 10, 0, time.UTC)) {
		t.Errorf("bsd: %+v", e)
	}
	if e := ParseSyslogLine(lines[2], now); e.Source != "smartd" || e.PID != "812" || !e.Time.Equal(time.Date(2026, 11, 6, 3, 2, 11, 0, time.UTC)) {
		t.Errorf("bsd padded day: %+v", e)
	}
	// A December line read on 1 January belongs to last year.
	jan := time.Date(2027, 1, 1, 0, 5, 0, 0, time.UTC)
	if e := ParseSyslogLine("Dec 31 23:59:58 h sshd[1]: x", jan); e.Time.Year() != 2026 {
		t.Errorf("year rollover: %v", e.Time)
	}
	// sshd -E writes bare messages.
	if e := ParseSyslogLine("Failed password for root from 127.0.0.1 port 43474 ssh2", now); !e.Time.IsZero() || e.Source != "" || e.Message != "Failed password for root from 127.0.0.1 port 43474 ssh2" {
		t.Errorf("bare: %+v", e)
	}
}

func TestParseUnified(t *testing.T) {
	es, err := parseUnified(read(t, "unified-errors.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 {
		t.Fatalf("%d entries", len(es))
	}
	if es[0].Source != "lsd" || es[0].Priority != 3 || es[0].PID != "387" || es[0].Log != "unified" || !es[0].Time.Equal(time.Date(2026, 11, 26, 21, 14, 9, 552318000, time.UTC)) {
		t.Errorf("entry 0: %+v", es[0])
	}
	if es[0].key == es[1].key {
		t.Error("entries at the same time share a key")
	}
	if es[2].Source != "kernel" || es[2].Priority != 2 || !strings.Contains(es[2].Message, "APFS_IO_ERROR") {
		t.Errorf("entry 2: %+v", es[2])
	}
}

func TestUnifiedBookmark(t *testing.T) {
	capture := read(t, "unified-errors.ndjson")
	lines := strings.SplitAfter(string(capture), "\n")
	// First run sees only the first entry; the second run's output starts
	// at the same second and so repeats it.
	outs := [][]byte{[]byte(lines[0]), capture, capture}
	var starts []string
	u := Unified{Predicate: "messageType == error", Run: func(_ context.Context, name string, args ...string) ([]byte, error) {
		for i, a := range args {
			if a == "--start" {
				starts = append(starts, args[i+1])
			}
		}
		out := outs[0]
		outs = outs[1:]
		return out, nil
	}}
	ctx := context.Background()
	es, bm, err := u.Read(ctx, nil, time.Now().Add(-time.Hour))
	if err != nil || len(es) != 1 {
		t.Fatal(len(es), err)
	}
	es, bm, err = u.Read(ctx, bm, time.Time{})
	if err != nil || len(es) != 2 || es[1].Source != "kernel" {
		t.Fatalf("second: %d %v", len(es), err)
	}
	es, _, err = u.Read(ctx, bm, time.Time{})
	if err != nil || len(es) != 0 {
		t.Fatalf("third: %d %v", len(es), err)
	}
	if starts[1] != time.Date(2026, 11, 26, 21, 14, 9, 0, time.UTC).Local().Format(unifiedStart) {
		t.Errorf("second --start %q", starts[1])
	}
}

func TestParseWinEvent(t *testing.T) {
	e, rec, err := ParseWinEvent(read(t, "win-system-7000.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Source != "Service Control Manager" || e.ID != "7000" || e.Priority != 3 || rec != 48213 || e.Log != "System" ||
		!strings.HasPrefix(e.Message, `Der Dienst "Veeam Agent for Microsoft Windows" wurde`) || e.Host != "WS-BUCHHALTUNG.kanzlei.local" ||
		!e.Time.Equal(time.Date(2026, 11, 26, 21, 14, 9, 552387100, time.UTC)) {
		t.Errorf("7000: %+v %d", e, rec)
	}
	e, _, err = ParseWinEvent(read(t, "win-system-41.xml"))
	if err != nil || e.Priority != 2 || e.ID != "41" || e.Data["BugcheckCode"] != "0" || !strings.HasPrefix(e.Message, "0; 0x0;") {
		t.Errorf("41: %+v %v", e, err)
	}
	e, _, err = ParseWinEvent(read(t, "win-security-4625.xml"))
	if err != nil || e.ID != "4625" || e.Data["TargetUserName"] != "administrator" || e.Data["IpAddress"] != "203.0.113.57" || !strings.HasPrefix(e.Message, "An account failed to log on.") {
		t.Errorf("4625: %+v %v", e, err)
	}
	e, _, err = ParseWinEvent(read(t, "win-system-104.xml"))
	if err != nil || e.Priority != 6 || e.Data["SubjectUserName"] != "Administrator" || e.Data["Channel"] != "Application" || e.Message != "Administrator; KANZLEI; Application" {
		t.Errorf("104 with UserData: %+v %v", e, err)
	}
	if _, _, err := ParseWinEvent([]byte("<Event><System>")); err == nil {
		t.Error("truncated XML accepted")
	}
}

func TestWinLogBookmark(t *testing.T) {
	var queries []string
	w := WinLog{Channel: "System", Cond: "(Level=1 or Level=2)", ReadXML: func(_ context.Context, ch, q string, max int) ([]string, string, error) {
		queries = append(queries, q)
		if len(queries) == 1 {
			return []string{string(read(t, "win-system-7000.xml")), string(read(t, "win-system-41.xml"))}, string(read(t, "win-bookmark.xml")), nil
		}
		return nil, "", nil
	}}
	ctx := context.Background()
	es, bm, err := w.Read(ctx, nil, time.Now().Add(-24*time.Hour))
	if err != nil || len(es) != 2 {
		t.Fatal(len(es), err)
	}
	es, bm2, err := w.Read(ctx, bm, time.Now().Add(-24*time.Hour))
	if err != nil || len(es) != 0 || string(bm2) != string(bm) {
		t.Fatal(len(es), err)
	}
	if !strings.HasPrefix(queries[0], "*[System[(Level=1 or Level=2) and TimeCreated[timediff(@SystemTime) <= 864") {
		t.Errorf("first query %q", queries[0])
	}
	if queries[1] != "*[System[(Level=1 or Level=2) and (EventRecordID > 48219 or TimeCreated[@SystemTime > '2026-11-26T21:20:31.1250417Z'])]]" {
		t.Errorf("second query %q", queries[1])
	}
}

func TestFilter(t *testing.T) {
	f := Filter{
		Include: []Rule{{Source: "systemd"}, {ID: "7000"}, {Text: `ext4-fs error`}},
		Exclude: []Rule{{Source: "systemd", Text: "backup"}, {Source: "*.scope"}},
	}
	if err := f.Compile(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		e    Entry
		want bool
	}{
		{Entry{Source: "systemd", Message: "Failed to start nginx.service"}, true},
		{Entry{Source: "systemd", Message: "Failed to start backup.service"}, false},
		{Entry{Source: "Service Control Manager", ID: "7000"}, true},
		{Entry{Source: "Service Control Manager", ID: "7001"}, false},
		{Entry{Source: "kernel", Message: "EXT4-fs error (device sdb1)"}, true},
		{Entry{Source: "kernel", Unit: "session-3.scope", Message: "EXT4-fs error"}, false},
	} {
		if got := f.Pass(tc.e); got != tc.want {
			t.Errorf("Pass(%+v) = %v", tc.e, got)
		}
	}
	bad := Filter{Include: []Rule{{Text: "("}}}
	if bad.Compile() == nil {
		t.Error("bad regexp accepted")
	}
	empty := Filter{Exclude: []Rule{{}}}
	if empty.Compile() == nil {
		t.Error("empty rule accepted")
	}
}

func TestState(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.json")
	var v struct{ B Bookmarks }
	if err := LoadState(p, &v); err != nil || v.B != nil {
		t.Fatal(err)
	}
	v.B = Bookmarks{"journal": json.RawMessage(`{"cursor":"x"}`)}
	if err := SaveState(p, v); err != nil {
		t.Fatal(err)
	}
	var w struct{ B Bookmarks }
	if err := LoadState(p, &w); err != nil || string(w.B["journal"]) != `{"cursor":"x"}` {
		t.Fatal(w, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

// TestWinEventForbiddenCharacters: EvtRender writes control characters of
// an event's data unescaped (a real 4739 carries U+0003 as MinPasswordAge);
// the event must still parse.
func TestWinEventForbiddenCharacters(t *testing.T) {
	x := "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing'/>" +
		"<EventID>4739</EventID><Level>0</Level><TimeCreated SystemTime='2016-07-08T18:15:23.4136262Z'/><EventRecordID>55</EventRecordID></System>" +
		"<EventData><Data Name='MinPasswordAge'>\x03</Data><Data Name='Note'>tab\there\x1b[0m</Data></EventData></Event>"
	e, id, err := ParseWinEvent([]byte(x))
	if err != nil || id != 55 || e.Data["MinPasswordAge"] != "\uFFFD" || e.Data["Note"] != "tab\there\uFFFD[0m" {
		t.Fatalf("%+v %d %v", e.Data, id, err)
	}
	if clean := []byte("<a>\t\r\nü</a>"); &XMLSafe(clean)[0] != &clean[0] {
		t.Error("clean XML copied")
	}
}

// TestWinLogCallFails: a failed wevtapi call (Wine's EvtQuery fails without
// an error code) is worded with the channel, the call and the reason, in
// English and German.
func TestWinLogCallFails(t *testing.T) {
	for _, tc := range []struct {
		err    error
		en, de string
	}{
		{&wevtapi.CallError{Call: "EvtQuery System", Err: wevtapi.ErrNoErrorCode},
			"reading event log System: EvtQuery System failed without an error code (the call may not be implemented on this system)",
			"Lesen des Ereignisprotokolls System: EvtQuery System ist ohne Fehlercode fehlgeschlagen (der Aufruf ist auf diesem System womöglich nicht umgesetzt)"},
		{&wevtapi.CallError{Call: "EvtQuery System", Err: errors.New("Access is denied.")},
			"reading event log System: EvtQuery System failed: Access is denied.",
			"Lesen des Ereignisprotokolls System: EvtQuery System fehlgeschlagen: Access is denied."},
	} {
		w := WinLog{Channel: "System", ReadXML: func(context.Context, string, string, int) ([]string, string, error) { return nil, "", tc.err }}
		_, _, err := w.Read(context.Background(), nil, time.Now().Add(-time.Hour))
		if txt := check.ErrorText(err); txt.EN != tc.en || txt.DE != tc.de || !errors.Is(err, errors.Unwrap(tc.err)) {
			t.Errorf("got %+v", txt)
		}
	}
}

// TestUnifiedRunFails: macOS `log show` failing is worded with the program
// and the reason in both languages.
func TestUnifiedRunFails(t *testing.T) {
	u := Unified{Run: func(context.Context, string, ...string) ([]byte, error) {
		return nil, msg.Program("/usr/bin/log", errors.New("exit status 64"), "log: Could not open local log store")
	}}
	_, _, err := u.Read(context.Background(), nil, time.Now().Add(-time.Hour))
	if txt := check.ErrorText(err); txt.EN != "reading the unified log: the program /usr/bin/log failed: exit status 64: log: Could not open local log store" ||
		txt.DE != "Lesen des vereinheitlichten Protokolls (unified log): das Programm /usr/bin/log ist fehlgeschlagen: exit status 64: log: Could not open local log store" {
		t.Errorf("got %+v", txt)
	}
}
