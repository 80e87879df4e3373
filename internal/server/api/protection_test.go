package api_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// TestProtection: antivirus and backup per device through the API: not
// monitored vs failing vs OK, backups worst first, "current" only when both
// are OK, and a technician limited to one client sees only its devices.
func TestProtection(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { testProtection(t, newFixtureOn(t, e.open)) })
	}
}

func testProtection(t *testing.T, f *fixture) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	own, err := f.st.GetDevice(ctx, f.device.ID)
	must(err)
	_, site, err := f.st.EnsureClientSite(ctx, own.ClientName, own.SiteName)
	must(err)
	_, other, err := f.st.EnsureClientSite(ctx, "Fremde AG", "Zentrale")
	must(err)
	v := func(x float64) *float64 { return &x }
	n := 0
	save := func(d core.Device, check, key string, st core.Status, val *float64, unit, msg string) {
		t.Helper()
		n++
		must(f.st.SaveResults(ctx, d.ID, []core.Result{{ID: "p" + strconv.Itoa(n), Check: check, Key: key, Status: st,
			Value: val, Unit: unit, Message: core.Text{EN: msg, DE: msg + " (de)"}, At: now}}))
	}
	// pc-01 (the fixture's) has neither check: not monitored.
	failingBackup := enroll(t, f.st, site, "pc-02", now)
	save(failingBackup, "antivirus", "antivirus", core.StatusOK, v(2), "d", "Microsoft Defender: signatures 2 days old")
	save(failingBackup, "backup", "borg", core.StatusOK, v(3), "h", "Borg: last success 3 hours ago")
	save(failingBackup, "backup", "restic:nas", core.StatusFailure, v(50), "h", "restic nas: last success 50 hours ago")
	noAV := enroll(t, f.st, site, "pc-03", now)
	save(noAV, "antivirus", "antivirus", core.StatusFailure, nil, "", "No supported antivirus product found")
	save(noAV, "backup", "restic", core.StatusOK, v(5), "h", "restic: last success 5 hours ago")
	good := enroll(t, f.st, site, "pc-04", now)
	save(good, "antivirus", "antivirus", core.StatusOK, v(0.5), "d", "ClamAV: signatures 12 hours old")
	save(good, "backup", "veeam", core.StatusOK, v(7), "h", "Veeam: last success 7 hours ago")
	unsupported := enroll(t, f.st, site, "pc-05", now)
	save(unsupported, "antivirus", "antivirus", core.StatusOK, v(1), "d", "XProtect")
	save(unsupported, "backup", "timemachine", core.StatusUnsupported, nil, "", "Time Machine is not supported on this operating system")
	foreign := enroll(t, f.st, other, "foreign-pc", now)
	save(foreign, "antivirus", "antivirus", core.StatusOK, v(1), "d", "Defender")

	scoped := core.User{Email: "scoped@example.com", PasswordHash: "x", Role: core.RoleTechnician, Scope: core.Only(own.ClientID)}
	must(f.st.CreateUser(ctx, &scoped))
	sec := auth.NewSecret(auth.APITokenPrefix)
	must(f.st.CreateAPIToken(ctx, &core.APIToken{UserID: scoped.ID, Name: "scoped", Hash: auth.HashSecret(sec)}))

	var ps []service.DeviceProtection
	if code, body := f.send(t, "GET", "/api/v1/protection", sec, "", &ps); code != http.StatusOK {
		t.Fatalf("scoped technician: %d %s", code, body)
	}
	byHost := map[string]service.DeviceProtection{}
	var hosts []string
	for _, p := range ps {
		byHost[p.Hostname] = p
		hosts = append(hosts, p.Hostname)
	}
	if want := []string{"pc-01", "pc-02", "pc-03", "pc-04", "pc-05"}; !slices.Equal(hosts, want) {
		t.Fatalf("scoped technician sees %v, want %v", hosts, want)
	}

	if p := byHost["pc-01"]; p.Antivirus.Monitored || p.Backup.Monitored || p.Current || len(p.Antivirus.Items) != 0 {
		t.Errorf("pc-01 without checks: %+v", p)
	}
	p := byHost["pc-02"]
	if !p.Antivirus.Monitored || p.Antivirus.Status != core.StatusOK || *p.Antivirus.Top().Value != 2 || p.Antivirus.Top().Unit != "d" ||
		!p.Antivirus.Top().CheckedAt.Equal(now) {
		t.Errorf("pc-02 antivirus: %+v", p.Antivirus)
	}
	if p.Backup.Status != core.StatusFailure || len(p.Backup.Items) != 2 || p.Backup.Items[0].Key != "restic:nas" ||
		*p.Backup.Items[0].Value != 50 || p.Backup.Items[1].Key != "borg" || p.Current {
		t.Errorf("pc-02 backup (worst first): %+v, current %v", p.Backup, p.Current)
	}
	p = byHost["pc-03"]
	if p.Antivirus.Status != core.StatusFailure || p.Antivirus.Top().Message.EN != "No supported antivirus product found" ||
		p.Backup.Status != core.StatusOK || p.Current {
		t.Errorf("pc-03: %+v", p)
	}
	if p := byHost["pc-04"]; !p.Current || p.ClientName != own.ClientName {
		t.Errorf("pc-04 should be current: %+v", p)
	}
	if p := byHost["pc-05"]; p.Backup.Status != core.StatusUnsupported || p.Current {
		t.Errorf("pc-05 with only an unsupported backup must not count as current: %+v", p)
	}

	// Admin sees the foreign client too; ?client= narrows.
	ps = nil
	f.send(t, "GET", "/api/v1/protection", f.tokens["admin"], "", &ps)
	if len(ps) != 6 || ps[0].ClientName != "Acme" || ps[5].Hostname != "foreign-pc" || !ps[5].Antivirus.Monitored {
		t.Errorf("admin sees %+v", ps)
	}
	ps = nil
	if code, _ := f.send(t, "GET", "/api/v1/protection?client="+strconv.FormatInt(other.ClientID, 10), f.tokens["admin"], "", &ps); code != http.StatusOK ||
		len(ps) != 1 || ps[0].Hostname != "foreign-pc" {
		t.Errorf("admin, foreign client only: %d %+v", code, ps)
	}
	if code, _ := f.send(t, "GET", "/api/v1/protection?client="+strconv.FormatInt(other.ClientID, 10), sec, "", nil); code != http.StatusNotFound {
		t.Errorf("scoped technician asking for a foreign client: %d, want 404", code)
	}
	if code, _ := f.send(t, "GET", "/api/v1/protection?client=abc", sec, "", nil); code != http.StatusBadRequest {
		t.Errorf("?client=abc: %d, want 400", code)
	}
}
