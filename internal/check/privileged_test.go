package check

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestPrivileged(t *testing.T) {
	// "privileged" comes from the declaration, nested in lists of
	// objects too, compared with the declared default.
	spec := &Spec{Name: "privtest", Params: []Param{
		{Name: "binary", Type: Text, Privileged: Executable},
		{Name: "items", Type: List, Items: &Param{Type: Object, Fields: []Param{
			{Name: "path", Type: Text, Privileged: ReadPath},
			{Name: "other", Type: Integer},
		}}},
		{Name: "mode", Type: Choice, Choices: []string{"watch", "fix"}, Default: "watch", Privileged: Changes},
		{Name: "limits", Type: Object, Fields: []Param{{Name: "count", Type: Integer, Default: 3, Privileged: Changes}}},
	}}
	for _, tc := range []struct {
		raw  string
		want []Setting
	}{
		{``, nil},
		{`null`, nil},
		{`{}`, nil},
		{`{"binary":"","items":[],"mode":"watch"}`, nil},
		{`{"binary":null,"items":[{"path":""},{"other":1}]}`, nil},
		{`{"binary":"/tmp/x.sh"}`, []Setting{{"binary", Executable}}},
		{`{"items":[{"path":"/a"},{},{"path":"/b"}],"mode":"fix"}`, []Setting{{"items[0].path", ReadPath}, {"items[2].path", ReadPath}, {"mode", Changes}}},
		{`{"items":{"path":"/a"}}`, []Setting{{"items", ReadPath}}}, // not a list: refused by the check, counted as set
		{`{"binary":["/tmp/x.sh"]}`, []Setting{{"binary", Executable}}},
		{`{"limits":{"count":3}}`, nil},
		{`{"limits":{"count":4}}`, []Setting{{"limits.count", Changes}}},
	} {
		got, err := spec.Privileged(json.RawMessage(tc.raw))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.raw, got, err, tc.want)
		}
	}
	if _, err := spec.Privileged(json.RawMessage(`[1]`)); err == nil {
		t.Error("a list as parameters: no error")
	}
}

func TestAllowlist(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("paths below are Unix paths")
	}
	dir := t.TempDir()
	tool := filepath.Join(dir, "bin", "tool")
	other := filepath.Join(dir, "other", "tool")
	for _, p := range []string{tool, other} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	os.WriteFile(filepath.Join(logs, "app.log"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("x"), 0o600)
	os.Symlink(filepath.Join(dir, "secret"), filepath.Join(logs, "link"))
	prev := SetAllowlist(Allowlist{Executables: []string{filepath.Join(dir, "bin")}, Paths: []string{logs}})
	t.Cleanup(func() { SetAllowlist(prev) })

	notAllowed := func(err error, kind Kind) bool {
		var nae *NotAllowedError
		return errors.As(err, &nae) && nae.Kind == kind && strings.Contains(ErrorText(err).DE, "lokale Konfiguration")
	}
	if cmd, err := Command(context.Background(), tool); err != nil || cmd.Path != tool {
		t.Errorf("allowed tool: %v", err)
	} else if out, err := cmd.Output(); err != nil || string(out) != "hi\n" {
		t.Errorf("running it: %q %v", out, err)
	}
	for _, p := range []string{other, filepath.Join(dir, "bin", "..", "other", "tool"), filepath.Join(dir, "binx"), "relative/tool"} {
		if _, err := Command(context.Background(), p); !notAllowed(err, Executable) {
			t.Errorf("Command(%s): %v, want refused", p, err)
		}
	}
	// A bare name is looked up in PATH and the program found is checked.
	t.Setenv("PATH", filepath.Join(dir, "other"))
	if _, err := Command(context.Background(), "tool"); !notAllowed(err, Executable) || !strings.Contains(err.Error(), other) {
		t.Errorf("tool from PATH outside the allowlist: %v", err)
	}
	t.Setenv("PATH", filepath.Join(dir, "bin"))
	if _, err := Command(context.Background(), "tool"); err != nil {
		t.Errorf("tool from PATH in the allowlist: %v", err)
	}

	if err := Readable(filepath.Join(logs, "app.log")); err != nil {
		t.Errorf("allowed file: %v", err)
	}
	if err := Readable(logs); err != nil {
		t.Errorf("allowed folder: %v", err)
	}
	for _, p := range []string{filepath.Join(dir, "secret"), filepath.Join(logs, "..", "secret"), filepath.Join(logs, "link"), logs + "x", "logs/app.log"} {
		if err := Readable(p); !notAllowed(err, ReadPath) {
			t.Errorf("Readable(%s): %v, want refused", p, err)
		}
	}
	if err := (Allowlist{Paths: []string{"var/log"}}).Validate(); err == nil || !strings.Contains(err.Error(), "allow.paths") {
		t.Errorf("relative entry: %v", err)
	}
	if err := (Allowlist{Executables: []string{"/usr/bin/x"}, Paths: []string{"/var/log"}}).Validate(); err != nil {
		t.Errorf("absolute entries: %v", err)
	}
}
