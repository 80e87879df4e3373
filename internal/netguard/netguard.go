// Package netguard decides which addresses a connection that the server
// opens on a user's behalf may reach: the website checks the server runs
// itself (network devices without a probe). By default it refuses the
// server's own addresses, loopback, link-local, private, shared (CGNAT),
// multicast, unspecified and reserved ranges, also inside IPv4-mapped,
// NAT64 and 6to4 IPv6 addresses, so that a technician cannot use the
// server to reach its own API, its database or the networks behind it. An
// administrator may allow ranges (the setting SettingAllow).
//
// The guard is applied when connecting, to the address DNS resolved (a
// net.Dialer's Control), so DNS rebinding and redirects are caught too.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/wacht-rmm/wacht/internal/core"
)

// SettingAllow is the setting holding the allowed ranges: CIDR prefixes
// separated by commas (empty: none).
const SettingAllow = "server_checks_allow"

// class is a kind of address the guard refuses, worded for messages.
type class struct{ en, de string }

var (
	classOwn       = class{"the server's own address", "eigene Adresse des Servers"}
	classLoopback  = class{"a loopback address", "eine Loopback-Adresse"}
	classPrivate   = class{"a private network address", "eine Adresse eines privaten Netzes"}
	classShared    = class{"a shared (CGNAT) address", "eine gemeinsam genutzte (CGNAT-)Adresse"}
	classLinkLocal = class{"a link-local address", "eine Link-Local-Adresse"}
	classMulticast = class{"a multicast address", "eine Multicast-Adresse"}
	classUnspec    = class{"an unspecified address", "eine unspezifizierte Adresse"}
	classReserved  = class{"a reserved address", "eine reservierte Adresse"}
)

// denied are the ranges refused by default, with their class.
var denied = []struct {
	p netip.Prefix
	c class
}{
	{netip.MustParsePrefix("0.0.0.0/8"), classUnspec},
	{netip.MustParsePrefix("10.0.0.0/8"), classPrivate},
	{netip.MustParsePrefix("100.64.0.0/10"), classShared},
	{netip.MustParsePrefix("127.0.0.0/8"), classLoopback},
	{netip.MustParsePrefix("169.254.0.0/16"), classLinkLocal},
	{netip.MustParsePrefix("172.16.0.0/12"), classPrivate},
	{netip.MustParsePrefix("192.0.0.0/24"), classReserved},
	{netip.MustParsePrefix("192.0.2.0/24"), classReserved},
	{netip.MustParsePrefix("192.88.99.0/24"), classReserved},
	{netip.MustParsePrefix("192.168.0.0/16"), classPrivate},
	{netip.MustParsePrefix("198.18.0.0/15"), classReserved},
	{netip.MustParsePrefix("198.51.100.0/24"), classReserved},
	{netip.MustParsePrefix("203.0.113.0/24"), classReserved},
	{netip.MustParsePrefix("224.0.0.0/4"), classMulticast},
	{netip.MustParsePrefix("240.0.0.0/4"), classReserved},
	{netip.MustParsePrefix("::/128"), classUnspec},
	{netip.MustParsePrefix("::1/128"), classLoopback},
	{netip.MustParsePrefix("::/96"), classReserved}, // IPv4-compatible (deprecated)
	{netip.MustParsePrefix("64:ff9b:1::/48"), classPrivate},
	{netip.MustParsePrefix("100::/64"), classReserved},
	{netip.MustParsePrefix("2001::/23"), classReserved}, // Teredo, benchmarking, ORCHID …
	{netip.MustParsePrefix("2001:db8::/32"), classReserved},
	{netip.MustParsePrefix("fc00::/7"), classPrivate},
	{netip.MustParsePrefix("fe80::/10"), classLinkLocal},
	{netip.MustParsePrefix("fec0::/10"), classPrivate},
	{netip.MustParsePrefix("ff00::/8"), classMulticast},
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Guard refuses connections to the default-denied ranges except those in
// Allow. The server's own addresses and loopback are opened only by an
// allowed single address (a /32 or /128 prefix naming it), never by a
// wider range: allowing an intranet's 10.0.0.0/8 does not open the
// server's own 10.0.0.5.
type Guard struct {
	Allow []netip.Prefix
	// Own lists the server's own addresses (nil: its interfaces'
	// addresses, read at each check).
	Own func() ([]netip.Addr, error)
}

// DeniedError is the refusal of one address, worded in both languages.
type DeniedError struct {
	Addr netip.Addr
	what class
}

func (e *DeniedError) Error() string { return e.Localized().EN }

// Localized words the refusal for a result message.
func (e *DeniedError) Localized() core.Text {
	return core.Text{
		EN: fmt.Sprintf("connection to %s refused: it is %s, which checks the server runs do not reach unless an administrator allows its range",
			e.Addr, e.what.en),
		DE: fmt.Sprintf("Verbindung zu %s verweigert: sie ist %s, die vom Server ausgeführte Prüfungen nur erreichen, wenn ein Administrator ihren Bereich freigibt",
			e.Addr, e.what.de),
	}
}

// Check returns nil if the guard lets a connection reach ip, otherwise a
// *DeniedError (or the error reading the server's own addresses).
func (g *Guard) Check(ip netip.Addr) error {
	ip = ip.Unmap().WithZone("")
	if embedded, ok := embeddedIPv4(ip); ok {
		err := g.Check(embedded)
		if de := (*DeniedError)(nil); errors.As(err, &de) {
			return &DeniedError{Addr: ip, what: de.what}
		}
		return err
	}
	own, err := g.own()
	if err != nil {
		return fmt.Errorf("reading the server's own addresses: %w", err)
	}
	for _, o := range own {
		if o.Unmap().WithZone("") == ip && !g.allowsExactly(ip) {
			return &DeniedError{Addr: ip, what: classOwn}
		}
	}
	for _, d := range denied {
		if !d.p.Contains(ip) {
			continue
		}
		if d.c == classLoopback && g.allowsExactly(ip) || d.c != classLoopback && g.allows(ip) {
			return nil
		}
		return &DeniedError{Addr: ip, what: d.c}
	}
	return nil
}

func (g *Guard) allows(ip netip.Addr) bool {
	for _, p := range g.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (g *Guard) allowsExactly(ip netip.Addr) bool {
	for _, p := range g.Allow {
		if p.IsSingleIP() && p.Addr() == ip {
			return true
		}
	}
	return false
}

func (g *Guard) own() ([]netip.Addr, error) {
	if g.Own != nil {
		return g.Own()
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out, nil
}

// embeddedIPv4 returns the IPv4 address inside a NAT64 (64:ff9b::/96) or
// 6to4 (2002::/16) address.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	b := ip.As16()
	switch {
	case !ip.Is6():
		return netip.Addr{}, false
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// Control is a net.Dialer Control function: it refuses to connect to an
// address the guard denies. It sees the address after DNS resolution.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("netguard: unexpected address %q: %w", address, err)
	}
	return g.Check(ap.Addr())
}

// ParseAllow parses allowed ranges: CIDR prefixes or single addresses,
// separated by commas, spaces or new lines.
func ParseAllow(text string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil || a.Zone() != "" {
				return nil, &RangeError{Text: f}
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Zone() != "" {
			return nil, &RangeError{Text: f}
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// RangeError is an allowed range that is not a CIDR prefix or address.
type RangeError struct{ Text string }

func (e *RangeError) Error() string { return e.Localized().EN }

// Localized words the error for the administrator.
func (e *RangeError) Localized() core.Text {
	return core.Text{
		EN: fmt.Sprintf("%q is not an address range (e.g. 10.0.0.0/8, 192.0.2.10, fd00::/8)", e.Text),
		DE: fmt.Sprintf("%q ist kein Adressbereich (z. B. 10.0.0.0/8, 192.0.2.10, fd00::/8)", e.Text),
	}
}

// FormatAllow is the inverse of ParseAllow.
func FormatAllow(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Load returns the guard with the allowed ranges stored in st (none if
// the setting is unset).
func Load(ctx context.Context, st core.SettingStore) (*Guard, error) {
	v, err := st.GetSetting(ctx, SettingAllow)
	if errors.Is(err, core.ErrNotFound) {
		return &Guard{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", SettingAllow, err)
	}
	allow, err := ParseAllow(v)
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", SettingAllow, err)
	}
	return &Guard{Allow: allow}, nil
}
