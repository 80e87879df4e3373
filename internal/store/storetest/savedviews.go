package storetest

import (
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// savedViewTests are the conformance tests of core.SavedViewStore.
var savedViewTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"SavedViews", testSavedViews},
}

// testSavedViews: views are per user and sorted by name, a name is unique
// per user only, a user deletes only their own views, and deleting the
// user clears them.
func testSavedViews(t *testing.T, s core.Store) {
	a := core.User{Email: "sv-a@example.com", Role: core.RoleAdmin, PasswordHash: "h"}
	b := core.User{Email: "sv-b@example.com", Role: core.RoleAdmin, PasswordHash: "h"}
	must(t, "CreateUser a", s.CreateUser(ctx, &a))
	must(t, "CreateUser b", s.CreateUser(ctx, &b))

	offline := core.SavedView{UserID: a.ID, Name: "Offline servers", Query: "online=no&role=server", CreatedAt: t0}
	failing := core.SavedView{UserID: a.ID, Name: "Failing", Query: "status=failure&sort=last_seen&desc=1", CreatedAt: t0}
	must(t, "create offline", s.CreateSavedView(ctx, &offline))
	must(t, "create failing", s.CreateSavedView(ctx, &failing))
	if offline.ID == 0 || failing.ID == 0 || offline.ID == failing.ID {
		t.Fatalf("IDs: %d %d", offline.ID, failing.ID)
	}
	dup := core.SavedView{UserID: a.ID, Name: "Failing", Query: "status=error"}
	wantErr(t, "same name twice", s.CreateSavedView(ctx, &dup), core.ErrConflict)
	other := core.SavedView{UserID: b.ID, Name: "Failing", Query: "status=warning"}
	must(t, "same name, other user", s.CreateSavedView(ctx, &other))

	vs, err := s.ListSavedViews(ctx, a.ID)
	must(t, "ListSavedViews", err)
	if len(vs) != 2 || vs[0] != failing || vs[1] != offline {
		t.Errorf("a's views = %+v, want %+v then %+v", vs, failing, offline)
	}
	wantErr(t, "delete another user's view", s.DeleteSavedView(ctx, b.ID, failing.ID), core.ErrNotFound)
	must(t, "delete own view", s.DeleteSavedView(ctx, a.ID, failing.ID))
	wantErr(t, "delete twice", s.DeleteSavedView(ctx, a.ID, failing.ID), core.ErrNotFound)
	if vs, err := s.ListSavedViews(ctx, a.ID); err != nil || len(vs) != 1 || vs[0].ID != offline.ID {
		t.Errorf("after delete: %+v %v", vs, err)
	}

	must(t, "DeleteUser b", s.DeleteUser(ctx, b.ID, t0))
	if vs, err := s.ListSavedViews(ctx, b.ID); err != nil || len(vs) != 0 {
		t.Errorf("deleted user's views: %+v %v", vs, err)
	}
}
