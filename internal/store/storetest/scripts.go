package storetest

import (
	"encoding/json"
	"reflect"
	"sync"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// scriptTests are the conformance tests of core.ScriptStore.
var scriptTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"Scripts", testScripts},
	{"ScriptsConcurrentEdits", testScriptsConcurrentEdits},
	{"BuiltinScripts", testBuiltinScripts},
}

func testScripts(t *testing.T, s core.Store) {
	sc := core.Script{Name: "Temp leeren", Description: core.Text{EN: "Clean temp", DE: "Temp leeren"}, Language: "bash",
		Body: "rm -rf /tmp/x\n", Params: []core.ScriptParam{{Name: "DAYS", Type: core.ParamNumber, Default: json.RawMessage(`7`)},
			{Name: "TOKEN", Type: core.ParamSecret}}, TimeoutSeconds: 60, RunAs: core.RunAsSystem, OS: []string{"linux", "darwin"},
		UpdatedBy: "user:a@example.de"}
	must(t, "CreateScript", s.CreateScript(ctx, &sc))
	if sc.ID == 0 || sc.Version != 1 || sc.CreatedAt.IsZero() {
		t.Fatalf("created %+v", sc)
	}
	got, err := s.GetScript(ctx, sc.ID)
	must(t, "GetScript", err)
	if !reflect.DeepEqual(got, sc) {
		t.Errorf("GetScript = %+v\nwant %+v", got, sc)
	}
	dup := core.Script{Name: "Temp leeren", Language: "sh", Body: "x", RunAs: core.RunAsSystem}
	wantErr(t, "CreateScript with a taken name", s.CreateScript(ctx, &dup), core.ErrConflict)

	v2 := sc
	v2.Body, v2.Params, v2.OS, v2.UpdatedBy = "rm -rf /tmp/y\n", nil, nil, "user:b@example.de"
	must(t, "UpdateScript", s.UpdateScript(ctx, &v2))
	if v2.Version != 2 {
		t.Errorf("second version numbered %d", v2.Version)
	}
	got, _ = s.GetScript(ctx, sc.ID)
	if got.Version != 2 || got.Body != v2.Body || len(got.Params) != 0 || got.UpdatedBy != "user:b@example.de" || !got.CreatedAt.Equal(sc.CreatedAt) {
		t.Errorf("after update: %+v", got)
	}
	old, err := s.GetScriptVersion(ctx, sc.ID, 1)
	must(t, "GetScriptVersion", err)
	if old.Body != sc.Body || old.Version != 1 || len(old.Params) != 2 {
		t.Errorf("version 1 = %+v", old)
	}
	vs, err := s.ListScriptVersions(ctx, sc.ID)
	must(t, "ListScriptVersions", err)
	if len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 || vs[1].CreatedBy != "user:a@example.de" {
		t.Errorf("versions %+v", vs)
	}
	other := core.Script{Name: "Andere", Language: "sh", Body: "echo", RunAs: core.RunAsSystem}
	must(t, "CreateScript", s.CreateScript(ctx, &other))
	renamed := other
	renamed.Name = "Temp leeren"
	wantErr(t, "rename to a taken name", s.UpdateScript(ctx, &renamed), core.ErrConflict)
	list, err := s.ListScripts(ctx)
	must(t, "ListScripts", err)
	if len(list) != 2 || list[0].Name != "Andere" || list[1].Version != 2 {
		t.Errorf("list %+v", list)
	}

	must(t, "DeleteScript", s.DeleteScript(ctx, sc.ID))
	wantErr(t, "DeleteScript again", s.DeleteScript(ctx, sc.ID), core.ErrNotFound)
	_, err = s.GetScript(ctx, sc.ID)
	wantErr(t, "GetScript of a deleted script", err, core.ErrNotFound)
	wantErr(t, "UpdateScript of a deleted script", s.UpdateScript(ctx, &v2), core.ErrNotFound)
	if old, err := s.GetScriptVersion(ctx, sc.ID, 2); err != nil || !old.Deleted || old.Body != v2.Body {
		t.Errorf("a deleted script's version: %+v, %v", old, err)
	}
	// The name is free again.
	again := core.Script{Name: "Temp leeren", Language: "sh", Body: "x", RunAs: core.RunAsSystem}
	must(t, "CreateScript with a deleted script's name", s.CreateScript(ctx, &again))
	_, err = s.GetScriptVersion(ctx, sc.ID, 3)
	wantErr(t, "GetScriptVersion of a missing version", err, core.ErrNotFound)
	_, err = s.ListScriptVersions(ctx, 99999)
	wantErr(t, "ListScriptVersions of an unknown script", err, core.ErrNotFound)
}

// testScriptsConcurrentEdits: edits at once get distinct versions.
func testScriptsConcurrentEdits(t *testing.T, s core.Store) {
	sc := core.Script{Name: "parallel", Language: "sh", Body: "echo 0", RunAs: core.RunAsSystem}
	must(t, "CreateScript", s.CreateScript(ctx, &sc))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			e := sc
			e.Body = "echo " + string(rune('1'+i))
			errs <- s.UpdateScript(ctx, &e)
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		}
	}
	vs, err := s.ListScriptVersions(ctx, sc.ID)
	must(t, "ListScriptVersions", err)
	if len(vs) != ok+1 || vs[0].Version != ok+1 {
		t.Errorf("%d edits succeeded, versions %+v", ok, vs)
	}
}

func testBuiltinScripts(t *testing.T, s core.Store) {
	mine := core.Script{Name: "Flush DNS", Language: "sh", Body: "echo mine", RunAs: core.RunAsSystem}
	must(t, "CreateScript", s.CreateScript(ctx, &mine))
	b := core.Script{Name: "Flush DNS", Builtin: "flush-dns", Language: "sh", Body: "resolvectl flush-caches", RunAs: core.RunAsSystem}
	must(t, "EnsureBuiltinScript", s.EnsureBuiltinScript(ctx, &b))
	if b.ID == 0 || b.Version != 1 || b.Name != "Flush DNS (flush-dns)" {
		t.Errorf("built-in script %+v", b)
	}
	same := core.Script{Name: "Flush DNS", Builtin: "flush-dns", Language: "sh", Body: "resolvectl flush-caches", RunAs: core.RunAsSystem}
	must(t, "EnsureBuiltinScript unchanged", s.EnsureBuiltinScript(ctx, &same))
	if same.ID != b.ID || same.Version != 1 {
		t.Errorf("unchanged built-in script got a new version: %+v", same)
	}
	changed := same
	changed.Name, changed.Body = "Flush DNS", "resolvectl flush-caches || true"
	must(t, "EnsureBuiltinScript changed", s.EnsureBuiltinScript(ctx, &changed))
	if changed.ID != b.ID || changed.Version != 2 {
		t.Errorf("changed built-in script: %+v", changed)
	}
	got, err := s.GetScript(ctx, b.ID)
	if err != nil || got.Builtin != "flush-dns" || got.Body != changed.Body {
		t.Errorf("GetScript = %+v, %v", got, err)
	}
	wantErr(t, "EnsureBuiltinScript without key", s.EnsureBuiltinScript(ctx, &core.Script{Name: "x"}), core.ErrInvalid)
}
