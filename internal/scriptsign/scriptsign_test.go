package scriptsign

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestSignVerify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.key")
	pub, err := GenerateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateKeyFile(path); err == nil {
		t.Error("an existing key file was overwritten")
	}
	key, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := ParsePublic(EncodePublic(pub))
	if err != nil || !p2.Equal(pub) {
		t.Fatalf("public key round trip: %v", err)
	}
	sig := Sign(key, "bash", "echo hallo\n")
	if err := Verify(pub, "bash", "echo hallo\n", sig); err != nil {
		t.Errorf("valid signature refused: %v", err)
	}
	for _, tc := range []struct{ lang, body, sig string }{
		{"bash", "echo hallo; rm -rf /\n", sig}, // other body
		{"python", "echo hallo\n", sig},         // other language
		{"bash", "echo hallo\n", "AAAA"},
		{"bash", "echo hallo\n", "nicht base64!"},
	} {
		if err := Verify(pub, tc.lang, tc.body, tc.sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%q %q %q: %v, want ErrBadSignature", tc.lang, tc.body, tc.sig, err)
		}
	}
	if err := Verify(pub, "bash", "x", ""); !errors.Is(err, ErrUnsigned) {
		t.Errorf("no signature: %v", err)
	}
	if _, err := ParsePublic("abc"); err == nil {
		t.Error("a short public key was accepted")
	}
}
