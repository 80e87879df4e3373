package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestPasswordCost: a Service hashes new users' passwords at the server's
// argon2id cost unless its Deps name another (tests do, to save CPU), and
// either hash signs the user in.
func TestPasswordCost(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		cost auth.Cost
		want string
	}{
		{auth.Cost{}, "$argon2id$v=19$m=65536,t=3,p=2$"},
		{authtest.Cost, "$argon2id$v=19$m=8,t=1,p=1$"},
	} {
		st := storetest.NewSQLite(t)
		svc := service.New(service.Deps{Store: st, PasswordCost: c.cost})
		if _, err := svc.CreateUser(ctx, service.CLI, service.NewUser{Email: "a@example.com", Password: "long enough", Role: core.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		u, err := st.GetUserByEmail(ctx, "a@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.PasswordHash, c.want) {
			t.Errorf("cost %+v: stored hash %q, want prefix %q", c.cost, u.PasswordHash, c.want)
		}
		if _, err := auth.Login(ctx, st, "a@example.com", "long enough"); err != nil {
			t.Errorf("cost %+v: login: %v", c.cost, err)
		}
	}
}
