package main

import (
	"bytes"
	"os"
	"testing"
)

// TestChecksDocCurrent fails when docs/checks.md is not what the
// declarations generate: run `go generate ./internal/checkspec`.
func TestChecksDocCurrent(t *testing.T) {
	const path = "../../../docs/checks.md"
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := render(); !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run `go generate ./internal/checkspec`", path)
	}
}
