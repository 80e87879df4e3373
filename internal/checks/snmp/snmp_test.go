package snmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

type collect struct{ rs []check.Result }

func (c *collect) Report(r check.Result) { c.rs = append(c.rs, r) }

func (c *collect) byKey(t *testing.T, key string) check.Result {
	t.Helper()
	for _, r := range c.rs {
		if r.Key == key {
			return r
		}
	}
	t.Fatalf("no result %q in %+v", key, c.rs)
	return check.Result{}
}

// withFake builds a check whose device is src and whose clock is now().
func withFake(t *testing.T, raw string, src source, now *time.Time) *Check {
	t.Helper()
	c, err := New(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("New(%s): %v", raw, err)
	}
	c.open = func(context.Context) (source, func(), error) { return src, func() {}, nil }
	if now != nil {
		c.now = func() time.Time { return *now }
	}
	return c
}

func runOnce(t *testing.T, c *Check) *collect {
	t.Helper()
	var rep collect
	if err := c.Run(context.Background(), &rep); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, r := range rep.rs {
		if r.Message.EN == "" || r.Message.DE == "" {
			t.Errorf("result %q lacks a message in both languages: %+v", r.Key, r.Message)
		}
	}
	return &rep
}

func TestInterfacesTemplate(t *testing.T) {
	check.SetStateDir("")
	src := newFake(parseWalk(t, "testdata/netsnmp-linux.walk"))
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	c := withFake(t, `{"host":"192.0.2.1","template":"interfaces"}`, src, &now)
	rep := runOnce(t, c)
	if len(rep.rs) != 4 {
		t.Fatalf("%d results, want 4 interfaces: %+v", len(rep.rs), rep.rs)
	}
	eth := rep.byKey(t, "eth0")
	if eth.Status != core.StatusOK || eth.Value != nil || eth.Message.EN != "Interface eth0 is up" {
		t.Errorf("eth0 first run: %+v", eth)
	}
	if r := rep.byKey(t, "ifb0"); r.Status != core.StatusOK || !strings.Contains(r.Message.EN, "administratively down") {
		t.Errorf("ifb0: %+v", r)
	}
	// 60 s later eth0 moved 7.5 MB in (HC counter) and 750 kB out.
	now = now.Add(time.Minute)
	src.set("1.3.6.1.2.1.31.1.1.1.6.4", Value{Kind: KindCounter, U64: 349985985 + 7_500_000, Bits: 64})
	src.set("1.3.6.1.2.1.31.1.1.1.10.4", Value{Kind: KindCounter, U64: 1017286 + 750_000, Bits: 64})
	src.set("1.3.6.1.2.1.2.2.1.8.4", Value{Kind: KindNumber, Num: 2})
	rep = runOnce(t, c)
	eth = rep.byKey(t, "eth0")
	if eth.Value == nil || math.Abs(*eth.Value-1_100_000) > 1 {
		t.Fatalf("eth0 traffic %v, want 1.1 Mbit/s", eth.Value)
	}
	if eth.Status != core.StatusWarning || eth.Message.EN != "Interface eth0 is down (down), in 1.0 Mbit/s, out 100.0 kbit/s" ||
		eth.Message.DE != "Schnittstelle eth0 ist ausgefallen (down), eingehend 1,0 Mbit/s, ausgehend 100,0 kbit/s" {
		t.Errorf("eth0: %v %q / %q", eth.Status, eth.Message.EN, eth.Message.DE)
	}
	// Watched by name: down is a failure, and a missing one is reported.
	c2 := withFake(t, `{"host":"192.0.2.1","template":"interfaces","interfaces":["eth0","eth9"]}`, src, &now)
	rep = runOnce(t, c2)
	if len(rep.rs) != 2 || rep.byKey(t, "eth0").Status != core.StatusFailure || rep.byKey(t, "eth9").Status != core.StatusFailure {
		t.Errorf("watched: %+v", rep.rs)
	}
}

func TestStorageAndUptimeTemplates(t *testing.T) {
	check.SetStateDir("")
	src := newFake(parseWalk(t, "testdata/netsnmp-linux.walk"))
	rep := runOnce(t, withFake(t, `{"host":"nas","template":"storage","storage_percent":{"warn":50,"fail":95}}`, src, nil))
	keys := []string{}
	for _, r := range rep.rs {
		keys = append(keys, r.Key)
	}
	if got := strings.Join(keys, ","); got != "Physical memory,/" {
		t.Errorf("storage rows %q, want Physical memory and /", got)
	}
	mem := rep.byKey(t, "Physical memory")
	if mem.Value == nil || *mem.Value <= 0 || *mem.Value > 100 || !strings.Contains(mem.Message.DE, "belegt") {
		t.Errorf("memory: %+v", mem)
	}

	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	c := withFake(t, `{"host":"nas","template":"uptime"}`, src, &now)
	up := runOnce(t, c).byKey(t, "uptime")
	if up.Status != core.StatusOK || up.Value == nil || *up.Value != 5.94 || up.Message.EN != "nas has been up for 0 min 5 s" {
		t.Errorf("uptime: %+v", up)
	}
	// Uptime grew: fine. Then it went back: a restart.
	now = now.Add(5 * time.Minute)
	src.set(oidSysUpTime, Value{Kind: KindTicks, U64: 30156, Num: 30156})
	if up := runOnce(t, c).byKey(t, "uptime"); up.Status != core.StatusOK || up.Message.EN != "nas has been up for 5 min 1 s" {
		t.Errorf("uptime later: %v %q", up.Status, up.Message.EN)
	}
	now = now.Add(5 * time.Minute)
	src.set(oidSysUpTime, Value{Kind: KindTicks, U64: 6000, Num: 6000})
	if up := runOnce(t, c).byKey(t, "uptime"); up.Status != core.StatusWarning || up.Message.DE != "nas wurde neu gestartet; läuft seit 1 min 0 s" {
		t.Errorf("restart: %v %q", up.Status, up.Message.DE)
	}
	// TimeTicks wrap after 497 days is not a restart.
	now = now.Add(5 * time.Minute)
	src.set(oidSysUpTime, Value{Kind: KindTicks, U64: math.MaxUint32 - 100, Num: math.MaxUint32 - 100})
	runOnce(t, c)
	now = now.Add(5 * time.Minute)
	src.set(oidSysUpTime, Value{Kind: KindTicks, U64: 29900, Num: 29900})
	if up := runOnce(t, c).byKey(t, "uptime"); up.Status != core.StatusOK {
		t.Errorf("wrap taken for a restart: %q", up.Message.EN)
	}
}

func TestPrinterTemplate(t *testing.T) {
	check.SetStateDir("")
	rep := runOnce(t, withFake(t, `{"host":"drucker-eg","template":"printer"}`, newFake(parseWalk(t, "testdata/printer-laser.walk")), nil))
	if p := rep.byKey(t, "printer"); p.Status != core.StatusWarning || p.Message.EN != "Printer drucker-eg is idle: low toner" || p.Message.DE != "Drucker drucker-eg ist bereit: wenig Toner" {
		t.Errorf("printer: %v %q %q", p.Status, p.Message.EN, p.Message.DE)
	}
	if s := rep.byKey(t, "supply Black Cartridge HP CF259X"); s.Status != core.StatusWarning || *s.Value != 15 || s.Message.DE != "Black Cartridge HP CF259X: noch 15 %" {
		t.Errorf("toner: %+v", s)
	}
	if s := rep.byKey(t, "supply Imaging Drum"); s.Status != core.StatusOK || *s.Value != 87 {
		t.Errorf("drum: %+v", s)
	}
	if s := rep.byKey(t, "supply Waste Toner Box"); s.Status != core.StatusOK || s.Value != nil || s.Message.EN != "Waste Toner Box: some remaining" {
		t.Errorf("waste: %+v", s)
	}

	rep = runOnce(t, withFake(t, `{"host":"farbdrucker","template":"printer"}`, newFake(parseWalk(t, "testdata/printer-jam.walk")), nil))
	if p := rep.byKey(t, "printer"); p.Status != core.StatusFailure || !strings.Contains(p.Message.EN, "paper jam") || !strings.Contains(p.Message.DE, "Papierstau") {
		t.Errorf("jam: %v %q", p.Status, p.Message.EN)
	}
	want := map[string]core.Status{"Cyan Toner": core.StatusFailure, "Magenta Toner": core.StatusOK, "Yellow Toner": core.StatusOK, "Black Toner": core.StatusFailure}
	for name, st := range want {
		if s := rep.byKey(t, "supply "+name); s.Status != st {
			t.Errorf("%s: %v, want %v (%s)", name, s.Status, st, s.Message.EN)
		}
	}
}

func TestUPSTemplate(t *testing.T) {
	check.SetStateDir("")
	rep := runOnce(t, withFake(t, `{"host":"usv","template":"ups"}`, newFake(parseWalk(t, "testdata/ups-mains.walk")), nil))
	if b := rep.byKey(t, "battery"); b.Status != core.StatusOK || *b.Value != 100 || b.Message.EN != "UPS usv battery: charged 100 %, normal, about 47 min runtime" {
		t.Errorf("battery: %v %q", b.Status, b.Message.EN)
	}
	if p := rep.byKey(t, "power"); p.Status != core.StatusOK || p.Message.DE != "USV usv läuft am Netz" {
		t.Errorf("power: %+v", p)
	}
	rep = runOnce(t, withFake(t, `{"host":"usv","template":"ups"}`, newFake(parseWalk(t, "testdata/ups-battery.walk")), nil))
	if b := rep.byKey(t, "battery"); b.Status != core.StatusFailure || *b.Value != 22 || !strings.Contains(b.Message.DE, "schwach") {
		t.Errorf("battery: %v %q", b.Status, b.Message.DE)
	}
	if p := rep.byKey(t, "power"); p.Status != core.StatusFailure || *p.Value != 312 || p.Message.EN != "UPS usv runs on battery for 5 min 12 s" {
		t.Errorf("power: %v %q", p.Status, p.Message.EN)
	}
	// A device without UPS-MIB.
	rep = runOnce(t, withFake(t, `{"host":"usv","template":"ups"}`, newFake(parseWalk(t, "testdata/printer-jam.walk")), nil))
	if len(rep.rs) != 1 || rep.rs[0].Status != core.StatusError || !strings.Contains(rep.rs[0].Message.EN, "does not implement UPS-MIB") {
		t.Errorf("no UPS-MIB: %+v", rep.rs)
	}
}

func TestCustomOIDs(t *testing.T) {
	check.SetStateDir("")
	src := newFake(parseWalk(t, "testdata/netsnmp-linux.walk"))
	raw := `{"host":"sw1","oids":[
		{"oid":".1.3.6.1.2.1.1.5.0","name":"sysName","expect":"vm"},
		{"oid":"1.3.6.1.2.1.1.6.0","name":"location","expect":"Keller"},
		{"oid":"1.3.6.1.2.1.25.2.3.1.4.36","name":"units","warn":1000,"fail":5000,"unit":"B"},
		{"oid":"1.3.6.1.2.1.2.2.1.10.4","name":"eth0 in","rate":true,"scale":8,"unit":"bit","warn":1000000},
		{"oid":"1.3.6.1.2.1.2.2.1.7","name":"admin","walk":true,"warn":2},
		{"oid":"1.3.6.1.2.1.1.99.0","name":"missing"}
	]}`
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	c := withFake(t, raw, src, &now)
	rep := runOnce(t, c)
	checks := map[string]core.Status{"sysName": core.StatusOK, "location": core.StatusFailure, "units": core.StatusWarning,
		"eth0 in": core.StatusUnknown, "admin.1": core.StatusOK, "admin.2": core.StatusWarning, "missing": core.StatusError}
	for k, st := range checks {
		if r := rep.byKey(t, k); r.Status != st {
			t.Errorf("%s: %v, want %v (%s)", k, r.Status, st, r.Message.EN)
		}
	}
	if r := rep.byKey(t, "location"); r.Message.EN != `location is "Serverraum 1", expected "Keller"` {
		t.Errorf("location: %q", r.Message.EN)
	}
	// Counter32 wraps between runs: 4294967000 → 704 is 1000 octets.
	src.set("1.3.6.1.2.1.2.2.1.10.4", Value{Kind: KindCounter, U64: 4294967000, Bits: 32})
	now = now.Add(10 * time.Second)
	runOnce(t, c)
	src.set("1.3.6.1.2.1.2.2.1.10.4", Value{Kind: KindCounter, U64: 704, Bits: 32})
	now = now.Add(10 * time.Second)
	r := runOnce(t, c).byKey(t, "eth0 in")
	if r.Value == nil || *r.Value != 800 || r.Message.EN != "eth0 in is 800.00 bit/s" || r.Status != core.StatusOK {
		t.Errorf("wrapped rate: %v %q", r.Value, r.Message.EN)
	}
}

func TestRatePersistsAcrossRestart(t *testing.T) {
	check.SetStateDir(t.TempDir())
	defer check.SetStateDir("")
	src := newFake([]Value{{OID: "1.3.6.1.2.1.2.2.1.10.1", Kind: KindCounter, U64: 1000, Bits: 64}})
	raw := `{"host":"sw1","oids":[{"oid":"1.3.6.1.2.1.2.2.1.10.1","name":"in","rate":true}]}`
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	if r := runOnce(t, withFake(t, raw, src, &now)).byKey(t, "in"); r.Status != core.StatusUnknown {
		t.Fatalf("first sample: %+v", r)
	}
	// A new instance (agent restarted) continues from the saved sample.
	now = now.Add(100 * time.Second)
	src.set("1.3.6.1.2.1.2.2.1.10.1", Value{Kind: KindCounter, U64: 51000, Bits: 64})
	r := runOnce(t, withFake(t, raw, src, &now)).byKey(t, "in")
	if r.Value == nil || *r.Value != 500 {
		t.Errorf("rate after restart: %+v", r)
	}
	// A Counter64 that went down was reset, not wrapped: no rate.
	now = now.Add(100 * time.Second)
	src.set("1.3.6.1.2.1.2.2.1.10.1", Value{Kind: KindCounter, U64: 10, Bits: 64})
	if r := runOnce(t, withFake(t, raw, src, &now)).byKey(t, "in"); r.Value != nil {
		t.Errorf("counter reset gave a rate: %v", *r.Value)
	}
}

func TestWalkLimitAndErrors(t *testing.T) {
	check.SetStateDir("")
	src := newFake(parseWalk(t, "testdata/netsnmp-linux.walk"))
	rep := runOnce(t, withFake(t, `{"host":"sw1","max_varbinds":10,"template":"interfaces"}`, src, nil))
	if len(rep.rs) != 1 || rep.rs[0].Status != core.StatusError || !strings.Contains(rep.rs[0].Message.EN, "walk stopped after 10 values") {
		t.Errorf("limit: %+v", rep.rs)
	}
	src.errs = fmt.Errorf("get: %w: request timeout (after 1 retries)", errNoResponse)
	rep = runOnce(t, withFake(t, `{"host":"sw1","template":"uptime","timeout_seconds":2}`, src, nil))
	if len(rep.rs) != 1 || rep.rs[0].Status != core.StatusFailure || !strings.Contains(rep.rs[0].Message.DE, "keine SNMP-Antwort innerhalb von 2 s") {
		t.Errorf("timeout: %+v", rep.rs)
	}
}

func TestParams(t *testing.T) {
	if _, err := check.New(Name, nil); !errors.Is(err, check.ErrNotConfigured) {
		t.Errorf("nil: %v", err)
	}
	bad := map[string]string{
		`{"template":"uptime"}`:                          "host:",
		`{"host":"a b","template":"uptime"}`:             "host:",
		`{"host":"h","port":70000,"template":"uptime"}`:  "port:",
		`{"host":"h","version":"4","template":"uptime"}`: "version:",
		`{"host":"h"}`:                                                                                                 "oids:",
		`{"host":"h","template":"coffee"}`:                                                                             "template:",
		`{"host":"h","oids":[{"oid":"1.3.6.x"}]}`:                                                                      "oids[0].oid:",
		`{"host":"h","oids":[{"oid":"1.3.6.1.99999999999"}]}`:                                                          "oids[0].oid:",
		`{"host":"h","oids":[{"oid":"1.3.6.1.4294967296"}]}`:                                                           "oids[0].oid: must be a numeric OID",
		`{"host":"h","oids":[{"oid":"1.3","warn":10,"fail":5}]}`:                                                       "oids[0].warn:",
		`{"host":"h","template":"uptime","timeout_seconds":61}`:                                                        "timeout_seconds:",
		`{"host":"h","template":"uptime","retries":9}`:                                                                 "retries:",
		`{"host":"h","template":"uptime","max_varbinds":10001}`:                                                        "max_varbinds:",
		`{"host":"h","template":"uptime","user":"u"}`:                                                                  "user: v3 settings need version 3",
		`{"host":"h","template":"uptime","version":"3"}`:                                                               "user: is required for version 3",
		`{"host":"h","template":"uptime","version":"3","user":"u","auth_protocol":"SHA","auth_passphrase":"short"}`:    "auth_passphrase:",
		`{"host":"h","template":"uptime","version":"3","user":"u","auth_protocol":"XYZ"}`:                              "auth_protocol:",
		`{"host":"h","template":"uptime","version":"3","user":"u","priv_protocol":"AES","priv_passphrase":"12345678"}`: "priv_protocol: privacy needs",
		`{"host":"h","template":"uptime","version":"3","user":"u","community":"public"}`:                               "community:",
		`{"host":"h","template":"ups","battery_percent":{"warn":10,"fail":30,"below":true}}`:                           "battery_percent.warn:",
		`{"host":"h","template":"uptime","bogus":1}`:                                                                   "bogus: unknown parameter; valid: auth_passphrase,",
	}
	for raw, want := range bad {
		if _, err := check.New(Name, json.RawMessage(raw)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", raw, err, want)
		}
	}
}
