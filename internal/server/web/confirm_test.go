package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// TestDeletesNeedConfirmation posts every delete and revoke route of the
// dashboard twice: without confirm=yes nothing goes and the answer asks
// (or says that nothing was deleted), with it the thing goes.
func TestDeletesNeedConfirmation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	admin := f.users[core.RoleAdmin]
	clientID, siteID := f.device.ClientID, f.device.SiteID
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	id := strconv.FormatInt
	// refused is the usual answer to an unconfirmed delete.
	refused := func(p page) bool {
		return p.status == http.StatusBadRequest && strings.Contains(p.body, "Nothing was deleted")
	}
	for _, c := range []struct {
		name string
		// add creates the thing and answers its delete route and the form
		// fields it needs besides csrf and confirm.
		add    func() (string, url.Values)
		exists func() bool
		asks   func(page) bool // the answer to the unconfirmed post; refused if nil
		notice string          // what the page after the delete says, if checked
	}{
		{name: "client", add: func() (string, url.Values) {
			c := core.Client{Name: "Weg GmbH"}
			must(f.st.CreateClient(ctx, &c))
			return "/clients/" + id(c.ID, 10) + "/delete", nil
		}, exists: func() bool {
			cs, err := f.st.ListClients(ctx)
			must(err)
			for _, c := range cs {
				if c.Name == "Weg GmbH" {
					return true
				}
			}
			return false
		}, asks: func(p page) bool {
			return p.status == http.StatusConflict && strings.Contains(p.body, `id="client-delete-confirm" open`)
		}, notice: "The client “Weg GmbH” was deleted."},
		{name: "site", add: func() (string, url.Values) {
			s := core.Site{ClientID: clientID, Name: "Filiale"}
			must(f.st.CreateSite(ctx, &s))
			return "/sites/" + id(s.ID, 10) + "/delete", nil
		}, exists: func() bool {
			ss, err := f.st.ListSites(ctx)
			must(err)
			for _, s := range ss {
				if s.Name == "Filiale" {
					return true
				}
			}
			return false
		}, notice: "The site “Filiale” was deleted."},
		{name: "user", add: func() (string, url.Values) {
			u := core.User{Email: "weg@example.com", PasswordHash: admin.PasswordHash, Role: core.RoleReadOnly}
			must(f.st.CreateUser(ctx, &u))
			return "/users/" + id(u.ID, 10) + "/delete", nil
		}, exists: func() bool {
			_, err := f.st.GetUserByEmail(ctx, "weg@example.com")
			return err == nil
		}, notice: "The user was deleted."},
		{name: "agent file", add: func() (string, url.Values) {
			af := core.AgentFile{Kind: "binary", Version: "1.10.0", OS: "linux", Arch: "amd64", Name: "wacht-agent-linux-amd64",
				SHA256: strings.Repeat("ab", 32), Size: 14, Signed: []byte(`{}`)}
			must(f.st.CreateAgentFile(ctx, &af))
			return "/agents/files/" + id(af.ID, 10) + "/delete", nil
		}, exists: func() bool {
			fs, err := f.st.ListAgentFiles(ctx)
			must(err)
			return len(fs) > 0
		}},
		{name: "contract", add: func() (string, url.Values) {
			ct := core.DefaultContract(clientID, "2026-01-01")
			ct.UpdatedBy = "test"
			must(f.st.PutContract(ctx, &ct))
			return "/contracts/" + id(ct.ID, 10) + "/delete", url.Values{"next": {"/clients/" + id(clientID, 10) + "#contract"}}
		}, exists: func() bool {
			cs, err := f.st.ListContracts(ctx, clientID)
			must(err)
			return len(cs) > 0
		}, notice: "The contract was deleted."},
		{name: "time entry", add: func() (string, url.Values) {
			te := core.TimeEntry{ClientID: clientID, User: "admin@example.com", StartedAt: time.Now().Add(-time.Hour), Minutes: 45, Note: "Drucker"}
			must(f.st.CreateTimeEntry(ctx, &te))
			return "/time/" + id(te.ID, 10) + "/delete", nil
		}, exists: func() bool {
			es, err := f.st.ListTimeEntries(ctx, core.TimeQuery{ClientID: clientID})
			must(err)
			return len(es) > 0
		}, notice: "The time entry was deleted."},
		{name: "branding icon", add: func() (string, url.Values) {
			icon := testPNG(t, 32, 32)
			sum := sha256.Sum256(icon)
			must(f.st.SetBranding(ctx, core.Branding{ClientID: clientID, Icon: icon, IconSHA256: hex.EncodeToString(sum[:]), UpdatedAt: time.Now()}))
			return "/clients/" + id(clientID, 10) + "/branding/icon/delete", nil
		}, exists: func() bool {
			br, err := f.st.GetBranding(ctx, clientID)
			must(err)
			return br.IconSHA256 != ""
		}},
		{name: "report logo", add: func() (string, url.Values) {
			must(f.st.SetSetting(ctx, report.SettingLogo, base64.StdEncoding.EncodeToString(testPNG(t, 240, 80))))
			return reportLogoPath + "/delete", nil
		}, exists: func() bool {
			logo, err := f.st.GetSetting(ctx, report.SettingLogo)
			must(err)
			return logo != ""
		}},
		{name: "enrollment token", add: func() (string, url.Values) {
			et := core.EnrollmentToken{SecretHash: auth.HashSecret(auth.NewSecret("")), ClientID: clientID, SiteID: siteID, Label: "Rollout"}
			must(f.st.CreateEnrollmentToken(ctx, &et))
			return "/sites/" + id(siteID, 10) + "/enrollment-tokens/" + id(et.ID, 10) + "/revoke", nil
		}, exists: func() bool {
			ts, err := f.st.ListEnrollmentTokens(ctx)
			must(err)
			for _, et := range ts {
				if et.Label == "Rollout" {
					return et.RevokedAt == nil
				}
			}
			return false
		}, notice: "The token was revoked: no further device can enroll with it."},
		{name: "maintenance window", add: func() (string, url.Values) {
			end := time.Now().Add(time.Hour)
			m := core.Maintenance{Scope: core.LevelSite, TargetID: siteID, Title: "Patchnacht", Start: time.Now(), End: &end, TimeZone: "Europe/Berlin"}
			must(f.st.CreateMaintenance(ctx, &m))
			return "/maintenance/" + id(m.ID, 10) + "/delete", nil
		}, exists: func() bool {
			ms, err := f.st.ListMaintenance(ctx, core.MaintenanceFilter{})
			must(err)
			return len(ms) > 0
		}},
		{name: "package", add: func() (string, url.Values) {
			p := core.Package{Name: "htop", Version: "3.3", OS: "linux", Kind: core.PkgApt, ManagerID: "htop", Install: []string{}, Uninstall: []string{},
				Params: []core.PackageParam{}, ExitCodes: core.DefaultExitCodes(), Detection: core.Detection{Kind: core.DetectOSPackage, Name: "htop"},
				TimeoutSeconds: 600, UpdatedBy: "test"}
			must(f.st.CreatePackage(ctx, &p))
			return "/packages/" + id(p.ID, 10) + "/delete", nil
		}, exists: func() bool {
			ps, err := f.st.ListPackages(ctx)
			must(err)
			for _, p := range ps {
				if p.Name == "htop" {
					return true
				}
			}
			return false
		}},
		{name: "policy", add: func() (string, url.Values) {
			p := core.Policy{Name: "Kanzlei", Checks: []core.PolicyCheck{{Name: "memory", Exclude: true}}}
			must(f.st.CreatePolicy(ctx, &p))
			return "/policies/" + id(p.ID, 10) + "/delete", nil
		}, exists: func() bool {
			ps, err := f.st.ListPolicies(ctx)
			must(err)
			for _, p := range ps {
				if p.Name == "Kanzlei" {
					return true
				}
			}
			return false
		}},
		{name: "script", add: func() (string, url.Values) {
			sc := core.Script{Name: "Spooler", Language: "sh", Body: "echo ok\n", TimeoutSeconds: 30, RunAs: core.RunAsSystem}
			must(f.st.CreateScript(ctx, &sc))
			return "/scripts/" + id(sc.ID, 10) + "/delete", nil
		}, exists: func() bool {
			ss, err := f.st.ListScripts(ctx)
			must(err)
			for _, s := range ss {
				if s.Name == "Spooler" {
					return true
				}
			}
			return false
		}},
		{name: "API token", add: func() (string, url.Values) {
			tok := core.APIToken{UserID: admin.ID, Name: "CI", Hash: auth.HashSecret(auth.NewSecret(auth.APITokenPrefix))}
			must(f.st.CreateAPIToken(ctx, &tok))
			return "/account/tokens/" + id(tok.ID, 10) + "/revoke", nil
		}, exists: func() bool {
			ts, err := f.st.ListAPITokens(ctx, admin.ID)
			must(err)
			return len(ts) == 1 && ts[0].RevokedAt == nil
		}, notice: "The API token was revoked; programs using it are refused from now on."},
		{name: "saved view", add: func() (string, url.Values) {
			v := core.SavedView{UserID: admin.ID, Name: "Macs", Query: "os=darwin"}
			must(f.st.CreateSavedView(ctx, &v))
			return "/views/" + id(v.ID, 10) + "/delete", url.Values{"next": {"/"}}
		}, exists: func() bool {
			vs, err := f.st.ListSavedViews(ctx, admin.ID)
			must(err)
			return len(vs) > 0
		}, notice: "The saved view “Macs” was deleted."},
		{name: "alert recipient", add: func() (string, url.Values) {
			r := core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "it@example.com", Lang: "de", Hours: core.HoursAlways}
			must(f.st.CreateRecipient(ctx, &r))
			return alertSettingsPath + "/recipients/" + id(r.ID, 10) + "/delete", nil
		}, exists: func() bool {
			rs, err := f.st.ListRecipients(ctx)
			must(err)
			return len(rs) > 0
		}},
		{name: "sign-in provider", add: func() (string, url.Values) {
			p := core.OIDCProvider{Name: "Entra ID", Issuer: "https://login.example/t/v2.0", ClientID: "c", ClientSecret: "s",
				Domains: []string{"example.com"}, DefaultRole: core.RoleReadOnly}
			must(f.st.CreateOIDCProvider(ctx, &p))
			return ssoSettingsPath + "/" + id(p.ID, 10) + "/delete", nil
		}, exists: func() bool {
			ps, err := f.st.ListOIDCProviders(ctx)
			must(err)
			return len(ps) > 0
		}, notice: "Sign-in provider deleted."},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, form := c.add()
			if !c.exists() {
				t.Fatal("not there to begin with")
			}
			if form == nil {
				form = url.Values{}
			}
			form.Set("csrf", csrf)
			asks := c.asks
			if asks == nil {
				asks = refused
			}
			if p := b.do("POST", path, form); !asks(p) {
				t.Errorf("unconfirmed POST %s: %d %q\n%s", path, p.status, p.header.Get("Location"), p.body)
			}
			if !c.exists() {
				t.Fatalf("unconfirmed POST %s deleted it", path)
			}
			form.Set("confirm", "yes")
			p := b.do("POST", path, form)
			if p.status != http.StatusSeeOther {
				t.Errorf("confirmed POST %s: %d\n%s", path, p.status, p.body)
			}
			if c.notice != "" {
				if next := b.do("GET", p.header.Get("Location"), nil); !strings.Contains(next.body, c.notice) {
					t.Errorf("%s after the delete lacks %q:\n%s", p.header.Get("Location"), c.notice, next.body)
				}
			}
			if c.exists() {
				t.Errorf("confirmed POST %s left it", path)
			}
		})
	}
	// The file browser's delete goes to the agent: the test's device is
	// not connected, so only a confirmed delete gets as far as finding
	// that out.
	files := "/devices/" + id(f.device.ID, 10) + "/files/delete"
	form := url.Values{"csrf": {csrf}, "dir": {"/tmp"}, "name": {"alt.log"}}
	if p := b.do("POST", files, form); !refused(p) {
		t.Errorf("unconfirmed file delete: %d\n%s", p.status, p.body)
	}
	form.Set("confirm", "yes")
	if p := b.do("POST", files, form); p.status != http.StatusConflict || !strings.Contains(p.body, "The device is not connected.") {
		t.Errorf("confirmed file delete: %d\n%s", p.status, p.body)
	}
}
