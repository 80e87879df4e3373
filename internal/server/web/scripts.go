package web

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/scriptfiles"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The script library (issue 16): the list with import and export, the
// editor (CodeMirror over a plain textarea, so that the form works without
// JavaScript), the run dialog and the jobs with their live progress. The
// service authorizes (reading: every role; changing and running: Remote,
// with the second-factor rule for remote actions), validates and audits.

func init() { pageNames = append(pageNames, "scripts", "script", "script-run", "jobs", "job") }

// maxScriptForm bounds the editor's and the import's request bodies: a
// script's body (service.MaxScriptBody) form-encoded, or a zip of scripts.
const maxScriptForm = 8 << 20

func (s *server) scriptRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /scripts", authz.Read, s.withSession(s.scriptsPage))
	rt.HandleFunc("GET /scripts/export", authz.Remote, s.withSession(s.exportScripts))
	rt.HandleFunc("POST /scripts/import", authz.Remote, s.withSession(s.importScripts))
	rt.HandleFunc("GET /scripts/new", authz.Remote, s.withSession(s.newScript))
	rt.HandleFunc("POST /scripts", authz.Remote, s.withSession(s.saveScript))
	rt.HandleFunc("GET /scripts/{id}", authz.Read, s.withSession(s.scriptPage))
	rt.HandleFunc("POST /scripts/{id}", authz.Remote, s.withSession(s.saveScript))
	rt.HandleFunc("POST /scripts/{id}/delete", authz.Remote, s.withSession(s.deleteScript))
	rt.HandleFunc("GET /scripts/{id}/run", authz.Remote, s.withSession(s.runDialog))
	rt.HandleFunc("POST /scripts/{id}/run", authz.Remote, s.withSession(s.runScript))
	rt.HandleFunc("GET /jobs", authz.Read, s.withSession(s.jobsPage))
	rt.HandleFunc("GET /jobs/{id}", authz.Read, s.withSession(s.jobPage))
	rt.HandleFunc("GET /jobs/{id}/progress", authz.Read, s.withSession(s.jobProgress))
}

// bigForm reports whether a POST may carry more than the usual form limit.
func bigForm(r *http.Request) bool {
	return r.URL.Path == "/scripts" || r.URL.Path == "/scripts/import" ||
		strings.HasPrefix(r.URL.Path, "/scripts/") && strings.Count(r.URL.Path, "/") == 2 ||
		r.URL.Path == "/packages" || strings.HasPrefix(r.URL.Path, "/packages/") && strings.Count(r.URL.Path, "/") == 2 ||
		iconUpload(r) || logoUpload(r)
}

// --- the library

type scriptsPage struct {
	Scripts []core.Script
	Q       string
	Device  *service.Device // "Run script" from a device page: the device to run on
	Total   int
	Import  string // the import's outcome or error, in the page's language
	Failed  bool
}

func (s *server) scriptsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p, err := s.library(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.renderLibrary(w, r, rc, http.StatusOK, p)
}

// library reads the list, filtered by ?q= (name, description, language).
func (s *server) library(r *http.Request, rc *reqCtx) (scriptsPage, error) {
	list, err := s.svc.ListScripts(r.Context(), rc.user)
	if err != nil {
		return scriptsPage{}, err
	}
	p := scriptsPage{Q: strings.TrimSpace(r.URL.Query().Get("q")), Total: len(list)}
	want := strings.ToLower(p.Q)
	for _, sc := range list {
		if want == "" || strings.Contains(strings.ToLower(sc.Name+"\x00"+sc.Description.EN+"\x00"+sc.Description.DE+"\x00"+sc.Language), want) {
			p.Scripts = append(p.Scripts, sc)
		}
	}
	if d := r.URL.Query().Get("device"); d != "" {
		id, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			return p, core.ErrNotFound
		}
		dv, err := s.svc.GetDevice(r.Context(), id)
		if err != nil {
			return p, err
		}
		p.Device = &dv
	}
	return p, nil
}

func (s *server) renderLibrary(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, p scriptsPage) {
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "scripts.title", p
	if r.URL.Query().Get("deleted") != "" {
		v.Notice, v.NoticeKind = "scripts.deleted", "ok"
	}
	s.render(w, status, "scripts", v)
}

func (s *server) exportScripts(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	list, err := s.svc.ListScripts(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	var buf bytes.Buffer
	if err := scriptfiles.WriteZip(&buf, scriptfiles.Export(list)); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="wacht-scripts.zip"`)
	_, _ = buf.WriteTo(w)
}

// importScripts takes the files of `wacht script export`: a zip of them,
// or the metadata and body files themselves.
func (s *server) importScripts(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p, err := s.library(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	res, err := s.importFiles(r, rc)
	if err != nil {
		p.Failed = true
		p.Import = rc.lang.T("scripts.importFailed") + ": " + importError(rc.lang, err)
		s.renderLibrary(w, r, rc, statusOf(err), p)
		return
	}
	if p, err = s.library(r, rc); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	p.Import = fmt.Sprintf(rc.lang.T("scripts.imported"), res.Created, res.Updated, res.Unchanged)
	s.renderLibrary(w, r, rc, http.StatusOK, p)
}

func (s *server) importFiles(r *http.Request, rc *reqCtx) (scriptfiles.Result, error) {
	var none scriptfiles.Result
	if err := r.ParseMultipartForm(maxScriptForm); err != nil {
		return none, fmt.Errorf("reading the upload: %w", core.ErrInvalid)
	}
	// Loose files are packed into a zip, so that both read alike.
	var loose []scriptfiles.File
	var zipped []byte
	for _, fh := range r.MultipartForm.File["files"] {
		f, err := fh.Open()
		if err != nil {
			return none, err
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return none, err
		}
		name := path.Base(strings.ReplaceAll(fh.Filename, `\`, "/"))
		if strings.HasSuffix(strings.ToLower(name), ".zip") {
			zipped = b
			continue
		}
		loose = append(loose, scriptfiles.File{Name: name, Data: b})
	}
	if zipped == nil {
		var buf bytes.Buffer
		if err := scriptfiles.WriteZip(&buf, loose); err != nil {
			return none, err
		}
		zipped = buf.Bytes()
	}
	fsys, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		return none, fmt.Errorf("not a zip archive: %w", core.ErrInvalid)
	}
	scripts, err := scriptfiles.Read(fsys)
	if err != nil {
		return none, fmt.Errorf("%w: %w", err, core.ErrInvalid)
	}
	return scriptfiles.Import(r.Context(), s.svc, rc.user, scripts)
}

// importError words an import's error: the service's reasons in the
// page's language, the file format's own errors as they are.
func importError(lang Lang, err error) string {
	var ve *policy.ValidationError
	if errors.As(err, &ve) {
		file, _, _ := strings.Cut(err.Error(), ":")
		return file + ": " + ve.In(lang.Code())
	}
	if msg, ok := refusal(lang, err); ok && !errors.Is(err, core.ErrInvalid) {
		return msg
	}
	return strings.TrimSuffix(err.Error(), ": "+core.ErrInvalid.Error())
}

// --- the editor

// paramRow is one parameter row of the editor.
type paramRow struct {
	Index   int
	P       core.ScriptParam
	Default string // the default as typed
	Choices string // comma-separated
	Error   string
}

type scriptPage struct {
	Script    core.Script
	Versions  []core.ScriptVersion
	Current   int // the current version; Script.Version differs when an old one is shown
	New       bool
	ReadOnly  bool
	Rows      []paramRow
	Errs      map[string]string // messages by field: name, description, language, os, …
	Errors    string            // every message, for the notice at the top
	Langs     []string
	OSes      []osChoice
	Types     []string
	MaxBody   int
	Duplicate string // the link that copies a built-in script or an old version
}

// osChoice is one operating system checkbox of the editor.
type osChoice struct {
	Name    string
	Checked bool
}

// emptyParamRows is how many blank parameter rows the editor offers.
const emptyParamRows = 2

func (s *server) renderEditor(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, p scriptPage, ve *policy.ValidationError) {
	p.Langs, p.MaxBody = protocol.Languages, service.MaxScriptBody
	for _, o := range service.ScriptOSes {
		p.OSes = append(p.OSes, osChoice{o, slices.Contains(p.Script.OS, o)})
	}
	p.Types = []string{core.ParamText, core.ParamNumber, core.ParamBool, core.ParamChoice, core.ParamSecret}
	p.ReadOnly = p.ReadOnly || !authz.CanRemote(rc.user.Role) || p.Script.Builtin != "" || (!p.New && p.Script.Version != p.Current)
	p.Errs = map[string]string{}
	if ve != nil {
		for _, f := range []string{"name", "description", "language", "body", "timeout_seconds", "run_as", "os", "signature"} {
			if msg := ve.For(f, rc.lang.Code()); msg != "" {
				p.Errs[f] = msg
			}
		}
		for _, fe := range ve.Fields {
			if fe.Field == "params" { // too many; "params[i]…" go to their rows
				p.Errs["params"] = fe.In(rc.lang.Code())
			}
		}
		p.Errors = ve.In(rc.lang.Code())
	}
	for i, prm := range p.Script.Params {
		row := paramRow{Index: i, P: prm, Default: defaultText(prm.Default), Choices: strings.Join(prm.Choices, ", ")}
		if ve != nil {
			row.Error = ve.For("params["+strconv.Itoa(i)+"]", rc.lang.Code())
		}
		p.Rows = append(p.Rows, row)
	}
	if !p.ReadOnly {
		for i := range emptyParamRows {
			p.Rows = append(p.Rows, paramRow{Index: len(p.Script.Params) + i, P: core.ScriptParam{Type: core.ParamText}})
		}
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "script.title", p
	if ve != nil {
		v.Error = "script.invalid"
	}
	if r.URL.Query().Get("saved") != "" {
		v.Notice, v.NoticeKind = "script.saved", "ok"
	}
	s.render(w, status, "script", v)
}

// defaultText shows a parameter's JSON default as the user types it.
func defaultText(raw json.RawMessage) string {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str
	}
	return string(raw)
}

func (s *server) newScript(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p := scriptPage{New: true, Script: core.Script{Language: protocol.LangBash, TimeoutSeconds: service.DefaultScriptTimeout, RunAs: core.RunAsSystem}}
	// Duplicate: a built-in script or an old version as a new script.
	if from := r.URL.Query().Get("from"); from != "" {
		id, err := strconv.ParseInt(from, 10, 64)
		if err != nil {
			s.renderError(w, r, rc.lang, core.ErrNotFound)
			return
		}
		version, _ := strconv.Atoi(r.URL.Query().Get("version"))
		sv, err := s.svc.GetScript(r.Context(), rc.user, id, version)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		p.Script = sv.Script
		p.Script.ID, p.Script.Builtin = 0, "" // the signature stays valid while the body does
		p.Script.Name = fmt.Sprintf(rc.lang.T("script.copyOf"), sv.Name)
	}
	s.renderEditor(w, r, rc, http.StatusOK, p, nil)
}

func (s *server) scriptPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		if version, err = strconv.Atoi(v); err != nil || version < 1 {
			s.renderError(w, r, rc.lang, core.ErrNotFound)
			return
		}
	}
	sv, err := s.svc.GetScript(r.Context(), rc.user, id, version)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	p := scriptPage{Script: sv.Script, Versions: sv.Versions, Current: sv.Script.Version}
	if len(sv.Versions) > 0 {
		p.Current = sv.Versions[0].Version
	}
	if sv.Builtin != "" || p.Current != sv.Script.Version {
		p.Duplicate = "/scripts/new?" + url.Values{"from": {strconv.FormatInt(id, 10)}, "version": {strconv.Itoa(sv.Script.Version)}}.Encode()
	}
	s.renderEditor(w, r, rc, http.StatusOK, p, nil)
}

// formScript reads the editor; empty parameter rows and rows marked for
// removal are dropped (a row with anything typed is kept, so that a
// missing name is refused, not lost), and the message indexes follow the
// rows kept.
func formScript(r *http.Request) service.ScriptInput {
	f := func(k string) string { return r.PostFormValue(k) }
	in := service.ScriptInput{
		Name:        f("name"),
		Description: core.Text{EN: f("description_en"), DE: f("description_de")},
		Language:    f("language"),
		// Browsers send a textarea's line ends as CRLF; a script keeps LF.
		Body:      strings.ReplaceAll(f("body"), "\r\n", "\n"),
		RunAs:     f("run_as"),
		OS:        r.PostForm["os"],
		Signature: f("signature"),
		Params:    []core.ScriptParam{},
	}
	in.TimeoutSeconds, _ = strconv.Atoi(strings.TrimSpace(f("timeout_seconds")))
	if in.TimeoutSeconds == 0 && strings.TrimSpace(f("timeout_seconds")) != "" {
		in.TimeoutSeconds = -1 // not a number: the service says what it wants
	}
	n, _ := strconv.Atoi(f("prows"))
	for i := 0; i < n && i < protocol.MaxScriptParams+emptyParamRows; i++ {
		g := func(k string) string { return strings.TrimSpace(f("p" + strconv.Itoa(i) + "." + k)) }
		if g("remove") != "" || g("name")+g("default")+g("choices")+g("label_en")+g("label_de")+g("required") == "" {
			continue
		}
		p := core.ScriptParam{Name: g("name"), Type: g("type"), Required: g("required") != "",
			Label: core.Text{EN: g("label_en"), DE: g("label_de")}}
		for _, c := range strings.Split(g("choices"), ",") {
			if c = strings.TrimSpace(c); c != "" {
				p.Choices = append(p.Choices, c)
			}
		}
		p.Default = formValue(p.Type, g("default"))
		in.Params = append(in.Params, p)
	}
	return in
}

// formValue turns a typed value into the JSON of a parameter's type: a
// number or yes/no as written (the service refuses what is not one), the
// rest as a string. "" is no value.
func formValue(typ, s string) json.RawMessage {
	if s == "" {
		return nil
	}
	if typ == core.ParamNumber || typ == core.ParamBool {
		if json.Valid([]byte(s)) {
			return json.RawMessage(s)
		}
	}
	b, _ := json.Marshal(s)
	return b
}

func (s *server) saveScript(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var id int64
	if r.PathValue("id") != "" {
		var err error
		if id, err = pathID(r); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	in := formScript(r)
	sv, err := s.svc.SaveScript(r.Context(), rc.user, id, in)
	if ve := (*policy.ValidationError)(nil); errors.As(err, &ve) {
		p := scriptPage{New: id == 0, Script: core.Script{ID: id, Name: in.Name, Description: in.Description, Language: in.Language,
			Body: in.Body, Params: in.Params, TimeoutSeconds: in.TimeoutSeconds, RunAs: in.RunAs, OS: in.OS, Signature: in.Signature}}
		if id != 0 {
			old, gerr := s.svc.GetScript(r.Context(), rc.user, id, 0)
			if gerr != nil {
				s.renderError(w, r, rc.lang, gerr)
				return
			}
			p.Versions, p.Current, p.Script.Version = old.Versions, old.Version, old.Version
		}
		s.renderEditor(w, r, rc, http.StatusBadRequest, p, ve)
		return
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/scripts/"+strconv.FormatInt(sv.ID, 10)+"?saved=1", http.StatusSeeOther)
}

func (s *server) deleteScript(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	id, err := pathID(r)
	if err == nil {
		err = s.svc.DeleteScript(r.Context(), rc.user, id, r.PostFormValue("force") == "1")
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/scripts?deleted=1", http.StatusSeeOther)
}

// --- running

// runField is one parameter of the run dialog.
type runField struct {
	P       core.ScriptParam
	Label   string // the label in the page's language, or the name
	Value   string
	Checked bool
	Error   string
}

// scriptRunPage is the run dialog of a script, or (Package set) the
// deploy dialog of a package, which shares its choice of devices.
type scriptRunPage struct {
	Script   core.Script
	Package  *core.Package
	Action   string // a deployment's: install or uninstall
	Fields   []runField
	Target   string // devices, site, client, tag
	Devices  []service.Device
	Chosen   map[int64]bool
	Sites    []core.Site
	Clients  []core.Client
	Tags     []string
	Site     int64
	Client   int64
	Tag      string
	Hours    string
	MaxHours int
	Errs     map[string]string
	Errors   string
	Refusal  string // why the run was refused (second factor, lock mode …)
}

func (s *server) runDialog(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p, err := s.runForm(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	for _, d := range r.URL.Query()["device"] {
		if id, err := strconv.ParseInt(d, 10, 64); err == nil {
			p.Chosen[id] = true
		}
	}
	for i, f := range p.Fields {
		p.Fields[i].Value = defaultText(f.P.Default)
		p.Fields[i].Checked = string(f.P.Default) == "true"
	}
	s.renderRun(w, r, rc, http.StatusOK, p)
}

// runForm reads the script and what the user may run it on.
func (s *server) runForm(r *http.Request, rc *reqCtx) (scriptRunPage, error) {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return scriptRunPage{}, err
	}
	sv, err := s.svc.GetScript(ctx, rc.user, id, 0)
	if err != nil {
		return scriptRunPage{}, err
	}
	p, err := s.targetForm(r, rc)
	p.Script = sv.Script
	for _, prm := range sv.Params {
		label := rc.lang.Message(prm.Label)
		if label == "" {
			label = prm.Name
		}
		p.Fields = append(p.Fields, runField{P: prm, Label: label})
	}
	return p, err
}

// targetForm is the run or deploy dialog's choice of devices: what the
// user may act on.
func (s *server) targetForm(r *http.Request, rc *reqCtx) (scriptRunPage, error) {
	ctx := r.Context()
	p := scriptRunPage{Target: "devices", Chosen: map[int64]bool{}, Hours: strconv.Itoa(int(service.DefaultJobExpiry.Hours())),
		MaxHours: int(service.MaxJobExpiry.Hours()), Errs: map[string]string{}}
	ds, err := s.svc.ListDevicesFor(ctx, rc.user, service.DeviceFilter{})
	if err != nil {
		return p, err
	}
	tags := map[string]bool{}
	for _, d := range ds {
		if len(d.PublicKey) == 0 || d.State != core.DeviceActive {
			continue // network devices and retired ones run no scripts
		}
		p.Devices = append(p.Devices, d)
		for _, t := range d.Tags {
			tags[t] = true
		}
	}
	slices.SortFunc(p.Devices, func(a, b service.Device) int {
		return strings.Compare(a.ClientName+"\x00"+a.SiteName+"\x00"+a.Hostname, b.ClientName+"\x00"+b.SiteName+"\x00"+b.Hostname)
	})
	for t := range tags {
		p.Tags = append(p.Tags, t)
	}
	slices.Sort(p.Tags)
	if p.Sites, err = s.svc.ListSites(ctx, rc.user); err != nil {
		return p, err
	}
	if p.Clients, err = s.svc.ListClients(ctx, rc.user); err != nil {
		return p, err
	}
	return p, nil
}

func (s *server) renderRun(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, p scriptRunPage) {
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "srun.title", p
	if p.Package != nil {
		v.Title = "deploy.title"
	}
	if p.Errors != "" || p.Refusal != "" {
		v.Error = "srun.refused"
	}
	s.render(w, status, "script-run", v)
}

func (s *server) runScript(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p, err := s.runForm(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	req := readTargets(r, &p)
	req.Params = map[string]json.RawMessage{}
	for i, f := range p.Fields {
		val := r.PostFormValue("p." + f.P.Name)
		if f.P.Type == core.ParamBool {
			p.Fields[i].Checked = val != ""
			req.Params[f.P.Name] = json.RawMessage(strconv.FormatBool(val != ""))
			continue
		}
		if f.P.Type != core.ParamSecret {
			p.Fields[i].Value = val // a secret is never sent back to the browser
		}
		if raw := formValue(f.P.Type, val); raw != nil {
			req.Params[f.P.Name] = raw
		}
	}
	var ok bool
	if req.ExpiresMinutes, ok = readHours(r, rc, &p); !ok {
		s.renderRun(w, r, rc, http.StatusBadRequest, p)
		return
	}
	res, err := s.svc.RunScript(r.Context(), rc.user, p.Script.ID, req)
	s.afterRun(w, r, rc, p, res, err)
}

// readTargets reads the dialog's choice of devices into p and a request.
func readTargets(r *http.Request, p *scriptRunPage) service.RunRequest {
	var req service.RunRequest
	p.Target = r.PostFormValue("target")
	switch p.Target {
	case "site":
		p.Site, _ = strconv.ParseInt(r.PostFormValue("site"), 10, 64)
		req.Site = p.Site
	case "client":
		p.Client, _ = strconv.ParseInt(r.PostFormValue("client"), 10, 64)
		req.Client = p.Client
	case "tag":
		p.Tag = r.PostFormValue("tag")
		req.Tag = p.Tag
	default:
		p.Target = "devices"
		for _, d := range r.PostForm["devices"] {
			if id, err := strconv.ParseInt(d, 10, 64); err == nil {
				p.Chosen[id] = true
				req.Devices = append(req.Devices, id)
			}
		}
	}
	return req
}

// readHours reads the dialog's expiry in minutes; false (with the error
// in p) when it is out of range.
func readHours(r *http.Request, rc *reqCtx, p *scriptRunPage) (int, bool) {
	p.Hours = strings.TrimSpace(r.PostFormValue("expires_hours"))
	if h, err := strconv.Atoi(p.Hours); err == nil && h > 0 && h <= p.MaxHours {
		return h * 60, true
	}
	p.Errs["expires"] = fmt.Sprintf(rc.lang.T("srun.badHours"), p.MaxHours)
	p.Errors = p.Errs["expires"]
	return 0, false
}

// afterRun shows the job a run or deployment queued, or the dialog again
// with why it was refused.
func (s *server) afterRun(w http.ResponseWriter, r *http.Request, rc *reqCtx, p scriptRunPage, res service.RunSubmitted, err error) {
	if err != nil {
		var ve *policy.ValidationError
		switch msg, ok := refusal(rc.lang, err); {
		case errors.As(err, &ve):
			for i, f := range p.Fields {
				p.Fields[i].Error = ve.For("params."+f.P.Name, rc.lang.Code())
			}
			p.Errs["devices"] = ve.For("devices", rc.lang.Code())
			p.Errs["expires"] = ve.For("expires_minutes", rc.lang.Code())
			p.Errs["action"] = ve.For("action", rc.lang.Code())
			p.Errors = ve.In(rc.lang.Code())
		case ok:
			p.Refusal = msg
		default:
			s.renderError(w, r, rc.lang, err)
			return
		}
		s.renderRun(w, r, rc, statusOf(err), p)
		return
	}
	q := ""
	if len(res.Skipped) > 0 {
		q = "?skipped=" + strconv.Itoa(len(res.Skipped))
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(res.JobID, 10)+q, http.StatusSeeOther)
}

// --- jobs and runs

// runStates are the states of a run in the order the pages count them.
var runStates = []string{core.RunQueued, core.RunRunning, core.RunDone, core.RunFailed, core.RunOfflineWaiting,
	core.RunExpired, core.RunInterrupted, core.RunCancelled}

// runFinal reports whether a run's state no longer changes.
func runFinal(state string) bool {
	return state != core.RunQueued && state != core.RunRunning && state != core.RunOfflineWaiting
}

// stateCount is one state of a job's progress.
type stateCount struct {
	State, Class string
	N            int
}

// runRow is one run of a job or a device.
type runRow struct {
	core.ScriptRun
	Class    string
	Duration string
	Exit     string
	Error    string
	Detected string // a package run's: what its detection rule found, and the exit code's meaning
	Retry    string // a package run waiting to be retried: when
}

func runClass(state string) string {
	switch state {
	case core.RunDone:
		return "ok"
	case core.RunFailed, core.RunInterrupted:
		return "failure"
	case core.RunExpired, core.RunOfflineWaiting:
		return "warning"
	}
	return "unknown"
}

func newRunRows(lang Lang, runs []core.ScriptRun) []runRow {
	out := make([]runRow, 0, len(runs))
	for _, r := range runs {
		row := runRow{ScriptRun: r, Class: runClass(r.State), Error: lang.Message(r.Error)}
		if r.ExitCode != nil {
			row.Exit = strconv.Itoa(*r.ExitCode)
		}
		if r.StartedAt != nil && r.FinishedAt != nil {
			row.Duration = fmt.Sprintf(lang.T("srun.seconds"), float64(r.DurationMS)/1000)
		}
		if r.SWState != "" {
			row.Detected = strings.TrimSpace(fmt.Sprintf(lang.T("deploy.detected"), lang.T("deploy.state."+r.SWState), r.SWVersion))
		}
		if r.NotBefore != nil && r.State == core.RunQueued {
			row.Retry = fmt.Sprintf(lang.T("deploy.retryAt"), lang.Time(*r.NotBefore))
		}
		out = append(out, row)
	}
	return out
}

func countStates(counts map[string]int) []stateCount {
	var out []stateCount
	for _, st := range runStates {
		if n := counts[st]; n > 0 {
			out = append(out, stateCount{State: st, Class: runClass(st), N: n})
		}
	}
	return out
}

// runTable is the data of the "run-table" template: a job's runs by
// device, or a device's runs (OnDevice) with their script and job.
type runTable struct {
	L        Lang
	Rows     []runRow
	OnDevice bool
}

type jobPage struct {
	Job      service.JobView
	Counts   []stateCount
	Table    runTable
	Finished bool
	Skipped  int
	Params   []string // NAME=value, secrets masked
}

func (s *server) jobView(r *http.Request, rc *reqCtx) (jobPage, error) {
	id, err := pathID(r)
	if err != nil {
		return jobPage{}, err
	}
	j, err := s.svc.GetJob(r.Context(), rc.user, id)
	if err != nil {
		return jobPage{}, err
	}
	p := jobPage{Job: j, Counts: countStates(j.Counts), Table: runTable{L: rc.lang, Rows: newRunRows(rc.lang, j.Runs)}, Finished: true}
	for _, run := range j.Runs {
		p.Finished = p.Finished && runFinal(run.State)
	}
	for k, v := range j.Params {
		p.Params = append(p.Params, k+"="+v)
	}
	slices.Sort(p.Params)
	p.Skipped, _ = strconv.Atoi(r.URL.Query().Get("skipped"))
	return p, nil
}

func (s *server) jobPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p, err := s.jobView(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "job.title", p
	s.render(w, http.StatusOK, "job", v)
}

// jobProgress is the job's progress alone, which the page polls every 2 s
// until every run is final; the fragment of a finished job polls no more.
func (s *server) jobProgress(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p, err := s.jobView(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Page = p
	s.render(w, http.StatusOK, "job-progress", v)
}

type jobsPage struct {
	Jobs []jobRow
	Max  int
}

type jobRow struct {
	service.JobSummary
	Counts []stateCount
}

func (s *server) jobsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	list, err := s.svc.ListJobs(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	p := jobsPage{Max: service.MaxJobsListed}
	for _, j := range list {
		p.Jobs = append(p.Jobs, jobRow{JobSummary: j, Counts: countStates(j.Counts)})
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "jobs.title", p
	s.render(w, http.StatusOK, "jobs", v)
}

// deviceRuns are the device page's script runs; nil for a network device.
func (s *server) deviceRuns(r *http.Request, rc *reqCtx, v view) (*runTable, error) {
	if v.Net != nil {
		return nil, nil
	}
	runs, err := s.svc.DeviceRuns(r.Context(), rc.user, v.Device.ID, core.PageKey{}, service.MaxJobRunsShown)
	if err != nil {
		return nil, err
	}
	return &runTable{L: rc.lang, Rows: newRunRows(rc.lang, runs), OnDevice: true}, nil
}
