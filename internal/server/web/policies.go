package web

import (
	"bytes"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// Policies: the list with the default-level assignment, the create/edit
// form (checks as rows, parameters as JSON, automated tasks as rows with a
// field per script parameter, desired software states as rows, validation
// messages inline),
// assignment pages for clients, sites and devices, and a device's
// effective set with the source of each check. The service.Service checks
// roles and client scope, validates and audits.

func init() { pageNames = append(pageNames, "policies", "policy", "policy-assign") }

// policyRoutes registers the policy pages.
func (s *server) policyRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /policies", authz.Read, s.withSession(s.policies))
	rt.HandleFunc("GET /policies/new", authz.Admin, s.withSession(s.newPolicy))
	rt.HandleFunc("POST /policies", authz.Admin, s.withSession(s.savePolicy))
	rt.HandleFunc("GET /policies/{id}", authz.Read, s.withSession(s.policyPage))
	rt.HandleFunc("POST /policies/{id}", authz.Admin, s.withSession(s.savePolicy))
	rt.HandleFunc("POST /policies/{id}/delete", authz.Admin, s.withSession(s.deletePolicy))
	rt.HandleFunc("POST /policies/default", authz.Admin, s.withSession(s.assignPolicies(core.LevelDefault)))
	rt.HandleFunc("GET /devices/{id}/effective", authz.Read, s.withSession(s.effectiveFragment))
	for _, l := range []struct{ level, path string }{
		{core.LevelClient, "clients"}, {core.LevelSite, "sites"}, {core.LevelDevice, "devices"},
	} {
		rt.HandleFunc("GET /"+l.path+"/{id}/policies", authz.Read, s.withSession(s.assignPage(l.level)))
		rt.HandleFunc("POST /"+l.path+"/{id}/policies", authz.Operate, s.withSession(s.assignPolicies(l.level)))
	}
}

// policyRow is one check row of the form.
type policyRow struct {
	Index  int
	Check  core.PolicyCheck
	Params string    // the JSON, for read-only pages
	Form   checkForm // the parameters' fields
	Every  string
	Sched  string // the schedule in words
	Error  string // messages for this row not shown beside a field
}

// schedLabel words a schedule ("every 5 min", "daily at 06:00").
func schedLabel(l Lang, s core.Schedule) string {
	if s.Class == core.ScheduleDaily {
		if s.At == "" {
			return l.T("sched.daily") + " " + l.T("sched.roleDefault")
		}
		return l.T("sched.daily") + " " + s.At
	}
	m := s.EveryMinutes
	if m == 0 {
		m = policy.DefaultEveryMinutes
	}
	return l.T("policy.every") + " " + strconv.Itoa(m) + " " + l.T("policy.minutes")
}

// effectiveRow is one check of a device's effective set.
type effectiveRow struct {
	policy.Entry
	Sched  string
	Params string
}

type policyFormView struct {
	Policy     core.Policy
	Rows       []policyRow
	Tasks      []taskRow
	Software   []softwareRow
	Patch      patchForm      // the patch settings card (patches_policy.go)
	Packages   []core.Package // for the software rows' package choice
	Scripts    []core.Script  // the library, for the tasks' script choice
	TaskKinds  []string
	CheckNames []string // for the tasks' fix check choice
	Types      []string
	Errors     string // messages for name and description
	IsAdmin    bool
	ReadOnly   bool
	New        bool
	Assignable []core.Policy // the list page: policies for the default level
	Default    map[int64]bool
	Policies   []core.Policy
}

// emptyRows is how many blank rows the form offers for new checks.
const emptyRows = 3

// rowsOf makes the form's rows of cs, with ve's refusals beside their
// fields (the rest on the row), blank rows to add checks unless readOnly,
// and privileged parameters locked unless admin.
func rowsOf(cs []core.PolicyCheck, ve *policy.ValidationError, lang Lang, readOnly, admin bool) []policyRow {
	var rows []policyRow
	for i, c := range cs {
		r := policyRow{Index: i, Check: c, Params: string(c.Params), Sched: schedLabel(lang, c.Schedule)}
		if c.Schedule.EveryMinutes != 0 {
			r.Every = strconv.Itoa(c.Schedule.EveryMinutes)
		}
		errs, rest := paramErrors(ve, i, lang)
		claimed := map[string]bool{}
		r.Form = checkFormOf(lang, i, c, errs, claimed, admin)
		r.Params = r.Form.JSON
		for _, k := range slices.Sorted(maps.Keys(errs)) {
			if !claimed[k] {
				rest = append(rest, "params."+k+": "+errs[k])
			}
		}
		r.Error = strings.Join(rest, "; ")
		rows = append(rows, r)
	}
	if !readOnly {
		for i := 0; i < emptyRows; i++ {
			n := len(cs) + i
			rows = append(rows, policyRow{Index: n, Check: core.PolicyCheck{Schedule: core.Schedule{Class: core.Schedule24x7}},
				Form: checkForm{L: lang, Row: n}})
		}
	}
	return rows
}

func (s *server) policies(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ps, err := s.svc.ListPolicies(r.Context())
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	def, err := s.svc.Assignments(r.Context(), rc.user, core.LevelDefault, 0)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	pv := policyFormView{Policies: ps, IsAdmin: rc.user.Role == core.RoleAdmin, Default: map[int64]bool{}}
	for _, a := range def {
		pv.Default[a.PolicyID] = true
	}
	for _, p := range ps {
		if p.Builtin == "" {
			pv.Assignable = append(pv.Assignable, p)
		}
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "policies.title", pv
	switch q := r.URL.Query(); {
	case q.Get("saved") != "":
		v.Notice, v.NoticeKind = "policies.saved", "ok"
	case q.Get("deleted") != "":
		v.Notice, v.NoticeKind = "policies.deleted", "ok"
	}
	s.render(w, http.StatusOK, "policies", v)
}

func (s *server) renderPolicyForm(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, p core.Policy, ve *policy.ValidationError, errKey string) {
	isAdmin := rc.user.Role == core.RoleAdmin
	readOnly := !isAdmin || p.Builtin != ""
	pv := policyFormView{Policy: p, Types: checkspec.Names(), IsAdmin: isAdmin, ReadOnly: readOnly, New: p.ID == 0}
	pv.Rows = rowsOf(p.Checks, ve, rc.lang, readOnly, isAdmin)
	scripts, err := s.svc.ListScripts(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	pv.Scripts, pv.TaskKinds = scripts, taskKinds
	pv.Tasks = taskRowsOf(p.Tasks, scripts, ve, rc.lang, readOnly)
	if pv.Packages, err = s.svc.ListPackages(r.Context(), rc.user); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	pv.Software = softwareRowsOf(p.Software, pv.Packages, ve, rc.lang, readOnly)
	if r.Method == http.MethodPost && r.PostFormValue("patch.present") != "" {
		pv.Patch = patchFormPosted(r) // what was typed, refused or not
		ve = pv.Patch.renumberRuleErrors(ve)
	} else {
		pv.Patch = patchFormOf(p.Patch, readOnly)
	}
	pv.Patch = pv.Patch.withErrors(ve, rc.lang)
	for _, c := range p.Checks {
		if !c.Exclude && c.Name != "" {
			pv.CheckNames = append(pv.CheckNames, c.Name)
		}
	}
	if ve != nil {
		var top []string
		for _, f := range ve.Fields {
			if !strings.HasPrefix(f.Field, "checks[") && !strings.HasPrefix(f.Field, "tasks[") && !strings.HasPrefix(f.Field, "software[") &&
				f.Field != "patch" && !strings.HasPrefix(f.Field, "patch.") {
				top = append(top, f.In(rc.lang.Code()))
			}
		}
		pv.Errors = strings.Join(top, "; ")
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page, v.Error = "policy.title", pv, errKey
	s.render(w, status, "policy", v)
}

func (s *server) newPolicy(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderPolicyForm(w, r, rc, http.StatusOK, core.Policy{}, nil, "")
}

func (s *server) policyPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	p, err := s.svc.GetPolicy(r.Context(), id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.renderPolicyForm(w, r, rc, http.StatusOK, p, nil, "")
}

// formPolicy reads the form; blank rows are dropped, so the rows of a
// re-rendered form match the indexes of the validation messages.
func formPolicy(r *http.Request) core.Policy {
	p := core.Policy{
		Name:        r.PostFormValue("name"),
		Description: core.Text{EN: r.PostFormValue("description_en"), DE: r.PostFormValue("description_de")},
		Checks:      []core.PolicyCheck{},
	}
	n, _ := strconv.Atoi(r.PostFormValue("rows"))
	for i := 0; i < n && i < policy.MaxChecks+emptyRows; i++ {
		f := func(k string) string { return strings.TrimSpace(r.PostFormValue("c" + strconv.Itoa(i) + "." + k)) }
		c := core.PolicyCheck{Name: f("name"), Type: f("type"), Exclude: f("exclude") != "",
			Schedule: core.Schedule{Class: f("class"), At: f("at")}}
		if c.Name == "" && c.Type == "" && !c.Exclude && f("params") == "" {
			continue
		}
		if e := f("every"); e != "" {
			m, err := strconv.Atoi(e)
			if err != nil {
				m = -1 // refused by validation, naming the field
			}
			c.Schedule.EveryMinutes = m
		}
		if c.Schedule.Class == core.ScheduleDaily {
			c.Schedule.EveryMinutes = 0
		} else {
			c.Schedule.At = ""
		}
		c.Params = rowParams(r.PostForm, "c"+strconv.Itoa(i)+".", c.Type)
		p.Checks = append(p.Checks, c)
	}
	p.Tasks = formTasks(r)
	p.Software = formSoftware(r)
	return p
}

// formPolicyPatch reads the form with its patch settings; the second
// result lists the patch fields that are not numbers.
func formPolicyPatch(r *http.Request) (core.Policy, []policy.FieldError) {
	p := formPolicy(r)
	var errs []policy.FieldError
	p.Patch, errs = formPatch(r)
	return p, errs
}

func (s *server) savePolicy(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var id int64
	if r.PathValue("id") != "" {
		var err error
		if id, err = pathID(r); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	p, perrs := formPolicyPatch(r)
	p.ID = id
	var err error
	if len(perrs) > 0 {
		err = &policy.ValidationError{Fields: perrs}
	} else {
		err = s.svc.SavePolicy(r.Context(), rc.user, &p)
	}
	var ve *policy.ValidationError
	switch {
	case errors.As(err, &ve):
		s.renderPolicyForm(w, r, rc, http.StatusBadRequest, p, ve, "policy.invalid")
		return
	case errors.Is(err, core.ErrConflict):
		s.renderPolicyForm(w, r, rc, http.StatusConflict, p, &policy.ValidationError{Fields: []policy.FieldError{{Field: "name",
			Message: core.Text{EN: "a policy with this name exists", DE: "eine Richtlinie mit diesem Namen gibt es schon"}}}}, "policy.invalid")
		return
	case err != nil:
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/policies?saved=1", http.StatusSeeOther)
}

func (s *server) deletePolicy(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	s.act(w, r, rc, func(id int64) (string, error) {
		return "/policies?deleted=1", s.svc.DeletePolicy(r.Context(), rc.user, id)
	})
}

// assignView is the assignment page of a client, site or device; for a
// device also its effective set.
type assignView struct {
	Level     string
	TargetID  int64
	Target    string // name
	Path      string // e.g. /clients/3
	Policies  []core.Policy
	Assigned  map[int64]bool
	CanAssign bool
	Effective []effectiveRow
	Excluded  []policy.Excluded
	// Tasks are the device's effective automated tasks.
	Tasks         []effectiveTask
	ExcludedTasks []policy.Excluded
	// Software are the device's effective desired software states.
	Software         []policy.SoftwareEntry
	ExcludedSoftware []policy.Excluded
	Revision         string
	IsDevice         bool
	// Patch is the device's effective patch settings with their source
	// (nil: patch management is off for it).
	Patch *policy.PatchEntry
	Sites []core.Site // a client's sites, to reach their pages
	// Inherited are the policies a device gets from the levels above it
	// (its role's template, default, client, site), in order.
	Inherited []policy.Source
}

// withEffective fills in a device's effective set e: the device's policy
// page and the device page's fragment show the same.
func (av *assignView) withEffective(l Lang, e policy.Effective) {
	av.IsDevice, av.Revision, av.Excluded = true, e.Revision, e.Excluded
	for _, c := range e.Checks {
		av.Effective = append(av.Effective, effectiveRow{Entry: c, Sched: schedLabel(l, c.Schedule), Params: string(c.Params)})
	}
	av.Tasks, av.ExcludedTasks = effectiveTasks(l, e.Tasks), e.ExcludedTasks
	av.Software, av.ExcludedSoftware = e.Software, e.ExcludedSoftware
	av.Patch = e.Patch
	for _, src := range e.Layers {
		if src.Level != core.LevelDevice {
			av.Inherited = append(av.Inherited, src)
		}
	}
}

// sourceView is what the "policy-source" template shows: where an
// effective entry comes from, linked to the policy.
type sourceView struct {
	L         Lang
	Source    policy.Source
	Overrides *policy.Source
}

// Src pairs an entry's source (and what it overrides, or nil) with the
// language for the "policy-source" template.
func (l Lang) Src(src policy.Source, over *policy.Source) sourceView {
	return sourceView{L: l, Source: src, Overrides: over}
}

func (s *server) assignPage(level string) func(http.ResponseWriter, *http.Request, *reqCtx) {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		id, err := pathID(r)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		s.renderAssign(w, r, rc, level, id, http.StatusOK, "", "")
	}
}

func (s *server) renderAssign(w http.ResponseWriter, r *http.Request, rc *reqCtx, level string, id int64, status int, errKey, notice string) {
	ctx := r.Context()
	as, err := s.svc.Assignments(ctx, rc.user, level, id) // checks target and scope
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	ps, err := s.svc.ListPolicies(ctx)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	av := assignView{Level: level, TargetID: id, Assigned: map[int64]bool{}, CanAssign: authz.CanOperate(rc.user.Role)}
	for _, a := range as {
		av.Assigned[a.PolicyID] = true
	}
	for _, p := range ps {
		if p.Builtin == "" {
			av.Policies = append(av.Policies, p)
		}
	}
	switch level {
	case core.LevelClient:
		av.Path = "/clients/" + strconv.FormatInt(id, 10)
		if c, err := s.svc.GetClient(ctx, rc.user, id); err == nil {
			av.Target = c.Name
		}
		if sites, err := s.svc.ListSites(ctx, rc.user); err == nil {
			for _, st := range sites {
				if st.ClientID == id {
					av.Sites = append(av.Sites, st)
				}
			}
		}
	case core.LevelSite:
		av.Path = "/sites/" + strconv.FormatInt(id, 10)
		if sites, err := s.svc.ListSites(ctx, rc.user); err == nil {
			for _, st := range sites {
				if st.ID == id {
					av.Target = st.ClientName + " / " + st.Name
				}
			}
		}
	case core.LevelDevice:
		av.Path = "/devices/" + strconv.FormatInt(id, 10)
		e, err := s.svc.EffectivePolicy(ctx, rc.user, id)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		av.withEffective(rc.lang, e.Effective)
		if d, err := s.svc.GetDevice(ctx, id); err == nil {
			av.Target = d.Hostname
		}
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page, v.Error = "assign.title", av, errKey
	if notice != "" {
		v.Notice, v.NoticeKind = notice, "ok"
	}
	s.render(w, status, "policy-assign", v)
}

// effectiveFragment is the device's effective set as an htmx fragment,
// loaded into the device page.
func (s *server) effectiveFragment(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	e, err := s.svc.EffectivePolicy(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	var av assignView
	av.withEffective(rc.lang, e.Effective)
	v := s.view(r, rc.lang, rc)
	v.Page = av
	var buf bytes.Buffer
	if err := s.pages["policy-assign"].ExecuteTemplate(&buf, "effective", v); err != nil {
		s.log.Error("rendering template", "template", "effective", "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

func (s *server) assignPolicies(level string) func(http.ResponseWriter, *http.Request, *reqCtx) {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		var id int64
		if level != core.LevelDefault {
			var err error
			if id, err = pathID(r); err != nil {
				s.renderError(w, r, rc.lang, err)
				return
			}
		}
		if err := r.ParseForm(); err != nil {
			s.renderError(w, r, rc.lang, core.ErrInvalid)
			return
		}
		var ids []int64
		for _, v := range r.PostForm["policy"] {
			pid, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				s.renderError(w, r, rc.lang, core.ErrInvalid)
				return
			}
			ids = append(ids, pid)
		}
		if _, err := s.svc.SetAssignments(r.Context(), rc.user, level, id, ids); err != nil {
			var ve *policy.ValidationError
			if errors.As(err, &ve) && level != core.LevelDefault {
				s.renderAssign(w, r, rc, level, id, http.StatusBadRequest, "policy.invalid", "")
				return
			}
			s.renderError(w, r, rc.lang, err)
			return
		}
		if level == core.LevelDefault {
			http.Redirect(w, r, "/policies?saved=1", http.StatusSeeOther)
			return
		}
		s.renderAssign(w, r, rc, level, id, http.StatusOK, "", "assign.saved")
	}
}
