package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
)

// patchRemote stands in for the gateway: it records the signed actions
// the service sends (the gateway's signing and a real session are tested
// in gateway/patch_test.go) and the policy pushes.
type patchRemote struct {
	mu      sync.Mutex
	actions []string
	args    []json.RawMessage
	pushes  int
	offline bool
	locks   []string
	reply   protocol.UpdatesInstallReply
}

func (r *patchRemote) Command(context.Context, int64, protocol.Command) (protocol.CommandResult, error) {
	return protocol.CommandResult{}, core.ErrOffline
}

func (r *patchRemote) Do(_ context.Context, _ int64, typ string, args, reply any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.offline {
		return core.ErrOffline
	}
	b, _ := json.Marshal(args)
	r.actions, r.args = append(r.actions, typ), append(r.args, b)
	if out, ok := reply.(*protocol.UpdatesInstallReply); ok {
		*out = r.reply
	}
	return nil
}

func (r *patchRemote) OpenStream(context.Context, int64, string, any) (*gateway.Stream, error) {
	return nil, errors.ErrUnsupported
}

func (r *patchRemote) Disabled(int64) ([]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.locks, true
}

func (r *patchRemote) PushPolicies() {
	r.mu.Lock()
	r.pushes++
	r.mu.Unlock()
}

func (r *patchRemote) last() (string, json.RawMessage, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.actions) == 0 {
		return "", nil, r.pushes
	}
	return r.actions[len(r.actions)-1], r.args[len(r.args)-1], r.pushes
}

func missingUpdate(source, id, version, class, severity string, cves ...string) core.MissingUpdate {
	return core.MissingUpdate{Update: core.Update{Key: core.UpdateKey(source, id, version), Source: source, ID: id, Version: version,
		Title: id + " " + version, Classification: class, Severity: severity, CVEs: cves},
		FirstSeen: time.Now().Add(-10 * 24 * time.Hour).UTC().Truncate(time.Second)}
}

// patchWorld: client Acme with pc-01 (Linux: openssl security update
// auto-approved by Acme's patch policy, vim waiting, curl failed once)
// and win-01 (Windows: nothing missing, a restart pending, Adobe Flash
// Player installed); client Beta with pc-02 (openssl and beta-tool
// missing) and its technician's token "beta".
type patchWorld struct {
	*fixture
	rem          *patchRemote
	svc          *service.Service
	win, beta    core.Device
	acme, betaID int64
	ids          map[string]int64
}

func newPatchWorld(t *testing.T, open func(testing.TB) *store.DB) *patchWorld {
	t.Helper()
	ctx := context.Background()
	f := newFixtureOn(t, open)
	w := &patchWorld{fixture: f, rem: &patchRemote{reply: protocol.UpdatesInstallReply{Started: []string{"apt:vim@9.1"}}}}
	w.svc = service.New(service.Deps{Store: f.st, PasswordCost: authtest.Cost, Commander: w.rem})
	f.srv.Close()
	f.srv = httptest.NewServer(openapitest.Handler(t, api.New(w.svc, nil)))
	t.Cleanup(f.srv.Close)
	now := time.Now().UTC().Truncate(time.Second)
	w.acme = f.device.ClientID

	// Windows device of Acme.
	site, err := f.st.GetSite(ctx, f.device.SiteID)
	if err != nil {
		t.Fatal(err)
	}
	secret := auth.NewSecret("")
	if err := f.st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	w.win = core.Device{Hostname: "win-01", OS: "windows", Platform: "Windows 11 Pro", Arch: "amd64", MachineID: "m-win-01", PublicKey: make([]byte, 32), AgentVersion: "0.1.0"}
	if err := f.st.Enroll(ctx, auth.HashSecret(secret), &w.win, now); err != nil {
		t.Fatal(err)
	}
	// Beta and its technician.
	_, bsite, err := f.st.EnsureClientSite(ctx, "Beta GmbH", "Hannover")
	if err != nil {
		t.Fatal(err)
	}
	w.betaID = bsite.ClientID
	w.beta = enroll(t, f.st, bsite, "pc-02", now)
	u := core.User{Email: "beta@example.com", PasswordHash: "x", Role: core.RoleTechnician, Scope: core.Only(bsite.ClientID)}
	if err := f.st.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	sec := auth.NewSecret(auth.APITokenPrefix)
	if err := f.st.CreateAPIToken(ctx, &core.APIToken{UserID: u.ID, Name: "beta", Hash: auth.HashSecret(sec)}); err != nil {
		t.Fatal(err)
	}
	f.tokens["beta"] = sec

	// Acme's patch policy approves security updates.
	p := core.Policy{Name: "Patches Acme", Checks: []core.PolicyCheck{}, Patch: &core.PatchPolicy{Enabled: true, Install: true,
		AutoApprove: []core.PatchRule{{Classification: core.ClassSecurity}}}}
	if err := f.st.CreatePolicy(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetAssignments(ctx, core.LevelClient, w.acme, []int64{p.ID}); err != nil {
		t.Fatal(err)
	}

	ok := []core.PatchSourceStatus{{Source: core.SourceApt, Status: core.ScanOK, ScannedAt: now}}
	curl := missingUpdate(core.SourceApt, "curl", "8.5", core.ClassUpdate, "")
	curl.Failures, curl.LastError = 1, &core.Text{EN: "apt-get exit 100", DE: "apt-get Ende 100"}
	openssl := missingUpdate(core.SourceApt, "openssl", "3.0.15", core.ClassSecurity, core.SeverityImportant, "CVE-2024-0001", "CVE-2024-0002")
	reports := map[int64]core.PatchReport{
		f.device.ID: {ScannedAt: now, Sources: ok, Missing: []core.MissingUpdate{openssl, missingUpdate(core.SourceApt, "vim", "9.1", core.ClassUpdate, ""), curl},
			Attempts: []core.PatchAttempt{{Key: curl.Key, Source: core.SourceApt, Title: "curl 8.5", StartedAt: now.Add(-time.Hour), Result: core.PatchFailed,
				Code: "apt-get exit 100", Message: core.Text{EN: "held", DE: "gehalten"}, Trigger: "schedule"}}},
		w.win.ID: {ScannedAt: now, Sources: []core.PatchSourceStatus{{Source: core.SourceWindowsUpdate, Status: core.ScanOK, ScannedAt: now}},
			Reboot: core.RebootState{Pending: true, Since: now.Add(-26 * time.Hour), Reasons: []string{"WindowsUpdate"}}},
		w.beta.ID: {ScannedAt: now, Sources: ok, Missing: []core.MissingUpdate{openssl, missingUpdate(core.SourceApt, "beta-tool", "1.1", core.ClassUpdate, core.SeverityLow)}},
	}
	for id, r := range reports {
		if err := f.st.SavePatchReport(ctx, id, r, now); err != nil {
			t.Fatal(err)
		}
	}
	inv := core.Inventory{Software: []core.Program{
		{Name: "Adobe Flash Player 32 NPAPI", Version: "32.0.0.465", Publisher: "Adobe", Source: core.SourceRegistry32, ID: "{6E3610B2-430D-4EB0-81E3-2B57E8B9DE8D}"},
		{Name: "Skype version 8.96", Version: "8.96", Source: core.SourceRegistry32, ID: "Skype_is1"},
	}}
	if err := f.st.SaveInventory(ctx, core.StoredInventory{DeviceID: w.win.ID, Digest: "d", Inventory: inv}, "", nil); err != nil {
		t.Fatal(err)
	}
	w.ids, err = f.st.PatchesByKey(ctx, []string{"apt:openssl@3.0.15", "apt:vim@9.1", "apt:curl@8.5", "apt:beta-tool@1.1"})
	if err != nil || len(w.ids) != 4 {
		t.Fatalf("patch IDs %v, %v", w.ids, err)
	}
	return w
}

func byKey(ps []core.DevicePatch) map[string]core.DevicePatch {
	m := map[string]core.DevicePatch{}
	for _, p := range ps {
		m[p.Key] = p
	}
	return m
}

func TestPatchesAPI(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) { testPatchesAPI(t, eng.open) })
	}
}

func testPatchesAPI(t *testing.T, open func(testing.TB) *store.DB) {
	w := newPatchWorld(t, open)
	ctx := context.Background()
	dev := "/api/v1/devices/" + strconv.FormatInt(w.device.ID, 10)
	id := func(k string) string { return strconv.FormatInt(w.ids[k], 10) }

	// The device view: approvals under Acme's policy.
	var du service.DeviceUpdates
	if st := w.do(t, "GET", dev+"/updates", "readonly", &du); st != http.StatusOK {
		t.Fatalf("updates: %d", st)
	}
	m := byKey(du.Missing)
	if du.Policy == nil || du.Status == nil || len(du.Missing) != 3 || len(du.Sources) != 1 {
		t.Fatalf("device updates = %+v", du)
	}
	if m["apt:openssl@3.0.15"].Approval != core.ApprovalAuto || m["apt:vim@9.1"].Approval != core.ApprovalNone ||
		m["apt:curl@8.5"].State != core.DevicePatchFailed || len(du.Failed) != 1 || du.Failed[0].Key != "apt:curl@8.5" {
		t.Errorf("missing = %+v, failed = %+v", du.Missing, du.Failed)
	}
	if len(du.Attempts) != 1 || du.Attempts[0].Result != core.PatchFailed || du.Verification == nil || du.Verification.Value != 1 || du.Verification.Message.DE == "" {
		t.Errorf("attempts %+v, verification %+v", du.Attempts, du.Verification)
	}
	// Windows device: end-of-life software, a restart pending.
	if st := w.do(t, "GET", "/api/v1/devices/"+strconv.FormatInt(w.win.ID, 10)+"/updates", "tech", &du); st != http.StatusOK {
		t.Fatalf("win updates: %d", st)
	}
	if !du.Reboot.Pending || len(du.EndOfLife) != 2 {
		t.Fatalf("win: reboot %+v, end of life %+v", du.Reboot, du.EndOfLife)
	}
	var flash, skype service.EOLSoftware
	for _, e := range du.EndOfLife {
		if e.Product == "adobe-flash-player" || e.Program.Name == "Adobe Flash Player 32 NPAPI" {
			flash = e
		} else {
			skype = e
		}
	}
	if !flash.Removable || skype.Removable || flash.Source != core.SourceEOL || flash.Classification != core.ClassEOL {
		t.Errorf("flash %+v, skype %+v", flash, skype)
	}
	// Another client's technician sees nothing of Acme.
	if st := w.do(t, "GET", dev+"/updates", "beta", nil); st != http.StatusNotFound {
		t.Errorf("beta on Acme's device: %d, want 404", st)
	}

	// The fleet view.
	var pl service.PatchList
	if st := w.do(t, "GET", "/api/v1/patches", "admin", &pl); st != http.StatusOK || pl.Total != 4 || len(pl.Patches) != 4 {
		t.Fatalf("fleet: %d %+v", st, pl)
	}
	if pl.Patches[0].Key != "apt:openssl@3.0.15" || pl.Patches[0].Devices != 2 {
		t.Errorf("first patch = %+v, want openssl on 2 devices", pl.Patches[0])
	}
	if w.do(t, "GET", "/api/v1/patches", "beta", &pl); pl.Total != 2 || slices.ContainsFunc(pl.Patches, func(p service.PatchRow) bool { return p.Key == "apt:vim@9.1" }) {
		t.Errorf("beta's fleet = %+v", pl)
	}
	for _, p := range pl.Patches {
		if p.Key == "apt:openssl@3.0.15" && p.Devices != 1 {
			t.Errorf("beta sees openssl on %d devices, want its own 1", p.Devices)
		}
	}
	acme := strconv.FormatInt(w.acme, 10)
	if w.do(t, "GET", "/api/v1/patches?client="+acme, "beta", &pl); pl.Total != 0 {
		t.Errorf("beta asking for Acme = %+v", pl)
	}
	if w.do(t, "GET", "/api/v1/patches?severity=important", "admin", &pl); pl.Total != 1 || pl.Patches[0].Key != "apt:openssl@3.0.15" {
		t.Errorf("important = %+v", pl)
	}
	if w.do(t, "GET", "/api/v1/patches?cve=cve-2024-0002&client="+acme, "readonly", &pl); pl.Total != 1 {
		t.Errorf("by CVE = %+v", pl)
	}
	if w.do(t, "GET", "/api/v1/patches?q=beta", "admin", &pl); pl.Total != 1 || pl.Patches[0].Key != "apt:beta-tool@1.1" {
		t.Errorf("search = %+v", pl)
	}
	if w.do(t, "GET", "/api/v1/patches?limit=1&offset=1", "admin", &pl); pl.Total != 4 || len(pl.Patches) != 1 {
		t.Errorf("paged = %+v", pl)
	}
	if st := w.do(t, "GET", "/api/v1/patches?classification=bogus", "admin", nil); st != http.StatusBadRequest {
		t.Errorf("bad classification: %d", st)
	}

	// Approvals: read-only users may not; another client's technician
	// cannot decide for Acme nor for every client.
	body := `{"client":` + acme + `,"approved":true}`
	if st := w.sendJSON(t, "PUT", "/api/v1/patches/"+id("apt:vim@9.1")+"/approval", "readonly", body, nil); st != http.StatusForbidden {
		t.Errorf("readonly approves: %d", st)
	}
	if st := w.sendJSON(t, "PUT", "/api/v1/patches/"+id("apt:vim@9.1")+"/approval", "beta", body, nil); st != http.StatusNotFound {
		t.Errorf("beta approves for Acme: %d, want 404", st)
	}
	if st := w.sendJSON(t, "PUT", "/api/v1/patches/"+id("apt:openssl@3.0.15")+"/approval", "beta", `{"approved":false}`, nil); st != http.StatusForbidden {
		t.Errorf("beta decides for every client: %d, want 403", st)
	}
	if st := w.sendJSON(t, "PUT", "/api/v1/patches/"+id("apt:vim@9.1")+"/approval", "tech", `{"client":`+acme+`}`, nil); st != http.StatusBadRequest {
		t.Errorf("approval without approved: %d", st)
	}
	_, _, pushes := w.rem.last()
	var pa core.PatchApproval
	if st := w.sendJSON(t, "PUT", "/api/v1/patches/"+id("apt:vim@9.1")+"/approval", "tech", body, &pa); st != http.StatusOK || !pa.Approved || pa.ClientID != w.acme || pa.By != "user:tech@example.com" {
		t.Fatalf("tech approves vim: %d %+v", st, pa)
	}
	if _, _, p := w.rem.last(); p != pushes+1 {
		t.Errorf("an approval pushed %d times, want once", p-pushes)
	}
	// Beta may decide for itself: a decline of openssl for Beta only.
	if st := w.sendJSON(t, "PUT", "/api/v1/patches/"+id("apt:openssl@3.0.15")+"/approval", "beta", `{"client":`+strconv.FormatInt(w.betaID, 10)+`,"approved":false}`, nil); st != http.StatusOK {
		t.Errorf("beta declines for Beta: %d", st)
	}
	// Every client: openssl declined fleet-wide (Acme has no decision of
	// its own, so its devices follow).
	if st := w.sendJSON(t, "PUT", "/api/v1/patches/"+id("apt:openssl@3.0.15")+"/approval", "admin", `{"approved":false}`, nil); st != http.StatusOK {
		t.Errorf("admin declines for every client: %d", st)
	}
	w.do(t, "GET", dev+"/updates", "readonly", &du)
	m = byKey(du.Missing)
	if m["apt:vim@9.1"].Approval != core.ApprovalManual || m["apt:openssl@3.0.15"].Approval != core.ApprovalDeclined {
		t.Errorf("after decisions: vim %s, openssl %s", m["apt:vim@9.1"].Approval, m["apt:openssl@3.0.15"].Approval)
	}
	// The fleet view shows the fleet-wide decision and the selected
	// client's.
	w.do(t, "GET", "/api/v1/patches?q=openssl&client="+strconv.FormatInt(w.betaID, 10), "beta", &pl)
	if len(pl.Patches) != 1 || len(pl.Patches[0].Decisions) != 2 {
		t.Errorf("beta's decisions on openssl = %+v", pl.Patches)
	}
	// Removing the fleet-wide decision: the rules approve again.
	if st := w.sendJSON(t, "DELETE", "/api/v1/patches/"+id("apt:openssl@3.0.15")+"/approval", "tech", "", nil); st != http.StatusNoContent {
		t.Errorf("delete: %d", st)
	}
	w.do(t, "GET", dev+"/updates", "readonly", &du)
	if a := byKey(du.Missing)["apt:openssl@3.0.15"].Approval; a != core.ApprovalAuto {
		t.Errorf("after removing the decision openssl is %s, want auto", a)
	}
	audit, err := w.st.QueryAudit(ctx, core.AuditQuery{Action: "patch."})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action+" "+a.Actor)
	}
	for _, want := range []string{"patch.approve user:tech@example.com", "patch.decline user:beta@example.com", "patch.decline user:admin@example.com",
		"patch.approval-delete user:tech@example.com"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit %v lacks %q", actions, want)
		}
	}

	// Compliance: pc-01 misses approved updates and one failed; win-01 is
	// patched and waits for a restart.
	var cs []service.ClientCompliance
	if st := w.do(t, "GET", "/api/v1/patches/compliance", "admin", &cs); st != http.StatusOK || len(cs) != 2 {
		t.Fatalf("compliance: %d %+v", st, cs)
	}
	var ac service.ClientCompliance
	for _, c := range cs {
		if c.ClientID == w.acme {
			ac = c
		}
	}
	if ac.Devices != 2 || ac.Compliant != 1 || ac.Percent != 50 || ac.ApprovedMissing != 2 || ac.Critical != 1 || ac.Failed != 1 ||
		len(ac.Behind) != 1 || ac.Behind[0].ID != w.device.ID || len(ac.RebootPending) != 1 || ac.RebootPending[0].ID != w.win.ID {
		t.Errorf("Acme's compliance = %+v", ac)
	}
	if ac.OpenCVEs[core.SeverityImportant] != 2 || len(ac.Vulnerabilities) != 2 {
		t.Errorf("Acme's vulnerabilities = %+v / %+v", ac.OpenCVEs, ac.Vulnerabilities)
	}
	for _, v := range ac.Vulnerabilities {
		switch v.ID {
		case w.device.ID:
			if v.Total != 2 || v.OldestDays < 9 {
				t.Errorf("pc-01's vulnerabilities = %+v", v)
			}
		case w.win.ID:
			if v.EndOfLife != 2 {
				t.Errorf("win-01's vulnerabilities = %+v", v)
			}
		}
	}
	if w.do(t, "GET", "/api/v1/patches/compliance", "beta", &cs); len(cs) != 1 || cs[0].ClientID != w.betaID || cs[0].Compliant != 1 {
		// Beta declined openssl and beta-tool waits: nothing approved missing.
		t.Errorf("beta's compliance = %+v", cs)
	}
	if st := w.do(t, "GET", "/api/v1/patches/compliance?client="+acme, "beta", nil); st != http.StatusNotFound {
		t.Errorf("beta's compliance of Acme: %d, want 404", st)
	}

	// Scan and install: signed actions through the one action path.
	if st := w.sendJSON(t, "POST", dev+"/updates/scan", "readonly", "", nil); st != http.StatusForbidden {
		t.Errorf("readonly scans: %d", st)
	}
	if st := w.sendJSON(t, "POST", dev+"/updates/scan", "beta", "", nil); st != http.StatusNotFound {
		t.Errorf("beta scans Acme's device: %d", st)
	}
	if st := w.sendJSON(t, "POST", dev+"/updates/scan", "tech", "", nil); st != http.StatusAccepted {
		t.Errorf("scan: %d", st)
	}
	if a, _, _ := w.rem.last(); a != protocol.ActionUpdatesScan {
		t.Errorf("scan sent %q", a)
	}
	var reply protocol.UpdatesInstallReply
	if st := w.sendJSON(t, "POST", dev+"/updates/install", "tech", `{"ids":[`+id("apt:vim@9.1")+`,`+id("apt:vim@9.1")+`]}`, &reply); st != http.StatusAccepted ||
		len(reply.Started) != 1 {
		t.Fatalf("install vim: %d %+v", st, reply)
	}
	var args protocol.UpdatesInstallArgs
	_, raw, _ := w.rem.last()
	if err := json.Unmarshal(raw, &args); err != nil || args.Approved || !slices.Equal(args.Keys, []string{"apt:vim@9.1"}) {
		t.Errorf("install args = %s", raw)
	}
	if st := w.sendJSON(t, "POST", dev+"/updates/install", "tech", `{"ids":[`+id("apt:beta-tool@1.1")+`]}`, nil); st != http.StatusBadRequest {
		t.Errorf("installing an update the device does not miss: %d", st)
	}
	if st := w.sendJSON(t, "POST", dev+"/updates/install", "admin", `{}`, nil); st != http.StatusAccepted {
		t.Errorf("install all approved: %d", st)
	}
	args = protocol.UpdatesInstallArgs{}
	if _, raw, _ = w.rem.last(); json.Unmarshal(raw, &args) != nil || !args.Approved || len(args.Keys) != 0 {
		t.Errorf("install all approved args = %s", raw)
	}
	if st := w.sendJSON(t, "POST", dev+"/updates/install", "admin", `{"bogus":1}`, nil); st != http.StatusBadRequest {
		t.Errorf("unknown field: %d", st)
	}
	w.rem.mu.Lock()
	w.rem.locks = []string{protocol.LockPatches}
	w.rem.mu.Unlock()
	var e struct {
		Code    string    `json:"code"`
		Message core.Text `json:"message"`
	}
	if st := w.sendJSON(t, "POST", dev+"/updates/install", "admin", `{"approved":true}`, &e); st != http.StatusForbidden || e.Code != protocol.CodeDisabledLocally || e.Message.DE == "" {
		t.Errorf("locked install: %d %+v", st, e)
	}
	w.rem.mu.Lock()
	w.rem.locks, w.rem.offline = nil, true
	w.rem.mu.Unlock()
	if st := w.sendJSON(t, "POST", dev+"/updates/scan", "admin", "", &e); st != http.StatusConflict || e.Code != "offline" {
		t.Errorf("offline scan: %d %+v", st, e)
	}
	audit, _ = w.st.QueryAudit(ctx, core.AuditQuery{Action: "device.updates-"})
	if len(audit) < 5 {
		t.Errorf("%d scan/install audit entries, want at least 5", len(audit))
	}

	// Removal of end-of-life software as a package, deployed as uninstall.
	techU, err := w.st.GetUserByEmail(ctx, "tech@example.com")
	if err != nil {
		t.Fatal(err)
	}
	rm, err := w.svc.EOLRemovalPackage(ctx, techU, w.win.ID, flash.Key)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"msiexec.exe", "/x", "{6E3610B2-430D-4EB0-81E3-2B57E8B9DE8D}", "/qn", "/norestart"}
	if !rm.Created || rm.Action != service.DeployUninstall || rm.Package.Kind != core.PkgCommand || !slices.Equal(rm.Package.Uninstall, want) ||
		rm.Package.Detection.ProductCode != want[2] || rm.Package.OS != "windows" {
		t.Errorf("removal package = %+v", rm)
	}
	again, err := w.svc.EOLRemovalPackage(ctx, techU, w.win.ID, flash.Key)
	if err != nil || again.Created || again.Package.ID != rm.Package.ID {
		t.Errorf("second removal = %+v, %v; want the same package", again, err)
	}
	var ve *policy.ValidationError
	if _, err := w.svc.EOLRemovalPackage(ctx, techU, w.win.ID, skype.Key); !errors.As(err, &ve) {
		t.Errorf("removing Skype without a product code: %v, want a validation error", err)
	}
	// A maintenance window changes the windows patch policies carry: the
	// agents' policies are pushed again.
	_, _, before := w.rem.last()
	mw, err := w.svc.SaveMaintenance(ctx, techU, 0, core.Maintenance{Scope: core.LevelClient, TargetID: w.acme, Title: "Patchnacht",
		Start: time.Now(), Repeat: core.RepeatWeekly, Weekdays: []int{2}, From: "22:00", To: "02:00"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.DeleteMaintenance(ctx, techU, mw.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, after := w.rem.last(); after != before+2 {
		t.Errorf("saving and deleting a maintenance window pushed policies %d times, want 2", after-before)
	}
	roU, _ := w.st.GetUserByEmail(ctx, "ro@example.com")
	if _, err := w.svc.EOLRemovalPackage(ctx, roU, w.win.ID, flash.Key); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("readonly removal: %v", err)
	}
}
