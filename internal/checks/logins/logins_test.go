package logins

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/check/checktest"
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

type collect []check.Result

func (c *collect) Report(r check.Result) { *c = append(*c, r) }

// run builds a fresh check (as after an agent restart) and runs it once.
func run(t *testing.T, conf string, src sourcesFunc, audit auditFunc, now time.Time) check.Result {
	t.Helper()
	c, err := newCheck(json.RawMessage(conf), src, audit)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Init(); err != nil {
		t.Fatal(err)
	}
	if !now.IsZero() {
		c.now = func() time.Time { return now }
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d results", len(got))
	}
	return got[0]
}

func summarize(fs []failure) (n, locks int, users, addrs map[string]int) {
	users, addrs = map[string]int{}, map[string]int{}
	for _, f := range fs {
		if f.Lockout {
			locks++
			continue
		}
		n++
		users[f.User]++
		if f.Addr != "" {
			addrs[f.Addr]++
		}
	}
	return
}

func fileEntries(t *testing.T, name string) []logsrc.Entry {
	t.Helper()
	now := time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var es []logsrc.Entry
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		es = append(es, logsrc.ParseSyslogLine(l, now))
	}
	return es
}

func TestParseCaptures(t *testing.T) {
	jb, err := os.ReadFile("testdata/journal-auth.json")
	if err != nil {
		t.Fatal(err)
	}
	journal, _, err := logsrc.ParseJournal(jb)
	if err != nil {
		t.Fatal(err)
	}
	ub, err := os.ReadFile("testdata/unified-auth.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	unified := unifiedEntries(t, ub)
	for _, tc := range []struct {
		name         string
		entries      []logsrc.Entry
		n            int
		users, addrs map[string]int
	}{
		{"auth-debian13.log", fileEntries(t, "auth-debian13.log"), 6,
			map[string]int{"admin": 2, "oracle": 1, "root": 2, "mmueller": 1},
			map[string]int{"203.0.113.57": 3, "198.51.100.23": 1}},
		{"secure-rhel8.log", fileEntries(t, "secure-rhel8.log"), 5,
			map[string]int{"test": 1, "oracle": 1, "jdoe": 3},
			map[string]int{"203.0.113.99": 1}},
		{"journal-auth.json", journal, 3,
			map[string]int{"ubnt": 1, "g\uFFFDrard": 1, "anna": 1},
			map[string]int{"203.0.113.57": 2}},
		{"unified-auth.ndjson", unified, 3,
			map[string]int{"admin": 1, "anna": 2},
			map[string]int{"192.168.178.44": 1}},
	} {
		n, _, users, addrs := summarize(parseFailures(tc.entries))
		if n != tc.n || !reflect.DeepEqual(users, tc.users) || !reflect.DeepEqual(addrs, tc.addrs) {
			t.Errorf("%s: %d failures, users %v, addrs %v; want %d, %v, %v", tc.name, n, users, addrs, tc.n, tc.users, tc.addrs)
		}
	}
}

// unifiedEntries parses a unified log capture through the real reader.
func unifiedEntries(t *testing.T, out []byte) []logsrc.Entry {
	t.Helper()
	u := logsrc.Unified{Run: func(context.Context, string, ...string) ([]byte, error) { return out, nil }}
	es, _, err := u.Read(context.Background(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func winEntries(t *testing.T, names ...string) []string {
	t.Helper()
	var xs []string
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("..", "internal", "logsrc", "testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		xs = append(xs, string(b))
	}
	return xs
}

func TestWindowsEvents(t *testing.T) {
	var es []logsrc.Entry
	for _, x := range winEntries(t, "win-security-4625.xml", "win-security-4625-local.xml", "win-security-4740.xml") {
		e, _, err := logsrc.ParseWinEvent([]byte(x))
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	fs := parseFailures(es)
	want := []failure{
		{Time: time.Date(2026, 11, 26, 21, 40, 17, 226538200, time.UTC), User: "administrator", Addr: "203.0.113.57"},
		{Time: time.Date(2026, 11, 26, 21, 41, 5, 4671800, time.UTC), User: `KANZLEI\m.schmidt`, Addr: "127.0.0.1"},
		{Time: time.Date(2026, 11, 26, 21, 41, 9, 332100500, time.UTC), User: "m.schmidt", Lockout: true},
	}
	if !reflect.DeepEqual(fs, want) {
		t.Errorf("got %+v\nwant %+v", fs, want)
	}

	// Through the check: a lock-out alone warns and is named.
	check.SetStateDir(t.TempDir())
	now := time.Date(2026, 11, 26, 21, 45, 0, 0, time.UTC)
	src := func(params) ([]logsrc.Source, error) {
		return []logsrc.Source{{Name: "channel:Security", Reader: logsrc.WinLog{Channel: "Security", ReadXML: func(context.Context, string, string, int) ([]string, string, error) {
			return winEntries(t, "win-security-4625.xml", "win-security-4625-local.xml", "win-security-4740.xml"), "<BookmarkList><Bookmark Channel='Security' RecordId='1203352' IsCurrent='true'/></BookmarkList>", nil
		}}}}, nil
	}
	on := func(context.Context) (bool, error) { return true, nil }
	res := run(t, "", src, on, now)
	if *res.Value != 2 || res.Status != core.StatusWarning ||
		res.Message.EN != `2 failed log-ins in the last 15 minutes (warning from 10, failure from 30). Top accounts: KANZLEI\m.schmidt (1), administrator (1). Top sources: 127.0.0.1 (1), 203.0.113.57 (1). Locked-out accounts: m.schmidt (1)` ||
		!strings.HasPrefix(res.Message.DE, "2 fehlgeschlagene Anmeldungen in den letzten 15 Minuten (Warnung ab 10, Fehler ab 30). Häufigste Konten:") {
		t.Errorf("%v %v\n%s\n%s", *res.Value, res.Status, res.Message.EN, res.Message.DE)
	}

	// The same as structure: one entry per account and address, the
	// lock-out first.
	d, ok := protocol.ReadLogins(res.Data)
	if !ok {
		t.Fatalf("no logins data: %s", res.Data)
	}
	wantData := []protocol.Login{
		{Account: "m.schmidt", Count: 1, First: fs[2].Time, Last: fs[2].Time, LockedOut: true},
		{Account: `KANZLEI\m.schmidt`, Address: "127.0.0.1", Count: 1, First: fs[1].Time, Last: fs[1].Time},
		{Account: "administrator", Address: "203.0.113.57", Count: 1, First: fs[0].Time, Last: fs[0].Time},
	}
	if d.Total != 2 || d.WindowSeconds != 900 || d.Truncated || !sameLogins(d.Logins, wantData) {
		t.Errorf("data %+v\nwant %+v", d, wantData)
	}

	off := func(context.Context) (bool, error) { return false, nil }
	res = run(t, "", src, off, now)
	if res.Status != core.StatusWarning || res.Value != nil || !strings.Contains(res.Message.EN, "Auditing of failed log-ins is off") || !strings.Contains(res.Message.DE, "Überwachung fehlgeschlagener Anmeldungen ist aus") {
		t.Errorf("audit off: %+v", res)
	}
}

func TestAuditpol(t *testing.T) {
	for name, want := range map[string]bool{
		"auditpol-en.csv": true, "auditpol-success-only.csv": false, "auditpol-de-2012.csv": true, "auditpol-de-off.csv": false,
	} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseAuditpol(b)
		if err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", name, got, err, want)
		}
	}
	if _, err := parseAuditpol([]byte("Error 0x00000005 occurred:\r\nAccess is denied.\r\n")); err == nil {
		t.Error("error output accepted")
	}
}

// TestWindowAcrossRestarts feeds a file in batches with fresh check
// instances and a moving clock: failures count within the window only,
// each once.
func TestWindowAcrossRestarts(t *testing.T) {
	check.SetStateDir(t.TempDir())
	log := filepath.Join(t.TempDir(), "auth.log")
	conf := `{"files":["` + log + `"],"window":"10m","warn":3,"fail":5,"top":2}`
	src := func(p params) ([]logsrc.Source, error) { return linuxSources(p, true, nil) }
	t0 := time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)
	add := func(at time.Time, user string) {
		f, err := os.OpenFile(log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.WriteString(at.Format(time.RFC3339Nano) + " h sshd-session[7" + at.Format("0405") + "]: Failed password for " + user + " from 192.0.2.7 port 4" + at.Format("0405") + " ssh2\n")
	}
	add(t0.Add(-20*time.Minute), "old") // before the first window
	add(t0.Add(-5*time.Minute), "root")
	add(t0.Add(-4*time.Minute), "root")
	res := run(t, conf, src, nil, t0)
	if *res.Value != 2 || res.Status != core.StatusOK {
		t.Fatalf("first: %v %v %s", *res.Value, res.Status, res.Message.EN)
	}
	add(t0.Add(1*time.Minute), "admin")
	res = run(t, conf, src, nil, t0.Add(2*time.Minute))
	if *res.Value != 3 || res.Status != core.StatusWarning || !strings.Contains(res.Message.EN, "Top accounts: root (2), admin (1). Top sources: 192.0.2.7 (3)") {
		t.Fatalf("second: %v %v %s", *res.Value, res.Status, res.Message.EN)
	}
	// The two root failures leave the window; nothing new is read twice.
	res = run(t, conf, src, nil, t0.Add(6*time.Minute))
	if *res.Value != 1 || !strings.Contains(res.Message.EN, "admin (1)") {
		t.Fatalf("third: %v %s", *res.Value, res.Message.EN)
	}
	for i := range 5 {
		add(t0.Add(7*time.Minute+time.Duration(i)*time.Second), "backup")
	}
	res = run(t, conf, src, nil, t0.Add(8*time.Minute))
	if *res.Value != 6 || res.Status != core.StatusFailure || !strings.HasPrefix(res.Message.DE, "6 fehlgeschlagene Anmeldungen in den letzten 10 Minuten (Warnung ab 3, Fehler ab 5)") {
		t.Fatalf("fourth: %v %v %s", *res.Value, res.Status, res.Message.DE)
	}
	// The structure holds the window's failures, most first; times in the
	// agent's zone.
	d, ok := protocol.ReadLogins(res.Data)
	want := []protocol.Login{
		{Account: "backup", Address: "192.0.2.7", Count: 5, First: t0.Add(7 * time.Minute), Last: t0.Add(7*time.Minute + 4*time.Second)},
		{Account: "admin", Address: "192.0.2.7", Count: 1, First: t0.Add(time.Minute), Last: t0.Add(time.Minute)},
	}
	if !ok || d.Total != 6 || d.WindowSeconds != 600 || !sameLogins(d.Logins, want) {
		t.Errorf("data %+v\nwant %+v", d, want)
	}
	if len(d.Logins) > 0 && zoneOffset(d.Logins[0].Last) != zoneOffset(t0.In(time.Local)) {
		t.Errorf("time %v not in the agent's zone", d.Logins[0].Last)
	}
}

func TestPrune(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	var fs []failure
	for i := range maxKept + 10 {
		fs = append(fs, failure{Time: t0.Add(time.Duration(maxKept+10-i) * time.Millisecond)})
	}
	got := prune(fs, t0.Add(5*time.Millisecond))
	if len(got) != maxKept || !sort.SliceIsSorted(got, func(i, j int) bool { return got[i].Time.Before(got[j].Time) }) || !got[len(got)-1].Time.Equal(t0.Add(time.Duration(maxKept+10)*time.Millisecond)) {
		t.Errorf("len %d", len(got))
	}
}

func TestParams(t *testing.T) {
	for _, p := range []string{`{"source":"x"}`, `{"warn":50,"fail":20}`, `{"window":"10s"}`, `{"window":"x"}`, `{"top":-1}`} {
		c, err := newCheck(json.RawMessage(p), osSources, nil)
		if err == nil {
			err = c.Init()
		}
		if err == nil {
			t.Errorf("%s accepted", p)
		}
	}
	if _, err := check.New(Name, nil); err != nil {
		t.Errorf("default config: %v", err)
	}
	check.SetStateDir(t.TempDir())
	defer func(d []string) { defaultFiles = d }(defaultFiles)
	defaultFiles = []string{filepath.Join(t.TempDir(), "auth.log")}
	res := run(t, "", func(p params) ([]logsrc.Source, error) { return linuxSources(p, false, nil) }, nil, time.Time{})
	if res.Status != core.StatusUnsupported {
		t.Errorf("no source: %+v", res)
	}
}

// TestAuditpolMissing: a missing auditpol.exe is the check's error naming
// the program, in English and German.
func TestAuditpolMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "auditpol.exe")
	checktest.Allow([]string{missing}, nil)
	audit := func(ctx context.Context) (bool, error) {
		_, err := logsrc.Exec(20*time.Second)(ctx, missing, "/get", "/subcategory:"+logonGUID, "/r")
		return false, err
	}
	check.SetStateDir(t.TempDir())
	defer check.SetStateDir("")
	src := func(params) ([]logsrc.Source, error) { return nil, nil }
	c, err := newCheck(nil, src, audit)
	if err != nil {
		t.Fatal(err)
	}
	txt := check.ErrorText(c.Run(context.Background(), &collect{}))
	if !strings.HasPrefix(txt.EN, "reading the audit policy: the program "+missing+" was not found") ||
		!strings.HasPrefix(txt.DE, "Lesen der Überwachungsrichtlinie: das Programm "+missing+" wurde nicht gefunden") {
		t.Fatalf("%+v", txt)
	}
}

// sameLogins compares login lists by instant, not by zone.
func sameLogins(got, want []protocol.Login) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Account != w.Account || g.Address != w.Address || g.Count != w.Count || g.LockedOut != w.LockedOut ||
			!g.First.Equal(w.First) || !g.Last.Equal(w.Last) {
			return false
		}
	}
	return true
}

// zoneOffset is t's offset; that of the agent's zone for a time read
// through time.Local.
func zoneOffset(t time.Time) int {
	_, off := t.Zone()
	return off
}

func TestLoginsDataCapped(t *testing.T) {
	c, err := newCheck(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)
	var fs []failure
	for i := range protocol.MaxItems + 10 {
		for range i + 1 {
			fs = append(fs, failure{Time: at, User: fmt.Sprint("u", i), Addr: "192.0.2.1"})
		}
	}
	d, ok := protocol.ReadLogins(c.result(fs).Data)
	if !ok || len(d.Logins) != protocol.MaxItems || !d.Truncated || d.Total != len(fs) {
		t.Fatalf("%v: %d logins, truncated %v, total %d", ok, len(d.Logins), d.Truncated, d.Total)
	}
	if l := d.Logins[0]; l.Account != fmt.Sprint("u", protocol.MaxItems+9) || l.Count != protocol.MaxItems+10 {
		t.Errorf("first %+v, want the most frequent", l)
	}
}
