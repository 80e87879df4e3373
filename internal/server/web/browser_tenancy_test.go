package web

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestBrowserTechnicianSeesOwnClientOnly: in headless Chromium, a
// technician limited to one client sees only that client's devices and
// clients, and a foreign device's page answers "not found".
func TestBrowserTechnicianSeesOwnClientOnly(t *testing.T) {
	needChromium(t)
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	own, _ := seed(t, st, "mueller-pc")
	_, other, err := st.EnsureClientSite(ctx, "Schulz KG", "Lager")
	if err != nil {
		t.Fatal(err)
	}
	secret := auth.NewSecret("")
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: other.ClientID, SiteID: other.ID}); err != nil {
		t.Fatal(err)
	}
	foreign := core.Device{Hostname: "schulz-pc", OS: "windows", MachineID: "m2", PublicKey: make([]byte, 32)}
	if err := st.Enroll(ctx, auth.HashSecret(secret), &foreign, time.Now()); err != nil {
		t.Fatal(err)
	}
	h, _ := authtest.Cost.Hash(testPassword)
	tech := core.User{Email: "tech@example.com", PasswordHash: h, Role: core.RoleTechnician, Scope: core.Only(own.ClientID)}
	if err := st.CreateUser(ctx, &tech); err != nil {
		t.Fatal(err)
	}
	hd, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Commander: &fakeCommander{}})})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(hd)
	defer srv.Close()

	c := newChrome(t, srv.URL)
	step, text := c.step, c.text

	c.login("tech@example.com", "tr.device")
	overview := text("main")
	if !strings.Contains(overview, "mueller-pc") || !strings.Contains(overview, "Müller GmbH") {
		t.Errorf("overview lacks the own client:\n%s", overview)
	}
	if strings.Contains(overview, "schulz-pc") || strings.Contains(overview, "Schulz KG") {
		t.Errorf("overview shows the foreign client:\n%s", overview)
	}

	step("clients page", chromedp.Click("#nav-clients"), chromedp.WaitVisible("#clients"))
	clients := text("#clients")
	if !strings.Contains(clients, "Müller GmbH") || strings.Contains(clients, "Schulz KG") {
		t.Errorf("clients page:\n%s", clients)
	}
	if strings.Contains(text("main"), "New client") {
		t.Error("technician is offered to create clients")
	}

	step("foreign device by URL", chromedp.Navigate(srv.URL+"/devices/"+strconv.FormatInt(foreign.ID, 10)), chromedp.WaitVisible(`p[role="alert"]`))
	if m := text("main"); strings.Contains(m, "schulz-pc") || !strings.Contains(m, "does not exist") {
		t.Errorf("foreign device page:\n%s", m)
	}
	step("foreign client by URL", chromedp.Navigate(srv.URL+"/clients/"+strconv.FormatInt(other.ClientID, 10)), chromedp.WaitVisible(`p[role="alert"]`))
	if m := text("main"); strings.Contains(m, "Schulz KG") {
		t.Errorf("foreign client page:\n%s", m)
	}
}
