package tlsconf

import (
	"crypto/tls"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestTLS12OffersOnlyECDHEWithAEAD dials a real TLS server on loopback with
// a client that offers exactly one TLS 1.2 suite: the CBC-SHA1 suites must be
// refused and the AEAD ones accepted.
func TestTLS12OffersOnlyECDHEWithAEAD(t *testing.T) {
	cfg, _, err := Setup(Options{Dir: filepath.Join(t.TempDir(), "tls")})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, cfg)
				_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
				_ = tc.Handshake()
			}()
		}
	}()
	dial := func(suite uint16) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), &tls.Config{
			InsecureSkipVerify: true, // the test only looks at the negotiated suite
			MinVersion:         tls.VersionTLS12,
			MaxVersion:         tls.VersionTLS12,
			CipherSuites:       []uint16{suite},
		})
		if err != nil {
			return err
		}
		defer c.Close()
		if got := c.ConnectionState().CipherSuite; got != suite {
			t.Errorf("negotiated %s, offered only %s", tls.CipherSuiteName(got), tls.CipherSuiteName(suite))
		}
		return nil
	}
	for _, s := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	} {
		if err := dial(s); err == nil {
			t.Errorf("TLS 1.2 handshake with %s accepted", tls.CipherSuiteName(s))
		}
	}
	for _, s := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	} {
		if err := dial(s); err != nil {
			t.Errorf("TLS 1.2 handshake with %s refused: %v", tls.CipherSuiteName(s), err)
		}
	}
}

// TestEveryConfigRestrictsSuites covers the certificate sources that a
// loopback handshake cannot reach (ACME needs a CA).
func TestEveryConfigRestrictsSuites(t *testing.T) {
	dir := t.TempDir()
	self, _, err := Setup(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	files, _, err := Setup(Options{CertFile: filepath.Join(dir, CertFile), KeyFile: filepath.Join(dir, KeyFile)})
	if err != nil {
		t.Fatal(err)
	}
	acme, _, err := Setup(Options{ACMEDir: filepath.Join(dir, "acme"), ACMEDomain: "rmm.example"})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*tls.Config{"self-signed": self, "files": files, "acme": acme} {
		if len(c.CipherSuites) == 0 {
			t.Errorf("%s: default cipher suites", name)
		}
		for _, s := range c.CipherSuites {
			if !slices.Contains(aeadSuites, s) {
				t.Errorf("%s: offers %s", name, tls.CipherSuiteName(s))
			}
		}
	}
}
