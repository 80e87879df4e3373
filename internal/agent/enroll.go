package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/host"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// EnrollError is the server's refusal of an enrollment, with its code
// (protocol.EnrollToken*).
type EnrollError struct {
	Code    string
	Message string // the server's own wording, if any
	Status  int    // HTTP status
}

func (e *EnrollError) Error() string {
	switch e.Code {
	case protocol.EnrollTokenExpired:
		return "enrollment refused: the token has expired"
	case protocol.EnrollTokenRevoked:
		return "enrollment refused: the token has been revoked"
	case protocol.EnrollTokenUsedUp:
		return "enrollment refused: the token has no uses left"
	case protocol.EnrollTokenUnknown:
		return "enrollment refused: the server does not know this token"
	}
	if e.Message != "" {
		return "enrollment refused: " + e.Message
	}
	return fmt.Sprintf("enrollment refused: server answered HTTP %d", e.Status)
}

// Enroll registers this machine with the server named in token (or
// serverOverride) and saves agent.json and agent.key in dataDir. If dataDir
// holds the key of an earlier enrollment, the request proves possession of
// it and the server re-keys that device; without it (a reinstalled machine
// that lost its key) or with forceNew the server enrolls a new device, and
// the technician retires the old one.
func Enroll(ctx context.Context, token string, serverOverride string, dataDir string, forceNew bool) (protocol.EnrollResponse, error) {
	var out protocol.EnrollResponse
	tok, err := protocol.ParseToken(token)
	if err != nil {
		return out, err
	}
	server := tok.URL
	if serverOverride != "" {
		server = serverOverride
	}
	server, err = normalizeServerURL(server)
	if err != nil {
		return out, err
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return out, fmt.Errorf("generating device key: %w", err)
	}
	f := probeHost(ctx)
	req := protocol.EnrollRequest{
		Token: tok.Secret, PublicKey: pub, Hostname: f.Hostname, OS: runtime.GOOS, Platform: f.Platform,
		Arch: runtime.GOARCH, MachineID: f.MachineID, Role: f.Role, AgentVersion: Version,
	}
	if !forceNew {
		req.DeviceID, req.Proof = proveDevice(dataDir, pub)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return out, err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, server+protocol.PathEnroll, bytes.NewReader(body))
	if err != nil {
		return out, fmt.Errorf("enrolling with %s: %w", server, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	client := NewHTTPClient(tok.Fingerprint)
	defer client.CloseIdleConnections()
	resp, err := client.Do(hreq)
	if err != nil {
		return out, fmt.Errorf("enrolling with %s: %w", server, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return out, fmt.Errorf("enrolling with %s: reading answer: %w", server, err)
	}
	if resp.StatusCode/100 != 2 {
		var er protocol.ErrorResponse
		_ = json.Unmarshal(rb, &er) // a non-JSON body still yields an EnrollError
		return out, &EnrollError{Code: er.Code, Message: er.Error, Status: resp.StatusCode}
	}
	if err := json.Unmarshal(rb, &out); err != nil || out.DeviceID == 0 || len(out.ActionKey) != ed25519.PublicKeySize {
		return out, fmt.Errorf("enrolling with %s: unexpected answer %q", server, truncate(string(rb), 200))
	}
	if err := SaveKey(dataDir, key); err != nil {
		return out, err
	}
	// The local allowlist and locks stay as the device's administrator
	// wrote them, before or after an earlier enrollment.
	prev, _ := LoadConfig(dataDir)
	cfg := Config{ServerURL: server, Fingerprint: tok.Fingerprint, DeviceID: out.DeviceID, ActionKey: out.ActionKey, Allow: prev.Allow, Disable: prev.Disable, ScriptSigner: prev.ScriptSigner}
	// A release key set locally stays; otherwise the server's are pinned.
	if prev.LocalReleaseKey && len(prev.ReleaseKeys) > 0 {
		cfg.ReleaseKeys, cfg.LocalReleaseKey = prev.ReleaseKeys, true
	} else {
		cfg.ReleaseKeys = validReleaseKeys(out.ReleaseKeys)
	}
	if err := SaveConfig(dataDir, cfg); err != nil {
		return out, err
	}
	// A policy stored for another device (or by another server) is not
	// this device's; the new one arrives with the first session.
	if !out.Rekeyed {
		if err := os.Remove(filepath.Join(dataDir, PolicyFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return out, fmt.Errorf("removing the previous device's policy: %w", err)
		}
	}
	return out, nil
}

// proveDevice signs the new key with the key of the device this data
// folder was enrolled as, if any: the server then re-keys that device
// instead of enrolling a new one.
func proveDevice(dataDir string, newKey ed25519.PublicKey) (deviceID int64, proof []byte) {
	cfg, err := LoadConfig(dataDir)
	if err != nil {
		return 0, nil
	}
	key, err := LoadKey(dataDir)
	if err != nil {
		return 0, nil
	}
	return cfg.DeviceID, protocol.SignReenroll(key, cfg.DeviceID, newKey)
}

func normalizeServerURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("server URL %q is not a URL like https://host:port", s)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("server URL %q must use https", s)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

// truncate cuts s to at most n bytes (plus an ellipsis) without splitting
// a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// hostFacts describe this machine at enrollment.
type hostFacts struct {
	Hostname, Platform, MachineID, Role string
}

func probeHost(ctx context.Context) hostFacts {
	var f hostFacts
	f.Hostname, _ = os.Hostname()
	platform := ""
	if info, err := host.InfoWithContext(ctx); err == nil {
		platform = strings.TrimSpace(info.Platform + " " + info.PlatformVersion)
		f.MachineID = info.HostID
		if f.Hostname == "" {
			f.Hostname = info.Hostname
		}
	}
	f.Platform = platform
	if f.MachineID == "" {
		// No OS machine ID: the host name is the best stable stand-in.
		f.MachineID = "hostname:" + f.Hostname
	}
	f.Role = guessRole(runtime.GOOS, platform, hasDesktop(), hasBattery())
	return f
}

// guessRole sorts the machine into server, notebook or workstation; the
// technician can correct it on the server.
func guessRole(goos, platform string, desktop, battery bool) string {
	switch {
	case goos == "windows" && strings.Contains(strings.ToLower(platform), "server"):
		return "server"
	case goos != "windows" && goos != "darwin" && !desktop:
		return "server"
	case battery:
		return "notebook"
	default:
		return "workstation"
	}
}
