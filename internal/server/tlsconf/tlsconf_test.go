package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSelfSignedGeneratedOnceAndReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	cfg1, fp1, err := Setup(Options{Dir: dir, Hosts: []string{"rmm.example", "10.1.2.3"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fp1) != 64 {
		t.Fatalf("fingerprint %q is not hex SHA-256", fp1)
	}
	_, fp2, err := Setup(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if fp1 != fp2 {
		t.Fatalf("restart changed fingerprint: %s -> %s", fp1, fp2)
	}
	fpFile, err := FingerprintFile(filepath.Join(dir, CertFile))
	if err != nil || fpFile != fp1 {
		t.Fatalf("FingerprintFile = %q, %v; want %q", fpFile, err, fp1)
	}
	if st, err := os.Stat(filepath.Join(dir, KeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}

	leaf, err := x509.ParseCertificate(cfg1.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "rmm.example", "10.1.2.3"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("SAN %s missing: %v", h, err)
		}
	}
	if cfg1.MinVersion != tls.VersionTLS12 || len(cfg1.NextProtos) != 1 || cfg1.NextProtos[0] != "http/1.1" {
		t.Errorf("config: min %x, ALPN %v", cfg1.MinVersion, cfg1.NextProtos)
	}
}

func TestDamagedCertificateIsNotReplaced(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Setup(Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CertFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Setup(Options{Dir: dir}); err == nil {
		t.Fatal("damaged certificate silently replaced")
	}
}

func TestCertificateFiles(t *testing.T) {
	dir := t.TempDir()
	_, fp, err := Setup(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, fp2, err := Setup(Options{CertFile: filepath.Join(dir, CertFile), KeyFile: filepath.Join(dir, KeyFile)})
	if err != nil || fp2 != fp {
		t.Fatalf("files: %q, %v; want %q", fp2, err, fp)
	}
	if _, _, err := Setup(Options{CertFile: filepath.Join(dir, CertFile)}); err == nil {
		t.Fatal("certificate without key accepted")
	}
	if _, _, err := Setup(Options{CertFile: filepath.Join(dir, "missing.pem"), KeyFile: filepath.Join(dir, KeyFile)}); err == nil {
		t.Fatal("missing certificate file accepted")
	}
}

func TestACMEConfig(t *testing.T) {
	dir := t.TempDir()
	cfg, fp, err := Setup(Options{ACMEDomain: "rmm.example", ACMEDir: filepath.Join(dir, "acme")})
	if err != nil {
		t.Fatal(err)
	}
	if fp != "" || cfg.GetCertificate == nil || len(cfg.NextProtos) != 2 {
		t.Fatalf("ACME config: fp %q, ALPN %v", fp, cfg.NextProtos)
	}
	if _, err := os.Stat(filepath.Join(dir, "acme")); err != nil {
		t.Fatalf("cache dir: %v", err)
	}
}

// TestListenerStalledClientsDoNotBlock fills every handshake slot with
// clients that never speak and checks that they time out and free their
// slots for a real client.
func TestListenerStalledClientsDoNotBlock(t *testing.T) {
	cfg, _, err := Setup(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := NewListener(inner, cfg, ListenerOptions{MaxHandshakes: 2, HandshakeTimeout: 200 * time.Millisecond})
	defer ln.Close()

	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}

	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	client, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if p := client.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("negotiated %q, want http/1.1", p)
	}
	select {
	case sc := <-accepted:
		if _, ok := sc.(*tls.Conn); !ok {
			t.Errorf("accepted %T, want *tls.Conn", sc)
		}
		go client.Write([]byte("hi"))
		buf := make([]byte, 2)
		if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "hi" {
			t.Errorf("read %q, %v", buf, err)
		}
		sc.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("real client never accepted")
	}
}

func TestListenerClose(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := NewListener(inner, &tls.Config{}, ListenerOptions{})
	errc := make(chan error, 1)
	go func() { _, err := ln.Accept(); errc <- err }()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ln.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Accept after Close returned a connection")
		}
	case <-ctx.Done():
		t.Fatal("Accept did not return after Close")
	}
}

// TestPeerConfig: a node dialing another node by any name accepts exactly
// the certificate whose fingerprint it has itself, and refuses another
// self-signed one.
func TestPeerConfig(t *testing.T) {
	own, fp, err := Setup(Options{Dir: t.TempDir(), Hosts: []string{"rmm.example"}})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := Setup(Options{Dir: t.TempDir(), Hosts: []string{"rmm.example"}})
	if err != nil {
		t.Fatal(err)
	}
	handshake := func(server *tls.Config) error {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				c.(*tls.Conn).Handshake()
				c.Close()
			}
		}()
		c, err := tls.Dial("tcp", ln.Addr().String(), PeerConfig(fp, ""))
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := handshake(own); err != nil {
		t.Errorf("a node with the same certificate, dialed by IP address: %v", err)
	}
	if err := handshake(other); !errors.Is(err, ErrPeerMismatch) {
		t.Errorf("a node with another certificate: %v, want ErrPeerMismatch", err)
	}
	if c := PeerConfig("", "rmm.example"); c.InsecureSkipVerify || c.ServerName != "rmm.example" {
		t.Errorf("ACME: %+v, want system CAs for the domain", c)
	}
}
