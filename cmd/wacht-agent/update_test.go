package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/wacht-rmm/wacht/internal/release"
)

func TestReleaseKeyFlag(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	file := filepath.Join(t.TempDir(), "release.key.pub")
	os.WriteFile(file, release.MarshalPublicKey(pub), 0o644)
	for _, v := range []string{file, base64.StdEncoding.EncodeToString(pub), string(release.MarshalPublicKey(pub))} {
		var r releaseKey
		if err := r.Set(v); err != nil || !r.set || !r.key.Equal(pub) {
			t.Errorf("%q: %v %v", v, r.key, err)
		}
	}
	var r releaseKey
	if err := r.Set(""); err != nil || !r.set || r.key != nil {
		t.Errorf(`"": %v %v`, r.key, err)
	}
	for _, bad := range []string{"nope", filepath.Join(t.TempDir(), "missing.pub"), base64.StdEncoding.EncodeToString(pub[:16])} {
		if err := r.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// The hidden watchdog command is not in the usage, but exists.
	if code := run([]string{"update-watchdog", "--data", t.TempDir()}, os.Stdout, os.Stderr); code != 0 {
		t.Errorf("update-watchdog without an update: exit %d", code)
	}
}
