package scriptfiles

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wacht-rmm/wacht/internal/core"
)

// An export read back as a zip gives the same scripts; built-in ones stay
// out, and two scripts whose names make the same file name get two.
func TestExportZipRead(t *testing.T) {
	list := []core.Script{
		{Name: "Built in", Builtin: "x", Language: "sh", Body: "echo"},
		{Name: "Grüße senden", Language: "bash", Body: "echo \"Hallo $WHO\"\n", Description: core.Text{EN: "Greet", DE: "Grüßen"},
			Params: []core.ScriptParam{{Name: "WHO", Type: core.ParamText, Default: json.RawMessage(`"Welt"`)}}, OS: []string{"linux"}, TimeoutSeconds: 60, RunAs: "system"},
		{Name: "grüße SENDEN!", Language: "pwsh", Body: "Write-Output hi"},
	}
	var buf bytes.Buffer
	if err := WriteZip(&buf, Export(list)); err != nil {
		t.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range z.File {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "gruesse-senden.sh gruesse-senden.script.json gruesse-senden-2.ps1 gruesse-senden-2.script.json" {
		t.Errorf("files %s", got)
	}
	scripts, err := Read(z)
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) != 2 || scripts[0].File != "gruesse-senden-2.script.json" || scripts[1].Input.Body != list[1].Body ||
		scripts[1].Input.Description.DE != "Grüßen" || string(scripts[1].Input.Params[0].Default) != `"Welt"` || scripts[0].Input.Language != "pwsh" {
		t.Errorf("read back %+v", scripts)
	}
}

// Bad files are named: unknown fields, a body file outside the folder, a
// missing body; a .sig beside the body is the signature.
func TestRead(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"a.script.json: json: unknown field": {"a.script.json": {Data: []byte(`{"name":"a","bodyfile":"a.sh"}`)}},
		"b.script.json: body_file must name": {"b.script.json": {Data: []byte(`{"name":"b","body_file":"../etc/passwd"}`)}},
		"c.script.json: open c.sh":           {"c.script.json": {Data: []byte(`{"name":"c","body_file":"c.sh"}`)}},
		"no *.script.json files":             {"x.sh": {Data: []byte("echo")}},
	} {
		if _, err := Read(fsys); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	s, err := Read(fstest.MapFS{"d.script.json": {Data: []byte(`{"name":"d","language":"sh","body_file":"d.sh"}`)},
		"d.sh": {Data: []byte("echo d\n")}, "d.sh.sig": {Data: []byte("c2ln\n")}})
	if err != nil || len(s) != 1 || s[0].Input.Signature != "c2ln" || s[0].Input.Body != "echo d\n" {
		t.Errorf("with a signature: %+v %v", s, err)
	}
}
