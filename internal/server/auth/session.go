package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Dashboard session parameters.
const (
	SessionCookie = "wacht_session"
	SessionTTL    = 12 * time.Hour
	// CSRFField and CSRFHeader carry a session's CSRF token on every POST:
	// the field in plain forms, the header in htmx requests.
	CSRFField  = "csrf"
	CSRFHeader = "X-CSRF-Token"
)

// Sessions creates, finds and ends dashboard sessions. The cookie holds a
// random secret; the store keeps only its hash, so a leaked database does not
// yield usable cookies.
type Sessions struct {
	Users core.UserStore
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Create starts a password session for userID and sets its cookie on w.
func (s *Sessions) Create(ctx context.Context, w http.ResponseWriter, userID int64) (core.Session, error) {
	return s.Start(ctx, w, core.Session{UserID: userID})
}

// Start stores a session like sess (a single sign-on session names its
// provider) with a fresh secret, CSRF token and lifetime, and sets its
// cookie on w.
func (s *Sessions) Start(ctx context.Context, w http.ResponseWriter, sess core.Session) (core.Session, error) {
	secret := NewSecret("was_")
	now := s.now().UTC().Truncate(time.Millisecond)
	sess.Hash, sess.CSRF = HashSecret(secret), NewSecret("")
	sess.CreatedAt, sess.ExpiresAt = now, now.Add(SessionTTL)
	if err := s.Users.CreateSession(ctx, sess); err != nil {
		return core.Session{}, fmt.Errorf("creating session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    secret,
		Path:     "/",
		Expires:  sess.ExpiresAt,
		MaxAge:   int(SessionTTL / time.Second),
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return sess, nil
}

// Lookup returns the user and session of the request's cookie, the user's
// ProviderMFA taken from the session. It returns
// core.ErrUnauthorized when there is no cookie, or the session is unknown or
// expired, or its user is disabled.
func (s *Sessions) Lookup(ctx context.Context, r *http.Request) (core.User, core.Session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return core.User{}, core.Session{}, core.ErrUnauthorized
	}
	sess, err := s.Users.GetSession(ctx, HashSecret(c.Value))
	if errors.Is(err, core.ErrNotFound) {
		return core.User{}, core.Session{}, core.ErrUnauthorized
	}
	if err != nil {
		return core.User{}, core.Session{}, fmt.Errorf("looking up session: %w", err)
	}
	if !s.now().Before(sess.ExpiresAt) {
		return core.User{}, core.Session{}, core.ErrUnauthorized
	}
	u, err := s.Users.GetUser(ctx, sess.UserID)
	if errors.Is(err, core.ErrNotFound) || (err == nil && u.Disabled) {
		return core.User{}, core.Session{}, core.ErrUnauthorized
	}
	if err != nil {
		return core.User{}, core.Session{}, fmt.Errorf("looking up session user: %w", err)
	}
	u.ProviderMFA = sess.ProviderMFA
	return u, sess, nil
}

// Destroy ends the request's session (if any) and clears its cookie.
func (s *Sessions) Destroy(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	if err := s.Users.DeleteSession(ctx, HashSecret(c.Value)); err != nil && !errors.Is(err, core.ErrNotFound) {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}

// CheckCSRF verifies that a state-changing request carries want, in the
// X-CSRF-Token header (htmx) or the csrf form field. It returns
// core.ErrForbidden otherwise.
func CheckCSRF(r *http.Request, want string) error {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue(CSRFField)
	}
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return core.ErrForbidden
	}
	return nil
}
