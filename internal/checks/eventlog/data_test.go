package eventlog

import (
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// events reads a result's structured events, failing the test without.
func events(t *testing.T, res check.Result) protocol.Events {
	t.Helper()
	d, ok := protocol.ReadEvents(res.Data)
	if !ok {
		t.Fatalf("result without events data: %s", res.Data)
	}
	return d
}

// TestResultData: the events travel as structure — the agent's local time
// with its zone, log, source (the unit where there is none), ID, level and
// the text flattened to one line — newest max_events of them.
func TestResultData(t *testing.T) {
	c, err := newCheck([]byte(`{"max_events":2}`), osSources)
	if err != nil {
		t.Fatal(err)
	}
	zone := time.FixedZone("agent", 2*3600)
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = zone
	at := time.Date(2026, 11, 26, 21, 20, 31, 0, time.UTC)
	hits := []logsrc.Entry{
		{Time: at.Add(2 * time.Minute), Log: "journal", Unit: "backup.service", Message: "Failed to start\n\x1b[0;1;31mbackup.service\x1b[0m", Priority: 3},
		{Time: at, Log: "System", Source: "Service Control Manager", ID: "7000", Message: "Der Dienst \"Veeam\" wurde nicht gestartet.", Priority: 2},
		{Time: at.Add(time.Minute), Log: "/var/log/syslog", Source: "kernel", Message: "EXT4-fs error", Priority: -1},
	}
	d := events(t, c.result(hits))
	if d.Total != 3 || !d.Truncated || len(d.Events) != 2 {
		t.Fatalf("data = %+v", d)
	}
	kern, backup := d.Events[0], d.Events[1]
	if kern.Source != "kernel" || kern.Log != "/var/log/syslog" || kern.Level != "" || kern.Text != "EXT4-fs error" || !kern.Time.Equal(at.Add(time.Minute)) {
		t.Errorf("oldest listed = %+v", kern)
	}
	if backup.Source != "backup.service" || backup.Log != "journal" || backup.Level != "error" || backup.ID != "" ||
		backup.Text != "Failed to start backup.service" || !backup.Time.Equal(at.Add(2*time.Minute)) {
		t.Errorf("newest = %+v", backup)
	}
	if _, off := backup.Time.Zone(); off != 2*3600 {
		t.Errorf("time %v, want the agent's zone", backup.Time)
	}

	// No events is structure too: the server knows the count is zero.
	if d := events(t, c.result(nil)); d.Total != 0 || len(d.Events) != 0 || d.Truncated {
		t.Errorf("no events: %+v", d)
	}
}
