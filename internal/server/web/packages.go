package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/httperr"
	"github.com/wacht-rmm/wacht/internal/server/transfer"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Software packages (issue 17): the catalog list with its filter, and the
// editor of a package with the upload of its installer. Every role reads;
// administrators of all clients change (the service authorizes, validates
// and audits). Command lines are one argument per line: what a line says
// is one argument, spaces and quotes included, never split by a shell.

func init() { pageNames = append(pageNames, "packages", "package") }

func (s *server) packageRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /packages", authz.Read, s.withSession(s.packagesPage))
	rt.HandleFunc("GET /packages/new", authz.Admin, s.withSession(s.newPackage))
	rt.HandleFunc("POST /packages", authz.Admin, s.withSession(s.savePackage))
	rt.HandleFunc("GET /packages/{id}", authz.Read, s.withSession(s.packagePage))
	rt.HandleFunc("POST /packages/{id}", authz.Admin, s.withSession(s.savePackage))
	rt.HandleFunc("POST /packages/{id}/delete", authz.Admin, s.withSession(s.deletePackage))
	rt.HandleFunc("PUT /packages/{id}/file", authz.Admin, s.withSession(s.uploadPackage))
	rt.HandleFunc("GET /packages/{id}/deploy", authz.Remote, s.withSession(s.deployDialog))
	rt.HandleFunc("POST /packages/{id}/deploy", authz.Remote, s.withSession(s.deployPackage))
}

// --- the list

type packagesPage struct {
	Packages    []core.Package
	Q, OS, Kind string
	OSes, Kinds []string
	Total       int
	CanEdit     bool
}

func (s *server) packagesPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	list, err := s.svc.ListPackages(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	q := r.URL.Query()
	p := packagesPage{Q: strings.TrimSpace(q.Get("q")), OS: q.Get("os"), Kind: q.Get("kind"), Total: len(list),
		OSes: service.PackageOSes, Kinds: slices.Sorted(maps.Keys(core.PackageKinds)), CanEdit: authz.Allows(rc.user, authz.Admin)}
	want := strings.ToLower(p.Q)
	for _, pk := range list {
		if (want == "" || strings.Contains(strings.ToLower(pk.Name+"\x00"+pk.ManagerID+"\x00"+pk.Version), want)) &&
			(p.OS == "" || pk.OS == p.OS) && (p.Kind == "" || pk.Kind == p.Kind) {
			p.Packages = append(p.Packages, pk)
		}
	}
	// Catalog entries first, as in the script library.
	slices.SortStableFunc(p.Packages, func(a, b core.Package) int {
		return boolInt(a.Builtin == "") - boolInt(b.Builtin == "")
	})
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "packages.title", p
	if q.Get("deleted") != "" {
		v.Notice, v.NoticeKind = "packages.deleted", "ok"
	}
	s.render(w, http.StatusOK, "packages", v)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// --- the editor

// pkgParamRow is one parameter row; a secret's value is never shown.
type pkgParamRow struct {
	Index int
	P     core.PackageParam
	Error string
}

type packagePage struct {
	Pkg                 core.Package
	New, ReadOnly       bool
	Install, Uninstall  string // one argument per line
	ExitCodes           string // "code=meaning" per line
	Rows                []pkgParamRow
	Errs                map[string]string
	Errors              string
	OSes, Arches, Kinds []string
	Detections          []string
	Meanings            []string
	Duplicate           string
	MaxUpload           int64
}

// pkgFields are the editor's fields that get their messages beside them;
// any deeper field (install[2], detection.path) goes to its prefix.
var pkgFields = []string{"name", "version", "os", "arch", "kind", "manager_id", "install", "uninstall", "params",
	"exit_codes", "detection.kind", "detection.display_name", "detection.product_code", "detection.path", "detection.name",
	"detection.min_version", "require_authenticode", "timeout_seconds"}

func (s *server) renderPackage(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, p packagePage, ve *policy.ValidationError) {
	p.OSes, p.Arches, p.Kinds = service.PackageOSes, service.PackageArches, slices.Sorted(maps.Keys(core.PackageKinds))
	p.Detections = []string{core.DetectRegistry, core.DetectFile, core.DetectService, core.DetectOSPackage, core.DetectAppBundle}
	p.Meanings = []string{core.ExitOK, core.ExitReboot, core.ExitRetry, core.ExitFailed}
	p.ReadOnly = p.ReadOnly || !authz.Allows(rc.user, authz.Admin) || p.Pkg.Builtin != ""
	p.Install, p.Uninstall = strings.Join(p.Pkg.Install, "\n"), strings.Join(p.Pkg.Uninstall, "\n")
	p.ExitCodes = exitCodesText(p.Pkg.ExitCodes)
	p.Errs = map[string]string{}
	if ve != nil {
		for _, fe := range ve.Fields {
			f := fe.Field
			if strings.HasPrefix(f, "params[") {
				continue // to its row
			}
			for _, k := range pkgFields {
				if f == k || strings.HasPrefix(f, k+"[") || strings.HasPrefix(f, k+".") {
					p.Errs[k] = strings.TrimPrefix(strings.TrimSpace(p.Errs[k]+" "+fe.In(rc.lang.Code())), " ")
					break
				}
			}
		}
		p.Errors = ve.In(rc.lang.Code())
	}
	for i, prm := range p.Pkg.Params {
		if prm.Secret {
			prm.Value = "" // never sent back, not even as typed
		}
		row := pkgParamRow{Index: i, P: prm}
		if ve != nil {
			row.Error = ve.For("params["+strconv.Itoa(i)+"]", rc.lang.Code())
		}
		p.Rows = append(p.Rows, row)
	}
	if !p.ReadOnly {
		for i := range emptyParamRows {
			p.Rows = append(p.Rows, pkgParamRow{Index: len(p.Pkg.Params) + i})
		}
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "package.title", p
	if ve != nil {
		v.Error = "package.invalid"
	}
	switch {
	case r.URL.Query().Get("saved") != "":
		v.Notice, v.NoticeKind = "package.saved", "ok"
	case r.URL.Query().Get("uploaded") != "":
		v.Notice, v.NoticeKind = "package.uploaded", "ok"
	}
	s.render(w, status, "package", v)
}

// exitCodesText writes exit codes as "code=meaning" lines, by code.
func exitCodesText(m map[int]string) string {
	var b strings.Builder
	for _, c := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%d=%s\n", c, m[c])
	}
	return b.String()
}

func (s *server) newPackage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p := packagePage{New: true, Pkg: core.Package{OS: "windows", Kind: core.PkgUpload, ExitCodes: core.DefaultExitCodes(),
		TimeoutSeconds: service.DefaultPackageTimeout, Detection: core.Detection{Kind: core.DetectRegistry}}}
	// Duplicate: a catalog entry or a package as a new one; its secrets
	// are typed again.
	if from := r.URL.Query().Get("from"); from != "" {
		id, err := strconv.ParseInt(from, 10, 64)
		if err != nil {
			s.renderError(w, r, rc.lang, core.ErrNotFound)
			return
		}
		src, err := s.svc.GetPackage(r.Context(), rc.user, id)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		in := service.PackageInputOf(src)
		p.Pkg = inputPackage(0, in)
		p.Pkg.Name = fmt.Sprintf(rc.lang.T("package.copyOf"), src.Name)
		p.Pkg.Source = src.Source
	}
	s.renderPackage(w, r, rc, http.StatusOK, p, nil)
}

// inputPackage shows an input (as typed) in the editor.
func inputPackage(id int64, in service.PackageInput) core.Package {
	return core.Package{ID: id, Name: in.Name, Version: in.Version, OS: in.OS, Arch: in.Arch, Kind: in.Kind, ManagerID: in.ManagerID,
		Install: in.Install, Uninstall: in.Uninstall, Params: in.Params, ExitCodes: in.ExitCodes, Detection: in.Detection,
		RequireAuthenticode: in.RequireAuthenticode, TimeoutSeconds: in.TimeoutSeconds}
}

func (s *server) packagePage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	pk, err := s.svc.GetPackage(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.renderPackage(w, r, rc, http.StatusOK, packagePage{Pkg: pk, Duplicate: "/packages/new?from=" + strconv.FormatInt(id, 10)}, nil)
}

// formPackage reads the editor. Command lines are one argument per line
// (blank lines dropped; a line's spaces are kept); exit codes are
// "code=meaning" lines (bad: the lines that are not); empty parameter rows and rows marked for removal
// are dropped. What is not a number reaches the service as an invalid
// value, so that it says what it wants beside the field.
func formPackage(r *http.Request) (in service.PackageInput, bad []string) {
	f := func(k string) string { return r.PostFormValue(k) }
	in = service.PackageInput{Name: f("name"), Version: f("version"), OS: f("os"), Arch: f("arch"), Kind: f("kind"),
		ManagerID: f("manager_id"), Install: lines(f("install")), Uninstall: lines(f("uninstall")),
		Params: []core.PackageParam{}, RequireAuthenticode: f("require_authenticode") != "",
		Detection: core.Detection{Kind: f("detection_kind"), DisplayName: strings.TrimSpace(f("display_name")),
			ProductCode: strings.TrimSpace(f("product_code")), Path: strings.TrimSpace(f("path")),
			Name: strings.TrimSpace(f("detection_name")), MinVersion: strings.TrimSpace(f("min_version"))}}
	in.TimeoutSeconds, _ = strconv.Atoi(strings.TrimSpace(f("timeout_seconds")))
	if in.TimeoutSeconds == 0 && strings.TrimSpace(f("timeout_seconds")) != "" {
		in.TimeoutSeconds = -1
	}
	in.ExitCodes = map[int]string{}
	for _, l := range lines(f("exit_codes")) {
		code, meaning, _ := strings.Cut(l, "=")
		c, err := strconv.Atoi(strings.TrimSpace(code))
		if err != nil {
			bad = append(bad, l)
			continue
		}
		in.ExitCodes[c] = strings.TrimSpace(meaning)
	}
	n, _ := strconv.Atoi(f("prows"))
	for i := 0; i < n && i < 32+emptyParamRows; i++ {
		g := func(k string) string { return f("p" + strconv.Itoa(i) + "." + k) }
		name := strings.TrimSpace(g("name"))
		if g("remove") != "" || name+g("value") == "" {
			continue
		}
		in.Params = append(in.Params, core.PackageParam{Name: name, Value: g("value"), Secret: g("secret") != ""})
	}
	return in, bad
}

// lines splits a textarea into its non-blank lines (CRLF as the browser
// sends it), each kept as typed.
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func (s *server) savePackage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var id int64
	if r.PathValue("id") != "" {
		var err error
		if id, err = pathID(r); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	in, bad := formPackage(r)
	var pk core.Package
	var err error
	if len(bad) > 0 {
		err = &policy.ValidationError{Fields: []policy.FieldError{{Field: "exit_codes", Message: core.Text{
			EN: "write one code=meaning per line, e.g. 3010=reboot: " + strings.Join(bad, "; "),
			DE: "schreiben Sie je Zeile code=bedeutung, z. B. 3010=reboot: " + strings.Join(bad, "; ")}}}}
	} else {
		pk, err = s.svc.SavePackage(r.Context(), rc.user, id, in)
	}
	if ve := (*policy.ValidationError)(nil); errors.As(err, &ve) {
		p := packagePage{New: id == 0, Pkg: inputPackage(id, in)}
		if id != 0 { // the file stays: show it
			if old, gerr := s.svc.GetPackage(r.Context(), rc.user, id); gerr == nil {
				p.Pkg.SHA256, p.Pkg.Size, p.Pkg.FileName, p.Pkg.Builtin = old.SHA256, old.Size, old.FileName, old.Builtin
			}
		}
		s.renderPackage(w, r, rc, http.StatusBadRequest, p, ve)
		return
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/packages/"+strconv.FormatInt(pk.ID, 10)+"?saved=1", http.StatusSeeOther)
}

func (s *server) deletePackage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	id, err := pathID(r)
	if err == nil {
		err = s.svc.DeletePackage(r.Context(), rc.user, id, r.PostFormValue("force") == "1")
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/packages?deleted=1", http.StatusSeeOther)
}

// uploadPackage takes the browser's PUT of the installer
// (static/upload.js), streamed into the blob store as it is hashed, and
// answers JSON: the package, or the error with its reason in the page's
// language.
func (s *server) uploadPackage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	var pk core.Package
	if err == nil {
		pk, err = s.svc.UploadPackageFile(r.Context(), rc.user, id, r.URL.Query().Get("name"), transfer.Body(w, r))
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		status, code, _ := httperr.Status(err)
		msg, ok := refusal(rc.lang, err)
		if !ok {
			msg = rc.lang.T("package.uploadFailed")
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"sha256": pk.SHA256, "size": pk.Size, "file_name": pk.FileName})
}

// --- deploying

// deployForm reads the package and what the user may deploy it to: the
// script run dialog's choice of devices (targetForm), with install or
// uninstall instead of parameters.
func (s *server) deployForm(r *http.Request, rc *reqCtx) (scriptRunPage, error) {
	id, err := pathID(r)
	if err != nil {
		return scriptRunPage{}, err
	}
	pk, err := s.svc.GetPackage(r.Context(), rc.user, id)
	if err != nil {
		return scriptRunPage{}, err
	}
	p, err := s.targetForm(r, rc)
	p.Package, p.Action = &pk, service.DeployInstall
	// Only devices the package is for are offered by name.
	p.Devices = slices.DeleteFunc(p.Devices, func(d service.Device) bool {
		return d.OS != pk.OS || (pk.Arch != "" && d.Arch != pk.Arch)
	})
	return p, err
}

func (s *server) deployDialog(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p, err := s.deployForm(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if r.URL.Query().Get("action") == service.DeployUninstall {
		p.Action = service.DeployUninstall
	}
	for _, d := range r.URL.Query()["device"] {
		if id, err := strconv.ParseInt(d, 10, 64); err == nil {
			p.Chosen[id] = true
		}
	}
	s.renderRun(w, r, rc, http.StatusOK, p)
}

func (s *server) deployPackage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p, err := s.deployForm(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	t := readTargets(r, &p)
	p.Action = r.PostFormValue("action")
	req := service.DeployRequest{Action: p.Action, Devices: t.Devices, Site: t.Site, Client: t.Client, Tag: t.Tag}
	var ok bool
	if req.ExpiresMinutes, ok = readHours(r, rc, &p); !ok {
		s.renderRun(w, r, rc, http.StatusBadRequest, p)
		return
	}
	res, err := s.svc.DeployPackage(r.Context(), rc.user, p.Package.ID, req)
	s.afterRun(w, r, rc, p, res, err)
}
