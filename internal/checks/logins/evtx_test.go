package logins

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/evtxtest"
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

var (
	eventIDRE = regexp.MustCompile(`<EventID[^>]*>(\d+)</EventID>`)
	timeRE    = regexp.MustCompile(`SystemTime="([^"]+)"`)
)

// dataField is one named EventData value of a record, read by regular
// expression.
func dataField(x, name string) string {
	m := regexp.MustCompile(`<Data Name="` + name + `">([^<]*)</Data>`).FindStringSubmatch(x)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

// TestRealSecurityLogs runs every record of the real Security logs
// (../shared/testdata/evtx: thousands of 4624, 4672, 4648, 4776 … and one
// 4625) through the parser: exactly the 4625 and 4740 records count, with
// the accounts and addresses the records name; then the 4625 through the
// check.
func TestRealSecurityLogs(t *testing.T) {
	xs := evtxtest.Records(t, evtxtest.Security...)
	var wantUsers, wantAddrs []string
	var latest time.Time
	locks := 0
	for _, x := range xs {
		switch eventIDRE.FindStringSubmatch(x)[1] {
		case "4625":
			u, d := dataField(x, "TargetUserName"), dataField(x, "TargetDomainName")
			if d != "" && d != "-" {
				u = d + `\` + u
			}
			wantUsers = append(wantUsers, u)
			wantAddrs = append(wantAddrs, dataField(x, "IpAddress"))
			at, err := time.Parse(time.RFC3339Nano, timeRE.FindStringSubmatch(x)[1])
			if err != nil {
				t.Fatal(err)
			}
			latest = at
		case "4740":
			locks++
		}
	}
	if len(wantUsers) == 0 {
		t.Fatal("no 4625 record in the Security logs; the test proves nothing")
	}

	var es []logsrc.Entry
	for _, x := range xs {
		e, _, err := logsrc.ParseWinEvent([]byte(x))
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	fs := parseFailures(es)
	var gotUsers, gotAddrs []string
	gotLocks := 0
	for _, f := range fs {
		if f.Lockout {
			gotLocks++
			continue
		}
		gotUsers, gotAddrs = append(gotUsers, f.User), append(gotAddrs, f.Addr)
	}
	if strings.Join(gotUsers, ",") != strings.Join(wantUsers, ",") || strings.Join(gotAddrs, ",") != strings.Join(wantAddrs, ",") || gotLocks != locks {
		t.Errorf("failures from %d records: users %q addresses %q lock-outs %d; want %q %q %d", len(xs), gotUsers, gotAddrs, gotLocks, wantUsers, wantAddrs, locks)
	}

	check.SetStateDir(t.TempDir())
	t.Cleanup(func() { check.SetStateDir("") })
	src := func(params) ([]logsrc.Source, error) {
		return []logsrc.Source{{Name: "channel:Security", Reader: logsrc.WinLog{Channel: "Security", ReadXML: func(context.Context, string, string, int) ([]string, string, error) {
			return xs, "<BookmarkList><Bookmark Channel='Security' RecordId='1' IsCurrent='true'/></BookmarkList>", nil
		}}}}, nil
	}
	on := func(context.Context) (bool, error) { return true, nil }
	res := run(t, "", src, on, latest.Add(time.Minute))
	if res.Value == nil || int(*res.Value) < 1 || res.Status == core.StatusUnknown || res.Status == core.StatusError ||
		!strings.Contains(res.Message.EN, wantUsers[len(wantUsers)-1]+" (") || !strings.Contains(res.Message.EN, wantAddrs[len(wantAddrs)-1]+" (") {
		t.Errorf("check over the real Security log: %v %v %q", res.Value, res.Status, res.Message.EN)
	}
	d, ok := protocol.ReadLogins(res.Data)
	found := false
	sum := 0
	for _, l := range d.Logins {
		found = found || l.Account == wantUsers[len(wantUsers)-1] && l.Address == wantAddrs[len(wantAddrs)-1] && l.Last.Equal(latest)
		if !l.LockedOut {
			sum += l.Count
		}
	}
	if !ok || res.Value == nil || d.Total != int(*res.Value) || sum != d.Total || !found {
		t.Errorf("data over the real Security log: %+v", d)
	}
	t.Logf("%d records, failures %q from %q; check: %s", len(xs), wantUsers, wantAddrs, res.Message.EN)
}
