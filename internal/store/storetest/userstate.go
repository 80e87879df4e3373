package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// testUserDisableDelete: disabling ends sessions at once and is undone by
// enabling; deleting frees the e-mail, removes credentials and revokes
// tokens but keeps the ID taken; the last active administrator can be
// neither disabled nor deleted.
func testUserDisableDelete(t *testing.T, s core.Store) {
	a := core.User{Email: "a@example.com", Role: core.RoleAdmin, PasswordHash: "h"}
	b := core.User{Email: "b@example.com", Role: core.RoleAdmin, PasswordHash: "h"}
	tech := core.User{Email: "t@example.com", Role: core.RoleTechnician, PasswordHash: "h", Scope: core.Only(site(t, s, "Acme", "HQ").ClientID)}
	for _, u := range []*core.User{&a, &b, &tech} {
		must(t, "CreateUser", s.CreateUser(ctx, u))
	}
	must(t, "CreateSession", s.CreateSession(ctx, core.Session{Hash: []byte("sess-t"), UserID: tech.ID, ExpiresAt: t0.Add(time.Hour)}))
	tok := core.APIToken{UserID: tech.ID, Name: "t", Hash: []byte("tok-t")}
	must(t, "CreateAPIToken", s.CreateAPIToken(ctx, &tok))

	must(t, "disable technician", s.SetUserDisabled(ctx, tech.ID, true, t0))
	if u, err := s.GetUser(ctx, tech.ID); err != nil || !u.Disabled {
		t.Errorf("disabled user: %+v %v", u, err)
	}
	_, err := s.GetSession(ctx, []byte("sess-t"))
	wantErr(t, "session of a disabled user", err, core.ErrNotFound)
	must(t, "disable twice", s.SetUserDisabled(ctx, tech.ID, true, t0))
	must(t, "enable technician", s.SetUserDisabled(ctx, tech.ID, false, t0))
	if u, err := s.GetUser(ctx, tech.ID); err != nil || u.Disabled {
		t.Errorf("enabled user: %+v %v", u, err)
	}

	must(t, "disable one of two admins", s.SetUserDisabled(ctx, a.ID, true, t0))
	wantErr(t, "disable the last active admin", s.SetUserDisabled(ctx, b.ID, true, t0), core.ErrConflict)
	wantErr(t, "delete the last active admin", s.DeleteUser(ctx, b.ID, t0), core.ErrConflict)
	must(t, "delete a disabled admin", s.DeleteUser(ctx, a.ID, t0))
	wantErr(t, "enable a deleted user", s.SetUserDisabled(ctx, a.ID, false, t0), core.ErrNotFound)
	wantErr(t, "delete twice", s.DeleteUser(ctx, a.ID, t0), core.ErrNotFound)
	wantErr(t, "role of a deleted user", s.SetUserRole(ctx, a.ID, core.RoleAdmin, core.AllClients), core.ErrNotFound)
	wantErr(t, "disable an absent user", s.SetUserDisabled(ctx, 999999, true, t0), core.ErrNotFound)
	wantErr(t, "delete an absent user", s.DeleteUser(ctx, 999999, t0), core.ErrNotFound)

	must(t, "delete technician", s.DeleteUser(ctx, tech.ID, t0))
	_, err = s.GetUserByEmail(ctx, "t@example.com")
	wantErr(t, "deleted user's e-mail", err, core.ErrNotFound)
	if u, err := s.GetUser(ctx, tech.ID); err != nil || !u.Disabled || u.Email == "t@example.com" || u.PasswordHash != "" ||
		u.TOTPEnabled || u.Scope.Restricted {
		t.Errorf("deleted user: %+v %v", u, err)
	}
	if got, err := s.GetAPIToken(ctx, []byte("tok-t")); err != nil || got.RevokedAt == nil {
		t.Errorf("deleted user's token: %+v %v", got, err)
	}
	us, err := s.ListUsers(ctx)
	must(t, "ListUsers", err)
	if len(us) != 1 || us[0].ID != b.ID {
		t.Errorf("ListUsers after deletions = %+v", us)
	}
	again := core.User{Email: "t@example.com", Role: core.RoleReadOnly}
	must(t, "re-using a deleted user's e-mail", s.CreateUser(ctx, &again))
	if again.ID == tech.ID || again.ID == a.ID {
		t.Errorf("new user got the deleted user's ID %d", again.ID)
	}

	// Two administrators disabling each other at once: one stays.
	c := core.User{Email: "c@example.com", Role: core.RoleAdmin}
	must(t, "CreateUser", s.CreateUser(ctx, &c))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []int64{b.ID, c.ID} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.SetUserDisabled(ctx, id, true, t0) }()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Errorf("concurrent disabling of the two last admins: %v, %v", errs[0], errs[1])
	}
}
