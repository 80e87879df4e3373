package alert

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/clock"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// lockedBuffer is a log sink safe for the engine's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// outageOf returns the open outage of a device's check (offline: check "").
func outageOf(t *testing.T, st core.Store, dev int64, check string) core.Outage {
	t.Helper()
	os, err := st.ListOutages(ctx, core.OutageFilter{OpenOnly: true, DeviceID: dev})
	must(t, "ListOutages", err)
	for _, o := range os {
		if o.CheckName == check {
			return o
		}
	}
	t.Fatalf("no open outage of device %d check %q in %+v", dev, check, os)
	return core.Outage{}
}

// TestNotNotifiedWithoutRecipientOrMailServer: without a recipient, or
// with only e-mail recipients and no mail server, an outage creates no
// outbox row, is not flagged notified and says why; the engine logs that
// mail is off once, not per message. With a mail server it is notified.
func TestNotNotifiedWithoutRecipientOrMailServer(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.DB{"sqlite": storetest.NewSQLite, "postgres": storetest.NewPostgres} {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			dev := enroll(t, st, "ACME", "Main", "srv01", core.DeviceRoleServer)
			off := enroll(t, st, "ACME", "Main", "srv02", core.DeviceRoleServer)
			must(t, "TouchDevice", st.TouchDevice(ctx, off.ID, t0, ""))
			var logs lockedBuffer
			clk := clock.NewFake(t0)
			e := New(Options{Store: st, Now: clk.Now, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			outbox := func() int {
				box, err := st.ListOutbox(ctx, 0)
				must(t, "ListOutbox", err)
				return len(box)
			}

			// Nobody to notify: no outbox row, "no recipient".
			save(t, st, e, dev.ID, result("disk", "C:", core.StatusFailure, 97, t0.Add(time.Minute)))
			clk.Set(t0.Add(7 * time.Minute))
			must(t, "Sweep", e.Sweep(ctx))
			if n := outbox(); n != 0 {
				t.Fatalf("%d outbox rows without any recipient", n)
			}
			for _, o := range []core.Outage{outageOf(t, st, dev.ID, "disk"), outageOf(t, st, off.ID, "")} {
				if o.Notified || o.NotNotified != core.NotNotifiedNoRecipient {
					t.Errorf("outage %s %q: notified %v, not notified %q; want no_recipient", o.Kind, o.CheckName, o.Notified, o.NotNotified)
				}
			}

			// An e-mail recipient but no mail server: still nothing queued.
			recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "noc@provider.example", Lang: "de"})
			e.ForgetSettings()
			save(t, st, e, dev.ID, result("cpu", "", core.StatusFailure, 99, t0.Add(8*time.Minute)))
			for i := range 5 {
				clk.Set(t0.Add(time.Duration(9+i) * time.Minute))
				must(t, "Sweep", e.Sweep(ctx))
			}
			if n := outbox(); n != 0 {
				t.Fatalf("%d outbox rows without a mail server", n)
			}
			if o := outageOf(t, st, dev.ID, "cpu"); o.Notified || o.NotNotified != core.NotNotifiedNoMailServer {
				t.Errorf("cpu outage: notified %v, not notified %q; want no_mail_server", o.Notified, o.NotNotified)
			}
			if n := logs.count("no mail server configured"); n != 1 {
				t.Errorf("%d log lines about the missing mail server, want 1:\n%s", n, logs.b.String())
			}

			// With a mail server the next outage is queued, notified and mailed.
			srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
			must(t, "SaveSettings", SaveSettings(ctx, st, smtpSettings(srv, "none")))
			e.ForgetSettings()
			save(t, st, e, dev.ID, result("memory", "", core.StatusFailure, 98, t0.Add(15*time.Minute)))
			if n := outbox(); n != 1 {
				t.Fatalf("%d outbox rows with a mail server and a recipient, want 1", n)
			}
			if o := outageOf(t, st, dev.ID, "memory"); !o.Notified || o.NotNotified != "" {
				t.Errorf("memory outage: notified %v, not notified %q", o.Notified, o.NotNotified)
			}
			deliverAll(t, e)
			if ms := srv.WaitFor(t, 1, 10*time.Second); !strings.Contains(ms[0].Header("Subject"), "memory") {
				t.Errorf("mail %q", ms[0].Header("Subject"))
			}
			if n := logs.count("e-mail notifications are on"); n != 1 {
				t.Errorf("%d log lines about mail being on again, want 1", n)
			}
		})
	}
}
