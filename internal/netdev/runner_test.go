package netdev

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netguard"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// A website check configured for the server runs against a real HTTP
// server on loopback (allowed by the administrator's setting) and stores
// its result on the network device, once per interval.
func TestServerRunnerWebsite(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		user, pw, _ := r.BasicAuth()
		if user != "shop" || pw != "pw-Basic-1" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("<h1>Willkommen im Shop</h1>"))
	}))
	defer srv.Close()

	st, box, site := serverSite(t)
	checks, secrets, err := Split([]core.PolicyCheck{{Name: "shop", Type: "website",
		Params: json.RawMessage(`{"url":"` + srv.URL + `/","contains":"Willkommen","username":"shop","password":"pw-Basic-1"}`)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := core.NetDevice{SiteID: site.ID, Name: "Shop", Type: "website", Checks: checks}
	if d.Sealed, err = SealSecrets(box, secrets); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateNetDevice(ctx, &d); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(ctx, netguard.SettingAllow, "127.0.0.1/32"); err != nil {
		t.Fatal(err)
	}

	var heard []core.Result
	r := &ServerRunner{Policy: ProbePolicy{Store: st, Box: box}, Store: st, Settings: st,
		OnResults: func(id int64, rs []core.Result) { heard = append(heard, rs...) }}
	now := time.Now()
	if err := r.RunDue(ctx, now); err != nil {
		t.Fatal(err)
	}
	states, err := st.ListCheckStates(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) == 0 {
		t.Fatal("no result stored on the network device")
	}
	for _, s := range states {
		if s.Name != "shop" || s.Status != core.StatusOK {
			t.Errorf("state %s %q: %v %q, want shop ok", s.Name, s.Key, s.Status, s.Message.EN)
		}
	}
	if len(heard) == 0 || hits.Load() != 1 {
		t.Errorf("OnResults heard %d results, server hit %d times; want some and 1", len(heard), hits.Load())
	}
	// Not due again within the interval (default 5 minutes) ...
	if err := r.RunDue(ctx, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 {
		t.Errorf("check ran again within its interval: %d hits", hits.Load())
	}
	// ... but after it.
	if err := r.RunDue(ctx, now.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.CountResults(ctx, d.ID); hits.Load() != 2 || n < 2 {
		t.Errorf("after the interval: %d hits, %d results stored; want 2 and ≥2", hits.Load(), n)
	}
}

// Server-run website checks do not reach the server itself, loopback or
// private networks by default: to 127.0.0.1, to "localhost", to a private
// address and through a redirect from an allowed host to loopback, each
// run ends in an error result saying so, and no request reaches loopback.
func TestServerRunnerRefusesInternalAddresses(t *testing.T) {
	var hits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("wacht API"))
	}))
	defer internal.Close()
	_, port, _ := net.SplitHostPort(internal.Listener.Addr().String())
	urls := []string{internal.URL + "/api/v1/users", "http://localhost:" + port + "/", "http://10.0.0.1:5432/"}
	// An allowed host (127.0.0.2, allowed by the setting) that redirects to
	// the refused 127.0.0.1.
	if ln, err := net.Listen("tcp", "127.0.0.2:0"); err == nil {
		front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, internal.URL+"/api/v1/users", http.StatusFound)
		}))
		front.Listener.Close()
		front.Listener = ln
		front.Start()
		defer front.Close()
		urls = append(urls, front.URL+"/")
	} else {
		t.Logf("no 127.0.0.2 here, redirect case left out: %v", err)
	}

	st, box, site := serverSite(t)
	if err := st.SetSetting(ctx, netguard.SettingAllow, "127.0.0.2/32"); err != nil {
		t.Fatal(err)
	}
	var checks []core.PolicyCheck
	for i, u := range urls {
		checks = append(checks, core.PolicyCheck{Name: fmt.Sprintf("site%d", i), Type: "website",
			Params: json.RawMessage(`{"url":"` + u + `","timeout_seconds":5}`)})
	}
	d := core.NetDevice{SiteID: site.ID, Name: "Probe", Type: "website", Checks: checks}
	if err := st.CreateNetDevice(ctx, &d); err != nil {
		t.Fatal(err)
	}
	r := &ServerRunner{Policy: ProbePolicy{Store: st, Box: box}, Store: st, Settings: st}
	if err := r.RunDue(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	states, err := st.ListCheckStates(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != len(urls) {
		t.Fatalf("%d results, want %d", len(states), len(urls))
	}
	for _, s := range states {
		if s.Status != core.StatusError || !strings.Contains(s.Message.EN, "refused: it is") ||
			!strings.Contains(s.Message.DE, "verweigert") {
			t.Errorf("%s: %v %q / %q, want an error refusing the address", s.Name, s.Status, s.Message.EN, s.Message.DE)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests reached the server's loopback", hits.Load())
	}
}

// serverSite returns a store with a client's site and a secret key.
func serverSite(t *testing.T) (*store.DB, *seal.Box, core.Site) {
	t.Helper()
	st := storetest.NewSQLite(t)
	box, err := seal.LoadKey(filepath.Join(t.TempDir(), seal.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	_, site, err := st.EnsureClientSite(ctx, "Shop GmbH", "Web")
	if err != nil {
		t.Fatal(err)
	}
	return st, box, site
}
