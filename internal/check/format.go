package check

import (
	"crypto/x509"
	"math"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Formats a Text parameter may declare (Param.Format). Each refuses what
// the collectors refuse of such a value, so that the server never saves a
// policy an agent then rejects; an empty text is not checked (it means the
// default, or "any").
const (
	// FormatHost is a host name or an IP address (no port, path or user).
	FormatHost = "host"
	// FormatHostPort is host:port, the host optional (":162").
	FormatHostPort = "host-port"
	// FormatURL is an absolute http or https URL with a host and without
	// credentials.
	FormatURL = "url"
	// FormatOID is a numeric SNMP object identifier (1.3.6.1.2.1.1.3.0).
	FormatOID = "oid"
	// FormatIPOrCIDR is an IP address or a network range (192.0.2.0/24).
	FormatIPOrCIDR = "ip-or-cidr"
	// FormatPEM is text holding at least one PEM certificate.
	FormatPEM = "pem"
	// FormatTimeOfDay is HH:MM on a 24-hour clock.
	FormatTimeOfDay = "time-of-day"
)

// format is one Format's test, the refusal it gives and an example of a
// value that fits (forms show it as a hint).
type format struct {
	ok      func(s string) bool
	msg     core.Text
	example string
}

var formats = map[string]format{
	FormatHost: {validHost, core.Text{EN: "must be a host name or IP address", DE: "muss ein Hostname oder eine IP-Adresse sein"}, "server01.kunde.local"},
	FormatHostPort: {func(s string) bool { _, _, err := net.SplitHostPort(s); return err == nil },
		core.Text{EN: `must be an address with a port, such as ":162" or "192.0.2.1:162"`, DE: `muss eine Adresse mit Port sein, etwa ":162" oder "192.0.2.1:162"`}, "192.0.2.1:162"},
	FormatURL: {validURL, core.Text{EN: "must be an absolute http or https URL with a host and without credentials",
		DE: "muss eine absolute http- oder https-URL mit Host und ohne Zugangsdaten sein"}, "https://www.example.de/"},
	FormatOID: {func(s string) bool { _, err := ParseOID(s); return err == nil },
		core.Text{EN: "must be a numeric OID such as 1.3.6.1.2.1.1.3.0", DE: "muss eine numerische OID wie 1.3.6.1.2.1.1.3.0 sein"}, "1.3.6.1.2.1.1.3.0"},
	FormatIPOrCIDR: {func(s string) bool { _, err := ParsePrefix(s); return err == nil },
		core.Text{EN: "must be an IP address or a network range such as 192.0.2.0/24", DE: "muss eine IP-Adresse oder ein Netzbereich wie 192.0.2.0/24 sein"}, "192.0.2.0/24"},
	FormatPEM: {func(s string) bool { return x509.NewCertPool().AppendCertsFromPEM([]byte(s)) },
		core.Text{EN: "must hold at least one PEM certificate (-----BEGIN CERTIFICATE-----)", DE: "muss mindestens ein PEM-Zertifikat enthalten (-----BEGIN CERTIFICATE-----)"}, "-----BEGIN CERTIFICATE-----"},
	FormatTimeOfDay: {func(s string) bool { _, err := time.Parse("15:04", s); return err == nil },
		core.Text{EN: "must be a time as HH:MM (24-hour clock)", DE: "muss eine Uhrzeit als HH:MM sein (24-Stunden-Uhr)"}, "07:30"},
}

// FormatMessage returns the refusal of s under the named format, or nil if
// s fits (an empty s always does). It panics on an unknown format, which
// is a mistake in a declaration.
func FormatMessage(name, s string) *core.Text {
	f, ok := formats[name]
	if !ok {
		panic("check: unknown parameter format " + strconv.Quote(name))
	}
	if s == "" || f.ok(s) {
		return nil
	}
	return &f.msg
}

// FormatExample is a value that fits the named format, such as
// "1.3.6.1.2.1.1.3.0" for an OID; "" for an unknown format.
func FormatExample(name string) string { return formats[name].example }

// validHost is the test of the ping and snmp collectors: trimmed, at most
// 253 bytes, and no character that cannot be in a host name unless it is an
// IP address.
func validHost(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && len(s) <= 253 && (!strings.ContainsAny(s, " /\\:@") || net.ParseIP(s) != nil)
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != "" && u.User == nil
}

var oidRe = regexp.MustCompile(`^\.?[0-2](\.[0-9]{1,10})+$`)

// ParseOID normalises a numeric OID (trimmed, without a leading dot) and
// refuses anything else: the first arc 0 to 2, at least two arcs, at most
// 128, each at most 4294967295.
func ParseOID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !oidRe.MatchString(s) {
		return "", &TextError{Msg: core.Text{
			EN: strconv.Quote(s) + " is not a numeric OID like 1.3.6.1.2.1.1.3.0",
			DE: strconv.Quote(s) + " ist keine numerische OID wie 1.3.6.1.2.1.1.3.0"}}
	}
	s = strings.TrimPrefix(s, ".")
	if strings.Count(s, ".") >= 128 {
		return "", &TextError{Msg: core.Text{EN: "OID " + s[:40] + "… has more than 128 arcs", DE: "OID " + s[:40] + "… hat mehr als 128 Bögen"}}
	}
	for _, arc := range strings.Split(s, ".") {
		if n, err := strconv.ParseUint(arc, 10, 64); err != nil || n > math.MaxUint32 {
			return "", &TextError{Msg: core.Text{EN: "OID " + s + " has an arc above 4294967295", DE: "OID " + s + " hat einen Bogen über 4294967295"}}
		}
	}
	return s, nil
}

// ParsePrefix reads an IP address (as a single-address range) or a network
// range in CIDR notation.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, &TextError{Msg: core.Text{EN: strconv.Quote(s) + " is not an IP address or CIDR", DE: strconv.Quote(s) + " ist keine IP-Adresse und kein CIDR"}}
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, &TextError{Msg: core.Text{EN: strconv.Quote(s) + " is not an IP address or CIDR", DE: strconv.Quote(s) + " ist keine IP-Adresse und kein CIDR"}}
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
