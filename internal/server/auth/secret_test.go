package auth

import (
	"strings"
	"testing"
)

// testCost is authtest.Cost, which this package's tests cannot import: its
// users need a real hash, not an expensive one.
var testCost = Cost{Time: 1, Memory: 8, Threads: 1}

// TestHashPasswordCost pins the production cost (a cheaper test cost must
// never leak into HashPassword) and checks that a hash records its cost, so
// VerifyPassword accepts hashes of any valid cost.
func TestHashPasswordCost(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("HashPassword = %q, want RFC 9106's m=65536,t=3,p=2", h)
	}
	if !VerifyPassword(h, "correct horse") {
		t.Error("default-cost hash does not verify its password")
	}

	h, err = testCost.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=8,t=1,p=1$") {
		t.Errorf("Cost.Hash = %q, want m=8,t=1,p=1", h)
	}
	if !VerifyPassword(h, "correct horse") || VerifyPassword(h, "wrong horse") {
		t.Error("cheap hash does not verify exactly its password")
	}

	for _, c := range []Cost{{}, {Time: 1, Memory: 8}, {Time: 1, Threads: 1}, {Memory: 64, Threads: 1}, {Time: 1, Memory: 15, Threads: 2}} {
		if h, err := c.Hash("correct horse"); err == nil {
			t.Errorf("%+v.Hash = %q, want an error for an invalid cost", c, h)
		}
	}
	if _, err := testCost.Hash("short"); err == nil {
		t.Error("a password under 8 characters was hashed")
	}
}
