package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadsimRefusesBadArguments(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "agents.jsonl")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"loadsim", "--agents", "0", "--server", "https://127.0.0.1:1"}, "positive"},
		{[]string{"loadsim", "--agents", "5", "--cache", cache}, "not like https"},
		{[]string{"loadsim", "--agents", "5", "--server", "http://127.0.0.1:1", "--cache", cache}, "not like https"},
		{[]string{"loadsim", "--agents", "5", "--server", "https://127.0.0.1:1", "--cache", cache}, "no --token"},
		{[]string{"loadsim", "--agents", "5", "--index", "2", "--of", "2", "--server", "https://127.0.0.1:1"}, "index 2"},
		{[]string{"loadsim", "--agents", "5", "--token", "nonsense"}, "enrollment token"},
	} {
		var out, errb bytes.Buffer
		err := run(c.args, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to mention %q", c.args, err, c.want)
		}
	}
}
