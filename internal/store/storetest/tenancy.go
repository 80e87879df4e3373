package storetest

import (
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// tenancyTests cover clients, sites, device management, scopes, second
// factors and the audit chain.
var tenancyTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"Clients", testClients},
	{"DeleteClientConfirm", testDeleteClientConfirm},
	{"DeviceManagement", testDeviceManagement},
	{"UserScope", testUserScope},
	{"TokenScope", testTokenScope},
	{"TOTPAndRecovery", testTOTPAndRecovery},
	{"UserDisableDelete", testUserDisableDelete},
	{"AuditChain", testAuditChain},
	{"AuditChainConcurrent", testAuditChainConcurrent},
}

// testAuditChainConcurrent appends from many goroutines at once (as
// several server replicas would): the chain must not fork.
func testAuditChainConcurrent(t *testing.T, s core.Store) {
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- s.Audit(ctx, core.AuditEntry{Actor: fmt.Sprintf("user:%d", w), Action: "device.run-checks", Target: fmt.Sprint(i)})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, "concurrent Audit", err)
	}
	if id, n, err := s.VerifyAudit(ctx); err != nil || id != 0 || n != writers*each {
		t.Errorf("after concurrent appends: bad=%d checked=%d %v", id, n, err)
	}
}

func testClients(t *testing.T, s core.Store) {
	c := core.Client{Name: " Bäckerei Müller ", Contact: core.Contact{ContactName: "Anna Müller", ContactEmail: "anna@example.de", ContactPhone: "+49 30 1234"}}
	must(t, "CreateClient", s.CreateClient(ctx, &c))
	if c.ID == 0 || c.Name != "Bäckerei Müller" || c.ReportLang != "de" {
		t.Errorf("created %+v", c)
	}
	wantErr(t, "duplicate", s.CreateClient(ctx, &core.Client{Name: "Bäckerei Müller"}), core.ErrConflict)
	wantErr(t, "bad language", s.CreateClient(ctx, &core.Client{Name: "X", Contact: core.Contact{ReportLang: "fr"}}), core.ErrInvalid)
	c.Name, c.ReportLang = "Bäckerei Müller KG", "en"
	must(t, "UpdateClient", s.UpdateClient(ctx, c))
	got, err := s.GetClient(ctx, c.ID)
	must(t, "GetClient", err)
	if got.Name != "Bäckerei Müller KG" || got.ReportLang != "en" || got.ContactPhone != "+49 30 1234" {
		t.Errorf("GetClient = %+v", got)
	}
	wantErr(t, "update unknown", s.UpdateClient(ctx, core.Client{ID: 99999, Name: "n", Contact: core.Contact{ReportLang: "de"}}), core.ErrNotFound)

	st := core.Site{ClientID: c.ID, Name: "Filiale Nord"}
	must(t, "CreateSite", s.CreateSite(ctx, &st))
	wantErr(t, "site of unknown client", s.CreateSite(ctx, &core.Site{ClientID: 99999, Name: "x"}), core.ErrNotFound)
	must(t, "RenameSite", s.RenameSite(ctx, st.ID, "Filiale Süd"))
	gs, err := s.GetSite(ctx, st.ID)
	must(t, "GetSite", err)
	if gs.Name != "Filiale Süd" || gs.ClientName != "Bäckerei Müller KG" {
		t.Errorf("GetSite = %+v", gs)
	}
	// An empty site deletes without confirmation and frees its name.
	if n, err := s.DeleteSite(ctx, st.ID, false, t0); err != nil || n != 0 {
		t.Fatalf("DeleteSite empty = %d, %v", n, err)
	}
	_, err = s.GetSite(ctx, st.ID)
	wantErr(t, "deleted site", err, core.ErrNotFound)
	must(t, "recreate site name", s.CreateSite(ctx, &core.Site{ClientID: c.ID, Name: "Filiale Süd"}))
	sites, err := s.ListSites(ctx)
	must(t, "ListSites", err)
	if len(sites) != 1 || sites[0].Name != "Filiale Süd" || sites[0].ID == st.ID {
		t.Errorf("ListSites = %+v", sites)
	}
}

func testDeleteClientConfirm(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	wantErr(t, "delete client with devices", func() error { _, err := s.DeleteClient(ctx, d.ClientID, false, t0); return err }(), core.ErrConflict)
	if n, err := s.CountClientDevices(ctx, d.ClientID); err != nil || n != 1 {
		t.Errorf("CountClientDevices = %d, %v", n, err)
	}
	got, err := s.GetDevice(ctx, d.ID)
	must(t, "GetDevice", err)
	if got.State != core.DeviceActive {
		t.Errorf("refused delete changed the device: %+v", got)
	}
	wantErr(t, "delete site with devices", func() error { _, err := s.DeleteSite(ctx, d.SiteID, false, t0); return err }(), core.ErrConflict)
	n, err := s.DeleteClient(ctx, d.ClientID, true, t0)
	if err != nil || n != 1 {
		t.Fatalf("DeleteClient confirmed = %d, %v", n, err)
	}
	got, err = s.GetDevice(ctx, d.ID)
	must(t, "GetDevice after delete", err)
	if got.State != core.DeviceRetired {
		t.Errorf("device after client delete: state %q, want retired", got.State)
	}
	_, err = s.GetClient(ctx, d.ClientID)
	wantErr(t, "GetClient deleted", err, core.ErrNotFound)
	cs, err := s.ListClients(ctx)
	must(t, "ListClients", err)
	if len(cs) != 0 {
		t.Errorf("ListClients after delete = %+v", cs)
	}
	toks, err := s.ListEnrollmentTokens(ctx)
	must(t, "ListEnrollmentTokens", err)
	for _, tok := range toks {
		if tok.RevokedAt == nil {
			t.Errorf("token of deleted client not revoked: %+v", tok)
		}
	}
	// The name is free again.
	must(t, "recreate client", s.CreateClient(ctx, &core.Client{Name: "Client pc1"}))
}

func testDeviceManagement(t *testing.T, s core.Store) {
	d := device(t, s, "nb1")
	other := site(t, s, "Client nb1", "Homeoffice")
	must(t, "MoveDevice", s.MoveDevice(ctx, d.ID, other.ID))
	wantErr(t, "move to unknown site", s.MoveDevice(ctx, d.ID, 99999), core.ErrNotFound)
	wantErr(t, "move unknown device", s.MoveDevice(ctx, 99999, other.ID), core.ErrNotFound)
	must(t, "SetDeviceRole", s.SetDeviceRole(ctx, d.ID, core.DeviceRoleNotebook))
	wantErr(t, "bad role", s.SetDeviceRole(ctx, d.ID, "toaster"), core.ErrInvalid)
	must(t, "SetDeviceTags", s.SetDeviceTags(ctx, d.ID, []string{" Buchhaltung", "vip", "VIP", ""}))
	wantErr(t, "tags of unknown device", s.SetDeviceTags(ctx, 99999, []string{"a"}), core.ErrNotFound)
	wantErr(t, "bad tag", s.SetDeviceTags(ctx, d.ID, []string{"a,b"}), core.ErrInvalid)
	got, err := s.GetDevice(ctx, d.ID)
	must(t, "GetDevice", err)
	if got.SiteID != other.ID || got.SiteName != "Homeoffice" || got.Role != core.DeviceRoleNotebook ||
		!slices.Equal(got.Tags, []string{"buchhaltung", "vip"}) {
		t.Errorf("device = %+v", got)
	}
	list, err := s.ListDevices(ctx)
	must(t, "ListDevices", err)
	if len(list) != 1 || !slices.Equal(list[0].Tags, []string{"buchhaltung", "vip"}) {
		t.Errorf("ListDevices = %+v", list)
	}
	must(t, "RetireDevice", s.RetireDevice(ctx, d.ID, t0))
	wantErr(t, "retire unknown", s.RetireDevice(ctx, 99999, t0), core.ErrNotFound)
	got, _ = s.GetDevice(ctx, d.ID)
	if got.State != core.DeviceRetired {
		t.Errorf("state = %q", got.State)
	}
}

func testUserScope(t *testing.T, s core.Store) {
	a := site(t, s, "A GmbH", "HQ")
	b := site(t, s, "B AG", "HQ")
	tech := core.User{Email: "tech@example.com", Role: core.RoleTechnician, Scope: core.Only(a.ClientID)}
	must(t, "CreateUser", s.CreateUser(ctx, &tech))
	got, err := s.GetUser(ctx, tech.ID)
	must(t, "GetUser", err)
	if !got.Scope.Restricted || !slices.Equal(got.Scope.Clients, []int64{a.ClientID}) {
		t.Errorf("scope = %+v", got.Scope)
	}
	must(t, "SetUserRole", s.SetUserRole(ctx, tech.ID, core.RoleReadOnly, core.Only(a.ClientID, b.ClientID)))
	got, _ = s.GetUserByEmail(ctx, "tech@example.com")
	if got.Role != core.RoleReadOnly || !slices.Equal(got.Scope.Clients, []int64{a.ClientID, b.ClientID}) {
		t.Errorf("after SetUserRole: %+v", got)
	}
	must(t, "SetUserRole all", s.SetUserRole(ctx, tech.ID, core.RoleTechnician, core.AllClients))
	got, _ = s.GetUser(ctx, tech.ID)
	if got.Scope.Restricted {
		t.Errorf("unrestricted user has %+v", got.Scope)
	}
	// Administrators always see every client.
	adm := core.User{Email: "adm@example.com", Role: core.RoleAdmin, Scope: core.Only(b.ClientID)}
	must(t, "CreateUser admin", s.CreateUser(ctx, &adm))
	got, _ = s.GetUser(ctx, adm.ID)
	if got.Scope.Restricted {
		t.Errorf("admin scope = %+v", got.Scope)
	}
	wantErr(t, "bad role", s.SetUserRole(ctx, tech.ID, "root", core.AllClients), core.ErrInvalid)
	us, err := s.ListUsers(ctx)
	must(t, "ListUsers", err)
	if len(us) != 2 || us[0].Email != "adm@example.com" {
		t.Errorf("ListUsers = %+v", us)
	}
}

func testTokenScope(t *testing.T, s core.Store) {
	a := site(t, s, "A GmbH", "HQ")
	u := core.User{Email: "t@example.com", Role: core.RoleTechnician}
	must(t, "CreateUser", s.CreateUser(ctx, &u))
	tok := core.APIToken{UserID: u.ID, Name: "ci", Hash: []byte("h1"), Role: core.RoleReadOnly, Scope: core.Only(a.ClientID)}
	must(t, "CreateAPIToken", s.CreateAPIToken(ctx, &tok))
	got, err := s.GetAPIToken(ctx, []byte("h1"))
	must(t, "GetAPIToken", err)
	if got.Role != core.RoleReadOnly || !got.Scope.Restricted || !slices.Equal(got.Scope.Clients, []int64{a.ClientID}) {
		t.Errorf("token = %+v", got)
	}
	wantErr(t, "bad token role", s.CreateAPIToken(ctx, &core.APIToken{UserID: u.ID, Hash: []byte("h2"), Role: "root"}), core.ErrInvalid)
	ts, err := s.ListAPITokens(ctx, u.ID)
	must(t, "ListAPITokens", err)
	if len(ts) != 1 || ts[0].ID != tok.ID || !ts[0].Scope.Restricted {
		t.Errorf("ListAPITokens = %+v", ts)
	}
}

func testTOTPAndRecovery(t *testing.T, s core.Store) {
	u := core.User{Email: "t@example.com", Role: core.RoleTechnician}
	must(t, "CreateUser", s.CreateUser(ctx, &u))
	must(t, "SetTOTP", s.SetTOTP(ctx, u.ID, "JBSWY3DPEHPK3PXP", true))
	sec, on, last, err := s.GetTOTP(ctx, u.ID)
	if err != nil || sec != "JBSWY3DPEHPK3PXP" || !on || last != 0 {
		t.Errorf("GetTOTP = %q %v %d %v", sec, on, last, err)
	}
	must(t, "UseTOTPStep", s.UseTOTPStep(ctx, u.ID, 100))
	wantErr(t, "replayed step", s.UseTOTPStep(ctx, u.ID, 100), core.ErrConflict)
	wantErr(t, "older step", s.UseTOTPStep(ctx, u.ID, 99), core.ErrConflict)
	must(t, "newer step", s.UseTOTPStep(ctx, u.ID, 101))
	must(t, "SetRecoveryCodes", s.SetRecoveryCodes(ctx, u.ID, [][]byte{[]byte("c1"), []byte("c2")}))
	must(t, "UseRecoveryCode", s.UseRecoveryCode(ctx, u.ID, []byte("c1"), t0))
	wantErr(t, "reuse recovery code", s.UseRecoveryCode(ctx, u.ID, []byte("c1"), t0), core.ErrNotFound)
	wantErr(t, "unknown recovery code", s.UseRecoveryCode(ctx, u.ID, []byte("zz"), t0), core.ErrNotFound)
	must(t, "replace codes", s.SetRecoveryCodes(ctx, u.ID, [][]byte{[]byte("c3")}))
	wantErr(t, "replaced code", s.UseRecoveryCode(ctx, u.ID, []byte("c2"), t0), core.ErrNotFound)
}

func testAuditChain(t *testing.T, s core.Store) {
	if id, n, err := s.VerifyAudit(ctx); err != nil || id != 0 || n != 0 {
		t.Errorf("empty log: %d %d %v", id, n, err)
	}
	for i, a := range []string{"client.create", "device.retire", "user.role"} {
		must(t, "Audit", s.Audit(ctx, core.AuditEntry{At: t0.Add(time.Duration(i) * time.Second), Actor: "user:a@example.com",
			Remote: "192.0.2.7", Action: a, Target: "client:1", Detail: "Müller", Result: core.AuditOK}))
	}
	must(t, "Audit denied", s.Audit(ctx, core.AuditEntry{At: t0.Add(5 * time.Second), Actor: "user:b@example.com", Action: "device.retire",
		Target: "device:9", Result: core.AuditDenied}))
	if id, n, err := s.VerifyAudit(ctx); err != nil || id != 0 || n != 4 {
		t.Fatalf("intact log: bad=%d checked=%d %v", id, n, err)
	}
	es, err := s.QueryAudit(ctx, core.AuditQuery{Action: "device."})
	must(t, "QueryAudit", err)
	if len(es) != 2 || es[0].Result != core.AuditDenied || es[1].Remote != "192.0.2.7" {
		t.Errorf("QueryAudit(device.) = %+v", es)
	}
	es, _ = s.QueryAudit(ctx, core.AuditQuery{Actor: "user:a@example.com", Since: t0.Add(time.Second), Until: t0.Add(2 * time.Second)})
	if len(es) != 1 || es[0].Action != "device.retire" {
		t.Errorf("QueryAudit(actor, time) = %+v", es)
	}
	es, _ = s.QueryAudit(ctx, core.AuditQuery{Action: "%"})
	if len(es) != 0 {
		t.Errorf("%% matched as a wildcard: %+v", es)
	}
	all, _ := s.QueryAudit(ctx, core.AuditQuery{})
	if len(all) != 4 || !slices.Equal(all[0].PrevHash, all[1].Hash) {
		t.Fatalf("chain links: %+v", all)
	}

	db, ok := s.(interface{ SQL() *sql.DB })
	if !ok {
		t.Skip("store does not expose SQL to tamper with")
	}
	// Tamper: edit the second entry's detail, as someone with database
	// access would.
	second := all[2].ID
	if _, err := db.SQL().ExecContext(ctx, `UPDATE audit_log SET detail = $1 WHERE id = $2`, "harmlos", second); err != nil {
		t.Fatal(err)
	}
	if id, _, err := s.VerifyAudit(ctx); err != nil || id != second {
		t.Errorf("edited entry: VerifyAudit = %d, %v; want %d", id, err, second)
	}
	// Restore it, then delete an entry: the next one's link breaks.
	if _, err := db.SQL().ExecContext(ctx, `UPDATE audit_log SET detail = $1 WHERE id = $2`, "Müller", second); err != nil {
		t.Fatal(err)
	}
	if id, _, _ := s.VerifyAudit(ctx); id != 0 {
		t.Fatalf("restored log broken at %d", id)
	}
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM audit_log WHERE id = $1`, second); err != nil {
		t.Fatal(err)
	}
	if id, _, _ := s.VerifyAudit(ctx); id != all[1].ID {
		t.Errorf("deleted entry: VerifyAudit = %d, want %d", id, all[1].ID)
	}
}
