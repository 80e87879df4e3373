// Package sharedtest finds the project's shared test material (real
// captures, tools) that lives next to the project in ../shared, for tests
// only. A test that needs it and cannot find it skips, and fails when CI
// is set: CI has it.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Find returns the path of rel (e.g. "testdata/evtx") under shared/ in the
// working directory or its nearest ancestor that has it, or "" when none
// has.
func Find(rel string) string {
	d, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		c := filepath.Join(d, "shared", rel)
		if _, err := os.Stat(c); err == nil {
			return c
		}
		up := filepath.Dir(d)
		if up == d {
			return ""
		}
		d = up
	}
}

// Unavailable skips t for why, or fails it when CI is set.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}
