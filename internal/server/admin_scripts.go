package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Scripts as plain files, so that an MSP can keep its library in its own
// git repository: NAME.script.json holds the metadata and names the body
// file beside it (NAME.sh, NAME.ps1 …); a NAME.sh.sig that
// `wacht script sign` wrote is the signature when the metadata has none.

// ScriptMetaSuffix ends a script's metadata file.
const ScriptMetaSuffix = ".script.json"

// scriptFile is the metadata file's content.
type scriptFile struct {
	Name           string             `json:"name"`
	Description    core.Text          `json:"description"`
	Language       string             `json:"language"`
	BodyFile       string             `json:"body_file"`
	Params         []core.ScriptParam `json:"params"`
	TimeoutSeconds int                `json:"timeout_seconds"`
	RunAs          string             `json:"run_as"`
	OS             []string           `json:"os"`
	Signature      string             `json:"signature,omitempty"`
}

var scriptExt = map[string]string{protocol.LangBash: ".sh", protocol.LangSh: ".sh", protocol.LangZsh: ".zsh", protocol.LangPython: ".py",
	protocol.LangPwsh: ".ps1", protocol.LangPowerShell: ".ps1", protocol.LangCmd: ".cmd"}

// slug turns a script's name into a file name.
func slug(name string) string {
	r := strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "Ä", "ae", "Ö", "oe", "Ü", "ue", "ß", "ss")
	var b strings.Builder
	for _, c := range strings.ToLower(r.Replace(name)) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		s = "script"
	}
	return s
}

// ExportScripts writes the library's own scripts (not the built-in ones)
// into dir and returns how many.
func ExportScripts(ctx context.Context, st core.Store, dir string, now time.Time) (int, error) {
	list, err := cliService(st, now).ListScripts(ctx, service.CLI)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("creating %s: %w", dir, err)
	}
	n := 0
	used := map[string]bool{}
	for _, sc := range list {
		if sc.Builtin != "" {
			continue
		}
		base := slug(sc.Name)
		for i := 2; used[base]; i++ {
			base = fmt.Sprintf("%s-%d", slug(sc.Name), i)
		}
		used[base] = true
		body := base + scriptExt[sc.Language]
		meta, _ := json.MarshalIndent(scriptFile{Name: sc.Name, Description: sc.Description, Language: sc.Language, BodyFile: body,
			Params: sc.Params, TimeoutSeconds: sc.TimeoutSeconds, RunAs: sc.RunAs, OS: sc.OS, Signature: sc.Signature}, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, body), []byte(sc.Body), 0o644); err != nil {
			return n, fmt.Errorf("writing %s: %w", body, err)
		}
		if err := os.WriteFile(filepath.Join(dir, base+ScriptMetaSuffix), append(meta, '\n'), 0o644); err != nil {
			return n, fmt.Errorf("writing %s: %w", base+ScriptMetaSuffix, err)
		}
		n++
	}
	return n, nil
}

// ImportResult counts what ImportScripts did.
type ImportResult struct{ Created, Updated, Unchanged int }

// ImportScripts adds the scripts in dir to the library, or stores a new
// version of a script of the same name whose content differs. It stops at
// the first invalid file, naming it.
func ImportScripts(ctx context.Context, st core.Store, dir string, now time.Time) (ImportResult, error) {
	var res ImportResult
	svc := cliService(st, now)
	metas, err := filepath.Glob(filepath.Join(dir, "*"+ScriptMetaSuffix))
	if err != nil {
		return res, err
	}
	if len(metas) == 0 {
		return res, fmt.Errorf("no *%s files in %s", ScriptMetaSuffix, dir)
	}
	list, err := svc.ListScripts(ctx, service.CLI)
	if err != nil {
		return res, err
	}
	slices.Sort(metas)
	for _, m := range metas {
		b, err := os.ReadFile(m)
		if err != nil {
			return res, err
		}
		var f scriptFile
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return res, fmt.Errorf("%s: %w", m, err)
		}
		if f.BodyFile == "" || filepath.Base(f.BodyFile) != f.BodyFile {
			return res, fmt.Errorf("%s: body_file must name a file beside it", m)
		}
		body, err := os.ReadFile(filepath.Join(dir, f.BodyFile))
		if err != nil {
			return res, fmt.Errorf("%s: %w", m, err)
		}
		if f.Signature == "" {
			if sig, err := os.ReadFile(filepath.Join(dir, f.BodyFile+".sig")); err == nil {
				f.Signature = strings.TrimSpace(string(sig))
			} else if !errors.Is(err, os.ErrNotExist) {
				return res, err
			}
		}
		in := service.ScriptInput{Name: f.Name, Description: f.Description, Language: f.Language, Body: string(body), Params: f.Params,
			TimeoutSeconds: f.TimeoutSeconds, RunAs: f.RunAs, OS: f.OS, Signature: f.Signature}
		i := slices.IndexFunc(list, func(s core.Script) bool { return s.Name == strings.TrimSpace(f.Name) && s.Builtin == "" })
		var id int64
		if i >= 0 {
			id = list[i].ID
			if sameInput(list[i], in) {
				res.Unchanged++
				continue
			}
		}
		if _, err := svc.SaveScript(ctx, service.CLI, id, in); err != nil {
			return res, fmt.Errorf("%s: %w", m, err)
		}
		if id == 0 {
			res.Created++
		} else {
			res.Updated++
		}
	}
	return res, nil
}

// sameInput reports whether importing in would store what sc holds.
func sameInput(sc core.Script, in service.ScriptInput) bool {
	a, _ := json.Marshal(service.ScriptInput{Name: sc.Name, Description: sc.Description, Language: sc.Language, Body: sc.Body,
		Params: sc.Params, TimeoutSeconds: sc.TimeoutSeconds, RunAs: sc.RunAs, OS: sc.OS, Signature: sc.Signature})
	if in.Params == nil {
		in.Params = []core.ScriptParam{}
	}
	if in.OS == nil {
		in.OS = []string{}
	}
	if in.RunAs == "" {
		in.RunAs = core.RunAsSystem
	}
	if in.TimeoutSeconds == 0 {
		in.TimeoutSeconds = service.DefaultScriptTimeout
	}
	b, _ := json.Marshal(in)
	return string(a) == string(b)
}
