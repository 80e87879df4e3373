package agent

import (
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// ErrPinMismatch means the server presented a certificate other than the
// pinned one.
var ErrPinMismatch = errors.New("server certificate does not match the pinned fingerprint")

// TLSConfig verifies the server by pin when fingerprint is set (the
// self-signed default certificate) and with the system CAs otherwise.
func TLSConfig(fingerprint string) *tls.Config {
	fingerprint = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(fingerprint), ":", ""))
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if fingerprint == "" {
		return cfg
	}
	// The pin replaces chain and name verification: the server's
	// certificate is self-signed and the agent may reach it by any name.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return ErrPinMismatch
		}
		got := protocol.Fingerprint(cs.PeerCertificates[0].Raw)
		if subtle.ConstantTimeCompare([]byte(got), []byte(fingerprint)) != 1 {
			return fmt.Errorf("%w (got %s)", ErrPinMismatch, got)
		}
		return nil
	}
	return cfg
}

// NewHTTPClient returns the one client used for enrollment and the
// websocket. HTTP/1.1 is forced because websockets upgrade HTTP/1.1.
func NewHTTPClient(fingerprint string) *http.Client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     TLSConfig(fingerprint),
		TLSHandshakeTimeout: 15 * time.Second,
		ForceAttemptHTTP2:   false,
		// A non-nil empty map disables HTTP/2 in net/http.
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
		IdleConnTimeout: 90 * time.Second,
	}
	return &http.Client{Transport: tr}
}
