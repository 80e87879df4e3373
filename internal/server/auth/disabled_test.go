package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestDisabledUserLocksOutEverywhere: a disabled user's password, API
// token and still-stored session are all refused.
func TestDisabledUserLocksOutEverywhere(t *testing.T) {
	f := newFakeUsers()
	h, err := testCost.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	f.users[3] = core.User{ID: 3, Email: "d@example.com", PasswordHash: h, Role: core.RoleAdmin, Disabled: true}
	ctx := context.Background()
	if _, err := Login(ctx, f, "d@example.com", "correct horse"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("disabled user's login: %v", err)
	}
	tok := NewSecret(APITokenPrefix)
	f.tokens[string(HashSecret(tok))] = core.APIToken{UserID: 3}
	r := httptest.NewRequest("GET", "/api/v1/devices", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if _, err := BearerUser(ctx, f, r.Header.Get("Authorization"), time.Now()); !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("disabled user's API token: %v", err)
	}
	s := &Sessions{Users: f}
	rec := httptest.NewRecorder()
	if _, err := s.Create(ctx, rec, 3); err != nil {
		t.Fatal(err)
	}
	r = httptest.NewRequest("GET", "/", nil)
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(c)
	}
	if _, _, err := s.Lookup(ctx, r); !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("disabled user's session: %v", err)
	}
}
