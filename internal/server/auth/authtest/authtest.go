// Package authtest gives tests cheap password hashes. The server's argon2id
// cost (64 MiB, three passes) takes about 0.2 s of CPU for every hash and
// every sign-in, which made up most of the dashboard tests' time; a test's
// users need a real hash, not an expensive one.
package authtest

import (
	"testing"

	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// Cost is the cheapest cost argon2id allows, for tests' users only: pass it
// where a test builds a service (service.Deps.PasswordCost).
var Cost = auth.Cost{Time: 1, Memory: 8, Threads: 1}

// Hash returns pw hashed at Cost, which auth.VerifyPassword and auth.Login
// accept like any other hash.
func Hash(t testing.TB, pw string) string {
	t.Helper()
	h, err := Cost.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
