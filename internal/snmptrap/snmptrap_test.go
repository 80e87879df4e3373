package snmptrap

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

const (
	testUser     = "trapuser"
	testAuthPass = "trap-auth-4711"
	testPrivPass = "trap-priv-0815"
	linkDown     = "1.3.6.1.6.3.1.1.5.3"
)

// start runs a listener on a loopback port and returns it with the channel
// its results arrive on.
func start(t *testing.T, cfg Config) (*Listener, chan check.Result) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	out := make(chan check.Result, 100)
	l, err := New(cfg, func(r check.Result) { out <- r }, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	select {
	case <-l.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return l, out
}

func next(t *testing.T, out chan check.Result) check.Result {
	t.Helper()
	select {
	case r := <-out:
		if r.Message.EN == "" || r.Message.DE == "" {
			t.Errorf("message not in both languages: %+v", r.Message)
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no result within 10 s")
	}
	return check.Result{}
}

func needSnmptrap(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("snmptrap")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("snmptrap (Debian package snmp) is missing in CI")
		}
		t.Skip("snmptrap not installed (apt-get install snmp)")
	}
	return bin
}

// send runs the real net-snmp snmptrap against the listener.
func send(t *testing.T, l *Listener, args ...string) {
	t.Helper()
	bin := needSnmptrap(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args = append([]string{"-m", "", "-M", t.TempDir()}, args...)
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "TARGET", l.Addr().String())
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "MIBS=", "SNMP_PERSISTENT_DIR="+t.TempDir(), "SNMPCONFPATH="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("snmptrap %v: %v\n%s", args, err, out)
	}
}

func rules() []Rule {
	return []Rule{
		{Name: "uplink down", TrapOID: linkDown, Varbinds: map[string]string{"1.3.6.1.2.1.2.2.1.1": "2"}},
		{Name: "printer door", TrapOID: "1.3.6.1.4.1.11.2.3.9", Status: "warning"},
	}
}

func TestRealTraps(t *testing.T) {
	l, out := start(t, Config{
		Communities:  []string{"public"},
		Users:        []User{{Name: testUser, AuthProtocol: "SHA", AuthPassphrase: testAuthPass, PrivProtocol: "AES", PrivPassphrase: testPrivPass}},
		KnownSources: []string{"127.0.0.0/8"},
		Rules:        rules(),
	})

	t.Run("v2c link down fires the rule", func(t *testing.T) {
		send(t, l, "-v", "2c", "-c", "public", "TARGET", "", linkDown,
			"1.3.6.1.2.1.2.2.1.1.2", "i", "2", "1.3.6.1.2.1.2.2.1.2.2", "s", "GigabitEthernet0/2")
		r := next(t, out)
		if r.Key != "uplink down" || r.Status != core.StatusFailure ||
			!strings.Contains(r.Message.EN, "linkDown (1.3.6.1.6.3.1.1.5.3), v2c") || !strings.Contains(r.Message.EN, "=GigabitEthernet0/2") ||
			!strings.HasPrefix(r.Message.DE, `SNMP-Trap "uplink down" von 127.0.0.1`) {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("v2c other interface is recorded without rule", func(t *testing.T) {
		send(t, l, "-v", "2c", "-c", "public", "TARGET", "", linkDown, "1.3.6.1.2.1.2.2.1.1.7", "i", "7")
		r := next(t, out)
		if r.Key != "trap 127.0.0.1" || r.Status != core.StatusOK || !strings.Contains(r.Message.EN, "(no rule)") {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("v1 link down maps to the same trap OID", func(t *testing.T) {
		send(t, l, "-v", "1", "-c", "public", "TARGET", "1.3.6.1.4.1.8072.3.2.10", "127.0.0.1", "2", "0", "",
			"1.3.6.1.2.1.2.2.1.1.2", "i", "2")
		r := next(t, out)
		if r.Key != "uplink down" || r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, ", v1") {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("v1 enterprise specific", func(t *testing.T) {
		send(t, l, "-v", "1", "-c", "public", "TARGET", "1.3.6.1.4.1.11.2.3.9", "127.0.0.1", "6", "42", "",
			"1.3.6.1.4.1.11.2.3.9.1.1", "s", "Klappe offen")
		r := next(t, out)
		if r.Key != "printer door" || r.Status != core.StatusWarning || !strings.Contains(r.Message.EN, "1.3.6.1.4.1.11.2.3.9.0.42") {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("v3 authPriv", func(t *testing.T) {
		send(t, l, "-v", "3", "-e", "0x80001f8880c0ffee0042", "-l", "authPriv", "-u", testUser, "-a", "SHA", "-A", testAuthPass,
			"-x", "AES", "-X", testPrivPass, "TARGET", "", linkDown, "1.3.6.1.2.1.2.2.1.1.2", "i", "2")
		r := next(t, out)
		if r.Key != "uplink down" || r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "v3 user "+testUser) {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("v3 wrong passphrase is recorded as rejected", func(t *testing.T) {
		l.mu.Lock()
		clear(l.reject)
		l.mu.Unlock()
		send(t, l, "-v", "3", "-e", "0x80001f8880c0ffee0043", "-l", "authPriv", "-u", testUser, "-a", "SHA", "-A", "wrong-pass-99",
			"-x", "AES", "-X", testPrivPass, "TARGET", "", linkDown)
		r := next(t, out)
		if r.Key != "rejected 127.0.0.1" || r.Status != core.StatusWarning || strings.Contains(r.Message.EN, "wrong-pass-99") {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("v2c wrong community is rate limited", func(t *testing.T) {
		l.mu.Lock()
		clear(l.reject)
		l.mu.Unlock()
		send(t, l, "-v", "2c", "-c", "geheim", "TARGET", "", linkDown)
		send(t, l, "-v", "2c", "-c", "geheim", "TARGET", "", linkDown)
		send(t, l, "-v", "2c", "-c", "public", "TARGET", "", "1.3.6.1.6.3.1.1.5.1")
		r := next(t, out)
		if r.Key != "rejected 127.0.0.1" || !strings.Contains(r.Message.EN, "wrong community") || strings.Contains(r.Message.EN, "geheim") {
			t.Errorf("got %+v", r)
		}
		if r := next(t, out); r.Key != "trap 127.0.0.1" || !strings.Contains(r.Message.EN, "coldStart") {
			t.Errorf("second rejection not limited: %+v", r)
		}
	})
	t.Run("v2c inform is answered", func(t *testing.T) {
		// snmpinform fails unless the listener responds.
		send(t, l, "-Ci", "-r", "0", "-t", "3", "-v", "2c", "-c", "public", "TARGET", "", "1.3.6.1.6.3.1.1.5.4", "1.3.6.1.2.1.2.2.1.1.2", "i", "2")
		if r := next(t, out); r.Key != "trap 127.0.0.1" || !strings.Contains(r.Message.EN, "linkUp") {
			t.Errorf("got %+v", r)
		}
	})
}

func TestUnknownSourceIsRecorded(t *testing.T) {
	l, out := start(t, Config{KnownSources: []string{"192.0.2.0/24"}, Rules: rules()})
	send(t, l, "-v", "2c", "-c", "public", "TARGET", "", linkDown, "1.3.6.1.2.1.2.2.1.1.2", "i", "2")
	r := next(t, out)
	if r.Key != "unknown 127.0.0.1" || r.Status != core.StatusWarning ||
		!strings.HasPrefix(r.Message.EN, "SNMP trap from unknown source 127.0.0.1: linkDown") ||
		!strings.HasPrefix(r.Message.DE, "SNMP-Trap von unbekannter Quelle 127.0.0.1") {
		t.Errorf("got %+v", r)
	}
}

func TestMalformed(t *testing.T) {
	l, err := New(Config{Rules: rules()}, func(check.Result) {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddr("10.0.0.9")
	for _, b := range [][]byte{nil, {0x30}, {0x30, 0x84, 0xff, 0xff, 0xff, 0xff}, []byte("GET / HTTP/1.1\r\n\r\n")} {
		if _, err := l.decode(b, src); err == nil {
			t.Errorf("%q decoded", b)
		}
	}
	var got []check.Result
	l.sink = func(r check.Result) { got = append(got, r) }
	l.handle([]byte{0x30, 0x03, 0x02, 0x01, 0x01}, src, nil)
	close(l.queue)
	for r := range l.queue {
		got = append(got, r)
	}
	if len(got) != 1 || got[0].Key != "rejected 10.0.0.9" || got[0].Status != core.StatusWarning {
		t.Errorf("malformed: %+v", got)
	}
}

func TestQueueDropIsCounted(t *testing.T) {
	l, err := New(Config{}, func(check.Result) {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < queueSize+5; i++ {
		l.enqueue(check.Result{Key: fmt.Sprint(i)})
	}
	if l.drops != 5 {
		t.Fatalf("drops %d, want 5", l.drops)
	}
	<-l.queue // room for the drop notice
	l.enqueue(check.Result{Key: "x"})
	var last check.Result
	for len(l.queue) > 0 {
		last = <-l.queue
		if last.Key == "dropped" && !strings.HasPrefix(last.Message.EN, "5 SNMP trap records were dropped") {
			t.Errorf("drop notice %q", last.Message.EN)
		}
	}
	if l.drops != 1 { // "x" did not fit after the notice
		t.Errorf("drops after notice %d, want 1", l.drops)
	}
}

func TestConfig(t *testing.T) {
	bad := map[string]Config{
		"listen:":                  {Listen: "nonsense"},
		"known_sources[0]:":        {KnownSources: []string{"10.0.0.0/33"}},
		"rules[0]: name":           {Rules: []Rule{{}}},
		"rules[0]: trap_oid":       {Rules: []Rule{{Name: "x", TrapOID: "linkDown"}}},
		"rules[0]: source":         {Rules: []Rule{{Name: "x", Source: "printer"}}},
		"rules[0]: status":         {Rules: []Rule{{Name: "x", Status: "panic"}}},
		"rules[0]: varbinds":       {Rules: []Rule{{Name: "x", Varbinds: map[string]string{"ifIndex": "2"}}}},
		"users[0].name":            {Users: []User{{}}},
		"users[0].auth_protocol":   {Users: []User{{Name: "u", AuthProtocol: "ROT13"}}},
		"users[0].priv_passphrase": {Users: []User{{Name: "u", PrivProtocol: "AES", PrivPassphrase: "longenough"}}},
	}
	for want, cfg := range bad {
		if _, err := New(cfg, func(check.Result) {}, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", cfg, err, want)
		}
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"listen":":1162","rules":[{"name":"x","trap_oid":"1.3.6.1.6.3.1.1.5.3"}]}`))
	if err != nil || c.Listen != ":1162" || len(c.Rules) != 1 {
		t.Errorf("got %+v, %v", c, err)
	}
	if _, err := ParseConfig([]byte(`{"rulez":[]}`)); err == nil || !strings.Contains(err.Error(), "rulez") {
		t.Errorf("unknown field: %v", err)
	}
}
