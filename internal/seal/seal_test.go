package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadKeyCreatesOnceWith0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", KeyFile)
	b1, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Errorf("key file mode %v size %d, want 0600 and 32", fi.Mode().Perm(), fi.Size())
	}
	sealed, err := b1.Seal([]byte("geheim"))
	if err != nil {
		t.Fatal(err)
	}
	b2, err := LoadKey(path) // the same key again
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b2.Open(sealed); err != nil || string(got) != "geheim" {
		t.Errorf("Open with reloaded key = %q, %v", got, err)
	}
	other, _ := LoadKey(filepath.Join(t.TempDir(), KeyFile))
	if _, err := other.Open(sealed); err == nil {
		t.Error("a different key opened the secret")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := b2.Open(sealed); err == nil {
		t.Error("a tampered secret opened")
	}
}

func TestSealText(t *testing.T) {
	b, err := LoadKey(filepath.Join(t.TempDir(), KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	v, err := b.SealText("smtp-Passw0rt")
	if err != nil {
		t.Fatal(err)
	}
	if !IsSealed(v) || strings.Contains(v, "smtp-Passw0rt") {
		t.Fatalf("sealed text %q", v)
	}
	if again, _ := b.SealText("smtp-Passw0rt"); again == v {
		t.Error("sealing twice gave the same text (nonce reused)")
	}
	if got, err := b.OpenText(v); err != nil || got != "smtp-Passw0rt" {
		t.Errorf("OpenText = %q, %v", got, err)
	}
	if v, err := b.SealText(""); v != "" || err != nil {
		t.Errorf(`SealText("") = %q, %v`, v, err)
	}
	if got, err := b.OpenText(""); got != "" || err != nil {
		t.Errorf(`OpenText("") = %q, %v`, got, err)
	}
	if _, err := b.OpenText("clear-text"); !errors.Is(err, ErrNotSealed) {
		t.Errorf("OpenText of clear text: %v, want ErrNotSealed", err)
	}
	if _, err := b.OpenText(TextPrefix + "!!"); err == nil {
		t.Error("OpenText of bad base64 gave no error")
	}
	other, _ := NewBox([]byte(strings.Repeat("k", 32)))
	if _, err := other.OpenText(v); err == nil {
		t.Error("another key opened the text")
	}
}

func TestNewBoxWantsThirtyTwoBytes(t *testing.T) {
	if _, err := NewBox(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}

// Derive: the same key file gives the same key per purpose on every node;
// another purpose or another key file gives another one, and none is the
// sealing key.
func TestDerive(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	a, _ := NewBox(k1)
	b, _ := NewBox(bytes.Clone(k1))
	c, _ := NewBox(k2)
	relay := a.Derive("cluster-relay")
	if len(relay) != 32 || !bytes.Equal(relay, b.Derive("cluster-relay")) {
		t.Fatalf("same key file, same purpose: %x and %x", relay, b.Derive("cluster-relay"))
	}
	for name, other := range map[string][]byte{
		"another purpose":  a.Derive("other"),
		"another key file": c.Derive("cluster-relay"),
		"the sealing key":  k1,
	} {
		if bytes.Equal(relay, other) {
			t.Errorf("%s gives the same key", name)
		}
	}
}
