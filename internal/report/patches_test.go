package report_test

import (
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/store"
)

// patchData is a client of four devices: one fully patched, one missing
// two updates (one critical, one failed) with a restart pending, one
// whose Windows Update scan failed with nothing listed, one that never
// reported its patches; plus a status of another client's device.
func patchData() report.Data {
	until := time.Date(2026, 11, 27, 6, 1, 0, 0, time.UTC)
	c := core.Client{ID: 7, Name: "Müller GmbH"}
	seen := until.Add(-time.Minute)
	devs := []core.Device{{ID: 1, ClientID: 7, Hostname: "fs01", LastSeen: seen}, {ID: 2, ClientID: 7, Hostname: "pc01", LastSeen: seen},
		{ID: 3, ClientID: 7, Hostname: "pc02", LastSeen: seen}, {ID: 4, ClientID: 7, Hostname: "nb01", LastSeen: seen}}
	scanned := until.Add(-2 * time.Hour)
	ok := []core.PatchSourceStatus{{Source: core.SourceApt, Status: core.ScanOK, ScannedAt: scanned}}
	return report.Data{Client: c, Devices: devs, Since: until.Add(-report.Window), Until: until, Location: time.UTC,
		OfflineServer: time.Hour, OfflineWorkstation: time.Hour,
		Patches: []core.DevicePatchStatus{
			{DeviceID: 1, ScannedAt: scanned, Sources: ok},
			{DeviceID: 2, ScannedAt: scanned, Sources: ok, Missing: 2, Critical: 1, Failed: 1,
				Reboot:         core.RebootState{Pending: true, Since: time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC), Reasons: []string{"CBS"}},
				OldestSecurity: time.Date(2026, 11, 15, 3, 0, 0, 0, time.UTC)},
			{DeviceID: 3, ScannedAt: scanned, Sources: []core.PatchSourceStatus{{Source: core.SourceWindowsUpdate, Status: core.ScanError,
				Message: core.Text{EN: "no connection to the update server (0x8024402C)", DE: "keine Verbindung zum Updateserver (0x8024402C)"}}}},
			{DeviceID: 99, ScannedAt: scanned, Missing: 40, Critical: 40},
		},
		PatchApproved: map[int64]int{2: 2, 99: 40}}
}

func TestPatchCompliance(t *testing.T) {
	d := patchData()
	r := report.Build(d, "de")
	pc := r.Patches
	if pc == nil {
		t.Fatal("no patch part")
	}
	if pc.Devices != 3 || pc.FullyPatched != 1 || pc.Percent != 33 || pc.CriticalDevs != 1 || pc.CriticalTotal != 1 ||
		pc.Failed != 1 || pc.RebootsPending != 1 || pc.ScanErrors != 1 || len(pc.Behind) != 2 {
		t.Fatalf("compliance %+v", *pc)
	}
	if pc.Behind[0].Hostname != "pc01" || pc.Behind[1].Hostname != "pc02" {
		t.Errorf("devices behind, worst first: %+v", pc.Behind)
	}

	de, err := report.Render(r)
	must(t, err)
	for what, body := range map[string]string{"text": de.Text, "html": de.HTML} {
		contains(t, "German "+what, body, "Patch-Stand", "1 von 3 Geräten vollständig gepatcht (33 %)",
			"Fehlende kritische oder Sicherheitsupdates: 1 auf 1 Gerät", "Fehlgeschlagene Updates: 1", "Ausstehende Neustarts: 1",
			"Geräte mit fehlgeschlagener Update-Suche: 1", "ausstehend seit 25.11.2026 03:00", "15.11.2026",
			"Suche fehlgeschlagen: windows-update: keine Verbindung zum Updateserver (0x8024402C)")
		lacks(t, "German "+what, body, "fs01", "Patch compliance", "Alle Geräte sind vollständig gepatcht")
	}
	contains(t, "German text", de.Text, "- pc01: 2 fehlend (1 kritisch), 1 fehlgeschlagen; Neustart ausstehend seit 25.11.2026 03:00",
		"- pc02: Suche fehlgeschlagen\n  Suche fehlgeschlagen: windows-update: keine Verbindung")

	en, err := report.Render(report.Build(d, "en"))
	must(t, err)
	for what, body := range map[string]string{"text": en.Text, "html": en.HTML} {
		contains(t, "English "+what, body, "Patch compliance", "1 of 3 devices fully patched (33%)", "Restarts pending: 1",
			"Fully patched: every update source scanned, no approved update missing, none failed (as on the dashboard).",
			"scan failed: windows-update: no connection to the update server (0x8024402C)", "pending since 2026-11-25 03:00")
		lacks(t, "English "+what, body, "Patch-Stand")
	}

	// The technicians' digest has one line per client.
	dg, err := report.RenderDigest(report.NewDigest("de", "", []report.Report{r}))
	must(t, err)
	for what, body := range map[string]string{"text": dg.Text, "html": dg.HTML} {
		contains(t, "digest "+what, body, "Patch-Stand: 1 von 3 Geräten vollständig gepatcht (33 %); Fehlende kritische oder Sicherheitsupdates: 1 auf 1 Gerät")
	}

	// No device with a patch status: no patch part at all.
	d.Patches = d.Patches[3:]
	r = report.Build(d, "en")
	if r.Patches != nil {
		t.Fatalf("a client without patch statuses has a patch part: %+v", r.Patches)
	}
	m, err := report.Render(r)
	must(t, err)
	lacks(t, "text", m.Text, "Patch compliance")
	lacks(t, "html", m.HTML, "Patch compliance")

	// All patched: said so.
	d = patchData()
	d.Patches = d.Patches[:1]
	m, err = report.Render(report.Build(d, "en"))
	must(t, err)
	contains(t, "all patched", m.Text, "1 of 1 device fully patched (100%)", "Every device is fully patched.")
}

// TestPatchComplianceFromStore: Load reads the statuses the agents
// reported, on SQLite and PostgreSQL, only of the client's devices.
func TestPatchComplianceFromStore(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		c, site := client(t, st, "Müller GmbH", "", "de")
		_, otherSite := client(t, st, "Schulz KG", "", "de")
		seen := now.Add(-time.Minute)
		fs := device(t, st, site, "fs01", "server", seen)
		pc := device(t, st, site, "pc01", "workstation", seen)
		device(t, st, site, "nb01", "workstation", seen) // never reported its patches
		lager := device(t, st, otherSite, "lager", "workstation", seen)
		scanned := now.Add(-time.Hour)
		apt := []core.PatchSourceStatus{{Source: core.SourceApt, Status: core.ScanOK, ScannedAt: scanned}}
		must(t, st.SavePatchReport(ctx, fs.ID, core.PatchReport{ScannedAt: scanned, Sources: apt}, now))
		sec := core.Update{Key: "apt:openssl@3.0.15-1~deb12u1", Source: core.SourceApt, ID: "openssl", Version: "3.0.15-1~deb12u1",
			Title: "openssl", Classification: core.ClassSecurity, CVEs: []string{"CVE-2024-9143"}}
		must(t, st.SavePatchReport(ctx, pc.ID, core.PatchReport{ScannedAt: scanned, Sources: apt,
			Missing: []core.MissingUpdate{{Update: sec, FirstSeen: now.Add(-4 * 24 * time.Hour)}},
			Reboot:  core.RebootState{Pending: true, Since: now.Add(-30 * time.Hour), Reasons: []string{"/var/run/reboot-required"}}}, now))
		must(t, st.SavePatchReport(ctx, lager.ID, core.PatchReport{ScannedAt: scanned, Sources: apt,
			Missing: []core.MissingUpdate{{Update: sec, FirstSeen: now}}}, now))

		// The client's patch policy approves security updates (the
		// defaults): pc01's openssl counts; an update nobody approved
		// would not.
		pol := core.Policy{Name: "Patches", Patch: &core.PatchPolicy{Enabled: true}}
		must(t, st.CreatePolicy(ctx, &pol))
		must(t, st.SetAssignments(ctx, core.LevelClient, c.ID, []int64{pol.ID}))
		r := report.Build(load(t, st, c.ID), "de")
		pcs := r.Patches
		if pcs == nil || pcs.Devices != 2 || pcs.FullyPatched != 1 || pcs.CriticalTotal != 1 || pcs.RebootsPending != 1 ||
			len(pcs.Behind) != 1 || pcs.Behind[0].Hostname != "pc01" {
			t.Fatalf("compliance from the store: %+v", pcs)
		}
		m, err := report.Render(r)
		must(t, err)
		contains(t, "text", m.Text, "1 von 2 Geräten vollständig gepatcht (50 %)", "- pc01: 1 fehlend (1 kritisch), 0 fehlgeschlagen")
		lacks(t, "text", m.Text, "lager")
	})
}
