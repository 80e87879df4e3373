// Package tlsconf builds the server's TLS configuration: a persisted
// self-signed certificate (whose fingerprint agents pin), operator-supplied
// certificate files, or ACME via autocert; and a listener that performs TLS
// handshakes under a concurrency cap so a reconnect storm cannot starve the
// server.
package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// File names inside <data>/tls.
const (
	CertFile = "cert.pem"
	KeyFile  = "key.pem"
)

// Options selects the certificate source. With neither files nor an ACME
// domain, a self-signed certificate is generated once in Dir.
type Options struct {
	Dir        string   // <data>/tls, for the self-signed certificate
	ACMEDir    string   // <data>/acme, autocert cache
	CertFile   string   // operator-supplied PEM certificate (chain)
	KeyFile    string   // and its key
	ACMEDomain string   // use ACME (tls-alpn-01) for this domain
	Hosts      []string // extra SANs for a generated certificate
}

// Setup returns the TLS configuration and the hex SHA-256 fingerprint of the
// leaf certificate's DER ("" with ACME, where agents trust the system CAs).
// Only http/1.1 is offered over ALPN (websockets need HTTP/1.1), plus
// acme-tls/1 with ACME.
func Setup(o Options) (*tls.Config, string, error) {
	switch {
	case o.ACMEDomain != "":
		if o.CertFile != "" || o.KeyFile != "" {
			return nil, "", errors.New("use either --acme-domain or --tls-cert/--tls-key, not both")
		}
		if err := os.MkdirAll(o.ACMEDir, 0o700); err != nil {
			return nil, "", fmt.Errorf("creating ACME cache: %w", err)
		}
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			Cache:      autocert.DirCache(o.ACMEDir),
			HostPolicy: autocert.HostWhitelist(o.ACMEDomain),
		}
		cfg := &tls.Config{
			MinVersion:     tls.VersionTLS12,
			CipherSuites:   aeadSuites,
			GetCertificate: m.GetCertificate,
			NextProtos:     []string{"http/1.1", acme.ALPNProto},
		}
		return cfg, "", nil
	case o.CertFile != "" || o.KeyFile != "":
		if o.CertFile == "" || o.KeyFile == "" {
			return nil, "", errors.New("--tls-cert and --tls-key go together")
		}
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("loading TLS certificate: %w", err)
		}
		return serverConfig(cert), protocol.Fingerprint(cert.Certificate[0]), nil
	default:
		cert, err := LoadOrCreateSelfSigned(o.Dir, o.Hosts)
		if err != nil {
			return nil, "", err
		}
		return serverConfig(cert), protocol.Fingerprint(cert.Certificate[0]), nil
	}
}

// aeadSuites are the TLS 1.2 cipher suites the server accepts: forward
// secret key exchange (ECDHE) with an AEAD cipher only, so no CBC-mode or
// SHA-1 MAC suite is ever negotiated. TLS 1.3 suites are not configurable
// and are all AEAD.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

func serverConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: aeadSuites,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
	}
}

// ErrPeerMismatch means another server node presented a certificate other
// than this node's own.
var ErrPeerMismatch = errors.New("the other server node's certificate is not this node's")

// PeerConfig is the client side of connections between the server nodes
// of a cluster, which share one certificate (docs/cluster.md): with a
// fingerprint, a node accepts exactly the certificate whose fingerprint it
// has itself (whatever name it dials the other node by); with ACME (no
// fingerprint), the system CAs for acmeDomain.
func PeerConfig(fingerprint, acmeDomain string) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if fingerprint == "" {
		cfg.ServerName = acmeDomain
		return cfg
	}
	// The pin replaces chain and name verification.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return ErrPeerMismatch
		}
		got := protocol.Fingerprint(cs.PeerCertificates[0].Raw)
		if subtle.ConstantTimeCompare([]byte(got), []byte(fingerprint)) != 1 {
			return fmt.Errorf("%w (got %s)", ErrPeerMismatch, got)
		}
		return nil
	}
	return cfg
}

// FingerprintFile returns the fingerprint of the first certificate in a PEM
// file.
func FingerprintFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return "", fmt.Errorf("%s: no certificate found", path)
		}
		if blk.Type == "CERTIFICATE" {
			return protocol.Fingerprint(blk.Bytes), nil
		}
	}
}

// LoadOrCreateSelfSigned loads <dir>/cert.pem and key.pem, generating an
// ECDSA P-256 certificate for localhost, 127.0.0.1, ::1, the host name and
// hosts first if they do not exist. The certificate is kept across restarts
// because agents pin its fingerprint.
func LoadOrCreateSelfSigned(dir string, hosts []string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil {
		return cert, nil
	}
	if _, statErr := os.Stat(certPath); !errors.Is(statErr, os.ErrNotExist) {
		// A damaged or half-written pair must not be silently replaced:
		// that would change the pinned fingerprint under every agent.
		return tls.Certificate{}, fmt.Errorf("loading %s: %w", certPath, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("creating %s: %w", dir, err)
	}
	certPEM, keyPEM, err := generate(hosts)
	if err != nil {
		return tls.Certificate{}, err
	}
	// Key first, certificate last: the certificate's presence marks a
	// complete pair.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

func generate(extra []string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("generating serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"Wacht"}, CommonName: "wacht server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(20, 0, 0), // pinned, so it must not expire under the agents
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	hosts = append(hosts, extra...)
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("creating certificate: %w", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), nil
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// SPKIPin returns the base64 SHA-256 of a certificate's public key
// (SubjectPublicKeyInfo), as curl's --pinnedpubkey sha256//… takes it.
func SPKIPin(der []byte) (string, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "", fmt.Errorf("parsing certificate: %w", err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// PinFile returns the fingerprint and the SPKI pin (SPKIPin) of the first
// certificate in a PEM file.
func PinFile(path string) (fingerprint, pin string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return "", "", fmt.Errorf("%s: no certificate found", path)
		}
		if blk.Type == "CERTIFICATE" {
			pin, err := SPKIPin(blk.Bytes)
			return protocol.Fingerprint(blk.Bytes), pin, err
		}
	}
}
