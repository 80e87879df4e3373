// Package snmptrap is the probe agent's SNMP trap receiver: it listens on a
// UDP port (162 by default), decodes v1, v2c and v3 traps (and answers v2c
// informs) through gosnmp, and turns each trap into a check result of the
// check "snmptrap":
//
//   - a trap matching a rule (source, trap OID, varbind values) gives the
//     rule's status (failure by default) under the rule's name as key, e.g. a
//     link-down trap failing the key "uplink-down";
//   - a trap from a known source that no rule matches is recorded as "ok"
//     under the key "trap <source>";
//   - a trap from an unknown source, or one that fails the community or v3
//     authentication, or cannot be decoded, is recorded as a warning, never
//     silently dropped (rate-limited per source, see below).
//
// Wiring: internal/checks/snmptrapcheck registers the check type
// "snmptrap", whose runs start a Listener with the policy entry's Config
// (ParseConfig), keep it running between runs, and report the results the
// Sink collected, so they reach the spool like any check's; a changed
// configuration restarts the listener.
//
// Everything is bounded: one datagram at a time (64 KiB), message texts cut
// to a few KiB, a fixed-size queue to the sink with a counted drop, and at
// most one "rejected" record per source and minute.
package snmptrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// CheckName is the check name the agent reports trap results under.
const CheckName = "snmptrap"

// DefaultListen is the standard trap port on all addresses.
const DefaultListen = ":162"

// Bounds.
const (
	maxDatagram    = 64 << 10
	queueSize      = 1024
	maxVarbinds    = 20   // listed in a message
	maxValueText   = 200  // characters per varbind value
	maxMessage     = 3000 // characters per message
	rejectInterval = time.Minute
	maxRejectKeys  = 4096
)

// Well-known OIDs.
const (
	oidSysUpTime  = "1.3.6.1.2.1.1.3.0"
	oidSnmpTrapID = "1.3.6.1.6.3.1.1.4.1.0"
	oidSnmpTraps  = "1.3.6.1.6.3.1.1.5" // coldStart.1 … egpNeighborLoss.6
)

// Config is what the agent's policy gives the trap receiver. v3
// passphrases come from the server, which keeps them encrypted at rest.
type Config struct {
	Listen       string   `json:"listen"`        // UDP address; default ":162"
	Communities  []string `json:"communities"`   // accepted v1/v2c communities; default ["public"]
	Users        []User   `json:"users"`         // accepted v3 users
	KnownSources []string `json:"known_sources"` // IPs or CIDRs; empty: every source is known
	Rules        []Rule   `json:"rules"`
}

// User is one SNMPv3 user traps may come from.
type User struct {
	Name           string `json:"name"`
	AuthProtocol   string `json:"auth_protocol"` // MD5, SHA, SHA224, SHA256, SHA384, SHA512
	AuthPassphrase string `json:"auth_passphrase"`
	PrivProtocol   string `json:"priv_protocol"` // DES, AES, AES192, AES256, AES192C, AES256C
	PrivPassphrase string `json:"priv_passphrase"`
}

// Rule turns matching traps into a result. Empty fields match anything.
type Rule struct {
	Name     string            `json:"name"`     // result key
	Source   string            `json:"source"`   // IP or CIDR
	TrapOID  string            `json:"trap_oid"` // the trap or a prefix of it
	Varbinds map[string]string `json:"varbinds"` // OID (or prefix) → exact value text
	Status   string            `json:"status"`   // failure (default), warning or ok
}

// ParseConfig decodes a policy's trap configuration, refusing unknown
// fields so that a typo does not silently disable a rule.
func ParseConfig(raw []byte) (Config, error) {
	var c Config
	if err := checkspec.SNMPTrap.Decode(raw, &c); err != nil && !errors.Is(err, check.ErrNotConfigured) {
		return c, fmt.Errorf("parsing SNMP trap configuration: %w", err)
	}
	return c, nil
}

// rule is a validated Rule.
type rule struct {
	Rule
	src    netip.Prefix
	hasSrc bool
	status core.Status
	vbs    map[string]string
}

// Trap is one decoded notification.
type Trap struct {
	Source   netip.Addr
	Version  string // "1", "2c", "3"
	User     string // v3 user
	TrapOID  string
	Inform   bool
	Varbinds []Varbind
}

// Varbind is one variable of a trap in text form.
type Varbind struct {
	OID, Value string
}

// Sink receives the results; the agent stamps them with ID, check name
// CheckName and time and spools them like any other check result. It is
// called from one goroutine.
type Sink func(check.Result)

// Listener receives traps.
type Listener struct {
	cfg    Config
	known  []netip.Prefix
	rules  []rule
	comm   map[string]bool
	dec    *gosnmp.GoSNMP // v1 and v2c
	dec3   *gosnmp.GoSNMP // v3 with the user table; nil without users
	sink   Sink
	log    *slog.Logger
	conn   net.PacketConn
	ready  chan struct{}
	queue  chan check.Result
	mu     sync.Mutex
	drops  int
	reject map[string]time.Time
	now    func() time.Time
}

// New validates cfg and prepares a listener; Run starts it.
func New(cfg Config, sink Sink, logger *slog.Logger) (*Listener, error) {
	if sink == nil {
		return nil, errors.New("snmptrap: no sink")
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &Listener{cfg: cfg, sink: sink, log: logger, ready: make(chan struct{}), queue: make(chan check.Result, queueSize),
		reject: map[string]time.Time{}, now: time.Now, comm: map[string]bool{}}
	if l.cfg.Listen == "" {
		l.cfg.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(l.cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if len(cfg.Communities) == 0 && len(cfg.Users) == 0 {
		l.comm["public"] = true
	}
	for _, c := range cfg.Communities {
		l.comm[c] = true
	}
	for i, s := range cfg.KnownSources {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("known_sources[%d]: %w", i, err)
		}
		l.known = append(l.known, p)
	}
	for i, r := range cfg.Rules {
		vr, err := validateRule(r)
		if err != nil {
			return nil, fmt.Errorf("rules[%d]: %w", i, err)
		}
		l.rules = append(l.rules, vr)
	}
	l.dec = &gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(log.New(io.Discard, "", 0))}
	dec3, err := decoder(cfg.Users)
	if err != nil {
		return nil, err
	}
	l.dec3 = dec3
	return l, nil
}

// parsePrefix and validOID are the declaration's formats (check.FormatIPOrCIDR,
// check.FormatOID), so that the server refuses what the listener would.
var parsePrefix = check.ParsePrefix

func validOID(s string) (string, bool) {
	o, err := check.ParseOID(s)
	return o, err == nil
}

func validateRule(r Rule) (rule, error) {
	vr := rule{Rule: r, vbs: map[string]string{}}
	if r.Name == "" || len(r.Name) > 200 {
		return vr, errors.New("name: required (at most 200 characters)")
	}
	if r.Source != "" {
		p, err := parsePrefix(r.Source)
		if err != nil {
			return vr, fmt.Errorf("source: %w", err)
		}
		vr.src, vr.hasSrc = p, true
	}
	if r.TrapOID != "" {
		o, ok := validOID(r.TrapOID)
		if !ok {
			return vr, fmt.Errorf("trap_oid: %q is not a numeric OID", r.TrapOID)
		}
		vr.TrapOID = o
	}
	for k, v := range r.Varbinds {
		o, ok := validOID(k)
		if !ok {
			return vr, fmt.Errorf("varbinds: %q is not a numeric OID", k)
		}
		vr.vbs[o] = v
	}
	switch r.Status {
	case "", "failure":
		vr.status = core.StatusFailure
	case "warning":
		vr.status = core.StatusWarning
	case "ok":
		vr.status = core.StatusOK
	default:
		return vr, errors.New("status: must be failure, warning or ok")
	}
	return vr, nil
}

var (
	authProtos = map[string]gosnmp.SnmpV3AuthProtocol{"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224,
		"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512}
	privProtos = map[string]gosnmp.SnmpV3PrivProtocol{"DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192,
		"AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C}
)

// decoder builds the gosnmp instance that unmarshals v3 traps, with a
// table of the users keyed by user name.
func decoder(users []User) (*gosnmp.GoSNMP, error) {
	if len(users) == 0 {
		return nil, nil
	}
	g := &gosnmp.GoSNMP{Version: gosnmp.Version3, Logger: gosnmp.NewLogger(log.New(io.Discard, "", 0))}
	table := gosnmp.NewSnmpV3SecurityParametersTable(g.Logger)
	for i, u := range users {
		if u.Name == "" {
			return nil, fmt.Errorf("users[%d].name: required", i)
		}
		usm := &gosnmp.UsmSecurityParameters{UserName: u.Name, Logger: g.Logger}
		if u.AuthProtocol != "" {
			p, ok := authProtos[strings.ToUpper(u.AuthProtocol)]
			if !ok {
				return nil, fmt.Errorf("users[%d].auth_protocol: must be MD5, SHA, SHA224, SHA256, SHA384 or SHA512", i)
			}
			if len(u.AuthPassphrase) < 8 {
				return nil, fmt.Errorf("users[%d].auth_passphrase: must have at least 8 characters", i)
			}
			usm.AuthenticationProtocol, usm.AuthenticationPassphrase = p, u.AuthPassphrase
		}
		if u.PrivProtocol != "" {
			p, ok := privProtos[strings.ToUpper(u.PrivProtocol)]
			if !ok {
				return nil, fmt.Errorf("users[%d].priv_protocol: must be DES, AES, AES192, AES256, AES192C or AES256C", i)
			}
			if u.AuthProtocol == "" || len(u.PrivPassphrase) < 8 {
				return nil, fmt.Errorf("users[%d].priv_passphrase: privacy needs auth and a passphrase of at least 8 characters", i)
			}
			usm.PrivacyProtocol, usm.PrivacyPassphrase = p, u.PrivPassphrase
		}
		if err := table.Add(u.Name, usm); err != nil {
			return nil, fmt.Errorf("users[%d]: %w", i, err)
		}
	}
	g.SecurityModel = gosnmp.UserSecurityModel
	g.SetTrapSecurityParametersTable(table)
	return g, nil
}

// Addr is the bound address once Ready is closed.
func (l *Listener) Addr() net.Addr { return l.conn.LocalAddr() }

// Ready is closed when the socket is bound.
func (l *Listener) Ready() <-chan struct{} { return l.ready }

// Run receives traps until ctx ends. It returns an error if the port cannot
// be bound (e.g. 162 without privileges, or taken by snmptrapd).
func (l *Listener) Run(ctx context.Context) error {
	var lc net.ListenConfig
	conn, err := lc.ListenPacket(ctx, "udp", l.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening for SNMP traps on %s: %w", l.cfg.Listen, err)
	}
	l.conn = conn
	close(l.ready)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r := range l.queue {
			l.sink(r)
		}
	}()
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			l.log.Warn("reading SNMP trap", "err", err)
			continue
		}
		src := netip.Addr{}
		if ua, ok := from.(*net.UDPAddr); ok {
			src, _ = netip.AddrFromSlice(ua.IP)
			src = src.Unmap()
		}
		l.handle(append([]byte(nil), buf[:n]...), src, func(b []byte) { _, _ = conn.WriteTo(b, from) })
	}
	close(l.queue)
	<-done
	return nil
}

// enqueue hands a result to the sink goroutine without blocking the
// receiver; a full queue drops it and counts the drop.
func (l *Listener) enqueue(r check.Result) {
	l.mu.Lock()
	drops := l.drops
	l.mu.Unlock()
	if drops > 0 {
		msg := check.Result{Key: "dropped", Status: core.StatusWarning, Message: core.Text{
			EN: fmt.Sprintf("%d SNMP trap records were dropped because too many arrived at once", drops),
			DE: fmt.Sprintf("%d SNMP-Trap-Einträge wurden verworfen, weil zu viele auf einmal eintrafen", drops),
		}}
		select {
		case l.queue <- msg:
			l.mu.Lock()
			l.drops -= drops
			l.mu.Unlock()
		default:
		}
	}
	select {
	case l.queue <- r:
	default:
		l.mu.Lock()
		l.drops++
		l.mu.Unlock()
	}
}

// handle decodes one datagram and records the outcome. reply sends an
// inform's response.
func (l *Listener) handle(data []byte, src netip.Addr, reply func([]byte)) {
	if !l.known0(src) {
		// Decode anyway so the record says what was sent.
		t, err := l.decode(data, src)
		if err != nil {
			l.rejected(src, "unknown", err)
			return
		}
		l.enqueue(check.Result{Key: "unknown " + src.String(), Status: core.StatusWarning, Message: core.Text{
			EN: cut("SNMP trap from unknown source " + src.String() + ": " + describe(t)),
			DE: cut("SNMP-Trap von unbekannter Quelle " + src.String() + ": " + describe(t)),
		}})
		return
	}
	t, err := l.decode(data, src)
	if err != nil {
		l.rejected(src, "rejected", err)
		return
	}
	if t.Inform && t.Version == "2c" {
		l.ack(data, reply)
	}
	matched := false
	for _, r := range l.rules {
		if !r.matches(t) {
			continue
		}
		matched = true
		en, de := "SNMP trap", "SNMP-Trap"
		l.enqueue(check.Result{Key: r.Name, Status: r.status, Message: core.Text{
			EN: cut(fmt.Sprintf("%s %q from %s: %s", en, r.Name, src, describe(t))),
			DE: cut(fmt.Sprintf("%s %q von %s: %s", de, r.Name, src, describe(t))),
		}})
	}
	if !matched {
		l.enqueue(check.Result{Key: "trap " + src.String(), Status: core.StatusOK, Message: core.Text{
			EN: cut("SNMP trap from " + src.String() + " (no rule): " + describe(t)),
			DE: cut("SNMP-Trap von " + src.String() + " (keine Regel): " + describe(t)),
		}})
	}
}

func (l *Listener) known0(src netip.Addr) bool {
	if len(l.known) == 0 {
		return true
	}
	for _, p := range l.known {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// rejected records a trap that could not be accepted, at most once per
// source and minute.
func (l *Listener) rejected(src netip.Addr, kind string, err error) {
	key := kind + " " + src.String()
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.reject[key]; ok && now.Sub(last) < rejectInterval {
		return
	}
	if len(l.reject) >= maxRejectKeys {
		clear(l.reject)
	}
	l.reject[key] = now
	reason := err.Error()
	l.mu.Unlock()
	defer l.mu.Lock() // enqueue takes the lock itself
	l.enqueue(check.Result{Key: key, Status: core.StatusWarning, Message: core.Text{
		EN: cut("SNMP trap from " + src.String() + " was not accepted: " + reason),
		DE: cut("SNMP-Trap von " + src.String() + " wurde nicht angenommen: " + reason),
	}})
}

var (
	errCommunity = errors.New("wrong community")
	errNotTrap   = errors.New("not a trap or inform")
)

// decode unmarshals a datagram into a Trap; it never panics on bad input.
func (l *Listener) decode(data []byte, src netip.Addr) (t Trap, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed SNMP message (%v)", p)
		}
	}()
	dec := l.dec
	if peekVersion(data) == int(gosnmp.Version3) {
		if l.dec3 == nil {
			return t, errors.New("SNMPv3 trap, but no v3 users are configured")
		}
		dec = l.dec3
	}
	pkt, err := dec.UnmarshalTrap(data, true)
	if err != nil {
		return t, fmt.Errorf("malformed or unauthenticated SNMP message: %w", err)
	}
	if pkt == nil {
		return t, errNotTrap
	}
	t.Source = src
	switch pkt.Version {
	case gosnmp.Version1:
		t.Version = "1"
	case gosnmp.Version2c:
		t.Version = "2c"
	case gosnmp.Version3:
		t.Version = "3"
		if usm, ok := pkt.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok {
			t.User = usm.UserName
		}
	default:
		return t, fmt.Errorf("unknown SNMP version %d", pkt.Version)
	}
	if t.Version != "3" && !l.comm[pkt.Community] {
		return t, errCommunity
	}
	switch pkt.PDUType {
	case gosnmp.Trap:
		// RFC 3584 3.1: v1 generic traps map onto snmpTraps, enterprise
		// specific ones onto enterprise.0.specific.
		ent := strings.TrimPrefix(pkt.Enterprise, ".")
		if pkt.GenericTrap >= 0 && pkt.GenericTrap < 6 {
			t.TrapOID = oidSnmpTraps + "." + strconv.Itoa(pkt.GenericTrap+1)
		} else {
			t.TrapOID = ent + ".0." + strconv.Itoa(pkt.SpecificTrap)
		}
	case gosnmp.SNMPv2Trap:
	case gosnmp.InformRequest:
		t.Inform = true
	default:
		return t, fmt.Errorf("%w (PDU type %v)", errNotTrap, pkt.PDUType)
	}
	for _, vb := range pkt.Variables {
		name := strings.TrimPrefix(vb.Name, ".")
		val := valueText(vb)
		if name == oidSnmpTrapID && t.TrapOID == "" {
			t.TrapOID = strings.TrimPrefix(val, ".")
			continue
		}
		if name == oidSysUpTime {
			continue
		}
		if len(t.Varbinds) < 4*maxVarbinds {
			t.Varbinds = append(t.Varbinds, Varbind{OID: name, Value: val})
		}
	}
	if t.TrapOID == "" {
		return t, errors.New("trap without snmpTrapOID")
	}
	return t, nil
}

// peekVersion reads msgVersion from a message's BER header (SEQUENCE,
// INTEGER); -1 if it does not look like SNMP.
func peekVersion(b []byte) int {
	if len(b) < 2 || b[0] != 0x30 {
		return -1
	}
	i := 2
	if b[1]&0x80 != 0 {
		i += int(b[1] & 0x7f)
	}
	if len(b) < i+3 || b[i] != 0x02 || b[i+1] != 0x01 {
		return -1
	}
	return int(b[i+2])
}

// ack answers a v2c inform with a response carrying the same variables.
func (l *Listener) ack(data []byte, reply func([]byte)) {
	defer func() { _ = recover() }() // a response we cannot build is not sent
	pkt, err := l.dec.SnmpDecodePacket(data)
	if err != nil {
		return
	}
	pkt.PDUType, pkt.Error, pkt.ErrorIndex = gosnmp.GetResponse, gosnmp.NoError, 0
	if b, err := pkt.MarshalMsg(); err == nil {
		reply(b)
	}
}

// valueText renders a varbind value as text.
func valueText(vb gosnmp.SnmpPDU) string {
	switch x := vb.Value.(type) {
	case []byte:
		if utf8.Valid(x) && printable(x) {
			return limit(string(x))
		}
		var sb strings.Builder
		for i, c := range x[:min(len(x), maxValueText/3)] {
			if i > 0 {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "%02X", c)
		}
		return sb.String()
	case string:
		return limit(strings.TrimPrefix(x, "."))
	case nil:
		return ""
	default:
		return limit(fmt.Sprint(x))
	}
}

func printable(b []byte) bool {
	for _, r := range string(b) {
		if r < 0x20 && r != '\t' {
			return false
		}
	}
	return true
}

func limit(s string) string {
	if len(s) <= maxValueText {
		return s
	}
	s = s[:maxValueText]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

func cut(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	s = s[:maxMessage]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// names for the standard traps, to make messages readable.
var trapNames = map[string]string{
	oidSnmpTraps + ".1": "coldStart", oidSnmpTraps + ".2": "warmStart", oidSnmpTraps + ".3": "linkDown",
	oidSnmpTraps + ".4": "linkUp", oidSnmpTraps + ".5": "authenticationFailure", oidSnmpTraps + ".6": "egpNeighborLoss",
}

// describe words a trap: "linkDown (1.3.6.1.6.3.1.1.5.3), v2c, 1.3.6.1.2.1.2.2.1.1.2=2".
func describe(t Trap) string {
	var b strings.Builder
	if n, ok := trapNames[t.TrapOID]; ok {
		b.WriteString(n + " (" + t.TrapOID + ")")
	} else {
		b.WriteString(t.TrapOID)
	}
	b.WriteString(", v" + t.Version)
	if t.User != "" {
		b.WriteString(" user " + t.User)
	}
	for i, v := range t.Varbinds {
		if i == maxVarbinds {
			fmt.Fprintf(&b, ", … %d more", len(t.Varbinds)-i)
			break
		}
		b.WriteString(", " + v.OID + "=" + v.Value)
	}
	return b.String()
}

// matches reports whether a trap satisfies the rule.
func (r rule) matches(t Trap) bool {
	if r.hasSrc && !r.src.Contains(t.Source) {
		return false
	}
	if r.TrapOID != "" && t.TrapOID != r.TrapOID && !strings.HasPrefix(t.TrapOID, r.TrapOID+".") {
		return false
	}
	for oid, want := range r.vbs {
		found := false
		for _, v := range t.Varbinds {
			if (v.OID == oid || strings.HasPrefix(v.OID, oid+".")) && v.Value == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
