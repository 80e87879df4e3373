// Package website is the "website" check: an HTTP(S) GET or HEAD against one
// URL with expected status codes, text that must or must not appear, a
// response-time threshold, redirect handling, TLS certificate expiry and
// optional basic authentication. It depends on nothing agent-specific, so
// the server can run it for public sites as well as agents for intranet
// sites.
package website

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Name is the check's registered name.
const Name = "website"

// Limits that keep one run bounded in time and memory.
const (
	DefaultTimeout = 10 * time.Second
	MaxTimeout     = 60 * time.Second
	MaxBody        = 1 << 20 // bytes read for text matching
	MaxRedirects   = 10
)

func init() {
	check.Register(checkspec.Website, func(raw json.RawMessage) (check.Check, error) { return New(raw) })
}

// Limit is an optional pair of thresholds; zero disables a level.
type Limit struct {
	Warn float64 `json:"warn"`
	Fail float64 `json:"fail"`
}

// Params configure one website check. Password comes from the server's
// credential store (encrypted at rest there) and is never echoed.
type Params struct {
	URL             string            `json:"url"`
	Method          string            `json:"method"`           // GET (default) or HEAD
	ExpectStatus    []int             `json:"expect_status"`    // default: any 2xx
	Contains        string            `json:"contains"`         // text that must appear
	NotContains     string            `json:"not_contains"`     // text that must not appear
	ResponseMS      Limit             `json:"response_ms"`      // response-time thresholds in ms
	FollowRedirects *bool             `json:"follow_redirects"` // default true
	CertDays        *Limit            `json:"cert_days"`        // days before expiry; default warn 21, fail 7
	Headers         map[string]string `json:"headers"`
	Username        string            `json:"username"`
	Password        string            `json:"password"`
	TimeoutSeconds  float64           `json:"timeout_seconds"` // default 10, max 60
	CAPEM           string            `json:"ca_pem"`          // extra trusted CAs (intranet)
	SkipVerify      bool              `json:"tls_skip_verify"` // still reports expiry
}

// Check is one configured website check.
type Check struct {
	p       Params
	u       *url.URL
	timeout time.Duration
	roots   *x509.CertPool // nil: system roots
	now     func() time.Time
	control func(network, address string, c syscall.RawConn) error // see RestrictDial
}

// RestrictDial makes Run call control with every address it is about to
// connect to, after DNS resolution and on every redirect, and connect
// directly (no proxy from the environment) so that control sees the real
// target. A refusal that implements check.Localized is reported as an
// error result in its words. The server uses it for the checks it runs
// itself (internal/netguard).
func (c *Check) RestrictDial(control func(network, address string, c syscall.RawConn) error) {
	c.control = control
}

// New parses and validates params; nil params give check.ErrNotConfigured.
func New(raw json.RawMessage) (*Check, error) {
	var p Params
	if err := checkspec.Website.Decode(raw, &p); err != nil {
		return nil, err
	}
	c := &Check{p: p, now: time.Now}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Check) validate() error {
	p := &c.p
	u, err := url.Parse(p.URL)
	if err != nil || p.URL == "" {
		return errors.New("url: must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("url: must be http or https")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("url: has no host")
	}
	if u.User != nil {
		return errors.New("url: must not contain credentials; use username and password")
	}
	c.u = u
	switch strings.ToUpper(p.Method) {
	case "", "GET":
		p.Method = http.MethodGet
	case "HEAD":
		p.Method = http.MethodHead
	default:
		return errors.New("method: must be GET or HEAD")
	}
	for _, s := range p.ExpectStatus {
		if s < 100 || s > 599 {
			return fmt.Errorf("expect_status: %d is not an HTTP status code", s)
		}
	}
	if p.Method == http.MethodHead && (p.Contains != "" || p.NotContains != "") {
		return errors.New("contains: a HEAD request has no body to search")
	}
	if err := p.ResponseMS.validate("response_ms", false); err != nil {
		return err
	}
	if p.CertDays == nil {
		p.CertDays = &Limit{Warn: 21, Fail: 7}
	}
	if err := p.CertDays.validate("cert_days", true); err != nil {
		return err
	}
	for k, v := range p.Headers {
		if k == "" || strings.ContainsAny(k, "\r\n: ") || strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("headers: invalid header %q", k)
		}
		if slices.Contains(checkspec.RefusedHeaders, http.CanonicalHeaderKey(k)) {
			return &check.TextError{Msg: core.Text{
				EN: fmt.Sprintf("headers: %q may not be set (the URL names the host; credentials go in username and password)", k),
				DE: fmt.Sprintf("headers: %q darf nicht gesetzt werden (die URL bestimmt den Host; Zugangsdaten gehören in username und password)", k),
			}}
		}
	}
	if p.Password != "" && p.Username == "" {
		return errors.New("username: required with a password")
	}
	switch {
	case p.TimeoutSeconds < 0 || p.TimeoutSeconds > MaxTimeout.Seconds():
		return fmt.Errorf("timeout_seconds: must be between 0 and %v", MaxTimeout.Seconds())
	case p.TimeoutSeconds == 0:
		c.timeout = DefaultTimeout
	default:
		c.timeout = time.Duration(p.TimeoutSeconds * float64(time.Second))
	}
	if p.CAPEM != "" {
		c.roots, _ = x509.SystemCertPool()
		if c.roots == nil {
			c.roots = x509.NewCertPool()
		}
		if !c.roots.AppendCertsFromPEM([]byte(p.CAPEM)) {
			return errors.New("ca_pem: no PEM certificate found")
		}
	}
	return nil
}

// validate checks a limit; below means smaller values are worse (days).
func (l Limit) validate(field string, below bool) error {
	if l.Warn < 0 || l.Fail < 0 {
		return fmt.Errorf("%s: thresholds must not be negative", field)
	}
	if l.Warn != 0 && l.Fail != 0 && ((!below && l.Warn > l.Fail) || (below && l.Warn < l.Fail)) {
		return fmt.Errorf("%s: warning threshold %v is beyond failure threshold %v", field, l.Warn, l.Fail)
	}
	return nil
}

// above classifies v where larger is worse; zero levels are off.
func (l Limit) above(v float64) core.Status {
	switch {
	case l.Fail > 0 && v >= l.Fail:
		return core.StatusFailure
	case l.Warn > 0 && v >= l.Warn:
		return core.StatusWarning
	}
	return core.StatusOK
}

// below classifies v where smaller is worse; zero levels are off.
func (l Limit) below(v float64) core.Status {
	switch {
	case l.Fail > 0 && v <= l.Fail:
		return core.StatusFailure
	case l.Warn > 0 && v <= l.Warn:
		return core.StatusWarning
	}
	return core.StatusOK
}

// Key is the result key: the URL without query secrets' values.
func (c *Check) Key() string {
	u := *c.u
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// finding is one aspect of the outcome, worded in both languages.
type finding struct {
	status core.Status
	en, de string
}

// Run performs one request and reports one result keyed by the URL.
func (c *Check) Run(ctx context.Context, r check.Reporter) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var leaf *x509.Certificate // the last certificate the server presented
	tlsConf := &tls.Config{
		// Verification happens in VerifyConnection so that an expired
		// certificate can still be reported with its dates.
		InsecureSkipVerify: true, //nolint:gosec // verified below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("server sent no certificate")
			}
			leaf = cs.PeerCertificates[0]
			if c.p.SkipVerify {
				return nil
			}
			inter := x509.NewCertPool()
			for _, ic := range cs.PeerCertificates[1:] {
				inter.AddCert(ic)
			}
			_, err := leaf.Verify(x509.VerifyOptions{DNSName: cs.ServerName, Roots: c.roots, Intermediates: inter, CurrentTime: c.now()})
			return err
		},
	}
	proxy := http.ProxyFromEnvironment
	if c.control != nil {
		proxy = nil
	}
	tr := &http.Transport{
		Proxy:                  proxy,
		DialContext:            (&net.Dialer{Timeout: c.timeout, Control: c.control}).DialContext,
		TLSClientConfig:        tlsConf,
		TLSHandshakeTimeout:    c.timeout,
		ResponseHeaderTimeout:  c.timeout,
		MaxResponseHeaderBytes: 64 << 10,
		DisableKeepAlives:      true,
		ForceAttemptHTTP2:      true,
	}
	defer tr.CloseIdleConnections()
	redirects := 0
	client := &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if c.p.FollowRedirects != nil && !*c.p.FollowRedirects {
			return http.ErrUseLastResponse
		}
		redirects = len(via)
		if len(via) >= MaxRedirects {
			return errTooManyRedirects
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, c.p.Method, c.u.String(), nil)
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("User-Agent", "Wacht-Website-Check/1")
	for k, v := range c.p.Headers {
		req.Header.Set(k, v)
	}
	if c.p.Username != "" {
		req.SetBasicAuth(c.p.Username, c.p.Password)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		r.Report(c.failed(ctx, err, leaf))
		return nil
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	elapsed := time.Since(start)
	if readErr != nil {
		r.Report(c.failed(ctx, readErr, leaf))
		return nil
	}
	truncated := len(body) > MaxBody
	if truncated {
		body = body[:MaxBody]
	}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		leaf = resp.TLS.PeerCertificates[0]
	}
	r.Report(c.evaluate(resp.StatusCode, body, truncated, elapsed, leaf, redirects))
	return nil
}

var errTooManyRedirects = fmt.Errorf("stopped after %d redirects", MaxRedirects)

// evaluate turns a completed response into a result.
func (c *Check) evaluate(status int, body []byte, truncated bool, elapsed time.Duration, leaf *x509.Certificate, redirects int) check.Result {
	ms := float64(elapsed.Microseconds()) / 1000
	msEN, msDE := msg.Num(ms, 0)
	fs := []finding{{core.StatusOK,
		fmt.Sprintf("HTTP %d in %s ms", status, msEN),
		fmt.Sprintf("HTTP %d in %s ms", status, msDE)}}
	if redirects > 0 {
		fs[0].en += fmt.Sprintf(" after %d redirects", redirects)
		fs[0].de += fmt.Sprintf(" nach %d Weiterleitungen", redirects)
	}
	if !c.statusExpected(status) {
		fs = append(fs, finding{core.StatusFailure,
			fmt.Sprintf("status %d is not the expected %s", status, c.expectedText()),
			fmt.Sprintf("Status %d ist nicht der erwartete (%s)", status, c.expectedText())})
	}
	if st := c.p.ResponseMS.above(ms); st != core.StatusOK {
		lim := c.p.ResponseMS.Warn
		if st == core.StatusFailure {
			lim = c.p.ResponseMS.Fail
		}
		lEN, lDE := msg.Num(lim, 0)
		fs = append(fs, finding{st,
			fmt.Sprintf("response took longer than %s ms", lEN),
			fmt.Sprintf("Antwort dauerte länger als %s ms", lDE)})
	}
	if c.p.Contains != "" && !strings.Contains(string(body), c.p.Contains) {
		en, de := fmt.Sprintf("text %q not found", c.p.Contains), fmt.Sprintf("Text %q nicht gefunden", c.p.Contains)
		if truncated {
			en += " in the first 1 MiB"
			de += " in den ersten 1 MiB"
		}
		fs = append(fs, finding{core.StatusFailure, en, de})
	}
	if c.p.NotContains != "" && strings.Contains(string(body), c.p.NotContains) {
		fs = append(fs, finding{core.StatusFailure,
			fmt.Sprintf("unwanted text %q found", c.p.NotContains),
			fmt.Sprintf("unerwünschter Text %q gefunden", c.p.NotContains)})
	}
	if leaf != nil {
		fs = append(fs, c.certFinding(leaf))
	}
	return c.result(fs, check.Float(ms), "ms")
}

// certFinding words the days until the certificate expires.
func (c *Check) certFinding(leaf *x509.Certificate) finding {
	days := leaf.NotAfter.Sub(c.now()).Hours() / 24
	date := leaf.NotAfter.UTC().Format("2006-01-02")
	dateDE := leaf.NotAfter.UTC().Format("02.01.2006")
	if days < 0 {
		n := int(-days)
		return finding{core.StatusFailure,
			fmt.Sprintf("TLS certificate expired on %s (%d days ago)", date, n),
			fmt.Sprintf("TLS-Zertifikat ist am %s abgelaufen (vor %d Tagen)", dateDE, n)}
	}
	n := int(days)
	return finding{c.p.CertDays.below(days),
		fmt.Sprintf("TLS certificate expires on %s (in %d days)", date, n),
		fmt.Sprintf("TLS-Zertifikat läuft am %s ab (in %d Tagen)", dateDE, n)}
}

// failed reports a request that got no usable response.
func (c *Check) failed(ctx context.Context, err error, leaf *x509.Certificate) check.Result {
	var (
		dnsErr  *net.DNSError
		certErr x509.CertificateInvalidError
		unkErr  x509.UnknownAuthorityError
		hostErr x509.HostnameError
		refused check.Localized
		f       finding
	)
	f.status = core.StatusFailure
	secs := c.timeout.Seconds()
	sEN, sDE := msg.Num(secs, 0)
	switch {
	case errors.As(err, &refused):
		f.status = core.StatusError
		f.en, f.de = refused.Localized().EN, refused.Localized().DE
	case errors.Is(err, errTooManyRedirects):
		f.en = fmt.Sprintf("redirect loop: stopped after %d redirects", MaxRedirects)
		f.de = fmt.Sprintf("Weiterleitungsschleife: nach %d Weiterleitungen abgebrochen", MaxRedirects)
	case errors.As(err, &certErr) && certErr.Reason == x509.Expired && leaf != nil:
		f = c.certFinding(leaf)
		f.status = core.StatusFailure
	case errors.As(err, &unkErr):
		f.en = "TLS certificate is not signed by a trusted authority"
		f.de = "TLS-Zertifikat ist nicht von einer vertrauenswürdigen Stelle signiert"
	case errors.As(err, &hostErr):
		f.en = "TLS certificate is not valid for " + c.u.Hostname()
		f.de = "TLS-Zertifikat gilt nicht für " + c.u.Hostname()
	case errors.As(err, &dnsErr):
		f.en = fmt.Sprintf("host name %s could not be resolved", c.u.Hostname())
		f.de = fmt.Sprintf("Hostname %s konnte nicht aufgelöst werden", c.u.Hostname())
	case ctx.Err() != nil || isTimeout(err):
		f.en = fmt.Sprintf("no complete response within %s s", sEN)
		f.de = fmt.Sprintf("keine vollständige Antwort innerhalb von %s s", sDE)
	default:
		f.en = "request failed: " + cleanErr(err)
		f.de = "Anfrage fehlgeschlagen: " + cleanErr(err)
	}
	return c.result([]finding{f}, nil, "")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// cleanErr drops the "Get \"url\": " prefix net/http adds.
func cleanErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func (c *Check) statusExpected(s int) bool {
	if len(c.p.ExpectStatus) == 0 {
		return s >= 200 && s <= 299
	}
	for _, e := range c.p.ExpectStatus {
		if e == s {
			return true
		}
	}
	return false
}

func (c *Check) expectedText() string {
	if len(c.p.ExpectStatus) == 0 {
		return "2xx"
	}
	s := make([]string, len(c.p.ExpectStatus))
	for i, e := range c.p.ExpectStatus {
		s[i] = fmt.Sprint(e)
	}
	return strings.Join(s, ", ")
}

// result joins the findings; the worst one sets the status.
func (c *Check) result(fs []finding, value *float64, unit string) check.Result {
	st := core.StatusOK
	en, de := make([]string, 0, len(fs)), make([]string, 0, len(fs))
	for _, f := range fs {
		if f.status.Severity() > st.Severity() {
			st = f.status
		}
		en, de = append(en, f.en), append(de, f.de)
	}
	key := c.Key()
	return check.Result{Key: key, Status: st, Value: value, Unit: unit, Message: core.Text{
		EN: key + ": " + strings.Join(en, "; "),
		DE: key + ": " + strings.Join(de, "; "),
	}}
}
