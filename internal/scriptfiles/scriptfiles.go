// Package scriptfiles is the script library as plain files, so that an MSP
// can keep its scripts in its own git repository: NAME.script.json holds
// the metadata and names the body file beside it (NAME.sh, NAME.ps1 …); a
// NAME.sh.sig that `wacht script sign` wrote is the signature when the
// metadata has none. `wacht script export|import` and the dashboard's
// library page (a zip of the same files) share it.
package scriptfiles

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/service"
)

// MetaSuffix ends a script's metadata file.
const MetaSuffix = ".script.json"

// meta is the metadata file's content.
type meta struct {
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

var ext = map[string]string{protocol.LangBash: ".sh", protocol.LangSh: ".sh", protocol.LangZsh: ".zsh", protocol.LangPython: ".py",
	protocol.LangPwsh: ".ps1", protocol.LangPowerShell: ".ps1", protocol.LangCmd: ".cmd"}

// File is one exported file.
type File struct {
	Name string
	Data []byte
}

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

// Export returns the files of the library's own scripts (not the built-in
// ones): the body, then the metadata of each.
func Export(list []core.Script) []File {
	var out []File
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
		body := base + ext[sc.Language]
		m, _ := json.MarshalIndent(meta{Name: sc.Name, Description: sc.Description, Language: sc.Language, BodyFile: body,
			Params: sc.Params, TimeoutSeconds: sc.TimeoutSeconds, RunAs: sc.RunAs, OS: sc.OS, Signature: sc.Signature}, "", "  ")
		out = append(out, File{body, []byte(sc.Body)}, File{base + MetaSuffix, append(m, '\n')})
	}
	return out
}

// WriteDir writes files into dir, creating it.
func WriteDir(dir string, files []File) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", f.Name, err)
		}
	}
	return nil
}

// WriteZip writes files as a zip archive.
func WriteZip(w io.Writer, files []File) error {
	z := zip.NewWriter(w)
	for _, f := range files {
		fw, err := z.Create(f.Name)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.Data); err != nil {
			return err
		}
	}
	return z.Close()
}

// Script is a script read from files: its metadata file's name and what
// saving it takes.
type Script struct {
	File  string
	Input service.ScriptInput
}

// Read reads every *.script.json at the top of fsys with its body and
// signature. It stops at the first invalid file, naming it.
func Read(fsys fs.FS) ([]Script, error) {
	metas, err := fs.Glob(fsys, "*"+MetaSuffix)
	if err != nil {
		return nil, err
	}
	if len(metas) == 0 {
		return nil, fmt.Errorf("no *%s files", MetaSuffix)
	}
	slices.Sort(metas)
	var out []Script
	for _, name := range metas {
		in, err := readOne(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, Script{File: name, Input: in})
	}
	return out, nil
}

func readOne(fsys fs.FS, name string) (service.ScriptInput, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return service.ScriptInput{}, err
	}
	var f meta
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return service.ScriptInput{}, err
	}
	if f.BodyFile == "" || filepath.Base(f.BodyFile) != f.BodyFile || !fs.ValidPath(f.BodyFile) {
		return service.ScriptInput{}, errors.New("body_file must name a file beside it")
	}
	body, err := fs.ReadFile(fsys, f.BodyFile)
	if err != nil {
		return service.ScriptInput{}, err
	}
	if f.Signature == "" {
		if sig, err := fs.ReadFile(fsys, f.BodyFile+".sig"); err == nil {
			f.Signature = strings.TrimSpace(string(sig))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return service.ScriptInput{}, err
		}
	}
	return service.ScriptInput{Name: f.Name, Description: f.Description, Language: f.Language, Body: string(body), Params: f.Params,
		TimeoutSeconds: f.TimeoutSeconds, RunAs: f.RunAs, OS: f.OS, Signature: f.Signature}, nil
}

// Result counts what Import did.
type Result struct{ Created, Updated, Unchanged int }

// Import adds scripts to the library as u, or stores a new version of the
// own script of the same name whose content differs. It stops at the
// first script the service refuses, naming its file.
func Import(ctx context.Context, svc *service.Service, u core.User, scripts []Script) (Result, error) {
	var res Result
	list, err := svc.ListScripts(ctx, u)
	if err != nil {
		return res, err
	}
	for _, s := range scripts {
		i := slices.IndexFunc(list, func(sc core.Script) bool { return sc.Name == strings.TrimSpace(s.Input.Name) && sc.Builtin == "" })
		var id int64
		if i >= 0 {
			id = list[i].ID
			if same(list[i], s.Input) {
				res.Unchanged++
				continue
			}
		}
		if _, err := svc.SaveScript(ctx, u, id, s.Input); err != nil {
			return res, fmt.Errorf("%s: %w", s.File, err)
		}
		if id == 0 {
			res.Created++
		} else {
			res.Updated++
		}
	}
	return res, nil
}

// same reports whether importing in would store what sc holds.
func same(sc core.Script, in service.ScriptInput) bool {
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
