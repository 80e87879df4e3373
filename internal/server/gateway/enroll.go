package gateway

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

func (g *Gateway) enroll(w http.ResponseWriter, r *http.Request) {
	ip := clientIP(r)
	src := auth.Source(ip)
	// A source over its failure budget is still heard, so that a valid
	// token is never locked out by others' failures at the same address,
	// but only enrollHeld requests at a time, each failure answered after
	// enrollTarpit: its guesses stay slow.
	over := !g.throttle.allow(src, time.Now())
	if over {
		if !g.throttle.hold(src) {
			g.tooMany(w)
			return
		}
		defer g.throttle.release(src)
	}
	var req protocol.EnrollRequest
	body := http.MaxBytesReader(w, r.Body, maxEnrollBody)
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large", protocol.EnrollBadRequest)
			return
		}
		writeError(w, http.StatusBadRequest, "malformed enrollment request", protocol.EnrollBadRequest)
		return
	}
	if err := validateEnroll(&req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), protocol.EnrollBadRequest)
		return
	}

	now := g.opts.Now()
	d := core.Device{
		Hostname:     req.Hostname,
		OS:           req.OS,
		Platform:     req.Platform,
		Arch:         req.Arch,
		MachineID:    req.MachineID,
		PublicKey:    req.PublicKey,
		Role:         req.Role,
		State:        core.DeviceActive,
		AgentVersion: req.AgentVersion,
		EnrolledAt:   now,
	}
	rekeyed, err := g.enrollDevice(r.Context(), &req, &d, ip, now)
	if err != nil {
		status, code, msg := enrollError(err)
		switch {
		case status == http.StatusInternalServerError:
			g.log.Error("enrollment failed", "remote", ip, "err", err)
		case over:
			g.throttle.fail(src, time.Now())
			select {
			case <-time.After(enrollTarpit):
			case <-r.Context().Done():
			}
			g.tooMany(w)
			return
		default:
			g.throttle.fail(src, time.Now())
			g.log.Warn("enrollment refused", "remote", ip, "hostname", req.Hostname, "code", code)
		}
		writeError(w, status, msg, code)
		return
	}
	action := "device.enroll"
	detail := fmt.Sprintf("hostname=%q client=%q site=%q remote=%s", d.Hostname, d.ClientName, d.SiteName, ip)
	if rekeyed {
		// The old session holds the old key: end it.
		g.hub.Disconnect(d.ID, "device re-enrolled")
		action = "device.rekey"
	} else if d.DuplicateOf != 0 {
		detail += fmt.Sprintf(" duplicate_of=%d", d.DuplicateOf)
		g.log.Warn("new device has the machine ID of an existing one", "device", d.ID, "duplicate_of", d.DuplicateOf)
	}
	if err := g.opts.Store.Audit(r.Context(), core.AuditEntry{
		At: now, Actor: "agent", Action: action, Target: fmt.Sprintf("device:%d", d.ID), Detail: detail, Remote: ip,
	}); err != nil {
		g.log.Error("auditing enrollment", "device", d.ID, "err", err)
	}
	g.log.Info("device enrolled", "device", d.ID, "rekeyed", rekeyed, "hostname", d.Hostname, "client", d.ClientName, "site", d.SiteName)
	writeJSON(w, http.StatusOK, protocol.EnrollResponse{
		DeviceID: d.ID, Client: d.ClientName, Site: d.SiteName, Rekeyed: rekeyed, ActionKey: g.opts.ActionKey.Public(),
		ReleaseKeys: g.releaseKeys(),
	})
}

// enrollDevice re-keys the device named in the request if the request
// proves possession of its current key, else creates a new device. A proof
// that does not hold (unknown device, another key, another site, a device
// no longer active) also yields a new device: the agent gets enrolled, and
// the existing device stays untouched.
func (g *Gateway) enrollDevice(ctx context.Context, req *protocol.EnrollRequest, d *core.Device, ip string, now time.Time) (rekeyed bool, err error) {
	secret := auth.HashSecret(req.Token)
	if req.DeviceID != 0 {
		cur, err := g.opts.Store.GetDevice(ctx, req.DeviceID)
		switch {
		case err != nil && !errors.Is(err, core.ErrNotFound):
			return false, err
		case err == nil && protocol.VerifyReenroll(cur.PublicKey, cur.ID, req.PublicKey, req.Proof):
			d.ID = cur.ID
			err := g.opts.Store.Rekey(ctx, secret, d, cur.PublicKey, now)
			if !errors.Is(err, core.ErrConflict) {
				return err == nil, err
			}
			d.ID = 0
		}
		g.log.Warn("re-enrollment without a valid proof of the device's key; enrolling a new device",
			"remote", ip, "device", req.DeviceID)
	}
	return false, g.opts.Store.Enroll(ctx, secret, d, now)
}

// tooMany refuses a source over its failure budget.
func (g *Gateway) tooMany(w http.ResponseWriter) {
	w.Header().Set("Retry-After", fmt.Sprint(int(g.opts.EnrollRefill.Seconds())+1))
	writeError(w, http.StatusTooManyRequests, "too many failed enrollment attempts; try again later", "too_many_attempts")
}

// enrollError maps store errors to the response the agent prints.
func enrollError(err error) (status int, code, msg string) {
	switch {
	case errors.Is(err, core.ErrNotFound):
		return http.StatusUnauthorized, protocol.EnrollTokenUnknown, "unknown enrollment token"
	case errors.Is(err, core.ErrTokenExpired):
		return http.StatusForbidden, protocol.EnrollTokenExpired, core.ErrTokenExpired.Error()
	case errors.Is(err, core.ErrTokenRevoked):
		return http.StatusForbidden, protocol.EnrollTokenRevoked, core.ErrTokenRevoked.Error()
	case errors.Is(err, core.ErrTokenUsedUp):
		return http.StatusForbidden, protocol.EnrollTokenUsedUp, core.ErrTokenUsedUp.Error()
	case errors.Is(err, core.ErrInvalid):
		return http.StatusBadRequest, protocol.EnrollBadRequest, "invalid enrollment request"
	default:
		return http.StatusInternalServerError, "internal", "internal server error"
	}
}

var enrollRoles = map[string]bool{"": true, "server": true, "workstation": true, "notebook": true}

func validateEnroll(r *protocol.EnrollRequest) error {
	fields := []struct {
		name     string
		v        string
		min, max int
	}{
		{"token", r.Token, 1, 256},
		{"hostname", r.Hostname, 1, 255},
		{"os", r.OS, 1, 32},
		{"platform", r.Platform, 0, 256},
		{"arch", r.Arch, 0, 32},
		{"machine_id", r.MachineID, 0, 256},
		{"role", r.Role, 0, 32},
		{"agent_version", r.AgentVersion, 0, 64},
	}
	for _, f := range fields {
		if len(f.v) < f.min || len(f.v) > f.max || !utf8.ValidString(f.v) {
			return fmt.Errorf("field %s must be %d to %d bytes of UTF-8", f.name, f.min, f.max)
		}
	}
	if len(r.PublicKey) != ed25519.PublicKeySize {
		return fmt.Errorf("public_key must be %d bytes", ed25519.PublicKeySize)
	}
	if !enrollRoles[r.Role] {
		return fmt.Errorf("unknown role %q", r.Role)
	}
	if r.DeviceID < 0 || (r.DeviceID == 0) != (len(r.Proof) == 0) || len(r.Proof) > ed25519.SignatureSize {
		return errors.New("device_id and proof go together: a device ID and an ed25519 signature")
	}
	return nil
}

// clientIP is the TCP peer; forwarded headers are not trusted because any
// client can set them.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Over its failure budget, a source gets at most enrollHeld enrollment
// requests handled at a time, and each of them that fails is answered
// only after enrollTarpit: at most enrollHeld guesses per enrollTarpit.
const (
	enrollHeld   = 4
	enrollTarpit = time.Second
)

// throttle is a token bucket per source (auth.Source) that only failed
// attempts drain, so a guesser is slowed down while a correct token always
// works at once; and, for sources whose bucket is empty, a count of their
// requests in progress (hold, release).
type throttle struct {
	mu      sync.Mutex
	burst   float64
	refill  time.Duration
	buckets map[string]*bucket
	held    map[string]int
}

type bucket struct {
	tokens float64
	at     time.Time
}

const maxThrottled = 10000

func newThrottle(burst int, refill time.Duration) *throttle {
	return &throttle{burst: float64(burst), refill: refill, buckets: map[string]*bucket{}, held: map[string]int{}}
}

// hold takes one of src's enrollHeld slots; false if all are taken.
func (t *throttle) hold(src string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held[src] >= enrollHeld {
		return false
	}
	t.held[src]++
	return true
}

// release gives back a slot that hold took.
func (t *throttle) release(src string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held[src]--; t.held[src] <= 0 {
		delete(t.held, src)
	}
}

// level refills b up to now; callers hold mu.
func (t *throttle) level(b *bucket, now time.Time) {
	b.tokens = min(t.burst, b.tokens+float64(now.Sub(b.at))/float64(t.refill))
	b.at = now
}

func (t *throttle) allow(src string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[src]
	if !ok {
		return true
	}
	t.level(b, now)
	return b.tokens >= 1
}

func (t *throttle) fail(src string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[src]
	if !ok {
		if len(t.buckets) >= maxThrottled {
			t.prune(now)
		}
		if len(t.buckets) >= maxThrottled {
			// Memory stays bounded even under attack from many addresses.
			clear(t.buckets)
		}
		b = &bucket{tokens: t.burst, at: now}
		t.buckets[src] = b
	}
	t.level(b, now)
	b.tokens = max(0, b.tokens-1)
}

// prune drops buckets that have refilled completely; callers hold mu.
func (t *throttle) prune(now time.Time) {
	for ip, b := range t.buckets {
		t.level(b, now)
		if b.tokens >= t.burst {
			delete(t.buckets, ip)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg, code string) {
	writeJSON(w, status, protocol.ErrorResponse{Error: msg, Code: code})
}
