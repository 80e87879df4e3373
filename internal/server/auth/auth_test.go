package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// fakeUsers is an in-memory core.UserStore for the parts auth uses.
type fakeUsers struct {
	core.UserStore
	users    map[int64]core.User
	tokens   map[string]core.APIToken
	sessions map[string]core.Session
}

func newFakeUsers() *fakeUsers {
	return &fakeUsers{users: map[int64]core.User{}, tokens: map[string]core.APIToken{}, sessions: map[string]core.Session{}}
}

func (f *fakeUsers) GetUser(_ context.Context, id int64) (core.User, error) {
	u, ok := f.users[id]
	if !ok {
		return u, core.ErrNotFound
	}
	return u, nil
}

func (f *fakeUsers) GetUserByEmail(_ context.Context, email string) (core.User, error) {
	for _, u := range f.users {
		if u.Email == email {
			return u, nil
		}
	}
	return core.User{}, core.ErrNotFound
}

func (f *fakeUsers) GetAPIToken(_ context.Context, hash []byte) (core.APIToken, error) {
	t, ok := f.tokens[string(hash)]
	if !ok {
		return t, core.ErrNotFound
	}
	return t, nil
}

func (f *fakeUsers) CreateSession(_ context.Context, s core.Session) error {
	f.sessions[string(s.Hash)] = s
	return nil
}

func (f *fakeUsers) GetSession(_ context.Context, hash []byte) (core.Session, error) {
	s, ok := f.sessions[string(hash)]
	if !ok {
		return s, core.ErrNotFound
	}
	return s, nil
}

func (f *fakeUsers) DeleteSession(_ context.Context, hash []byte) error {
	delete(f.sessions, string(hash))
	return nil
}

func TestLogin(t *testing.T) {
	f := newFakeUsers()
	h, err := testCost.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	f.users[1] = core.User{ID: 1, Email: "a@example.com", PasswordHash: h, Role: core.RoleAdmin}
	ctx := context.Background()
	if u, err := Login(ctx, f, " a@example.com ", "correct horse"); err != nil || u.ID != 1 {
		t.Fatalf("good login: %v %v", u, err)
	}
	for _, c := range [][2]string{{"a@example.com", "wrong pass"}, {"b@example.com", "correct horse"}} {
		_, err := Login(ctx, f, c[0], c[1])
		if !errors.Is(err, ErrBadCredentials) || !errors.Is(err, core.ErrUnauthorized) {
			t.Errorf("Login(%q, %q) = %v, want ErrBadCredentials", c[0], c[1], err)
		}
	}
}

func TestBearerUser(t *testing.T) {
	f := newFakeUsers()
	f.users[7] = core.User{ID: 7, Email: "t@example.com", Role: core.RoleTechnician}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	good, revoked, expired, later := NewSecret("wat_"), NewSecret("wat_"), NewSecret("wat_"), NewSecret("wat_")
	f.tokens[string(HashSecret(good))] = core.APIToken{UserID: 7}
	f.tokens[string(HashSecret(revoked))] = core.APIToken{UserID: 7, RevokedAt: &past}
	f.tokens[string(HashSecret(expired))] = core.APIToken{UserID: 7, ExpiresAt: &past}
	f.tokens[string(HashSecret(later))] = core.APIToken{UserID: 7, ExpiresAt: &future}

	for _, c := range []struct {
		header string
		ok     bool
	}{
		{"Bearer " + good, true},
		{"bearer " + later, true},
		{"", false},
		{good, false},
		{"Basic " + good, false},
		{"Bearer " + revoked, false},
		{"Bearer " + expired, false},
		{"Bearer " + NewSecret("wat_"), false},
		{"Bearer " + strings.TrimPrefix(good, "wat_"), false},
	} {
		r := httptest.NewRequest("GET", "/api/v1/devices", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		u, err := BearerUser(context.Background(), f, r.Header.Get("Authorization"), now)
		if c.ok && (err != nil || u.ID != 7) {
			t.Errorf("%q: got %v, %v; want user 7", c.header, u, err)
		}
		if !c.ok && !errors.Is(err, core.ErrUnauthorized) {
			t.Errorf("%q: got %v, want ErrUnauthorized", c.header, err)
		}
	}
}

func TestSessions(t *testing.T) {
	f := newFakeUsers()
	f.users[3] = core.User{ID: 3, Email: "s@example.com"}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &Sessions{Users: f, Now: func() time.Time { return now }}
	ctx := context.Background()

	rec := httptest.NewRecorder()
	sess, err := s.Create(ctx, rec, 3)
	if err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("got %d cookies", len(cookies))
	}
	c := cookies[0]
	if c.Name != SessionCookie || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("cookie attributes: %+v", c)
	}
	if _, stored := f.sessions[c.Value]; stored {
		t.Error("cookie value stored in clear")
	}
	if sess.CSRF == "" || !sess.ExpiresAt.Equal(now.Add(SessionTTL)) {
		t.Errorf("session: %+v", sess)
	}

	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(c)
	if u, _, err := s.Lookup(ctx, req); err != nil || u.ID != 3 {
		t.Fatalf("Lookup: %v %v", u, err)
	}

	bad := httptest.NewRequest("GET", "/", nil)
	bad.AddCookie(&http.Cookie{Name: SessionCookie, Value: "was_nope"})
	if _, _, err := s.Lookup(ctx, bad); !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("unknown cookie: %v", err)
	}
	if _, _, err := s.Lookup(ctx, httptest.NewRequest("GET", "/", nil)); !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("no cookie: %v", err)
	}

	now = now.Add(SessionTTL)
	if _, _, err := s.Lookup(ctx, req); !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("expired session: %v", err)
	}
	now = now.Add(-time.Hour)

	if err := s.Destroy(ctx, httptest.NewRecorder(), req); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Lookup(ctx, req); !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("after Destroy: %v", err)
	}
}

func TestCheckCSRF(t *testing.T) {
	form := func(v string) *http.Request {
		r := httptest.NewRequest("POST", "/x", strings.NewReader(url.Values{CSRFField: {v}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	if err := CheckCSRF(form("tok"), "tok"); err != nil {
		t.Errorf("form field: %v", err)
	}
	h := httptest.NewRequest("POST", "/x", nil)
	h.Header.Set(CSRFHeader, "tok")
	if err := CheckCSRF(h, "tok"); err != nil {
		t.Errorf("header: %v", err)
	}
	for name, r := range map[string]*http.Request{
		"wrong":   form("other"),
		"missing": httptest.NewRequest("POST", "/x", nil),
		"empty":   form(""),
	} {
		if err := CheckCSRF(r, "tok"); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%s: got %v, want ErrForbidden", name, err)
		}
	}
	if err := CheckCSRF(form(""), ""); err == nil {
		t.Error("empty want accepted")
	}
}

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(3, 10*time.Minute)
	l.Now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if !l.Allow("a") {
			t.Fatalf("refused after %d failures", i)
		}
		l.Fail("a")
		now = now.Add(time.Minute)
	}
	if l.Allow("a") {
		t.Error("allowed after 3 failures")
	}
	if !l.Allow("b") {
		t.Error("other key refused")
	}
	now = now.Add(7 * time.Minute) // only the first failure is 10 minutes old
	if !l.Allow("a") {
		t.Error("old failure still counted")
	}
	l.Fail("a")
	if l.Allow("a") {
		t.Error("allowed again after a new failure")
	}
	l.Reset("a")
	if !l.Allow("a") {
		t.Error("refused after Reset")
	}
}
