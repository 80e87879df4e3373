package netdev

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// A website check configured for the server runs against a real HTTP
// server on loopback and stores its result on the network device, once
// per interval.
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

	st := storetest.NewSQLite(t)
	box, err := seal.LoadKey(filepath.Join(t.TempDir(), seal.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	_, site, err := st.EnsureClientSite(ctx, "Shop GmbH", "Web")
	if err != nil {
		t.Fatal(err)
	}
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

	var heard []core.Result
	r := &ServerRunner{Policy: ProbePolicy{Store: st, Box: box}, Store: st,
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
