package eventlog

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
	"github.com/wacht-rmm/wacht/internal/core"
)

type collect []check.Result

func (c *collect) Report(r check.Result) { *c = append(*c, r) }

// run builds a fresh check (as after an agent restart) and runs it once.
func run(t *testing.T, params string, src sourcesFunc) check.Result {
	t.Helper()
	c, err := newCheck(json.RawMessage(params), src)
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
	return got[0]
}

// fakeJournal is a journal that honours --after-cursor and --since, as
// journalctl does, over entries appended by the test.
type fakeJournal struct {
	t       *testing.T
	lines   []string
	cursors []string
	times   []int64
	calls   []string
}

func (j *fakeJournal) add(prio int, ident, msg string, at time.Time) {
	n := len(j.lines)
	cur := fmt.Sprintf("s=abc;i=%x;b=boot;t=%x", n+1, at.UnixMicro())
	b, _ := json.Marshal(map[string]string{
		"__CURSOR": cur, "__REALTIME_TIMESTAMP": fmt.Sprint(at.UnixMicro()), "PRIORITY": fmt.Sprint(prio),
		"SYSLOG_IDENTIFIER": ident, "MESSAGE": msg, "_SYSTEMD_UNIT": ident + ".service",
	})
	j.lines, j.cursors, j.times = append(j.lines, string(b)), append(j.cursors, cur), append(j.times, at.Unix())
}

func (j *fakeJournal) run(_ context.Context, name string, args ...string) ([]byte, error) {
	j.calls = append(j.calls, strings.Join(args, " "))
	start := 0
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--after-cursor":
			start = -1
			for k, c := range j.cursors {
				if c == args[i+1] {
					start = k + 1
				}
			}
			if start < 0 {
				j.t.Fatalf("unknown cursor %q", args[i+1])
			}
		case "--since":
			var s int64
			fmt.Sscanf(args[i+1], "@%d", &s)
			for start < len(j.times) && j.times[start] < s {
				start++
			}
		}
	}
	var out []string
	for _, l := range j.lines[start:] {
		var m map[string]string
		json.Unmarshal([]byte(l), &m)
		if m["PRIORITY"] <= "3" { // -p 0..3
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return []byte(strings.Join(out, "\n") + "\n"), nil
}

func TestJournalAcrossRestarts(t *testing.T) {
	check.SetStateDir(t.TempDir())
	now := time.Now()
	j := &fakeJournal{t: t}
	j.add(3, "old", "before the lookback window", now.Add(-30*time.Hour))
	j.add(3, "backup", "Failed to start backup.service", now.Add(-2*time.Hour))
	j.add(6, "cron", "session opened", now.Add(-time.Hour))
	j.add(2, "smartd", "8 Currently unreadable (pending) sectors", now.Add(-time.Minute))
	src := func(p params) ([]logsrc.Source, error) { return linuxSources(p, true, j.run) }

	res := run(t, "", src)
	if *res.Value != 2 || res.Status != core.StatusFailure {
		t.Fatalf("first run: %v %v %q", *res.Value, res.Status, res.Message.EN)
	}
	if !strings.Contains(res.Message.EN, "backup: Failed to start backup.service") || !strings.Contains(res.Message.DE, "2 kritische Ereignisse") {
		t.Errorf("message: %q / %q", res.Message.EN, res.Message.DE)
	}
	if d := events(t, res); d.Total != 2 || d.Events[0].Source != "backup" || d.Events[0].Log != "journal" || d.Events[0].Level != "error" ||
		d.Events[1].Source != "smartd" || d.Events[1].Level != "critical" {
		t.Errorf("data = %+v", d)
	}
	res = run(t, "", src)
	if *res.Value != 0 || res.Status != core.StatusOK || res.Message.DE != "Keine kritischen Ereignisse seit der letzten Prüfung" {
		t.Fatalf("nothing new: %v %v", *res.Value, res.Status)
	}
	j.add(3, "nginx", "bind() to 0.0.0.0:443 failed", now)
	j.add(3, "nginx", "still failing", now)
	res = run(t, "", src)
	if *res.Value != 2 {
		t.Fatalf("second batch: %v %q", *res.Value, res.Message.EN)
	}
	if got := j.calls[len(j.calls)-1]; !strings.Contains(got, "--after-cursor s=abc;i=4;") {
		t.Errorf("third call %q", got)
	}
}

func TestSyslogFilesAcrossRestarts(t *testing.T) {
	check.SetStateDir(t.TempDir())
	log := filepath.Join(t.TempDir(), "syslog")
	write := func(name string, lines ...string) {
		f, err := os.OpenFile(name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			fmt.Fprintf(f, "%s srv-fs01 %s\n", time.Now().UTC().Format(time.RFC3339Nano), l)
		}
		f.Close()
	}
	conf := fmt.Sprintf(`{"files":[%q]}`, log)
	src := func(p params) ([]logsrc.Source, error) { return linuxSources(p, true, nil) }
	write(log, "systemd[1]: Started Session 4 of User root.", "kernel: EXT4-fs error (device sdb1): reading directory lblock 0")
	res := run(t, conf, src)
	if *res.Value != 1 || !strings.Contains(res.Message.EN, "kernel: EXT4-fs error (device sdb1)") {
		t.Fatalf("first: %v %q", *res.Value, res.Message.EN)
	}
	if e := events(t, res).Events[0]; e.Log != log || e.Source != "kernel" || e.Level != "" || e.Text != "EXT4-fs error (device sdb1): reading directory lblock 0" {
		t.Errorf("data = %+v", e)
	}
	write(log, "systemd[1]: backup.service: Failed with result 'exit-code'.")
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	write(log+".1", "smartd[812]: Device: /dev/sda, FAILED SMART self-check.")
	write(log, "rsyslogd: rsyslogd was HUPed", "nginx[77]: [crit] 77#77: *1 SSL_do_handshake() failed")
	res = run(t, conf, src)
	if *res.Value != 3 {
		t.Fatalf("after rotation: %v %q", *res.Value, res.Message.EN)
	}
	if res := run(t, conf, src); *res.Value != 0 {
		t.Fatalf("again: %v %q", *res.Value, res.Message.EN)
	}
}

func TestRulesAndWindowsEvents(t *testing.T) {
	check.SetStateDir(t.TempDir())
	var xs []string
	for _, f := range []string{"win-system-7000.xml", "win-system-41.xml", "win-application-1000.xml"} {
		b, err := os.ReadFile(filepath.Join("..", "internal", "logsrc", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		xs = append(xs, string(b))
	}
	src := func(p params) ([]logsrc.Source, error) {
		return []logsrc.Source{{Name: "channel:System", Reader: logsrc.WinLog{Channel: "System", ReadXML: func(context.Context, string, string, int) ([]string, string, error) {
			return xs, "<BookmarkList><Bookmark Channel='System' RecordId='91877' IsCurrent='true'/></BookmarkList>", nil
		}}}}, nil
	}
	res := run(t, `{"exclude":[{"source":"Application Error","text":"^DATEV"}],"warn":1,"fail":3,"max_events":1}`, src)
	if *res.Value != 2 || res.Status != core.StatusWarning {
		t.Fatalf("%v %v %q", *res.Value, res.Status, res.Message.EN)
	}
	want := "(newest 1 shown):\n" + time.Date(2026, 11, 26, 21, 20, 31, 0, time.UTC).In(time.Local).Format("2006-01-02 15:04:05") + " Microsoft-Windows-Kernel-Power (ID 41): 0; 0x0;"
	if !strings.Contains(res.Message.EN, want) {
		t.Errorf("EN %q, want %q", res.Message.EN, want)
	}
	if !strings.Contains(res.Message.DE, "(die neuesten 1 angezeigt):\n"+time.Date(2026, 11, 26, 21, 20, 31, 0, time.UTC).In(time.Local).Format("02.01.2006 15:04:05")) {
		t.Errorf("DE %q", res.Message.DE)
	}
	d := events(t, res)
	if e := d.Events[0]; d.Total != 2 || len(d.Events) != 1 || e.Log != "System" || e.Source != "Microsoft-Windows-Kernel-Power" ||
		e.ID != "41" || e.Level != "critical" || !e.Time.Truncate(time.Second).Equal(time.Date(2026, 11, 26, 21, 20, 31, 0, time.UTC)) {
		t.Errorf("data = %+v", d)
	}
	res = run(t, `{"include":[{"id":"7000"}]}`, src)
	if *res.Value != 1 || !strings.Contains(res.Message.EN, `Service Control Manager (ID 7000): Der Dienst "Veeam Agent for Microsoft Windows" wurde aufgrund folgenden Fehlers nicht gestartet: Der Dienst`) {
		t.Errorf("include: %v %q", *res.Value, res.Message.EN)
	}
}

func TestNoSource(t *testing.T) {
	check.SetStateDir(t.TempDir())
	defer func(d []string) { defaultFiles = d }(defaultFiles)
	defaultFiles = []string{filepath.Join(t.TempDir(), "syslog")}
	res := run(t, "", func(p params) ([]logsrc.Source, error) { return linuxSources(p, false, nil) })
	if res.Status != core.StatusUnsupported || !strings.Contains(res.Message.DE, "nicht gelesen werden: es gibt kein systemd-Journal und keine der Dateien ") || !strings.Contains(res.Message.EN, "there is no systemd journal") {
		t.Errorf("%v %q", res.Status, res.Message.EN)
	}
}

func TestParams(t *testing.T) {
	for _, p := range []string{`{"source":"eventlog"}`, `{"warn":5,"fail":2}`, `{"include":[{"text":"("}]}`, `{"lookback":"soon"}`, `{"fail":0.5}`} {
		c, err := newCheck(json.RawMessage(p), osSources)
		if err == nil {
			err = c.Init()
		}
		if err == nil {
			t.Errorf("%s accepted", p)
		}
	}
	c, err := newCheck(json.RawMessage(`{"lookback":"2h","max_events":5}`), osSources)
	if err != nil || c.Init() != nil || time.Duration(c.p.Lookback) != 2*time.Hour || c.p.Fail != 1 {
		t.Errorf("%+v %v", c.p, err)
	}
	if _, err := check.New(Name, nil); err != nil {
		t.Errorf("default config: %v", err)
	}
}
