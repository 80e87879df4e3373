package netdev

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

var ctx = context.Background()

func TestSplitIsWriteOnly(t *testing.T) {
	checks := []core.PolicyCheck{{Name: "if", Type: "snmp",
		Params: json.RawMessage(`{"version":"2c","community":"s3cr3t-comm","template":"interfaces"}`)}}
	clean, secrets, err := Split(checks, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(clean[0].Params), "s3cr3t") || secrets["if"]["community"] != "s3cr3t-comm" {
		t.Fatalf("Split: params %s secrets %v", clean[0].Params, secrets)
	}
	// Saving again without the secret keeps it; a new value replaces it.
	_, kept, err := Split(clean, secrets)
	if err != nil || kept["if"]["community"] != "s3cr3t-comm" {
		t.Errorf("resave without secret: %v, %v", kept, err)
	}
	_, repl, _ := Split([]core.PolicyCheck{{Name: "if", Type: "snmp", Params: json.RawMessage(`{"community":"neu"}`)}}, secrets)
	if repl["if"]["community"] != "neu" {
		t.Errorf("replaced secret = %v", repl)
	}
	// A renamed check does not inherit another check's secret.
	_, none, _ := Split([]core.PolicyCheck{{Name: "other", Type: "snmp"}}, secrets)
	if len(none) != 0 {
		t.Errorf("renamed check got secrets %v", none)
	}
}

// TestSplitDropsSecretsTheVersionDoesNotUse: switching an SNMP check to
// version 3 drops its stored community, and back to 2c its passphrases;
// the secrets of the version in use are kept.
func TestSplitDropsSecretsTheVersionDoesNotUse(t *testing.T) {
	old := Secrets{"if": {"community": "s3cr3t-comm"}}
	_, got, err := Split([]core.PolicyCheck{{Name: "if", Type: "snmp",
		Params: json.RawMessage(`{"version":"3","user":"mon","auth_protocol":"SHA","auth_passphrase":"authpass1"}`)}}, old)
	if err != nil || got["if"]["community"] != "" || got["if"]["auth_passphrase"] != "authpass1" {
		t.Errorf("to version 3: %v, %v; want the community dropped", got, err)
	}
	_, back, err := Split([]core.PolicyCheck{{Name: "if", Type: "snmp", Params: json.RawMessage(`{"version":"2c"}`)}}, got)
	if err != nil || len(back) != 0 {
		t.Errorf("back to 2c: %v, %v; want the passphrase dropped", back, err)
	}
	_, same, _ := Split([]core.PolicyCheck{{Name: "if", Type: "snmp", Params: json.RawMessage(`{"version":"v3","user":"mon"}`)}}, got)
	if same["if"]["auth_passphrase"] != "authpass1" {
		t.Errorf("v3 again: %v; want the passphrase kept", same)
	}
}

type fixedPolicy struct{}

func (fixedPolicy) AgentPolicy(ctx context.Context, id int64) (protocol.Policy, error) {
	return protocol.Policy{Revision: "base", Checks: []core.PolicyCheck{{Name: "cpu", Type: "cpu", Schedule: core.Schedule{Class: core.Schedule24x7, EveryMinutes: 5}}}}, nil
}

// fixture: a probe and another agent in one site, a router probed by the
// probe with an SNMP community and a website run by the server.
type fixture struct {
	st           *store.DB
	box          *seal.Box
	probe, other core.Device
	router, shop core.NetDevice
	community    string
}

func newFixture(t testing.TB, st *store.DB) *fixture {
	t.Helper()
	box, err := seal.LoadKey(filepath.Join(t.TempDir(), seal.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, box: box, community: "Zugang-7f3a9c"}
	_, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Büro")
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []*core.Device{&f.probe, &f.other} {
		secret := []byte{byte(i), 1, 2}
		if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: secret, SiteID: site.ID}); err != nil {
			t.Fatal(err)
		}
		*d = core.Device{Hostname: []string{"probe", "other"}[i], MachineID: []string{"m1", "m2"}[i], PublicKey: []byte{byte(i)}}
		if err := st.Enroll(ctx, secret, d, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(d *core.NetDevice) {
		t.Helper()
		clean, secrets, err := Split(d.Checks, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.Checks = clean
		if d.Sealed, err = SealSecrets(box, secrets); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateNetDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	f.router = core.NetDevice{SiteID: site.ID, Name: "router", Address: "127.0.0.1", Type: "router", ProbeID: f.probe.ID,
		Checks: []core.PolicyCheck{
			{Name: "ping", Type: "ping", Params: json.RawMessage(`{"count":1}`)},
			{Name: "if", Type: "snmp", Params: json.RawMessage(`{"community":"` + f.community + `","template":"uptime"}`)},
		}}
	mk(&f.router)
	f.shop = core.NetDevice{SiteID: site.ID, Name: "shop", Type: "website",
		Checks: []core.PolicyCheck{{Name: "shop", Type: "website", Params: json.RawMessage(`{"url":"https://127.0.0.1/","username":"u","password":"pw-9d1e"}`)}}}
	mk(&f.shop)
	return f
}

func engines(t *testing.T, fn func(t *testing.T, st *store.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, storetest.NewSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, storetest.NewPostgres(t)) })
}

// The raw rows never hold a secret in plaintext.
func TestSecretsNeverStoredInPlaintext(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		f := newFixture(t, st)
		rows, err := st.SQL().QueryContext(ctx, `SELECT checks, sealed FROM network_devices`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var checks string
			var sealed []byte
			if err := rows.Scan(&checks, &sealed); err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{f.community, "pw-9d1e"} {
				if strings.Contains(checks, secret) || bytes.Contains(sealed, []byte(secret)) {
					t.Errorf("secret %q stored in plaintext: checks %s", secret, checks)
				}
			}
			if len(sealed) < 28 {
				t.Errorf("sealed secrets only %d bytes", len(sealed))
			}
			n++
		}
		if n != 2 {
			t.Errorf("%d network_devices rows, want 2", n)
		}
	})
}

func TestProbePolicy(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		f := newFixture(t, st)
		pp := ProbePolicy{Base: fixedPolicy{}, Store: st, Box: f.box}
		pol, err := pp.AgentPolicy(ctx, f.probe.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := pol.Validate(); err != nil {
			t.Fatalf("probe policy invalid: %v", err)
		}
		byName := map[string]core.PolicyCheck{}
		for _, c := range pol.Checks {
			byName[c.Name] = c
		}
		ping, ok := byName[EntryName(f.router.ID, "ping")]
		if !ok || len(pol.Checks) != 3 || pol.Revision == "base" {
			t.Fatalf("probe policy = %+v", pol)
		}
		var pp2 map[string]any
		json.Unmarshal(ping.Params, &pp2)
		if pp2["host"] != "127.0.0.1" || ping.Schedule.Class != core.Schedule24x7 {
			t.Errorf("ping entry %s %+v: want host from the address and a default schedule", ping.Params, ping.Schedule)
		}
		snmp := byName[EntryName(f.router.ID, "if")]
		if !strings.Contains(string(snmp.Params), `"community":"`+f.community+`"`) {
			t.Errorf("snmp entry params %s lack the opened community", snmp.Params)
		}
		// Other agents get only their own policy.
		pol, err = pp.AgentPolicy(ctx, f.other.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(pol.Checks) != 1 || pol.Revision != "base" {
			t.Errorf("other agent's policy = %+v", pol)
		}
		// The server's own entries: the website with its password.
		es, err := pp.Entries(ctx, 0)
		if err != nil || len(es) != 1 || !strings.Contains(string(es[0].Params), "pw-9d1e") {
			t.Errorf("server entries = %+v, %v", es, err)
		}
	})
}

func TestRouterRejectsResultsFromNonProbe(t *testing.T) {
	f := newFixture(t, storetest.NewSQLite(t))
	rt := Router{Store: f.st}
	at := time.Now()
	batch := []core.Result{
		{ID: "1", Check: "cpu", Status: core.StatusOK, At: at},
		{ID: "2", Check: EntryName(f.router.ID, "ping"), Status: core.StatusOK, At: at},
		{ID: "3", Check: EntryName(f.shop.ID, "shop"), Status: core.StatusOK, At: at}, // server-run: no agent may write it
		{ID: "4", Check: EntryName(999999, "ping"), Status: core.StatusOK, At: at},    // no such device
		{ID: "5", Check: "net-x-ping", Status: core.StatusOK, At: at},                 // not an entry name: the agent's own
	}
	got, err := rt.Route(ctx, f.probe.ID, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[f.probe.ID]) != 2 || len(got[f.router.ID]) != 1 || got[f.router.ID][0].Check != "ping" {
		t.Errorf("probe's batch routed to %+v", got)
	}
	got, err = rt.Route(ctx, f.other.ID, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[f.other.ID]) != 2 {
		t.Errorf("non-probe's batch routed to %+v; want only its own two results", got)
	}
}

func TestParseEntryName(t *testing.T) {
	for _, tc := range []struct {
		name  string
		id    int64
		check string
		ok    bool
	}{
		{"net-12-ping", 12, "ping", true},
		{"net-12-web-shop", 12, "web-shop", true},
		{"net-0-ping", 0, "", false},
		{"net-12-", 0, "", false},
		{"net-12", 0, "", false},
		{"disk", 0, "", false},
	} {
		id, check, ok := ParseEntryName(tc.name)
		if id != tc.id || check != tc.check || ok != tc.ok {
			t.Errorf("ParseEntryName(%q) = %d %q %v", tc.name, id, check, ok)
		}
	}
}

// Trap results go to the network device of the probe's site with the
// trap's source address; traps from unknown sources stay (recorded).
func TestRouterTrapsBySource(t *testing.T) {
	f := newFixture(t, storetest.NewSQLite(t))
	traps := core.NetDevice{SiteID: f.router.SiteID, Name: "trap receiver", Type: "other", ProbeID: f.probe.ID,
		Checks: []core.PolicyCheck{{Name: "traps", Type: TrapType, Params: json.RawMessage(`{"listen":":1162"}`)}}}
	if err := f.st.CreateNetDevice(ctx, &traps); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	batch := []core.Result{
		{ID: "1", Check: EntryName(traps.ID, "traps"), Key: "trap 127.0.0.1", Status: core.StatusOK, At: at},          // the router's address
		{ID: "2", Check: EntryName(traps.ID, "traps"), Key: "unknown 192.0.2.99", Status: core.StatusWarning, At: at}, // nobody's
		{ID: "3", Check: TrapType, Key: "trap 127.0.0.1", Status: core.StatusOK, At: at},                              // the probe's own entry
		{ID: "4", Check: EntryName(f.router.ID, "ping"), Key: "trap 127.0.0.1", Status: core.StatusOK, At: at},        // not a trap check
	}
	got, err := Router{Store: f.st}.Route(ctx, f.probe.ID, batch)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(rs []core.Result) (s []string) {
		for _, r := range rs {
			s = append(s, r.ID+":"+r.Check)
		}
		return s
	}
	want := map[int64][]string{f.router.ID: {"1:traps", "3:snmptrap", "4:ping"}, traps.ID: {"2:traps"}}
	for id, w := range want {
		if g := ids(got[id]); strings.Join(g, ",") != strings.Join(w, ",") {
			t.Errorf("device %d got %v, want %v", id, g, w)
		}
	}
	if len(got) != 2 {
		t.Errorf("routed to %d devices, want 2: %v", len(got), got)
	}
}

// An snmptrap entry's communities and v3 users are sealed whole and come
// back intact in the probe's parameters.
func TestSplitTrapLists(t *testing.T) {
	raw := `{"listen":":162","communities":["c0mm-geheim"],"users":[{"name":"u","auth_protocol":"SHA","auth_passphrase":"auth-Geheim-1"}]}`
	clean, secrets, err := Split([]core.PolicyCheck{{Name: "traps", Type: TrapType, Params: json.RawMessage(raw)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(clean[0].Params), "geheim") || strings.Contains(string(clean[0].Params), "Geheim") {
		t.Fatalf("params keep secrets: %s", clean[0].Params)
	}
	_, kept, _ := Split(clean, secrets) // resave without them keeps them
	p, err := Params(core.NetDevice{ID: 1}, clean[0], kept)
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	json.Unmarshal(p, &got)
	json.Unmarshal([]byte(raw), &want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Params = %s, want %s", p, raw)
	}
}
