package eventlog

import (
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
)

// TestEventsReadsResult parses what result writes, so that the format and
// the server's reading of it cannot drift apart.
func TestEventsReadsResult(t *testing.T) {
	c, err := newCheck(nil, osSources)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 21, 20, 31, 0, time.Local)
	hits := []logsrc.Entry{
		{Time: at, Source: "Service Control Manager", ID: "7000", Message: "Der Dienst \"Veeam\" wurde nicht gestartet: (ID 5): x", Priority: 2},
		{Time: at.Add(time.Minute), Unit: "backup.service", Message: "Failed to start\nbackup.service", Priority: 3},
	}
	res := c.result(hits)
	got := Events(res.Message.EN, time.Local)
	if len(got) != 2 {
		t.Fatalf("Events(%q) = %+v", res.Message.EN, got)
	}
	if e := got[0]; !e.Time.Equal(at) || e.Source != "Service Control Manager" || e.ID != "7000" || e.Text != "Der Dienst \"Veeam\" wurde nicht gestartet: (ID 5): x" {
		t.Errorf("first = %+v", e)
	}
	if e := got[1]; !e.Time.Equal(at.Add(time.Minute)) || e.Source != "backup.service" || e.ID != "" || e.Text != "Failed to start backup.service" {
		t.Errorf("second = %+v", e)
	}
	if got := Events(c.result(nil).Message.EN, time.Local); len(got) != 0 {
		t.Errorf("no events: %+v", got)
	}
}
