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
	"github.com/wacht-rmm/wacht/internal/service"
)

// ErrAuditBroken is returned by VerifyAudit when the chain is broken.
var ErrAuditBroken = errors.New("audit log chain is broken")

// VerifyAudit walks the audit chain, reports to w and returns
// ErrAuditBroken (naming the first bad entry) if an entry was edited,
// inserted or removed.
func VerifyAudit(ctx context.Context, st core.Store, w io.Writer) error {
	bad, n, err := cliService(st, time.Now()).VerifyAudit(ctx, service.CLI)
	if err != nil {
		return err
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
func ResolveClients(ctx context.Context, st core.Store, spec string) (core.Scope, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || strings.EqualFold(spec, "all") {
		return core.AllClients, nil
	}
	cs, err := cliService(st, time.Now()).ListClients(ctx, service.CLI)
	if err != nil {
		return core.Scope{}, err
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
	return cliService(st, now).CreateUser(ctx, service.CLI, service.NewUser{Email: email, Password: password, Role: role, Scope: sc})
}

// CreateNarrowAPIToken is CreateAPIToken for a token limited to role ("" =
// the user's) and to the clients in clientSpec ("" or "all" = the user's
// scope). Neither may exceed the user's own rights.
func CreateNarrowAPIToken(ctx context.Context, st core.Store, email, name, role, clientSpec string, expires time.Duration, now time.Time) (string, core.APIToken, error) {
	if expires < 0 {
		return "", core.APIToken{}, errors.New("--expires must not be negative")
	}
	svc := cliService(st, now)
	u, err := cliUser(ctx, svc, email)
	if err != nil {
		return "", core.APIToken{}, err
	}
	sc, err := ResolveClients(ctx, st, clientSpec)
	if err != nil {
		return "", core.APIToken{}, err
	}
	if name == "" {
		name = "cli"
	}
	nt := service.NewToken{Name: name, Role: role, Scope: sc}
	if expires > 0 {
		exp := now.Add(expires)
		nt.ExpiresAt = &exp
	}
	ct, err := svc.CreateAPITokenFor(ctx, service.CLI, u, nt)
	if err != nil {
		return "", core.APIToken{}, cliError(u.Email, err)
	}
	return ct.Secret, ct.APIToken, nil
}

// User state changes of the CLI.
const (
	UserDisable = "disable"
	UserEnable  = "enable"
	UserDelete  = "delete"
)

// ChangeUser disables, enables or deletes the user with this e-mail
// through the service, audited as the CLI. The last active administrator
// can be neither disabled nor deleted.
func ChangeUser(ctx context.Context, st core.Store, email, change string, now time.Time) (core.User, error) {
	svc := cliService(st, now)
	u, err := cliUser(ctx, svc, email)
	if err != nil {
		return core.User{}, err
	}
	switch change {
	case UserDisable:
		err = svc.DisableUser(ctx, service.CLI, u.ID)
	case UserEnable:
		err = svc.EnableUser(ctx, service.CLI, u.ID)
	case UserDelete:
		err = svc.DeleteUser(ctx, service.CLI, u.ID)
	default:
		return core.User{}, fmt.Errorf("unknown user change %q", change)
	}
	if err != nil {
		return core.User{}, cliError(u.Email, err)
	}
	return u, nil
}

// cliService is the service layer as the CLI uses it: over st, without
// agents, at now.
func cliService(st core.Store, now time.Time) *service.Service {
	svc := service.New(service.Deps{Store: st})
	svc.Now = func() time.Time { return now }
	return svc
}

// cliUser finds a user by e-mail for the CLI.
func cliUser(ctx context.Context, svc *service.Service, email string) (core.User, error) {
	u, err := svc.UserByEmail(ctx, service.CLI, email)
	if errors.Is(err, core.ErrNotFound) {
		return core.User{}, fmt.Errorf("no user %s (add one with `wacht user add`)", strings.TrimSpace(email))
	}
	return u, err
}

// cliError states a refusal of the service about who with its reason,
// as the API and the dashboard do.
func cliError(who string, err error) error {
	if t, ok := service.Reason(err); ok {
		return fmt.Errorf("%s: %s", who, t.EN)
	}
	return err
}
