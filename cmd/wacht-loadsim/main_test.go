package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// isolateCache points the user cache folder into a temporary folder and
// returns the default agent cache file there.
func isolateCache(t *testing.T) string {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	t.Setenv("LocalAppData", filepath.Join(home, "cache"))
	userCache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(userCache, "wacht", "loadsim-agents.jsonl")
}

func TestRefusesBadArguments(t *testing.T) {
	isolateCache(t)
	cache := filepath.Join(t.TempDir(), "agents.jsonl")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--agents", "0", "--server", "https://127.0.0.1:1"}, "positive"},
		{[]string{"--agents", "5", "--cache", cache}, "not like https"},
		{[]string{"--agents", "5", "--server", "http://127.0.0.1:1", "--cache", cache}, "not like https"},
		{[]string{"--agents", "5", "--server", "https://127.0.0.1:1", "--cache", cache}, "no --token"},
		{[]string{"--agents", "5", "--index", "2", "--of", "2", "--server", "https://127.0.0.1:1"}, "index 2"},
		{[]string{"--agents", "5", "--token", "nonsense"}, "enrollment token"},
		{[]string{"--agents", "5", "extra"}, "no arguments"},
	} {
		var out, errb bytes.Buffer
		err := run(c.args, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to mention %q", c.args, err, c.want)
		}
	}
}

// TestCacheDefaultsToTheUserCacheFolder keeps the agent cache out of the
// folder the simulator happens to run in.
func TestCacheDefaultsToTheUserCacheFolder(t *testing.T) {
	want := isolateCache(t)
	t.Chdir(t.TempDir())
	var out, errb bytes.Buffer
	err := run([]string{"--agents", "5", "--server", "https://127.0.0.1:1"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "no --token") || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want the missing token for an agent not in %s", err, want)
	}
	if _, err := os.Stat(want); err != nil {
		t.Errorf("cache not created in the user cache folder: %v", err)
	}
	if _, err := os.Stat("loadsim-agents.jsonl"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a cache file appeared in the current folder (stat: %v)", err)
	}
}
