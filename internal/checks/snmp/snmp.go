// Package snmp is the "snmp" check: it polls one network device (switch,
// printer, UPS, NAS) over SNMP v1, v2c or v3 through gosnmp, with GET and
// walk, thresholds on numbers, expected strings, counter rates (with
// Counter32 wrap handling) and ready-made templates for interfaces, uptime,
// storage, printer supplies and UPS state.
//
// SNMP credentials (community, v3 passphrases) arrive in the parameters;
// the server keeps them encrypted at rest and sends them only to the probe
// agent. They are never put into results or error texts.
package snmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Name is the check's registered name.
const Name = "snmp"

// Bounds of one run.
const (
	DefaultTimeout     = 10 * time.Second
	MaxTimeout         = 60 * time.Second
	DefaultMaxVarbinds = 10000
	MaxVarbinds        = 10000
	MaxOIDSpecs        = 100
)

func init() {
	check.Register(checkspec.SNMP, func(raw json.RawMessage) (check.Check, error) { return New(raw) })
}

// Limit is a warn/fail pair on a number; nil levels are off. Below means
// smaller values are worse (toner, battery charge).
type Limit struct {
	Warn  *float64 `json:"warn"`
	Fail  *float64 `json:"fail"`
	Below bool     `json:"below"`
}

func (l Limit) status(v float64) core.Status {
	worse := func(lim *float64) bool {
		if lim == nil {
			return false
		}
		if l.Below {
			return v <= *lim
		}
		return v >= *lim
	}
	switch {
	case worse(l.Fail):
		return core.StatusFailure
	case worse(l.Warn):
		return core.StatusWarning
	}
	return core.StatusOK
}

func (l Limit) validate(field string) error {
	if l.Warn != nil && l.Fail != nil && ((!l.Below && *l.Warn > *l.Fail) || (l.Below && *l.Warn < *l.Fail)) {
		return fmt.Errorf("%s: warning threshold %v is beyond failure threshold %v", field, *l.Warn, *l.Fail)
	}
	return nil
}

func lim(warn, fail float64, below bool) *Limit {
	return &Limit{Warn: &warn, Fail: &fail, Below: below}
}

// OIDSpec is one custom object to read.
type OIDSpec struct {
	OID    string  `json:"oid"`
	Name   string  `json:"name"`   // result key; default the OID
	Walk   bool    `json:"walk"`   // read the whole subtree
	Rate   bool    `json:"rate"`   // report counters per second
	Scale  float64 `json:"scale"`  // multiply numbers (default 1)
	Unit   string  `json:"unit"`   // for the result
	Expect *string `json:"expect"` // expected text value
	Limit
}

// Params configure one SNMP check.
type Params struct {
	Host           string  `json:"host"`
	Port           int     `json:"port"`    // default 161
	Version        string  `json:"version"` // "1", "2c" (default), "3"
	Community      string  `json:"community"`
	User           string  `json:"user"`
	AuthProtocol   string  `json:"auth_protocol"` // MD5, SHA, SHA224..SHA512
	AuthPassphrase string  `json:"auth_passphrase"`
	PrivProtocol   string  `json:"priv_protocol"` // DES, AES, AES192, AES256, AES192C, AES256C
	PrivPassphrase string  `json:"priv_passphrase"`
	Context        string  `json:"context"`
	TimeoutSeconds float64 `json:"timeout_seconds"` // whole run; default 10, max 60
	Retries        int     `json:"retries"`         // per request; default 1, max 3
	MaxVarbinds    int     `json:"max_varbinds"`    // per walk; default and max 10000

	Template   string    `json:"template"`   // interfaces, uptime, storage, printer, ups
	Interfaces []string  `json:"interfaces"` // interfaces template: names that must be up
	Storage    *Limit    `json:"storage_percent"`
	Supplies   *Limit    `json:"supply_percent"`
	Battery    *Limit    `json:"battery_percent"`
	OIDs       []OIDSpec `json:"oids"`
}

// Check is one configured SNMP check.
type Check struct {
	p       Params
	timeout time.Duration
	now     func() time.Time

	mu    sync.Mutex // one run at a time owns the state
	state *state
	open  func(ctx context.Context) (source, func(), error)
}

// New parses and validates params; nil params give check.ErrNotConfigured.
func New(raw json.RawMessage) (*Check, error) {
	var p Params
	if err := checkspec.SNMP.Decode(raw, &p); err != nil {
		return nil, err
	}
	c := &Check{p: p, now: time.Now}
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.open = func(ctx context.Context) (source, func(), error) {
		per := c.timeout / time.Duration(c.p.Retries+1)
		cl, err := newClient(ctx, &c.p, per)
		if err != nil {
			return nil, nil, err
		}
		return cl, cl.Close, nil
	}
	return c, nil
}

var templates = map[string]func(c *Check, ctx context.Context, s source, r check.Reporter) error{
	"interfaces": (*Check).interfaces,
	"uptime":     (*Check).uptime,
	"storage":    (*Check).storage,
	"printer":    (*Check).printer,
	"ups":        (*Check).ups,
}

func (c *Check) validate() error {
	p := &c.p
	p.Host = strings.TrimSpace(p.Host)
	if p.Host == "" || len(p.Host) > 253 || (strings.ContainsAny(p.Host, " /\\@:") && net.ParseIP(p.Host) == nil) {
		return errors.New("host: must be a host name or IP address")
	}
	switch {
	case p.Port == 0:
		p.Port = 161
	case p.Port < 1 || p.Port > 65535:
		return errors.New("port: must be between 1 and 65535")
	}
	switch p.Version {
	case "":
		p.Version = "2c"
	case "1", "2c", "3":
	case "v1", "v2c", "v3":
		p.Version = p.Version[1:]
	default:
		return errors.New(`version: must be "1", "2c" or "3"`)
	}
	if p.Version != "3" {
		if p.Community == "" {
			p.Community = "public"
		}
		if p.User != "" || p.AuthProtocol != "" || p.PrivProtocol != "" {
			return errors.New("user: v3 settings need version 3")
		}
	} else {
		if err := p.validateV3(); err != nil {
			return err
		}
	}
	switch {
	case p.TimeoutSeconds == 0:
		c.timeout = DefaultTimeout
	case p.TimeoutSeconds < 0.1 || p.TimeoutSeconds > MaxTimeout.Seconds():
		return fmt.Errorf("timeout_seconds: must be between 0.1 and %v", MaxTimeout.Seconds())
	default:
		c.timeout = time.Duration(p.TimeoutSeconds * float64(time.Second))
	}
	if p.Retries < 0 || p.Retries > 3 {
		return errors.New("retries: must be between 0 and 3")
	}
	switch {
	case p.MaxVarbinds == 0:
		p.MaxVarbinds = DefaultMaxVarbinds
	case p.MaxVarbinds < 1 || p.MaxVarbinds > MaxVarbinds:
		return fmt.Errorf("max_varbinds: must be between 1 and %d", MaxVarbinds)
	}
	if p.Template != "" {
		if _, ok := templates[p.Template]; !ok {
			return errors.New("template: must be interfaces, uptime, storage, printer or ups")
		}
	}
	if p.Template == "" && len(p.OIDs) == 0 {
		return errors.New("oids: give a template or at least one OID")
	}
	if len(p.OIDs) > MaxOIDSpecs {
		return fmt.Errorf("oids: at most %d", MaxOIDSpecs)
	}
	for i := range p.OIDs {
		o := &p.OIDs[i]
		n, err := NormOID(o.OID)
		if err != nil {
			return fmt.Errorf("oids[%d].oid: %w", i, err)
		}
		o.OID = n
		if o.Scale == 0 {
			o.Scale = 1
		}
		if err := o.Limit.validate(fmt.Sprintf("oids[%d]", i)); err != nil {
			return err
		}
	}
	defaults := []struct {
		l    **Limit
		def  *Limit
		name string
	}{
		{&p.Storage, lim(80, 90, false), "storage_percent"},
		{&p.Supplies, lim(20, 5, true), "supply_percent"},
		{&p.Battery, lim(50, 25, true), "battery_percent"},
	}
	for _, d := range defaults {
		if *d.l == nil {
			*d.l = d.def
		}
		if err := (*d.l).validate(d.name); err != nil {
			return err
		}
	}
	return nil
}

func (p *Params) validateV3() error {
	if p.User == "" || len(p.User) > 32 {
		return errors.New("user: required for version 3 (at most 32 characters)")
	}
	if p.Community != "" {
		return errors.New("community: not used with version 3")
	}
	p.AuthProtocol, p.PrivProtocol = strings.ToUpper(p.AuthProtocol), strings.ToUpper(p.PrivProtocol)
	if p.AuthProtocol != "" {
		if _, ok := authProtos[p.AuthProtocol]; !ok {
			return errors.New("auth_protocol: must be MD5, SHA, SHA224, SHA256, SHA384 or SHA512")
		}
		if len(p.AuthPassphrase) < 8 {
			return errors.New("auth_passphrase: must have at least 8 characters")
		}
	}
	if p.PrivProtocol != "" {
		if _, ok := privProtos[p.PrivProtocol]; !ok {
			return errors.New("priv_protocol: must be DES, AES, AES192, AES256, AES192C or AES256C")
		}
		if p.AuthProtocol == "" {
			return errors.New("priv_protocol: privacy needs an auth_protocol")
		}
		if len(p.PrivPassphrase) < 8 {
			return errors.New("priv_passphrase: must have at least 8 characters")
		}
	}
	return nil
}

// identity names what this instance reads, for its state file.
func (c *Check) identity() string {
	ids := []string{c.p.Host, strconv.Itoa(c.p.Port), c.p.Template}
	for _, o := range c.p.OIDs {
		ids = append(ids, o.OID)
	}
	return strings.Join(ids, "|")
}

// Target is the device as shown in messages.
func (c *Check) target() string {
	if c.p.Port == 161 {
		return c.p.Host
	}
	return net.JoinHostPort(c.p.Host, strconv.Itoa(c.p.Port))
}

// Run polls the device once.
func (c *Check) Run(ctx context.Context, r check.Reporter) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.state == nil {
		c.state = loadState(stateFile(c.identity()))
	}
	src, closeFn, err := c.open(ctx)
	if err != nil {
		r.Report(c.errResult("", err))
		return nil
	}
	defer closeFn()
	c.state.begin()
	if c.p.Template != "" {
		if err := templates[c.p.Template](c, ctx, src, r); err != nil {
			r.Report(c.errResult(c.p.Template, err))
			return nil
		}
	}
	if len(c.p.OIDs) > 0 {
		if err := c.custom(ctx, src, r); err != nil {
			r.Report(c.errResult("", err))
			return nil
		}
	}
	if err := c.state.commit(); err != nil {
		return err
	}
	return nil
}

// errResult reports a device that could not be read. An unreachable device
// is a failure (it is down, or SNMP is), not a check error.
func (c *Check) errResult(key string, err error) check.Result {
	st := core.StatusError
	if errors.Is(err, errNoResponse) {
		st = core.StatusFailure
	}
	if key == "" {
		key = c.target()
	}
	secs, secsDE := msg.Num(c.timeout.Seconds(), 0)
	en := fmt.Sprintf("%s: SNMP failed: %v", c.target(), err)
	de := fmt.Sprintf("%s: SNMP fehlgeschlagen: %v", c.target(), err)
	switch {
	case errors.Is(err, errNoResponse):
		en = fmt.Sprintf("%s: no SNMP response within %s s (%v)", c.target(), secs, err)
		de = fmt.Sprintf("%s: keine SNMP-Antwort innerhalb von %s s (%v)", c.target(), secsDE, err)
	case errors.Is(err, ErrTooMany):
		en = fmt.Sprintf("%s: walk stopped after %d values; narrow the OID or raise max_varbinds", c.target(), c.p.MaxVarbinds)
		de = fmt.Sprintf("%s: Walk nach %d Werten abgebrochen; OID eingrenzen oder max_varbinds erhöhen", c.target(), c.p.MaxVarbinds)
	}
	return check.Result{Key: key, Status: st, Message: core.Text{EN: en, DE: de}}
}

// custom reads the configured OIDs.
func (c *Check) custom(ctx context.Context, s source, r check.Reporter) error {
	var gets []string
	for _, o := range c.p.OIDs {
		if !o.Walk {
			gets = append(gets, o.OID)
		}
	}
	got := map[string]Value{}
	if len(gets) > 0 {
		vs, err := s.Get(ctx, gets)
		if err != nil {
			return err
		}
		for _, v := range vs {
			got[v.OID] = v
		}
	}
	now := c.now()
	for _, o := range c.p.OIDs {
		key := o.Name
		if key == "" {
			key = o.OID
		}
		if !o.Walk {
			v, ok := got[o.OID]
			if !ok {
				r.Report(check.Result{Key: key, Status: core.StatusError, Message: core.Text{
					EN: fmt.Sprintf("%s: %s does not exist on the device", key, o.OID),
					DE: fmt.Sprintf("%s: %s gibt es auf dem Gerät nicht", key, o.OID),
				}})
				continue
			}
			r.Report(c.judge(o, key, v, now))
			continue
		}
		vs, err := s.Walk(ctx, o.OID, c.p.MaxVarbinds)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			r.Report(check.Result{Key: key, Status: core.StatusError, Message: core.Text{
				EN: fmt.Sprintf("%s: nothing under %s on the device", key, o.OID),
				DE: fmt.Sprintf("%s: nichts unter %s auf dem Gerät", key, o.OID),
			}})
		}
		for _, v := range vs {
			r.Report(c.judge(o, key+"."+strings.TrimPrefix(v.OID, o.OID+"."), v, now))
		}
	}
	return nil
}

// judge classifies one value by its spec.
func (c *Check) judge(o OIDSpec, key string, v Value, now time.Time) check.Result {
	res := check.Result{Key: key, Status: core.StatusOK, Unit: o.Unit}
	if o.Expect != nil {
		if v.Str != *o.Expect {
			res.Status = core.StatusFailure
			res.Message = core.Text{
				EN: fmt.Sprintf("%s is %q, expected %q", key, v.Str, *o.Expect),
				DE: fmt.Sprintf("%s ist %q, erwartet %q", key, v.Str, *o.Expect),
			}
			return res
		}
		res.Message = core.Text{EN: fmt.Sprintf("%s is %q as expected", key, v.Str), DE: fmt.Sprintf("%s ist wie erwartet %q", key, v.Str)}
		return res
	}
	if v.Kind == KindString {
		if o.Warn != nil || o.Fail != nil || o.Rate {
			res.Status = core.StatusError
			res.Message = core.Text{EN: fmt.Sprintf("%s is text (%q), not a number", key, v.Str), DE: fmt.Sprintf("%s ist Text (%q), keine Zahl", key, v.Str)}
			return res
		}
		res.Message = core.Text{EN: fmt.Sprintf("%s is %q", key, v.Str), DE: fmt.Sprintf("%s ist %q", key, v.Str)}
		return res
	}
	n := v.Num
	per := ""
	if o.Rate {
		if v.Kind != KindCounter {
			res.Status = core.StatusError
			res.Message = core.Text{EN: key + " is not a counter; a rate needs Counter32 or Counter64", DE: key + " ist kein Zähler; eine Rate braucht Counter32 oder Counter64"}
			return res
		}
		rate, ok := c.state.rate("oid:"+v.OID, v, now)
		if !ok {
			res.Status = core.StatusUnknown
			res.Message = core.Text{EN: key + ": first sample, the rate follows with the next run", DE: key + ": erster Messwert, die Rate folgt beim nächsten Lauf"}
			return res
		}
		n, per = rate, "/s"
	}
	n *= o.Scale
	res.Value, res.Status = check.Float(n), o.Limit.status(n)
	en, de := msg.Num(n, 2)
	unit := strings.TrimSpace(" " + o.Unit + per)
	res.Message = core.Text{EN: strings.TrimSpace(fmt.Sprintf("%s is %s %s", key, en, unit)), DE: strings.TrimSpace(fmt.Sprintf("%s ist %s %s", key, de, unit))}
	return res
}

// table groups walked columns by row index: column OID → index → value.
type table map[string]map[string]Value

// walkColumns walks each column and indexes its rows.
func (c *Check) walkColumns(ctx context.Context, s source, cols ...string) (table, error) {
	t := table{}
	total := 0
	for _, col := range cols {
		vs, err := s.Walk(ctx, col, c.p.MaxVarbinds-total)
		if err != nil {
			return nil, err
		}
		total += len(vs)
		rows := map[string]Value{}
		for _, v := range vs {
			rows[strings.TrimPrefix(v.OID, col+".")] = v
		}
		t[col] = rows
	}
	return t, nil
}

// indexes returns the row indexes of a column in numeric order.
func (t table) indexes(col string) []string {
	var idx []string
	for i := range t[col] {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool { return oidLess(idx[a], idx[b]) })
	return idx
}

func oidLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.ParseUint(as[i], 10, 64)
		y, _ := strconv.ParseUint(bs[i], 10, 64)
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}
