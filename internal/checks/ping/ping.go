// Package ping is the "ping" check: ICMP echo to one host with count,
// packet-loss and round-trip thresholds. Sending goes through pro-bing; it
// uses a raw (privileged) socket when the agent runs as root/SYSTEM or has
// CAP_NET_RAW and unprivileged ICMP datagram sockets where the OS allows
// them (Linux: net.ipv4.ping_group_range; macOS always), and says clearly
// when neither is possible.
package ping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Name is the check's registered name.
const Name = "ping"

// Bounds of one run.
const (
	DefaultTimeout  = 10 * time.Second
	MaxTimeout      = 60 * time.Second
	DefaultCount    = 4
	MaxCount        = 100
	DefaultInterval = time.Second
	MinInterval     = 200 * time.Millisecond // Linux's limit for non-root
	// replyWait is how long to wait for the last reply after sending it.
	replyWait = 2 * time.Second
)

// Socket modes.
const (
	ModeAuto         = "auto"
	ModePrivileged   = "privileged"
	ModeUnprivileged = "unprivileged"
)

func init() {
	check.Register(checkspec.Ping, func(raw json.RawMessage) (check.Check, error) {
		return newCheck(raw, osPinger{}, net.DefaultResolver)
	})
}

// Limit is a warn/fail pair; zero disables a level.
type Limit struct {
	Warn float64 `json:"warn"`
	Fail float64 `json:"fail"`
}

func (l Limit) status(v float64) core.Status {
	switch {
	case l.Fail > 0 && v >= l.Fail:
		return core.StatusFailure
	case l.Warn > 0 && v >= l.Warn:
		return core.StatusWarning
	}
	return core.StatusOK
}

func (l Limit) validate(field string, max float64) error {
	if l.Warn < 0 || l.Fail < 0 || (max > 0 && (l.Warn > max || l.Fail > max)) {
		return fmt.Errorf("%s: thresholds must be between 0 and %v", field, max)
	}
	if l.Warn > 0 && l.Fail > 0 && l.Warn > l.Fail {
		return fmt.Errorf("%s: warning threshold %v is above failure threshold %v", field, l.Warn, l.Fail)
	}
	return nil
}

// Params configure one ping check.
type Params struct {
	Host            string  `json:"host"`
	Count           int     `json:"count"`            // default 4, max 100
	IntervalSeconds float64 `json:"interval_seconds"` // default 1, min 0.2
	TimeoutSeconds  float64 `json:"timeout_seconds"`  // default 10, max 60
	LossPercent     *Limit  `json:"loss_percent"`     // default warn 25, fail 100
	RTTMS           Limit   `json:"rtt_ms"`           // average round trip; default off
	Mode            string  `json:"mode"`             // auto (default), privileged, unprivileged
	IPVersion       int     `json:"ip_version"`       // 0 any, 4 or 6
}

// options is what a pinger needs for one run.
type options struct {
	Count    int
	Interval time.Duration
	Timeout  time.Duration // whole run, including the wait for late replies
	Mode     string
}

// stats is the outcome of one run.
type stats struct {
	Sent, Recv    int
	Min, Avg, Max time.Duration
	Privileged    bool
}

// pinger sends the echo requests; faked in tests.
type pinger interface {
	Ping(ctx context.Context, ip net.IP, o options) (stats, error)
}

// resolver is net.Resolver's lookup; faked in tests.
type resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// ErrNoSocket explains that neither socket kind could be opened.
var ErrNoSocket = errors.New("ICMP is not permitted: run the agent as root/SYSTEM, grant CAP_NET_RAW, or allow unprivileged ICMP (sysctl net.ipv4.ping_group_range)")

type pingCheck struct {
	p       Params
	o       options
	timeout time.Duration
	pinger  pinger
	res     resolver
}

func newCheck(raw json.RawMessage, pg pinger, res resolver) (*pingCheck, error) {
	var p Params
	if err := checkspec.Ping.Decode(raw, &p); err != nil {
		return nil, err
	}
	c := &pingCheck{p: p, pinger: pg, res: res}
	return c, c.validate()
}

func (c *pingCheck) validate() error {
	p := &c.p
	p.Host = strings.TrimSpace(p.Host)
	if p.Host == "" || len(p.Host) > 253 || strings.ContainsAny(p.Host, " /\\:@") && net.ParseIP(p.Host) == nil {
		return errors.New("host: must be a host name or IP address")
	}
	switch {
	case p.Count == 0:
		p.Count = DefaultCount
	case p.Count < 1 || p.Count > MaxCount:
		return fmt.Errorf("count: must be between 1 and %d", MaxCount)
	}
	c.o.Count = p.Count
	switch {
	case p.IntervalSeconds == 0:
		c.o.Interval = DefaultInterval
	case p.IntervalSeconds < MinInterval.Seconds() || p.IntervalSeconds > 10:
		return fmt.Errorf("interval_seconds: must be between %v and 10", MinInterval.Seconds())
	default:
		c.o.Interval = time.Duration(p.IntervalSeconds * float64(time.Second))
	}
	switch {
	case p.TimeoutSeconds == 0:
		c.timeout = DefaultTimeout
	case p.TimeoutSeconds < 0 || p.TimeoutSeconds > MaxTimeout.Seconds():
		return fmt.Errorf("timeout_seconds: must be between 0 and %v", MaxTimeout.Seconds())
	default:
		c.timeout = time.Duration(p.TimeoutSeconds * float64(time.Second))
	}
	if send := time.Duration(c.o.Count-1) * c.o.Interval; send >= c.timeout {
		return fmt.Errorf("count: %d pings %v apart do not fit in the timeout of %v", c.o.Count, c.o.Interval, c.timeout)
	}
	c.o.Timeout = min(c.timeout, time.Duration(c.o.Count-1)*c.o.Interval+replyWait)
	if p.LossPercent == nil {
		p.LossPercent = &Limit{Warn: 25, Fail: 100}
	}
	if err := p.LossPercent.validate("loss_percent", 100); err != nil {
		return err
	}
	if err := p.RTTMS.validate("rtt_ms", 0); err != nil {
		return err
	}
	switch p.Mode {
	case "":
		p.Mode = ModeAuto
	case ModeAuto, ModePrivileged, ModeUnprivileged:
	default:
		return errors.New("mode: must be auto, privileged or unprivileged")
	}
	c.o.Mode = p.Mode
	if p.IPVersion != 0 && p.IPVersion != 4 && p.IPVersion != 6 {
		return errors.New("ip_version: must be 4 or 6")
	}
	return nil
}

func (c *pingCheck) Run(ctx context.Context, r check.Reporter) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ip, err := c.resolve(ctx)
	if err != nil {
		r.Report(c.errResult(core.StatusFailure, err))
		return nil
	}
	st, err := c.pinger.Ping(ctx, ip, c.o)
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return err
		}
		r.Report(c.errResult(core.StatusError, err))
		return nil
	}
	r.Report(c.evaluate(ip, st))
	return nil
}

// errResolve marks a host name that did not resolve.
var errResolve = errors.New("host name does not resolve")

func (c *pingCheck) resolve(ctx context.Context) (net.IP, error) {
	if ip := net.ParseIP(c.p.Host); ip != nil {
		if (c.p.IPVersion == 4 && ip.To4() == nil) || (c.p.IPVersion == 6 && ip.To4() != nil) {
			return nil, fmt.Errorf("%s is not an IPv%d address", c.p.Host, c.p.IPVersion)
		}
		return ip, nil
	}
	addrs, err := c.res.LookupIPAddr(ctx, c.p.Host)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errResolve, err)
	}
	for _, a := range addrs {
		is4 := a.IP.To4() != nil
		if c.p.IPVersion == 0 || (c.p.IPVersion == 4) == is4 {
			return a.IP, nil
		}
	}
	return nil, fmt.Errorf("%w: no IPv%d address", errResolve, c.p.IPVersion)
}

func (c *pingCheck) errResult(st core.Status, err error) check.Result {
	h := c.p.Host
	m := core.Text{EN: fmt.Sprintf("%s: ping failed: %v", h, err), DE: fmt.Sprintf("%s: Ping fehlgeschlagen: %v", h, err)}
	switch {
	case errors.Is(err, errResolve):
		m = core.Text{EN: fmt.Sprintf("%s: host name could not be resolved (%v)", h, errors.Unwrap(err)),
			DE: fmt.Sprintf("%s: Hostname konnte nicht aufgelöst werden (%v)", h, errors.Unwrap(err))}
	case errors.Is(err, ErrNoSocket):
		m = core.Text{EN: fmt.Sprintf("%s: %v", h, ErrNoSocket),
			DE: fmt.Sprintf("%s: ICMP ist nicht erlaubt: den Agenten als root/SYSTEM ausführen, CAP_NET_RAW gewähren oder unprivilegiertes ICMP erlauben (sysctl net.ipv4.ping_group_range)", h)}
	}
	return check.Result{Key: h, Status: st, Message: m}
}

// evaluate classifies a finished run. Value is the average round trip in
// ms; a host that answered nothing has none.
func (c *pingCheck) evaluate(ip net.IP, s stats) check.Result {
	loss := 100.0
	if s.Sent > 0 {
		loss = float64(s.Sent-s.Recv) / float64(s.Sent) * 100
		loss = max(loss, 0) // duplicates
	}
	h := c.p.Host
	if ip.String() != h {
		h += " (" + ip.String() + ")"
	}
	lEN, lDE := msg.Num(loss, 0)
	res := check.Result{Key: c.p.Host, Status: c.p.LossPercent.status(loss)}
	if s.Recv == 0 {
		res.Status = core.StatusFailure
		res.Message = core.Text{
			EN: fmt.Sprintf("%s: no reply to %d pings (%s %% loss)", h, s.Sent, lEN),
			DE: fmt.Sprintf("%s: keine Antwort auf %d Pings (%s %% Verlust)", h, s.Sent, lDE),
		}
		return res
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	avg := ms(s.Avg)
	if st := c.p.RTTMS.status(avg); st.Severity() > res.Status.Severity() {
		res.Status = st
	}
	minEN, minDE := msg.Num(ms(s.Min), 2)
	avgEN, avgDE := msg.Num(avg, 2)
	maxEN, maxDE := msg.Num(ms(s.Max), 2)
	res.Value, res.Unit = check.Float(avg), "ms"
	res.Message = core.Text{
		EN: fmt.Sprintf("%s: %d of %d replies (%s %% loss), round trip min/avg/max %s/%s/%s ms", h, s.Recv, s.Sent, lEN, minEN, avgEN, maxEN),
		DE: fmt.Sprintf("%s: %d von %d Antworten (%s %% Verlust), Umlaufzeit min/mittel/max %s/%s/%s ms", h, s.Recv, s.Sent, lDE, minDE, avgDE, maxDE),
	}
	return res
}
