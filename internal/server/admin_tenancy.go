package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// ErrAuditBroken is returned by VerifyAudit when the chain is broken.
var ErrAuditBroken = errors.New("audit log chain is broken")

// VerifyAudit walks the audit chain, reports to w and returns
// ErrAuditBroken (naming the first bad entry) if an entry was edited,
// inserted or removed.
func VerifyAudit(ctx context.Context, st core.Store, w io.Writer) error {
	bad, n, err := st.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("verifying audit log: %w", err)
	}
	if bad != 0 {
		fmt.Fprintf(w, "Audit log BROKEN at entry %d (after %d entries checked): it or an entry before it was changed or removed.\n", bad, n-1)
		return fmt.Errorf("%w at entry %d", ErrAuditBroken, bad)
	}
	fmt.Fprintf(w, "Audit log intact: %d chained entries verified.\n", n)
	return nil
}

// ResolveClients turns a comma-separated list of client IDs or names into
// a restricted scope; "" or "all" is every client.
func ResolveClients(ctx context.Context, st core.TenantStore, spec string) (core.Scope, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || strings.EqualFold(spec, "all") {
		return core.AllClients, nil
	}
	cs, err := st.ListClients(ctx)
	if err != nil {
		return core.Scope{}, fmt.Errorf("listing clients: %w", err)
	}
	sc := core.Scope{Restricted: true}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		found := false
		for _, c := range cs {
			if strconv.FormatInt(c.ID, 10) == item || strings.EqualFold(c.Name, item) {
				sc.Clients, found = append(sc.Clients, c.ID), true
				break
			}
		}
		if !found {
			return core.Scope{}, fmt.Errorf("client %q not found", item)
		}
	}
	return sc, nil
}

// AddUserScoped is AddUser with a client scope (ignored for admins).
func AddUserScoped(ctx context.Context, st core.Store, email, role, password string, sc core.Scope, now time.Time) (core.User, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return core.User{}, err
	}
	if !ValidRole(role) {
		return core.User{}, fmt.Errorf("role %q: must be admin, technician or readonly", role)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return core.User{}, err
	}
	u := core.User{Email: email, PasswordHash: hash, Role: role, CreatedAt: now, Scope: sc}
	if err := st.CreateUser(ctx, &u); err != nil {
		if errors.Is(err, core.ErrConflict) {
			return core.User{}, fmt.Errorf("user %s already exists", email)
		}
		return core.User{}, fmt.Errorf("creating user: %w", err)
	}
	detail := "role=" + role
	if u.Scope.Restricted {
		ids := make([]string, len(u.Scope.Clients))
		for i, c := range u.Scope.Clients {
			ids[i] = strconv.FormatInt(c, 10)
		}
		detail += " clients=" + strings.Join(ids, ",")
	}
	return u, audit(ctx, st, now, "user.create", "user:"+email, detail)
}

// CreateNarrowAPIToken is CreateAPIToken for a token limited to role ("" =
// the user's) and to the clients in clientSpec ("" or "all" = the user's
// scope). Neither may exceed the user's own rights.
func CreateNarrowAPIToken(ctx context.Context, st core.Store, email, name, role, clientSpec string, expires time.Duration, now time.Time) (string, core.APIToken, error) {
	u, err := st.GetUserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if errors.Is(err, core.ErrNotFound) {
		return "", core.APIToken{}, fmt.Errorf("no user %s (add one with `wacht user add`)", email)
	}
	if err != nil {
		return "", core.APIToken{}, fmt.Errorf("finding user: %w", err)
	}
	if err := canHaveToken(ctx, st, u); err != nil {
		return "", core.APIToken{}, err
	}
	if role != "" && (!ValidRole(role) || core.RoleRank(role) > core.RoleRank(u.Role)) {
		return "", core.APIToken{}, fmt.Errorf("--role %q: must be a role no higher than the user's (%s)", role, u.Role)
	}
	sc, err := ResolveClients(ctx, st, clientSpec)
	if err != nil {
		return "", core.APIToken{}, err
	}
	for _, c := range sc.Clients {
		if !u.Scope.Has(c) {
			return "", core.APIToken{}, fmt.Errorf("--clients: client %d is outside the user's scope", c)
		}
	}
	if role == "" && !sc.Restricted {
		return CreateAPIToken(ctx, st, email, name, expires, now)
	}
	if expires < 0 {
		return "", core.APIToken{}, errors.New("--expires must not be negative")
	}
	if name == "" {
		name = "cli"
	}
	secret := auth.NewSecret(auth.APITokenPrefix)
	t := core.APIToken{UserID: u.ID, Name: name, Hash: auth.HashSecret(secret), CreatedAt: now, Role: role, Scope: u.Scope.Intersect(sc)}
	if expires > 0 {
		exp := now.Add(expires)
		t.ExpiresAt = &exp
	}
	if err := st.CreateAPIToken(ctx, &t); err != nil {
		return "", core.APIToken{}, fmt.Errorf("creating API token: %w", err)
	}
	if err := audit(ctx, st, now, "apitoken.create", fmt.Sprintf("apitoken:%d", t.ID),
		fmt.Sprintf("user=%s name=%q role=%s clients=%s expires=%s", u.Email, name, role, clientSpec, fmtTime(t.ExpiresAt))); err != nil {
		return "", core.APIToken{}, err
	}
	return secret, t, nil
}

// User state changes of the CLI.
const (
	UserDisable = "disable"
	UserEnable  = "enable"
	UserDelete  = "delete"
)

// ChangeUser disables, enables or deletes the user with this e-mail (see
// core.AccessStore) and audits it. The last active administrator can be
// neither disabled nor deleted.
func ChangeUser(ctx context.Context, st core.Store, email, change string, now time.Time) (core.User, error) {
	u, err := st.GetUserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if errors.Is(err, core.ErrNotFound) {
		return core.User{}, fmt.Errorf("no user %s", email)
	}
	if err != nil {
		return core.User{}, fmt.Errorf("finding user: %w", err)
	}
	switch change {
	case UserDisable, UserEnable:
		err = st.SetUserDisabled(ctx, u.ID, change == UserDisable, now)
	case UserDelete:
		err = st.DeleteUser(ctx, u.ID, now)
	default:
		return core.User{}, fmt.Errorf("unknown user change %q", change)
	}
	if errors.Is(err, core.ErrConflict) {
		return core.User{}, fmt.Errorf("%s is the last active administrator and cannot be disabled or deleted: make another user administrator first", u.Email)
	}
	if err != nil {
		return core.User{}, fmt.Errorf("%s user %s: %w", change, u.Email, err)
	}
	return u, audit(ctx, st, now, "user."+change, "user:"+strconv.FormatInt(u.ID, 10), u.Email)
}
