package auth

import (
	"strings"
	"sync"
	"time"
)

// Limiter counts failed logins per key (the web layer uses remote address
// plus e-mail, so guessing is slowed without letting strangers lock an
// account for everyone) and refuses a key after Max failures within Window.
// It lives in memory: each server replica limits on its own.
type Limiter struct {
	Max    int
	Window time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	fails map[string][]time.Time
}

// NewLimiter returns a Limiter allowing max failures per window.
func NewLimiter(max int, window time.Duration) *Limiter {
	return &Limiter{Max: max, Window: window}
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// recent drops failures older than the window; l.mu must be held.
func (l *Limiter) recent(key string, now time.Time) []time.Time {
	fs := l.fails[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= l.Window {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = fs
	return fs
}

// Allow reports whether key may try again.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil {
		return true
	}
	return len(l.recent(key, l.now())) < l.Max
}

// Fail records a failed attempt. To bound memory, it also forgets keys whose
// failures have all expired once the map grows large.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.fails == nil {
		l.fails = map[string][]time.Time{}
	}
	if len(l.fails) > 10000 {
		for k := range l.fails {
			l.recent(k, now)
		}
	}
	l.fails[key] = append(l.recent(key, now), now)
}

// Reset forgets key's failures (after a successful login).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// LoginThrottle limits failed sign-ins per remote address (slowing one
// source guessing across many accounts) and per account (slowing many
// sources guessing one password). An attacker can thus delay an account's
// sign-in for the window; that is the price of stopping distributed
// guessing, and the window is short.
type LoginThrottle struct {
	PerIP      *Limiter
	PerAccount *Limiter
}

// NewLoginThrottle allows perIP failures per address and perAccount per
// account within window.
func NewLoginThrottle(perIP, perAccount int, window time.Duration) *LoginThrottle {
	return &LoginThrottle{PerIP: NewLimiter(perIP, window), PerAccount: NewLimiter(perAccount, window)}
}

func accountKey(account string) string { return strings.ToLower(strings.TrimSpace(account)) }

// Allow reports whether ip may try to sign in to account now.
func (t *LoginThrottle) Allow(ip, account string) bool {
	return t.PerIP.Allow(ip) && t.PerAccount.Allow(accountKey(account))
}

// Fail records a failed attempt against both.
func (t *LoginThrottle) Fail(ip, account string) {
	t.PerIP.Fail(ip)
	t.PerAccount.Fail(accountKey(account))
}

// Success forgets the account's failures; the address's stay, so that one
// valid account cannot launder guesses at others.
func (t *LoginThrottle) Success(account string) { t.PerAccount.Reset(accountKey(account)) }
