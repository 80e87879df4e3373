package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/wacht-rmm/wacht/internal/core"
)

// ErrBadCredentials is the one answer to a failed login, whether the e-mail
// is unknown or the password wrong, so logins do not reveal accounts.
var ErrBadCredentials = fmt.Errorf("wrong e-mail or password: %w", core.ErrUnauthorized)

var (
	dummyOnce sync.Once
	dummyHash string
)

// dummy returns a valid hash to verify against for unknown e-mails, so that
// they cost as much time as known ones.
func dummy() string {
	dummyOnce.Do(func() {
		h, err := HashPassword(RandomPassword())
		if err != nil {
			panic(err)
		}
		dummyHash = h
	})
	return dummyHash
}

// Login checks an e-mail and password. It returns ErrBadCredentials for an
// unknown e-mail, a wrong password or a disabled user (the answer does not
// tell them apart) and runs an argon2id verification in every case.
func Login(ctx context.Context, users core.UserStore, email, password string) (core.User, error) {
	email = strings.TrimSpace(email)
	u, err := users.GetUserByEmail(ctx, email)
	switch {
	case errors.Is(err, core.ErrNotFound):
		VerifyPassword(dummy(), password)
		return core.User{}, ErrBadCredentials
	case err != nil:
		return core.User{}, fmt.Errorf("looking up user: %w", err)
	}
	if !VerifyPassword(u.PasswordHash, password) || u.Disabled {
		return core.User{}, ErrBadCredentials
	}
	return u, nil
}
