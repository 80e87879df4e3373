package eventlog

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/evtxtest"
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
	"github.com/wacht-rmm/wacht/internal/core"
)

var (
	levelRE    = regexp.MustCompile(`<Level>(\d+)</Level>`)
	providerRE = regexp.MustCompile(`<Provider Name="([^"]+)"`)
	recordRE   = regexp.MustCompile(`<EventRecordID>(\d+)</EventRecordID>`)
)

// TestRealEventLogs runs the check over every record of the real System and
// Application logs (../shared/testdata/evtx), handed over unfiltered as if
// the XPath level condition had matched everything: it must count exactly
// the critical and error records (levels 1 and 2), provider by provider as
// the records themselves say.
func TestRealEventLogs(t *testing.T) {
	check.SetStateDir(t.TempDir())
	t.Cleanup(func() { check.SetStateDir("") })
	channels := map[string][]string{"System": evtxtest.Records(t, evtxtest.System...), "Application": evtxtest.Records(t, evtxtest.Application...)}

	// What the data says, read with regular expressions only.
	want := map[string]int{}
	total := 0
	for _, xs := range channels {
		for _, x := range xs {
			if l := levelRE.FindStringSubmatch(x); l != nil && (l[1] == "1" || l[1] == "2") {
				want[providerRE.FindStringSubmatch(x)[1]]++
				total++
			}
		}
	}
	if total == 0 {
		t.Fatal("the logs hold no critical or error record; the test proves nothing")
	}

	got := map[string]int{}
	for ch, xs := range channels {
		for _, x := range xs {
			e, _, err := logsrc.ParseWinEvent([]byte(x))
			if err != nil {
				t.Fatalf("%s record %s: %v", ch, recordRE.FindStringSubmatch(x)[1], err)
			}
			if e.Time.IsZero() || e.ID == "" || e.Source == "" {
				t.Errorf("%s record %s parsed without time, ID or source: %+v", ch, recordRE.FindStringSubmatch(x)[1], e)
			}
			if e.Priority >= 0 && e.Priority <= 3 {
				got[e.Source]++
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("critical records per provider:\n got  %v\n want %v", got, want)
	}

	src := func(p params) ([]logsrc.Source, error) {
		var srcs []logsrc.Source
		for _, ch := range p.Channels {
			xs := channels[ch]
			last := recordRE.FindStringSubmatch(xs[len(xs)-1])[1]
			srcs = append(srcs, logsrc.Source{Name: "channel:" + ch, Reader: logsrc.WinLog{Channel: ch, ReadXML: func(context.Context, string, string, int) ([]string, string, error) {
				return xs, "<BookmarkList><Bookmark Channel='" + ch + "' RecordId='" + last + "' IsCurrent='true'/></BookmarkList>", nil
			}}})
		}
		return srcs, nil
	}
	res := run(t, `{"warn":1,"fail":1000}`, src)
	if res.Value == nil || int(*res.Value) != total || res.Status != core.StatusWarning {
		t.Fatalf("check: %v %v, want %d critical events; %q", res.Value, res.Status, total, res.Message.EN)
	}
	d := events(t, res)
	if d.Total != total || len(d.Events) != min(total, 20) {
		t.Fatalf("data lists %d of %d events, want the newest %d of %d", len(d.Events), d.Total, min(total, 20), total)
	}
	for _, e := range d.Events {
		if (e.Log != "System" && e.Log != "Application") || (e.Level != "critical" && e.Level != "error") || e.Source == "" || e.ID == "" || e.Time.IsZero() {
			t.Errorf("event %+v", e)
		}
	}
	t.Logf("%d critical or error records from %d providers: %v", total, len(want), want)
}
