package ping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

type collect struct{ rs []check.Result }

func (c *collect) Report(r check.Result) { c.rs = append(c.rs, r) }

func runCheck(t *testing.T, c *pingCheck) check.Result {
	t.Helper()
	var rep collect
	if err := c.Run(context.Background(), &rep); err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(rep.rs) != 1 {
		t.Fatalf("%d results, want 1", len(rep.rs))
	}
	r := rep.rs[0]
	if r.Message.EN == "" || r.Message.DE == "" {
		t.Errorf("message not in both languages: %+v", r.Message)
	}
	return r
}

func mustNew(t *testing.T, raw string, pg pinger, res resolver) *pingCheck {
	t.Helper()
	c, err := newCheck(json.RawMessage(raw), pg, res)
	if err != nil {
		t.Fatalf("newCheck(%s): %v", raw, err)
	}
	return c
}

// fakePinger answers with fixed statistics or an error.
type fakePinger struct {
	st   stats
	err  error
	got  options
	gotI net.IP
}

func (f *fakePinger) Ping(_ context.Context, ip net.IP, o options) (stats, error) {
	f.got, f.gotI = o, ip
	return f.st, f.err
}

type fakeResolver map[string][]net.IPAddr

func (f fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestFakeOutcomes(t *testing.T) {
	ms := time.Millisecond
	res := fakeResolver{"nas.kunde.lan": {{IP: net.ParseIP("fd00::5")}, {IP: net.ParseIP("192.168.10.5")}}}
	tests := []struct {
		name   string
		params string
		st     stats
		err    error
		want   core.Status
		en, de string
		value  float64 // -1: none
	}{
		{"all replies", `{"host":"192.168.10.5"}`, stats{Sent: 4, Recv: 4, Min: 1 * ms, Avg: 1500 * time.Microsecond, Max: 2 * ms}, nil,
			core.StatusOK, "4 of 4 replies (0 % loss), round trip min/avg/max 1.00/1.50/2.00 ms", "4 von 4 Antworten (0 % Verlust), Umlaufzeit min/mittel/max 1,00/1,50/2,00 ms", 1.5},
		{"one lost warns", `{"host":"192.168.10.5"}`, stats{Sent: 4, Recv: 3, Avg: ms}, nil,
			core.StatusWarning, "3 of 4 replies (25 % loss)", "25 % Verlust", 1},
		{"loss threshold", `{"host":"192.168.10.5","loss_percent":{"warn":10,"fail":50}}`, stats{Sent: 4, Recv: 2, Avg: ms}, nil,
			core.StatusFailure, "(50 % loss)", "", 1},
		{"all lost", `{"host":"192.168.10.5"}`, stats{Sent: 4}, nil,
			core.StatusFailure, "no reply to 4 pings (100 % loss)", "keine Antwort auf 4 Pings (100 % Verlust)", -1},
		{"slow rtt", `{"host":"192.168.10.5","rtt_ms":{"warn":50,"fail":200}}`, stats{Sent: 4, Recv: 4, Avg: 120 * ms}, nil,
			core.StatusWarning, "avg", "mittel", 120},
		{"very slow rtt", `{"host":"192.168.10.5","rtt_ms":{"warn":50,"fail":200}}`, stats{Sent: 4, Recv: 4, Avg: 1200 * ms}, nil,
			core.StatusFailure, "1,200.00", "1.200,00", 1200},
		{"resolves name", `{"host":"nas.kunde.lan","ip_version":4}`, stats{Sent: 4, Recv: 4, Avg: ms}, nil,
			core.StatusOK, "nas.kunde.lan (192.168.10.5): 4 of 4", "", 1},
		{"unresolvable", `{"host":"gibtsnicht.kunde.lan"}`, stats{}, nil,
			core.StatusFailure, "gibtsnicht.kunde.lan: host name could not be resolved", "Hostname konnte nicht aufgelöst werden", -1},
		{"no socket", `{"host":"192.168.10.5"}`, stats{}, fmt.Errorf("%w (x)", ErrNoSocket),
			core.StatusError, "ping_group_range", "CAP_NET_RAW", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := &fakePinger{st: tt.st, err: tt.err}
			r := runCheck(t, mustNew(t, tt.params, fp, res))
			if r.Status != tt.want {
				t.Errorf("status %v, want %v (%s)", r.Status, tt.want, r.Message.EN)
			}
			if !strings.Contains(r.Message.EN, tt.en) || !strings.Contains(r.Message.DE, tt.de) {
				t.Errorf("message %q / %q, want %q / %q", r.Message.EN, r.Message.DE, tt.en, tt.de)
			}
			switch {
			case tt.value < 0 && r.Value != nil:
				t.Errorf("value %v, want none", *r.Value)
			case tt.value >= 0 && (r.Value == nil || *r.Value != tt.value):
				t.Errorf("value %v, want %v", r.Value, tt.value)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	fp := &fakePinger{st: stats{Sent: 3, Recv: 3}}
	c := mustNew(t, `{"host":"10.0.0.1","count":3,"interval_seconds":0.5,"timeout_seconds":5,"mode":"unprivileged"}`, fp, nil)
	runCheck(t, c)
	want := options{Count: 3, Interval: 500 * time.Millisecond, Timeout: 3 * time.Second, Mode: ModeUnprivileged}
	if fp.got != want {
		t.Errorf("options %+v, want %+v", fp.got, want)
	}
}

func TestParams(t *testing.T) {
	if _, err := check.New(Name, nil); !errors.Is(err, check.ErrNotConfigured) {
		t.Errorf("nil params: %v", err)
	}
	bad := map[string]string{
		`{}`:                                           "host:",
		`{"host":"a b"}`:                               "host:",
		`{"host":"h","count":101}`:                     "count:",
		`{"host":"h","count":20}`:                      "count: the pings do not fit in the timeout",
		`{"host":"h","interval_seconds":0.1}`:          "interval_seconds:",
		`{"host":"h","timeout_seconds":61}`:            "timeout_seconds:",
		`{"host":"h","loss_percent":{"warn":150}}`:     "loss_percent.warn: must be between 0 and 100",
		`{"host":"h","rtt_ms":{"warn":100,"fail":10}}`: "rtt_ms.warn: must not be above fail",
		`{"host":"h","mode":"magic"}`:                  "mode:",
		`{"host":"h","ip_version":5}`:                  "ip_version:",
		`{"host":"h","extra":1}`:                       "extra: unknown parameter; valid: count, host,",
	}
	for raw, want := range bad {
		if _, err := check.New(Name, json.RawMessage(raw)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", raw, err, want)
		}
	}
	fp := &fakePinger{}
	c := mustNew(t, `{"host":"::1","ip_version":4}`, fp, nil)
	if r := runCheck(t, c); r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "not an IPv4 address") {
		t.Errorf("got %v %q", r.Status, r.Message.EN)
	}
}

// unprivilegedAllowed reports whether our group may open ICMP datagram
// sockets (Linux net.ipv4.ping_group_range).
func unprivilegedAllowed(t *testing.T) bool {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	if err != nil {
		t.Fatalf("reading ping_group_range: %v", err)
	}
	f := strings.Fields(string(b))
	lo, _ := strconv.Atoi(f[0])
	hi, _ := strconv.Atoi(f[1])
	g := os.Getgid()
	return g >= lo && g <= hi
}

func TestLoopbackReal(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("loopback ping test expects Linux")
	}
	modes := []string{ModeAuto, ModePrivileged, ModeUnprivileged}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			c := mustNew(t, `{"host":"127.0.0.1","count":3,"interval_seconds":0.2,"mode":"`+mode+`"}`, osPinger{}, net.DefaultResolver)
			r := runCheck(t, c)
			canRaw := os.Geteuid() == 0
			expectOK := map[string]bool{ModeAuto: canRaw || unprivilegedAllowed(t), ModePrivileged: canRaw, ModeUnprivileged: unprivilegedAllowed(t)}[mode]
			if expectOK {
				if r.Status != core.StatusOK || r.Value == nil || !strings.Contains(r.Message.EN, "3 of 3 replies") {
					t.Errorf("got %v %q", r.Status, r.Message.EN)
				}
				return
			}
			if r.Status != core.StatusError || !strings.Contains(r.Message.EN, "permission") && !strings.Contains(r.Message.EN, "not permitted") {
				t.Errorf("without permission: got %v %q", r.Status, r.Message.EN)
			}
		})
	}
}

// netns is a network namespace with one veth link to the test's namespace.
type netns struct {
	name, hostIf, peer, peerIP string
}

func sh(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// newNetns creates a namespace holding a host at 10.251.N.2 reachable over a
// veth pair; it is removed when the test ends.
func newNetns(t *testing.T) *netns {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces are Linux only")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ip (iproute2) is missing in CI")
		}
		t.Skip("ip (iproute2) not installed")
	}
	id := os.Getpid() % 250
	n := &netns{name: fmt.Sprintf("wacht-ping-%d", os.Getpid()), hostIf: fmt.Sprintf("wp%da", os.Getpid()), peer: fmt.Sprintf("wp%db", os.Getpid()),
		peerIP: fmt.Sprintf("10.251.%d.2", id)}
	if err := sh("ip", "netns", "add", n.name); err != nil {
		// Containers without CAP_SYS_ADMIN cannot create namespaces.
		t.Skipf("cannot create a network namespace here: %v", err)
	}
	t.Cleanup(func() {
		_ = sh("ip", "link", "del", n.hostIf)
		_ = sh("ip", "netns", "del", n.name)
	})
	ns := []string{"ip", "netns", "exec", n.name}
	steps := [][]string{
		{"ip", "link", "add", n.hostIf, "type", "veth", "peer", "name", n.peer},
		{"ip", "link", "set", n.peer, "netns", n.name},
		{"ip", "addr", "add", fmt.Sprintf("10.251.%d.1/30", id), "dev", n.hostIf},
		{"ip", "link", "set", n.hostIf, "up"},
		append(ns, "ip", "addr", "add", n.peerIP+"/30", "dev", n.peer),
		append(ns, "ip", "link", "set", n.peer, "up"),
		append(ns, "ip", "link", "set", "lo", "up"),
	}
	for _, s := range steps {
		if err := sh(s...); err != nil {
			t.Skipf("cannot set up the test namespace: %v", err)
		}
	}
	return n
}

func TestNetnsHost(t *testing.T) {
	n := newNetns(t)
	raw := `{"host":"` + n.peerIP + `","count":3,"interval_seconds":0.2,"timeout_seconds":5}`
	r := runCheck(t, mustNew(t, raw, osPinger{}, net.DefaultResolver))
	if r.Status != core.StatusOK || !strings.Contains(r.Message.EN, "3 of 3 replies") {
		t.Fatalf("reachable host: %v %q", r.Status, r.Message.EN)
	}
	// The host stays up but stops answering echo requests.
	if err := sh("ip", "netns", "exec", n.name, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1"); err != nil {
		t.Fatal(err)
	}
	r = runCheck(t, mustNew(t, raw, osPinger{}, net.DefaultResolver))
	if r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "no reply to 3 pings (100 % loss)") || r.Value != nil {
		t.Errorf("silent host: %v %q", r.Status, r.Message.EN)
	}
}

func TestLoopbackIPv6Real(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs Linux and root for a raw ICMPv6 socket")
	}
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		c.Close()
	}
	c := mustNew(t, `{"host":"localhost","ip_version":6,"count":2,"interval_seconds":0.2,"mode":"privileged"}`, osPinger{},
		fakeResolver{"localhost": {{IP: net.ParseIP("127.0.0.1")}, {IP: net.IPv6loopback}}})
	r := runCheck(t, c)
	if r.Status != core.StatusOK || !strings.Contains(r.Message.EN, "localhost (::1): 2 of 2 replies") {
		t.Errorf("got %v %q", r.Status, r.Message.EN)
	}
}
