// Package smtp sends notifications as plain-text e-mail, with an HTML
// alternative when the message has one and its attachments (then as
// multipart/mixed), through an SMTP server, with
// STARTTLS, implicit TLS or (only for servers on loopback) no TLS, and
// optional authentication, using github.com/wneessen/go-mail.
package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
)

// TLS modes.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (mandatory); port 587
	TLSImplicit = "tls"      // TLS from the first byte ("SMTPS"); port 465
	TLSNone     = "none"     // no encryption: accepted only for loopback servers
)

// Config is the SMTP server and the sender address.
type Config struct {
	Host     string `json:"host"`
	Port     int    `json:"port"` // default 587 (starttls) or 465 (tls)
	TLS      string `json:"tls"`  // TLSStartTLS (default), TLSImplicit, TLSNone
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	From     string `json:"from"`
	// Timeout bounds connecting and each SMTP command (default 30 s).
	Timeout time.Duration `json:"-"`
	// TLSConfig, if set, is used for TLS (e.g. RootCAs of a private CA).
	TLSConfig *tls.Config `json:"-"`
}

// Errors of Validate (wrapped with details), so that a form can show each
// next to its field.
var (
	ErrNotConfigured = errors.New("smtp: no server or sender configured")
	ErrTLSMode       = errors.New("smtp: TLS mode")
	ErrPort          = errors.New("smtp: bad port")
)

// Validate checks a configuration without connecting.
func (c Config) Validate() error {
	if c.Host == "" || c.From == "" {
		return ErrNotConfigured
	}
	switch c.TLS {
	case "", TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !isLoopback(c.Host) {
			return fmt.Errorf("%w %q is only allowed for a server on loopback, not %q", ErrTLSMode, TLSNone, c.Host)
		}
	default:
		return fmt.Errorf("%w %q is unknown", ErrTLSMode, c.TLS)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("%w %d", ErrPort, c.Port)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers m to one address. It returns nil only after the server
// accepted the message (the reply to DATA).
func Send(ctx context.Context, c Config, to string, m notify.Message) error {
	return SendMany(ctx, c, []Envelope{{To: to, Message: m}})[0]
}

// Envelope is one message to one address.
type Envelope struct {
	To      string
	Message notify.Message
}

// SendMany delivers several messages over one connection (one TLS
// handshake) and returns an error per message: nil means the server
// accepted that message.
func SendMany(ctx context.Context, c Config, envs []Envelope) []error {
	errs := make([]error, len(envs))
	fail := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	if err := c.Validate(); err != nil {
		return fail(err)
	}
	var msgs []*mail.Msg
	var idx []int
	for i, e := range envs {
		msg, err := build(c, e.To, e.Message)
		if err != nil {
			errs[i] = err
			continue
		}
		msgs = append(msgs, msg)
		idx = append(idx, i)
	}
	if len(msgs) == 0 {
		return errs
	}
	client, err := mail.NewClient(c.Host, options(c)...)
	if err != nil {
		return fail(fmt.Errorf("smtp: %w", err))
	}
	sendErr := client.DialAndSendWithContext(ctx, msgs...)
	for j, msg := range msgs {
		i := idx[j]
		switch {
		case msg.IsDelivered():
			errs[i] = nil
		case msg.HasSendError():
			errs[i] = fmt.Errorf("smtp: sending to %s via %s: %w", envs[i].To, c.Host, msg.SendError())
		case sendErr != nil:
			errs[i] = fmt.Errorf("smtp: sending to %s via %s: %w", envs[i].To, c.Host, sendErr)
		default:
			errs[i] = fmt.Errorf("smtp: sending to %s via %s: not accepted", envs[i].To, c.Host)
		}
	}
	return errs
}

func build(c Config, to string, m notify.Message) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(c.From); err != nil {
		return nil, fmt.Errorf("smtp: sender %q: %w", c.From, err)
	}
	if err := msg.To(to); err != nil {
		return nil, fmt.Errorf("smtp: recipient %q: %w", to, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID + "@" + domainOf(c.From))
	msg.SetDate()
	msg.SetBulk() // no auto-replies to alerts
	if m.Lang != "" {
		msg.SetGenHeader(mail.HeaderContentLang, m.Lang)
	}
	msg.SetGenHeader("X-Wacht-Event", m.Event.Kind)
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML) // multipart/alternative
	}
	for i, a := range m.Attachments {
		name := attachmentName(a.Name, i)
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		// A reader per message over the payload's bytes: a retry builds
		// the message again, and go-mail may read it more than once.
		msg.AttachReadSeeker(name, bytes.NewReader(a.Data),
			mail.WithFileContentType(mail.ContentType(ct)), mail.WithFileEncoding(mail.EncodingB64))
	}
	return msg, nil
}

// attachmentName keeps a file name without a path (a name from elsewhere
// must not name a directory on the receiver's side) and without control
// characters; an empty one becomes "attachment-N".
func attachmentName(name string, i int) string {
	if j := strings.LastIndexAny(name, `/\`); j >= 0 {
		name = name[j+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, name)
	if strings.Trim(name, ". ") == "" {
		return "attachment-" + strconv.Itoa(i+1)
	}
	return name
}

func options(c Config) []mail.Option {
	opts := []mail.Option{mail.WithTimeout(orDefault(c.Timeout, 30*time.Second))}
	tlsCfg := c.TLSConfig
	if tlsCfg == nil {
		tlsCfg = &tls.Config{}
	} else {
		tlsCfg = tlsCfg.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = c.Host
	}
	tlsCfg.MinVersion = tls.VersionTLS12
	switch c.TLS {
	case TLSImplicit:
		opts = append(opts, mail.WithSSL(), mail.WithPort(orPort(c.Port, 465)), mail.WithTLSConfig(tlsCfg))
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS), mail.WithPort(orPort(c.Port, 25)))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithPort(orPort(c.Port, 587)), mail.WithTLSConfig(tlsCfg))
	}
	if c.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(c.Username), mail.WithPassword(c.Password))
	}
	return opts
}

// Target is where c sends its password: the TLS mode, host and port,
// defaults filled in. A stored password is reused only for the same
// target, never sent to another without being typed again.
func (c Config) Target() string {
	mode, port := c.TLS, c.Port
	switch mode {
	case TLSImplicit:
		port = orPort(port, 465)
	case TLSNone:
		port = orPort(port, 25)
	default:
		mode, port = TLSStartTLS, orPort(port, 587)
	}
	return mode + " " + net.JoinHostPort(strings.ToLower(strings.TrimSpace(c.Host)), strconv.Itoa(port))
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.Trim(addr[i+1:], "> ")
	}
	return "wacht.invalid"
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func orPort(p, def int) int {
	if p == 0 {
		return def
	}
	return p
}
