package auth

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Limiter counts failed logins per key (LoginThrottle uses source address
// plus e-mail, and source address alone, so guessing is slowed without
// letting strangers lock an account for everyone) and refuses a key after
// Max failures within Window.
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

// Source is the throttling key of a client address: an IPv4 address as it
// is, an IPv6 address as its /64 (one host or home line commonly holds a
// whole /64, so single IPv6 addresses would let it guess without limit).
// Anything that does not parse is used as it is.
func Source(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// LoginThrottle limits failed sign-ins per source and account (slowing one
// source guessing one account's password) and per source over all accounts
// (slowing one source trying many accounts); sources are Source keys. It
// never counts per account alone: then anyone could lock the real user out
// by failing on purpose, while the real user, signing in from another
// address, is not slowed by what others do. Guessing stays bounded per
// source: perAccount tries per account and perSource tries over all
// accounts per window.
type LoginThrottle struct {
	PerSource        *Limiter
	PerSourceAccount *Limiter
}

// NewLoginThrottle allows perSource failures per source over all accounts
// and perAccount per source and account within window.
func NewLoginThrottle(perSource, perAccount int, window time.Duration) *LoginThrottle {
	return &LoginThrottle{PerSource: NewLimiter(perSource, window), PerSourceAccount: NewLimiter(perAccount, window)}
}

// sourceAccount is the PerSourceAccount key of ip and account.
func sourceAccount(ip, account string) string {
	return Source(ip) + " " + strings.ToLower(strings.TrimSpace(account))
}

// Allow reports whether ip may try to sign in to account now.
func (t *LoginThrottle) Allow(ip, account string) bool {
	return t.PerSource.Allow(Source(ip)) && t.PerSourceAccount.Allow(sourceAccount(ip, account))
}

// Fail records a failed attempt against both.
func (t *LoginThrottle) Fail(ip, account string) {
	t.PerSource.Fail(Source(ip))
	t.PerSourceAccount.Fail(sourceAccount(ip, account))
}

// Success forgets the failures of ip on account; the source's failures over
// all accounts stay, so that one valid account cannot launder guesses at
// others.
func (t *LoginThrottle) Success(ip, account string) {
	t.PerSourceAccount.Reset(sourceAccount(ip, account))
}
