package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

func own(addrs ...string) func() ([]netip.Addr, error) {
	return func() ([]netip.Addr, error) {
		out := make([]netip.Addr, len(addrs))
		for i, a := range addrs {
			out[i] = netip.MustParseAddr(a)
		}
		return out, nil
	}
}

func TestCheck(t *testing.T) {
	def := &Guard{Own: own("127.0.0.1", "::1", "203.0.114.5")}
	intranet := &Guard{Own: own("127.0.0.1", "10.1.2.3"), Allow: mustAllow(t, "10.0.0.0/8, 127.0.0.0/8, fd00::/8")}
	exact := &Guard{Own: own("127.0.0.1", "10.1.2.3"), Allow: mustAllow(t, "127.0.0.1,10.1.2.3/32")}
	for _, tc := range []struct {
		g      *Guard
		ip     string
		denied string // the class's English words, "" for allowed
	}{
		{def, "93.184.215.14", ""},
		{def, "2606:2800:21f:cb07:6820:80da:af6b:8b2c", ""},
		{def, "127.0.0.1", "own address"},
		{def, "127.0.0.2", "loopback"},
		{def, "::1", "own address"},
		{def, "203.0.114.5", "own address"},
		{def, "10.0.0.1", "private"},
		{def, "172.16.0.1", "private"},
		{def, "172.31.255.255", "private"},
		{def, "172.32.0.1", ""},
		{def, "192.168.178.1", "private"},
		{def, "100.64.0.1", "shared"},
		{def, "100.127.255.254", "shared"},
		{def, "100.128.0.1", ""},
		{def, "169.254.169.254", "link-local"}, // cloud metadata
		{def, "0.0.0.0", "unspecified"},
		{def, "::", "unspecified"},
		{def, "224.0.0.1", "multicast"},
		{def, "ff02::1", "multicast"},
		{def, "255.255.255.255", "reserved"},
		{def, "fd12:3456::1", "private"},
		{def, "fe80::1", "link-local"},
		{def, "::ffff:127.0.0.1", "own address"},
		{def, "::ffff:10.0.0.1", "private"},
		{def, "::ffff:8.8.8.8", ""},
		{def, "::127.0.0.1", "reserved"},
		{def, "64:ff9b::a00:1", "private"},      // NAT64 of 10.0.0.1
		{def, "64:ff9b::7f00:1", "own address"}, // NAT64 of 127.0.0.1
		{def, "64:ff9b::808:808", ""},           // NAT64 of 8.8.8.8
		{def, "2002:c0a8:101::1", "private"},    // 6to4 of 192.168.1.1
		{def, "2001:0:4136:e378::1", "reserved"},
		{intranet, "10.9.8.7", ""},
		{intranet, "fd00::1", ""},
		{intranet, "192.168.1.1", "private"},
		{intranet, "10.1.2.3", "own address"}, // a wide range never opens the server
		{intranet, "127.0.0.1", "own address"},
		{intranet, "127.0.0.2", "loopback"},
		{exact, "127.0.0.1", ""},
		{exact, "10.1.2.3", ""},
		{exact, "10.1.2.4", "private"},
		{exact, "::ffff:127.0.0.1", ""},
	} {
		err := tc.g.Check(netip.MustParseAddr(tc.ip))
		var de *DeniedError
		switch {
		case tc.denied == "" && err != nil:
			t.Errorf("%s (allow %v): %v, want allowed", tc.ip, tc.g.Allow, err)
		case tc.denied != "" && !errors.As(err, &de):
			t.Errorf("%s (allow %v): %v, want denied as %s", tc.ip, tc.g.Allow, err, tc.denied)
		case tc.denied != "" && !strings.Contains(de.Localized().EN, tc.denied):
			t.Errorf("%s: %q, want it to say %q", tc.ip, de.Localized().EN, tc.denied)
		case tc.denied != "" && !strings.Contains(de.Localized().DE, "verweigert"):
			t.Errorf("%s: German message %q", tc.ip, de.Localized().DE)
		}
	}
}

func mustAllow(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	ps, err := ParseAllow(s)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestParseAllow(t *testing.T) {
	ps, err := ParseAllow(" 10.1.2.3/8,192.0.2.7\nfd00::/8 ::ffff:192.0.2.8 ")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := FormatAllow(ps), "10.0.0.0/8,192.0.2.7/32,fd00::/8,192.0.2.8/32"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if ps, err := ParseAllow(""); err != nil || len(ps) != 0 {
		t.Errorf("empty: %v %v", ps, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "fe80::1%eth0", "10.0.0.0/8;rm"} {
		_, err := ParseAllow(bad)
		var re *RangeError
		if !errors.As(err, &re) || !strings.Contains(re.Localized().DE, "kein Adressbereich") {
			t.Errorf("%q: %v, want a RangeError", bad, err)
		}
	}
}

// A real dial to a listener on loopback is refused by default before any
// byte is sent, and allowed with the listener's exact address.
func TestControlDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close()
		}
	}()
	ctx := context.Background()
	// "localhost" resolves to loopback: the guard sees the resolved address.
	addr := strings.Replace(ln.Addr().String(), "127.0.0.1", "localhost", 1)
	d := net.Dialer{Timeout: 5 * time.Second, Control: (&Guard{}).Control}
	_, err = d.DialContext(ctx, "tcp4", addr)
	var de *DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("dialing %s: %v, want a DeniedError", addr, err)
	}
	select {
	case <-accepted:
		t.Fatal("the refused dial reached the listener")
	default:
	}
	d.Control = (&Guard{Allow: mustAllow(t, "127.0.0.1/32")}).Control
	c, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		t.Fatalf("dialing %s with 127.0.0.1 allowed: %v", addr, err)
	}
	c.Close()
}

type settings map[string]string

func (s settings) GetSetting(_ context.Context, k string) (string, error) {
	v, ok := s[k]
	if !ok {
		return "", core.ErrNotFound
	}
	return v, nil
}
func (s settings) SetSetting(_ context.Context, k, v string) error { s[k] = v; return nil }

func TestLoad(t *testing.T) {
	ctx := context.Background()
	g, err := Load(ctx, settings{})
	if err != nil || len(g.Allow) != 0 {
		t.Fatalf("unset: %v %v", g, err)
	}
	g, err = Load(ctx, settings{SettingAllow: "10.0.0.0/8"})
	if err != nil || FormatAllow(g.Allow) != "10.0.0.0/8" {
		t.Fatalf("set: %v %v", g, err)
	}
	if _, err := Load(ctx, settings{SettingAllow: "nonsense"}); err == nil {
		t.Fatal("a broken setting loaded")
	}
}

// When the server's own addresses cannot be read, nothing is let through,
// also not inside an IPv6 address that embeds an IPv4 one.
func TestOwnAddressesUnreadable(t *testing.T) {
	g := &Guard{Own: func() ([]netip.Addr, error) { return nil, errors.New("netlink: permission denied") }}
	for _, ip := range []string{"93.184.215.14", "64:ff9b::808:808"} {
		if err := g.Check(netip.MustParseAddr(ip)); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s: %v, want the error", ip, err)
		}
	}
}
