package storetest

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

var patchTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"PatchReportSaveRead", testPatchReportSaveRead},
	{"PatchReportIdempotent", testPatchReportIdempotent},
	{"PatchReportRefused", testPatchReportRefused},
	{"PatchMetadataMerge", testPatchMetadataMerge},
	{"PatchFleetView", testPatchFleetView},
	{"PatchApprovals", testPatchApprovals},
	{"PatchDeviceDeleted", testPatchDeviceDeleted},
	{"PatchRetention", testPatchRetention},
	{"PatchPolicySettings", testPatchPolicySettings},
}

// Updates as the sources report them (titles and IDs of real updates).
var (
	kb5034441 = core.Update{Key: "windows-update:9d665242-e4d6-4a7e-9b0a-3c7a1c0e1e4f@200", Source: core.SourceWindowsUpdate,
		ID: "9d665242-e4d6-4a7e-9b0a-3c7a1c0e1e4f", Version: "200",
		Title: "2024-01 Security Update for Windows 10 Version 22H2 for x64-based Systems (KB5034441)", KB: "KB5034441",
		Classification: core.ClassSecurity, Severity: core.SeverityImportant, CVEs: []string{"CVE-2024-20666"},
		SizeBytes: 452984832, Reboot: core.RebootAlways, ReleasedAt: time.Date(2024, 1, 9, 0, 0, 0, 0, time.UTC),
		URL: "https://support.microsoft.com/help/5034441"}
	defender = core.Update{Key: "windows-update:a1b2@1", Source: core.SourceWindowsUpdate, ID: "a1b2", Version: "1",
		Title: "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.403.1234.0)",
		KB:    "KB2267602", Classification: core.ClassDefinition, Reboot: core.RebootNever}
	firefox = core.Update{Key: "winget:Mozilla.Firefox@128.0.3", Source: core.SourceWinget, ID: "Mozilla.Firefox",
		Version: "128.0.3", Installed: "127.0", Title: "Mozilla Firefox", Classification: core.ClassApplication,
		Product: "firefox"}
	openssl = core.Update{Key: "apt:openssl@3.0.15-1~deb12u1", Source: core.SourceApt, ID: "openssl",
		Version: "3.0.15-1~deb12u1", Installed: "3.0.14-1~deb12u2", Title: "openssl", Classification: core.ClassSecurity,
		Severity: core.SeverityCritical, CVEs: []string{"cve-2024-9143", "CVE-2024-6119"}}
)

func missing(u core.Update, firstSeen time.Time) core.MissingUpdate {
	return core.MissingUpdate{Update: u, FirstSeen: firstSeen}
}

func savePatches(t *testing.T, s core.Store, deviceID int64, r core.PatchReport, at time.Time) {
	t.Helper()
	must(t, "SavePatchReport", s.SavePatchReport(ctx, deviceID, r, at))
}

// deviceIn enrolls a device in an existing site.
func deviceIn(t *testing.T, s core.Store, st core.Site, host string) core.Device {
	t.Helper()
	token(t, s, st.ID, "secret-"+host, 0)
	d := core.Device{Hostname: host, OS: "windows", MachineID: "mid-" + host, PublicKey: []byte("key-" + host)}
	must(t, "Enroll", s.Enroll(ctx, []byte("secret-"+host), &d, t0))
	return d
}

func testPatchReportSaveRead(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	_, err := s.DevicePatchStatus(ctx, d.ID)
	wantErr(t, "DevicePatchStatus before any report", err, core.ErrNotFound)

	failedOnce := missing(kb5034441, t0.Add(-72*time.Hour))
	failedOnce.Failures = 1
	failedOnce.LastError = &core.Text{EN: "0x80070643: installation failed", DE: "0x80070643: Installation fehlgeschlagen"}
	stuck := missing(firefox, t0.Add(-24*time.Hour))
	stuck.Failures, stuck.Stuck = 3, true
	rep := core.PatchReport{
		ScannedAt: t0.Add(-time.Minute),
		Sources: []core.PatchSourceStatus{
			{Source: core.SourceWindowsUpdate, Status: core.ScanOK, ScannedAt: t0.Add(-time.Minute), Server: "http://wsus.example:8530", Missing: 2},
			{Source: core.SourceWinget, Status: core.ScanError, Message: core.Text{EN: "winget not found", DE: "winget nicht gefunden"}},
		},
		Missing: []core.MissingUpdate{failedOnce, missing(defender, time.Time{}), stuck},
		Attempts: []core.PatchAttempt{
			{Key: kb5034441.Key, Source: kb5034441.Source, Title: kb5034441.Title, KB: "KB5034441", StartedAt: t0.Add(-2 * time.Hour),
				FinishedAt: t0.Add(-time.Hour), Result: core.PatchFailed, Code: "0x80070643",
				Message: core.Text{EN: "installation failed", DE: "Installation fehlgeschlagen"}, Trigger: "schedule"},
			{Key: firefox.Key, Source: firefox.Source, Title: "Mozilla Firefox", StartedAt: t0.Add(-30 * time.Minute),
				Result: core.PatchInterrupted, RebootNeeded: true, Trigger: "manual"},
		},
		Reboot: core.RebootState{Pending: true, Since: t0.Add(-48 * time.Hour), Reasons: []string{"CBS", "PendingFileRenameOperations"}},
	}
	savePatches(t, s, d.ID, rep, t0)

	st, err := s.DevicePatchStatus(ctx, d.ID)
	must(t, "DevicePatchStatus", err)
	want := core.DevicePatchStatus{DeviceID: d.ID, ReportedAt: t0, ScannedAt: t0.Add(-time.Minute), Sources: rep.Sources,
		Reboot: rep.Reboot, Missing: 3, Critical: 1, Failed: 2, OldestSecurity: t0.Add(-72 * time.Hour)}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("DevicePatchStatus =\n%+v\nwant\n%+v", st, want)
	}

	dps, err := s.DevicePatches(ctx, d.ID)
	must(t, "DevicePatches", err)
	if len(dps) != 3 {
		t.Fatalf("DevicePatches = %d rows, want 3: %+v", len(dps), dps)
	}
	// Most severe first: important (KB5034441), then the unrated by key.
	if dps[0].Key != kb5034441.Key || dps[1].Key != defender.Key || dps[2].Key != firefox.Key {
		t.Errorf("order = %s, %s, %s", dps[0].Key, dps[1].Key, dps[2].Key)
	}
	if !reflect.DeepEqual(dps[0].Update, kb5034441) || dps[0].State != core.DevicePatchFailed || dps[0].Failures != 1 ||
		!dps[0].FirstSeen.Equal(t0.Add(-72*time.Hour)) || dps[0].LastError == nil || *dps[0].LastError != *failedOnce.LastError ||
		dps[0].PatchID == 0 || dps[0].Approval != "" {
		t.Errorf("DevicePatches[0] =\n%+v\nwant %+v, failed", dps[0], kb5034441)
	}
	if dps[1].State != core.DevicePatchMissing || !dps[1].FirstSeen.Equal(t0) || dps[1].LastError != nil {
		t.Errorf("an update without first sighting: %+v (want missing since the report)", dps[1])
	}
	if dps[2].State != core.DevicePatchStuck || !dps[2].Stuck || dps[2].Installed != "127.0" || dps[2].Product != "firefox" {
		t.Errorf("stuck update: %+v", dps[2])
	}

	as, err := s.PatchAttempts(ctx, d.ID, 0)
	must(t, "PatchAttempts", err)
	if len(as) != 2 || !reflect.DeepEqual(as[0], rep.Attempts[1]) || !reflect.DeepEqual(as[1], rep.Attempts[0]) {
		t.Errorf("PatchAttempts =\n%+v\nwant newest first\n%+v", as, rep.Attempts)
	}
	if as, _ := s.PatchAttempts(ctx, d.ID, 1); len(as) != 1 || as[0].Key != firefox.Key {
		t.Errorf("PatchAttempts limit 1 = %+v", as)
	}

	p, err := s.GetPatch(ctx, dps[0].PatchID)
	must(t, "GetPatch", err)
	if p.Key != kb5034441.Key || p.Devices != 1 || p.Failed != 1 || !p.OldestMissing.Equal(t0.Add(-72*time.Hour)) ||
		!p.FirstSeen.Equal(t0) || !reflect.DeepEqual(p.CVEs, []string{"CVE-2024-20666"}) || p.Installed != "" {
		t.Errorf("GetPatch = %+v", p)
	}
	_, err = s.GetPatch(ctx, p.ID+1000)
	wantErr(t, "GetPatch unknown", err, core.ErrNotFound)
	ids, err := s.PatchesByKey(ctx, []string{kb5034441.Key, firefox.Key, "apt:nothing"})
	must(t, "PatchesByKey", err)
	if len(ids) != 2 || ids[kb5034441.Key] != p.ID || ids[firefox.Key] != dps[2].PatchID {
		t.Errorf("PatchesByKey = %v", ids)
	}

	// The next report replaces: KB5034441 installed, Firefox still stuck,
	// the definition update seen without a first sighting again keeps the
	// stored one; the attempts are resent with a new one.
	rep2 := rep
	rep2.Missing = []core.MissingUpdate{missing(defender, time.Time{}), stuck}
	rep2.Attempts = append(slices.Clone(rep.Attempts), core.PatchAttempt{Key: kb5034441.Key, Source: kb5034441.Source,
		StartedAt: t0.Add(22 * time.Hour), FinishedAt: t0.Add(23 * time.Hour), Result: core.PatchInstalled, RebootNeeded: true, Trigger: "schedule"})
	rep2.Reboot = core.RebootState{}
	savePatches(t, s, d.ID, rep2, t0.Add(24*time.Hour))
	dps, err = s.DevicePatches(ctx, d.ID)
	must(t, "DevicePatches", err)
	if len(dps) != 2 || dps[0].Key != defender.Key || !dps[0].FirstSeen.Equal(t0) || dps[1].Key != firefox.Key {
		t.Errorf("after the second report: %+v", dps)
	}
	st, _ = s.DevicePatchStatus(ctx, d.ID)
	if st.Missing != 2 || st.Critical != 0 || st.Failed != 1 || !st.OldestSecurity.IsZero() || st.Reboot.Pending ||
		!st.ReportedAt.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("status after the second report: %+v", st)
	}
	if as, _ := s.PatchAttempts(ctx, d.ID, 0); len(as) != 3 || as[0].Result != core.PatchInstalled {
		t.Errorf("attempts after the second report: %+v", as)
	}
	// A changed row is updated: Firefox failed once more with a new error,
	// the definition update now failed too.
	stuck2 := stuck
	stuck2.Failures, stuck2.LastError = 4, &core.Text{EN: "exit 1603", DE: "Exitcode 1603"}
	def2 := missing(defender, time.Time{})
	def2.Failures = 1
	rep3 := rep2
	rep3.Missing = []core.MissingUpdate{def2, stuck2}
	savePatches(t, s, d.ID, rep3, t0.Add(24*time.Hour))
	if dps, _ := s.DevicePatches(ctx, d.ID); len(dps) != 2 || dps[0].State != core.DevicePatchFailed || dps[0].LastError != nil ||
		!dps[0].FirstSeen.Equal(t0) || dps[1].Failures != 4 || dps[1].LastError == nil || dps[1].LastError.DE != "Exitcode 1603" {
		t.Errorf("after changed rows: %+v", dps)
	}
	if st, _ := s.DevicePatchStatus(ctx, d.ID); st.Failed != 2 {
		t.Errorf("failed after changed rows = %d, want 2", st.Failed)
	}
	// KB5034441's row stays, missed by nobody.
	if p, err := s.GetPatch(ctx, p.ID); err != nil || p.Devices != 0 || p.Failed != 0 || !p.OldestMissing.IsZero() {
		t.Errorf("GetPatch of an installed patch = %+v, %v", p, err)
	}
	// An empty report clears the device's list.
	savePatches(t, s, d.ID, core.PatchReport{ScannedAt: t0.Add(48 * time.Hour)}, t0.Add(48*time.Hour))
	if dps, _ := s.DevicePatches(ctx, d.ID); len(dps) != 0 {
		t.Errorf("after an empty report: %+v", dps)
	}
	if st, _ := s.DevicePatchStatus(ctx, d.ID); st.Missing != 0 || st.Failed != 0 || st.Sources == nil || len(st.Sources) != 0 {
		t.Errorf("status after an empty report: %+v", st)
	}
	other := device(t, s, "pc2")
	if dps, err := s.DevicePatches(ctx, other.ID); err != nil || len(dps) != 0 {
		t.Errorf("DevicePatches of a device that never reported = %v, %v", dps, err)
	}
}

// patchState is everything stored about a device's patches.
func patchState(t *testing.T, s core.Store, deviceID int64) (core.DevicePatchStatus, []core.DevicePatch, []core.PatchAttempt, int) {
	t.Helper()
	st, err := s.DevicePatchStatus(ctx, deviceID)
	must(t, "DevicePatchStatus", err)
	dps, err := s.DevicePatches(ctx, deviceID)
	must(t, "DevicePatches", err)
	as, err := s.PatchAttempts(ctx, deviceID, 0)
	must(t, "PatchAttempts", err)
	var n int
	must(t, "counting patches", s.(*store.DB).SQL().QueryRowContext(ctx, `SELECT count(*) FROM patches`).Scan(&n))
	return st, dps, as, n
}

func testPatchReportIdempotent(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	a := core.PatchAttempt{Key: openssl.Key, Source: core.SourceApt, Title: "openssl", StartedAt: t0.Add(-time.Hour),
		FinishedAt: t0.Add(-59 * time.Minute), Result: core.PatchFailed, Code: "apt-get exit 100",
		Message: core.Text{EN: "Could not get lock /var/lib/dpkg/lock-frontend", DE: "Sperre /var/lib/dpkg/lock-frontend nicht erhalten"}}
	// The same attempt twice in one report, the same update twice (the
	// last wins), a key left for the store to build.
	noKey := openssl
	noKey.Key = ""
	rep := core.PatchReport{ScannedAt: t0, Missing: []core.MissingUpdate{missing(firefox, t0), missing(noKey, t0)},
		Attempts: []core.PatchAttempt{a, a}}
	rep.Missing = append(rep.Missing, missing(openssl, t0.Add(-time.Hour)))
	savePatches(t, s, d.ID, rep, t0)
	st1, dps1, as1, n1 := patchState(t, s, d.ID)
	if len(dps1) != 2 || len(as1) != 1 || n1 != 2 || st1.Missing != 2 {
		t.Fatalf("first save: %d missing, %d attempts, %d patches, status %+v", len(dps1), len(as1), n1, st1)
	}
	if dps1[0].Key != openssl.Key || !dps1[0].FirstSeen.Equal(t0.Add(-time.Hour)) {
		t.Errorf("the duplicate update: %+v (want the last one)", dps1[0])
	}
	savePatches(t, s, d.ID, rep, t0)
	st2, dps2, as2, n2 := patchState(t, s, d.ID)
	if !reflect.DeepEqual(st1, st2) || !reflect.DeepEqual(dps1, dps2) || !reflect.DeepEqual(as1, as2) || n1 != n2 {
		t.Errorf("the same report twice changed the state:\n%+v %+v %+v %d\n%+v %+v %+v %d", st1, dps1, as1, n1, st2, dps2, as2, n2)
	}
}

func testPatchReportRefused(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	err := s.SavePatchReport(ctx, d.ID+1000, core.PatchReport{Missing: []core.MissingUpdate{missing(firefox, t0)}}, t0)
	wantErr(t, "SavePatchReport of an unknown device", err, core.ErrNotFound)
	var n int
	must(t, "counting patches", s.(*store.DB).SQL().QueryRowContext(ctx, `SELECT count(*) FROM patches`).Scan(&n))
	if n != 0 {
		t.Errorf("a refused report left %d patches", n)
	}
	bad := firefox
	bad.Key, bad.Source = "", ""
	err = s.SavePatchReport(ctx, d.ID, core.PatchReport{Missing: []core.MissingUpdate{missing(bad, t0)}}, t0)
	wantErr(t, "an update without key and source", err, core.ErrInvalid)
	err = s.SavePatchReport(ctx, d.ID, core.PatchReport{Attempts: []core.PatchAttempt{{Key: firefox.Key, Result: core.PatchFailed}}}, t0)
	wantErr(t, "an attempt without start", err, core.ErrInvalid)
	_, err = s.DevicePatchStatus(ctx, d.ID)
	wantErr(t, "status after refused reports", err, core.ErrNotFound)
}

func testPatchMetadataMerge(t *testing.T, s core.Store) {
	d1, d2 := device(t, s, "pc1"), device(t, s, "pc2")
	first := kb5034441
	first.URL, first.Severity, first.CVEs = "", "", nil
	savePatches(t, s, d1.ID, core.PatchReport{Missing: []core.MissingUpdate{missing(first, t0)}}, t0)
	// A German Windows reports its title in German, with the article,
	// severity and CVEs the first report lacked.
	german := kb5034441
	german.Title = "2024-01 Sicherheitsupdate für Windows 10 Version 22H2 für x64-basierte Systeme (KB5034441)"
	german.CVEs = []string{"CVE-2024-20666", "CVE-2024-21302"}
	savePatches(t, s, d2.ID, core.PatchReport{Missing: []core.MissingUpdate{missing(german, t0)}}, t0.Add(time.Hour))
	ids, _ := s.PatchesByKey(ctx, []string{kb5034441.Key})
	p, err := s.GetPatch(ctx, ids[kb5034441.Key])
	must(t, "GetPatch", err)
	if p.Title != kb5034441.Title || p.URL != kb5034441.URL || p.Severity != core.SeverityImportant ||
		!reflect.DeepEqual(p.CVEs, german.CVEs) || p.Devices != 2 || !p.FirstSeen.Equal(t0) {
		t.Errorf("merged patch = %+v", p)
	}
	list, total, err := s.ListPatches(ctx, core.PatchFilter{CVE: "cve-2024-21302"})
	must(t, "ListPatches by a CVE added later", err)
	if total != 1 || len(list) != 1 || list[0].ID != p.ID {
		t.Errorf("ListPatches by CVE = %+v, %d", list, total)
	}
	// A later report without severity or CVEs takes nothing away.
	savePatches(t, s, d1.ID, core.PatchReport{Missing: []core.MissingUpdate{missing(first, t0)}}, t0.Add(2*time.Hour))
	if p2, _ := s.GetPatch(ctx, p.ID); p2.Severity != core.SeverityImportant || len(p2.CVEs) != 2 {
		t.Errorf("after a report without severity: %+v", p2)
	}
	// A revised severity and CVE list replace the stored ones.
	revised := kb5034441
	revised.Severity, revised.CVEs = core.SeverityCritical, []string{"CVE-2024-99999"}
	savePatches(t, s, d1.ID, core.PatchReport{Missing: []core.MissingUpdate{missing(revised, t0)}}, t0.Add(3*time.Hour))
	if _, total, _ := s.ListPatches(ctx, core.PatchFilter{CVE: "CVE-2024-21302"}); total != 0 {
		t.Errorf("a CVE the vendor dropped still finds the patch")
	}
	if list, _, _ := s.ListPatches(ctx, core.PatchFilter{MinSeverity: core.SeverityCritical}); len(list) != 1 {
		t.Errorf("the revised severity is not filtered on: %+v", list)
	}
}

func testPatchFleetView(t *testing.T, s core.Store) {
	a1 := site(t, s, "Kanzlei Müller", "Köln")
	a2 := site(t, s, "Kanzlei Müller", "Bonn")
	b1 := site(t, s, "Arztpraxis Weber", "Praxis")
	// Kanzlei Köln: three devices, Bonn: one, Weber: two.
	var devs []core.Device
	for i, st := range []core.Site{a1, a1, a1, a2, b1, b1} {
		devs = append(devs, deviceIn(t, s, st, "pc"+string(rune('a'+i))))
	}
	miss := map[int][]core.MissingUpdate{
		0: {missing(kb5034441, t0.Add(-10*24*time.Hour)), missing(defender, t0), missing(firefox, t0)},
		1: {missing(kb5034441, t0.Add(-3*24*time.Hour)), missing(firefox, t0)},
		2: {missing(firefox, t0)},
		3: {missing(kb5034441, t0), missing(openssl, t0)},
		4: {missing(defender, t0)},
		5: {missing(openssl, t0.Add(-20*24*time.Hour)), missing(defender, t0)},
	}
	for i, d := range devs {
		ms := miss[i]
		if i == 1 {
			ms[0].Failures = 1
		}
		savePatches(t, s, d.ID, core.PatchReport{Missing: ms}, t0)
	}
	keys := func(ps []core.Patch) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Key)
		}
		return out
	}
	check := func(what string, f core.PatchFilter, wantTotal int, want ...string) []core.Patch {
		t.Helper()
		ps, total, err := s.ListPatches(ctx, f)
		must(t, what, err)
		if total != wantTotal || !slices.Equal(keys(ps), want) {
			t.Errorf("%s = %v (total %d), want %v (total %d)", what, keys(ps), total, want, wantTotal)
		}
		return ps
	}
	// Critical openssl (2 devices), important KB5034441 (3), then the
	// unrated by devices: defender (3), firefox (3) by key.
	all := check("all", core.PatchFilter{}, 4, openssl.Key, kb5034441.Key, defender.Key, firefox.Key)
	if all[1].Devices != 3 || all[1].Failed != 1 || !all[1].OldestMissing.Equal(t0.Add(-10*24*time.Hour)) ||
		all[0].Devices != 2 || !all[0].OldestMissing.Equal(t0.Add(-20*24*time.Hour)) {
		t.Errorf("counts: %+v", all[:2])
	}
	check("page 2", core.PatchFilter{Limit: 2, Offset: 1}, 4, kb5034441.Key, defender.Key)
	check("past the end", core.PatchFilter{Limit: 2, Offset: 10}, 4)
	kanzlei := check("client Kanzlei", core.PatchFilter{ClientID: a1.ClientID}, 4, openssl.Key, kb5034441.Key, firefox.Key, defender.Key)
	if kanzlei[0].Devices != 1 || kanzlei[1].Devices != 3 || kanzlei[2].Devices != 3 || kanzlei[3].Devices != 1 {
		t.Errorf("the client's counts: %+v", kanzlei)
	}
	check("site Bonn", core.PatchFilter{SiteID: a2.ID}, 2, openssl.Key, kb5034441.Key)
	check("client Weber", core.PatchFilter{ClientID: b1.ClientID}, 2, openssl.Key, defender.Key)
	check("at least important", core.PatchFilter{MinSeverity: core.SeverityImportant}, 2, openssl.Key, kb5034441.Key)
	check("at least critical", core.PatchFilter{MinSeverity: core.SeverityCritical}, 1, openssl.Key)
	check("security", core.PatchFilter{Classification: core.ClassSecurity}, 2, openssl.Key, kb5034441.Key)
	check("winget", core.PatchFilter{Source: core.SourceWinget}, 1, firefox.Key)
	check("CVE any case", core.PatchFilter{CVE: "cve-2024-6119"}, 1, openssl.Key)
	check("CVE unknown", core.PatchFilter{CVE: "CVE-2000-0001"}, 0)
	check("search title", core.PatchFilter{Search: "FIREFOX"}, 1, firefox.Key)
	check("search KB", core.PatchFilter{Search: "kb2267602"}, 1, defender.Key)
	check("search ID", core.PatchFilter{Search: "openss"}, 1, openssl.Key)
	check("search with a LIKE wildcard", core.PatchFilter{Search: "%"}, 0)
	check("devices", core.PatchFilter{DeviceIDs: []int64{devs[2].ID, devs[4].ID}}, 2, defender.Key, firefox.Key)
	check("no devices", core.PatchFilter{DeviceIDs: []int64{}}, 0)
	check("combined", core.PatchFilter{ClientID: a1.ClientID, Source: core.SourceWindowsUpdate, MinSeverity: core.SeverityLow}, 1, kb5034441.Key)

	// A retired device leaves the fleet view and the compliance figures.
	must(t, "RetireDevice", s.RetireDevice(ctx, devs[5].ID, t0))
	weber := check("client Weber after retiring", core.PatchFilter{ClientID: b1.ClientID}, 1, defender.Key)
	if weber[0].Devices != 1 {
		t.Errorf("a retired device is counted: %+v", weber[0])
	}
	// Also with a report it sends after its retirement.
	savePatches(t, s, devs[5].ID, core.PatchReport{Missing: miss[5]}, t0.Add(time.Hour))
	check("client Weber after a retired device's report", core.PatchFilter{ClientID: b1.ClientID}, 1, defender.Key)
	check("all after retiring", core.PatchFilter{MinSeverity: core.SeverityCritical}, 1, openssl.Key)
	if p, _ := s.GetPatch(ctx, all[0].ID); p.Devices != 1 {
		t.Errorf("GetPatch counts a retired device: %+v", p)
	}
	sts, err := s.ListDevicePatchStatus(ctx, nil)
	must(t, "ListDevicePatchStatus", err)
	if len(sts) != 5 || sts[0].DeviceID != devs[0].ID || sts[0].Missing != 3 || sts[0].Critical != 1 {
		t.Errorf("ListDevicePatchStatus(nil) = %+v", sts)
	}
	sts, err = s.ListDevicePatchStatus(ctx, []int64{devs[3].ID, devs[5].ID})
	must(t, "ListDevicePatchStatus", err)
	if len(sts) != 1 || sts[0].DeviceID != devs[3].ID || sts[0].Critical != 2 || !sts[0].OldestSecurity.Equal(t0) {
		t.Errorf("ListDevicePatchStatus(two) = %+v", sts)
	}
	if sts, _ := s.ListDevicePatchStatus(ctx, []int64{}); len(sts) != 0 {
		t.Errorf("ListDevicePatchStatus(none) = %+v", sts)
	}
}

func testPatchApprovals(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	savePatches(t, s, d.ID, core.PatchReport{Missing: []core.MissingUpdate{missing(kb5034441, t0), missing(firefox, t0)}}, t0)
	ids, _ := s.PatchesByKey(ctx, []string{kb5034441.Key, firefox.Key})
	kb, ff := ids[kb5034441.Key], ids[firefox.Key]
	must(t, "SetPatchApproval fleet", s.SetPatchApproval(ctx, core.PatchApproval{PatchID: kb, Approved: true, By: "admin@example.org", DecidedAt: t0}))
	must(t, "SetPatchApproval client 7", s.SetPatchApproval(ctx, core.PatchApproval{PatchID: kb, ClientID: 7, Approved: true, By: "tech@example.org", DecidedAt: t0}))
	must(t, "SetPatchApproval client 8", s.SetPatchApproval(ctx, core.PatchApproval{PatchID: ff, ClientID: 8, Approved: true, By: "tech@example.org", DecidedAt: t0}))
	// Replaced: client 7 declines it after all.
	must(t, "SetPatchApproval again", s.SetPatchApproval(ctx, core.PatchApproval{PatchID: kb, ClientID: 7, Approved: false, By: "boss@example.org", DecidedAt: t0.Add(time.Hour)}))
	got, err := s.PatchApprovals(ctx, 7)
	must(t, "PatchApprovals", err)
	want := []core.PatchApproval{
		{PatchID: kb, ClientID: 0, Approved: true, By: "admin@example.org", DecidedAt: t0},
		{PatchID: kb, ClientID: 7, Approved: false, By: "boss@example.org", DecidedAt: t0.Add(time.Hour)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PatchApprovals(7) =\n%+v\nwant\n%+v", got, want)
	}
	if got, _ := s.PatchApprovals(ctx, 0); len(got) != 1 || got[0].ClientID != 0 {
		t.Errorf("PatchApprovals(0) = %+v", got)
	}
	wantErr(t, "SetPatchApproval of an unknown patch",
		s.SetPatchApproval(ctx, core.PatchApproval{PatchID: ff + kb + 1000, Approved: true, DecidedAt: t0}), core.ErrNotFound)
	must(t, "DeletePatchApproval", s.DeletePatchApproval(ctx, kb, 7))
	wantErr(t, "DeletePatchApproval again", s.DeletePatchApproval(ctx, kb, 7), core.ErrNotFound)
	if got, _ := s.PatchApprovals(ctx, 7); len(got) != 1 || got[0].ClientID != 0 {
		t.Errorf("after delete: %+v", got)
	}
	if got, _ := s.PatchApprovals(ctx, 8); len(got) != 2 || got[1].PatchID != ff {
		t.Errorf("PatchApprovals(8) = %+v", got)
	}
}

func testPatchDeviceDeleted(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	savePatches(t, s, d.ID, core.PatchReport{Missing: []core.MissingUpdate{missing(kb5034441, t0)},
		Attempts: []core.PatchAttempt{{Key: kb5034441.Key, StartedAt: t0, Result: core.PatchFailed}}}, t0)
	db := s.(*store.DB).SQL()
	if _, err := db.ExecContext(ctx, `DELETE FROM devices WHERE id = $1`, d.ID); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"device_patches", "patch_attempts", "device_patch_status"} {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE device_id = $1`, d.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s keeps %d rows of a deleted device", table, n)
		}
	}
	if _, err := s.DevicePatchStatus(ctx, d.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("DevicePatchStatus of a deleted device: %v", err)
	}
}

func testPatchRetention(t *testing.T, s core.Store) {
	db := s.(*store.DB)
	d := device(t, s, "pc1")
	old := core.PatchAttempt{Key: defender.Key, StartedAt: t0, Result: core.PatchInstalled}
	recent := core.PatchAttempt{Key: firefox.Key, StartedAt: t0.Add(150 * 24 * time.Hour), Result: core.PatchFailed}
	// KB5034441 and Defender were missing on t0 and got installed;
	// KB5034441 keeps a decision. Firefox is still missing.
	savePatches(t, s, d.ID, core.PatchReport{Missing: []core.MissingUpdate{missing(kb5034441, t0), missing(defender, t0), missing(firefox, t0)}}, t0)
	ids, _ := s.PatchesByKey(ctx, []string{kb5034441.Key, defender.Key, firefox.Key})
	must(t, "SetPatchApproval", s.SetPatchApproval(ctx, core.PatchApproval{PatchID: ids[kb5034441.Key], Approved: true, DecidedAt: t0}))
	savePatches(t, s, d.ID, core.PatchReport{Missing: []core.MissingUpdate{missing(firefox, t0)}, Attempts: []core.PatchAttempt{old, recent}},
		t0.Add(150*24*time.Hour))
	rep, err := db.MaintainHistory(ctx, t0.Add(store.PatchAttemptDays*24*time.Hour+time.Hour))
	must(t, "MaintainHistory", err)
	if rep.PatchAttemptsDeleted != 1 || rep.PatchesDeleted != 1 {
		t.Errorf("MaintainHistory = %+v, want 1 attempt and 1 patch deleted", rep)
	}
	if as, _ := s.PatchAttempts(ctx, d.ID, 0); len(as) != 1 || as[0].Key != firefox.Key {
		t.Errorf("attempts left: %+v", as)
	}
	left, _ := s.PatchesByKey(ctx, []string{kb5034441.Key, defender.Key, firefox.Key})
	if len(left) != 2 || left[defender.Key] != 0 {
		t.Errorf("patches left: %v (want KB5034441, decided, and Firefox, missing)", left)
	}
}

func testPatchPolicySettings(t *testing.T, s core.Store) {
	pp := &core.PatchPolicy{
		Enabled: true, Install: true, ScanAt: "06:30", DisabledSources: []string{core.SourceChoco},
		AutoApprove: []core.PatchRule{{Classification: core.ClassSecurity, MinSeverity: core.SeverityImportant}, {Classification: core.ClassCritical}},
		Exclusions:  core.PatchExclusions{KBs: []string{"KB5034441"}, Packages: []string{"Mozilla.Firefox"}, Titles: []string{"*Preview*"}},
		Schedule:    core.PatchSchedule{Weekdays: []int{3}, At: "22:00", WindowMinutes: 180, MaxLatenessHours: 48},
		Reboot:      core.PatchReboot{Mode: core.RebootModeAsk, Deferrals: 3, DeadlineHours: 24, ForceAfterDays: 7},
		Thresholds:  core.PatchThresholds{CriticalDays: 14, MaxWaitDays: 30, RebootDays: 3},
		MaxFailures: 3,
	}
	p := core.Policy{Name: "Patches Kanzlei", Patch: pp}
	must(t, "CreatePolicy", s.CreatePolicy(ctx, &p))
	got, err := s.GetPolicy(ctx, p.ID)
	must(t, "GetPolicy", err)
	if !reflect.DeepEqual(got.Patch, pp) {
		t.Errorf("GetPolicy patch = %+v, want %+v", got.Patch, pp)
	}
	plain := core.Policy{Name: "Ohne Patches"}
	must(t, "CreatePolicy", s.CreatePolicy(ctx, &plain))
	list, err := s.ListPolicies(ctx)
	must(t, "ListPolicies", err)
	if len(list) != 2 || list[0].Patch != nil || !reflect.DeepEqual(list[1].Patch, pp) {
		t.Errorf("ListPolicies patch settings: %+v, %+v", list[0].Patch, list[1].Patch)
	}
	p.Patch = &core.PatchPolicy{Enabled: true}
	must(t, "UpdatePolicy", s.UpdatePolicy(ctx, &p))
	if got, _ := s.GetPolicy(ctx, p.ID); got.Patch == nil || got.Patch.Install || !got.Patch.Enabled {
		t.Errorf("after update: %+v", got.Patch)
	}
	p.Patch = nil
	must(t, "UpdatePolicy", s.UpdatePolicy(ctx, &p))
	if got, _ := s.GetPolicy(ctx, p.ID); got.Patch != nil {
		t.Errorf("after removing the settings: %+v", got.Patch)
	}
	// Built-in policies keep and refresh theirs.
	b := core.Policy{Name: "Workstation", Builtin: "workstation-patches", Patch: pp}
	must(t, "EnsureBuiltinPolicy", s.EnsureBuiltinPolicy(ctx, &b))
	if got, _ := s.GetPolicy(ctx, b.ID); !reflect.DeepEqual(got.Patch, pp) {
		t.Errorf("built-in patch settings = %+v", got.Patch)
	}
	b.Patch = &core.PatchPolicy{Enabled: true, MaxFailures: 5}
	must(t, "EnsureBuiltinPolicy again", s.EnsureBuiltinPolicy(ctx, &b))
	if got, _ := s.GetPolicy(ctx, b.ID); got.Patch == nil || got.Patch.MaxFailures != 5 {
		t.Errorf("refreshed built-in patch settings = %+v", got.Patch)
	}
	b.Patch = nil
	must(t, "EnsureBuiltinPolicy without", s.EnsureBuiltinPolicy(ctx, &b))
	if got, _ := s.GetPolicy(ctx, b.ID); got.Patch != nil {
		t.Errorf("built-in without patch settings = %+v", got.Patch)
	}
}
