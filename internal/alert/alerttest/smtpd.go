// Package alerttest runs a real SMTP server (github.com/emersion/go-smtp)
// on loopback for tests of notifications: it records every accepted
// message, can require STARTTLS or implicit TLS and authentication, and can
// be stopped and started again on the same port to play an unreachable
// mail server.
package alerttest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one accepted message.
type Mail struct {
	From     string
	To       []string
	Data     []byte
	TLS      bool   // the session was encrypted
	AuthUser string // "" without authentication
	At       time.Time
}

// Header parses the message and returns a header field.
func (m Mail) Header(name string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return ""
	}
	v := msg.Header.Get(name)
	if dec, err := new(mimeDecoder).DecodeHeader(v); err == nil {
		return dec
	}
	return v
}

// Body returns the decoded plain-text body with LF line ends.
func (m Mail) Body() string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return ""
	}
	b, _ := io.ReadAll(msg.Body)
	body := string(b)
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = decodeQP(b)
	}
	return strings.ReplaceAll(body, "\r\n", "\n") // SMTP lines end in CRLF
}

// Options configure the server.
type Options struct {
	// Mode: "starttls" (offer STARTTLS and require it before MAIL),
	// "tls" (implicit TLS) or "none".
	Mode string
	// Username and Password, if set, are required (PLAIN).
	Username, Password string
}

// Server is a running test SMTP server.
type Server struct {
	t    testing.TB
	opts Options
	addr string
	// Cert is the server's self-signed certificate; CertPool trusts it.
	CertPool *tls.Config

	mu      sync.Mutex
	mails   []Mail
	srv     *smtp.Server
	arrived chan struct{}
	tlsCfg  *tls.Config
}

// Start starts a server on 127.0.0.1 with a free port; it stops with the test.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	cert, pool := selfSigned(t)
	s := &Server{t: t, opts: o, arrived: make(chan struct{}, 1),
		tlsCfg:   &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		CertPool: &tls.Config{RootCAs: pool}}
	s.listen("127.0.0.1:0")
	t.Cleanup(s.Stop)
	return s
}

// Addr is host:port; Host and Port split it.
func (s *Server) Addr() string { return s.addr }
func (s *Server) Host() string { h, _, _ := net.SplitHostPort(s.addr); return h }
func (s *Server) Port() int    { return s.addrPort() }

func (s *Server) addrPort() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n := 0
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

func (s *Server) listen(addr string) {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old port may linger a moment after Stop
		ln, err = net.Listen("tcp", addr)
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("smtp test server: listen: %v", err)
	}
	if s.opts.Mode == "tls" {
		ln = tls.NewListener(ln, s.tlsCfg)
	}
	srv := smtp.NewServer(&backend{s: s})
	srv.Domain = "mx.test.invalid"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = s.opts.Mode != "starttls"
	if s.opts.Mode == "starttls" {
		srv.TLSConfig = s.tlsCfg
	}
	s.mu.Lock()
	s.srv, s.addr = srv, ln.Addr().String()
	s.mu.Unlock()
	go srv.Serve(ln)
}

// Stop closes the server (connections are refused until Restart).
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Restart listens again on the same address.
func (s *Server) Restart() {
	s.Stop()
	s.listen(s.addr)
}

// Mails returns the accepted messages so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// WaitFor waits until n messages were accepted and returns them.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if ms := s.Mails(); len(ms) >= n {
			return ms
		}
		select {
		case <-s.arrived:
		case <-deadline:
			ms := s.Mails()
			t.Fatalf("smtp test server: %d of %d messages after %v", len(ms), n, timeout)
			return ms
		}
	}
}

type backend struct{ s *Server }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	m    Mail
	user string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return errors.New("invalid credentials")
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) encrypted() bool {
	_, ok := ss.conn.TLSConnectionState()
	return ok
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Mode == "starttls" && !ss.encrypted() {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue STARTTLS first"}
	}
	if ss.s.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.m = Mail{From: from, TLS: ss.encrypted(), AuthUser: ss.user}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.m.To = append(ss.m.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.m.Data, ss.m.At = b, time.Now()
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, ss.m)
	ss.s.mu.Unlock()
	select {
	case ss.s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset()        { ss.m = Mail{} }
func (ss *session) Logout() error { return nil }

func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smtp test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
