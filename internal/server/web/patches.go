package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The patch pages (issue 19): a device's updates — its sources' last
// scans, the restart it waits for, what it misses with the approval of
// each and why, its install history, end-of-life software with removal —
// and the fleet's patches with filters, approval per client or for every
// client, compliance per client and the vulnerability summary. Every
// page calls the service's patch methods, which authorize and scope by
// client, so the API and the dashboard show the same.

func init() { pageNames = append(pageNames, "device-updates", "patches") }

// patchesPerPage is the fleet view's page size.
const patchesPerPage = 50

func (s *server) patchRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /devices/{id}/updates", authz.Read, s.withSession(s.deviceUpdates))
	rt.HandleFunc("POST /devices/{id}/updates/scan", authz.Operate, s.withSession(s.scanUpdates))
	rt.HandleFunc("POST /devices/{id}/updates/install", authz.Operate, s.withSession(s.installUpdates))
	rt.HandleFunc("POST /devices/{id}/updates/eol", authz.Remote, s.withSession(s.removeEOL))
	rt.HandleFunc("GET /patches", authz.Read, s.withSession(s.patches))
	rt.HandleFunc("POST /patches/{id}/approval", authz.Operate, s.withSession(s.patchApproval))
}

// updatesPage is a device's updates page.
type updatesPage struct {
	service.DeviceUpdates
	Now time.Time
}

// Approved reports whether an approval state lets the agent install.
func (updatesPage) Approved(state string) bool { return patch.Approved(state) }

// ScanFailed reports whether a source's scan failed.
func (p updatesPage) ScanFailed() bool {
	return slices.ContainsFunc(p.Sources, func(s core.PatchSourceStatus) bool { return s.Status == core.ScanError })
}

// AgeDays is how many whole days ago t was.
func (p updatesPage) AgeDays(t time.Time) int {
	if t.IsZero() {
		return 0
	}
	return int(p.Now.Sub(t).Hours() / 24)
}

// HasApproved reports whether an approved update is missing.
func (p updatesPage) HasApproved() bool {
	return slices.ContainsFunc(p.Missing, func(m core.DevicePatch) bool { return patch.Approved(m.Approval) })
}

// VerdictClass is the verification's colour.
func (p updatesPage) VerdictClass() string {
	if p.Verification == nil {
		return "unknown"
	}
	return statusClass(core.ParseStatus(p.Verification.Status))
}

// TitleKB is an update's title with its KB number unless the title
// already names it.
func (updatesPage) TitleKB(title, kb string) string {
	if kb == "" || strings.Contains(title, kb) {
		return title
	}
	return title + " (" + kb + ")"
}

// Sev names a severity ("" unrated).
func (l Lang) Sev(s string) string { return l.T("patch.sev." + s) }

func (s *server) deviceUpdates(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderUpdates(w, r, rc, http.StatusOK, "", "", "")
}

// renderUpdates shows device {id}'s updates with a notice (catalog key
// and kind) or an error (catalog key and its detail).
func (s *server) renderUpdates(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, notice, kind, detail string) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	ctx := r.Context()
	du, err := s.svc.DeviceUpdates(ctx, rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	d, err := s.svc.GetDevice(ctx, id) // the header's client and site names
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "upd.title"
	v.Device = newDeviceView(d, rc.lang)
	v.Page = updatesPage{DeviceUpdates: du, Now: s.now()}
	if notice == "" {
		// Set by the actions' redirects for browsers without htmx.
		switch q := r.URL.Query().Get("done"); q {
		case "scan", "install", "offline":
			notice, kind = "upd."+q+".ok", "ok"
			if q == "offline" {
				kind = "warning"
			}
		}
	}
	if kind == "failure" {
		v.Error, v.Detail = notice, detail
	} else {
		v.Notice, v.NoticeKind, v.Detail = notice, kind, detail
	}
	s.render(w, status, "device-updates", v)
}

// scanUpdates asks the agent to scan now.
func (s *server) scanUpdates(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	err = s.svc.ScanUpdates(r.Context(), rc.user, id)
	s.afterUpdateAction(w, r, rc, id, "scan", err, nil)
}

// installUpdates installs the ticked updates ("id", patch IDs) or, with
// approved=1 and none ticked, every approved one.
func (s *server) installUpdates(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, rc.lang, core.ErrInvalid)
		return
	}
	var req service.InstallRequest
	for _, v := range r.PostForm["id"] {
		pid, err := strconv.ParseInt(v, 10, 64)
		if err != nil || pid <= 0 {
			s.renderError(w, r, rc.lang, core.ErrInvalid)
			return
		}
		req.IDs = append(req.IDs, pid)
	}
	if len(req.IDs) == 0 {
		if r.PostFormValue("approved") != "1" {
			s.renderUpdates(w, r, rc, http.StatusBadRequest, "upd.install.none", "failure", "")
			return
		}
		req.Approved = true
	}
	reply, err := s.svc.InstallUpdates(r.Context(), rc.user, id, req)
	var refused []string
	for k, why := range reply.Refused {
		refused = append(refused, k+": "+rc.lang.Message(why))
	}
	slices.Sort(refused)
	s.afterUpdateAction(w, r, rc, id, "install", err, refused)
}

// afterUpdateAction answers a scan or install: an offline agent is a
// warning (it scans daily and at its next start anyway), a refusal an
// error with its reason beside the buttons, success a notice. Plain
// forms are redirected back (a refusal is shown in place).
func (s *server) afterUpdateAction(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, what string, err error, refused []string) {
	done := what
	switch {
	case errors.Is(err, core.ErrOffline):
		done = "offline"
	case err != nil:
		var ve *policy.ValidationError
		detail := ""
		if t, ok := service.Reason(err); ok {
			detail = rc.lang.Message(t)
		} else if errors.As(err, &ve) {
			detail = ve.In(rc.lang.Code())
		} else {
			s.renderError(w, r, rc.lang, err)
			return
		}
		s.renderUpdates(w, r, rc, http.StatusOK, "upd."+what+".failed", "failure", detail)
		return
	}
	if len(refused) > 0 {
		s.renderUpdates(w, r, rc, http.StatusOK, "upd.install.refused", "warning", strings.Join(refused, "; "))
		return
	}
	http.Redirect(w, r, "/devices/"+strconv.FormatInt(id, 10)+"/updates?done="+done, http.StatusSeeOther)
}

// removeEOL gets (or creates) the package that removes an end-of-life
// program and opens its deployment dialog for this device, uninstall
// chosen: the technician confirms there, and may widen it to the client.
func (s *server) removeEOL(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	rm, err := s.svc.EOLRemovalPackage(r.Context(), rc.user, id, r.PostFormValue("key"))
	if err != nil {
		var ve *policy.ValidationError
		if errors.As(err, &ve) {
			s.renderUpdates(w, r, rc, http.StatusBadRequest, "upd.eol.failed", "failure", ve.In(rc.lang.Code()))
			return
		}
		s.renderError(w, r, rc.lang, err)
		return
	}
	q := url.Values{"action": {rm.Action}, "device": {strconv.FormatInt(id, 10)}}
	http.Redirect(w, r, "/packages/"+strconv.FormatInt(rm.Package.ID, 10)+"/deploy?"+q.Encode(), http.StatusSeeOther)
}

// fleetPage is the fleet's patch view.
type fleetPage struct {
	Clients []core.Client
	Sites   []core.Site
	Q       service.PatchQuery
	Offset  int
	List    service.PatchList
	// Compliance per client, with the vulnerability summary.
	Compliance []service.ClientCompliance
	// Query is the filter as a query string, for the pager and the
	// approval forms' return.
	Query      string
	Prev, Next string // the pager's links, "" when there is none
	lang       Lang
	now        time.Time
	// Unrestricted users may decide for every client.
	Unrestricted bool
}

// Severities, Classes and Sources feed the filter's choices.
func (fleetPage) Severities() []string { return patch.Severities }
func (fleetPage) Classes() []string    { return core.Classifications }
func (fleetPage) Sources() []string    { return append(slices.Clone(patch.Sources), core.SourceEOL) }

// Decision is the technicians' decision on p for client (0: every
// client): "approved", "declined" or "".
func (fleetPage) Decision(row service.PatchRow, client int64) string {
	for _, a := range row.Decisions {
		if a.ClientID == client {
			if a.Approved {
				return "approved"
			}
			return "declined"
		}
	}
	return ""
}

// ClientDecisions lists the decisions on row for single clients.
func (p fleetPage) ClientDecisions(row service.PatchRow) []clientDecision {
	var out []clientDecision
	for _, a := range row.Decisions {
		if a.ClientID == 0 {
			continue
		}
		name := "#" + strconv.FormatInt(a.ClientID, 10)
		for _, c := range p.Clients {
			if c.ID == a.ClientID {
				name = c.Name
			}
		}
		out = append(out, clientDecision{PatchApproval: a, Client: name})
	}
	return out
}

// clientDecision is a decision for one client, with its name.
type clientDecision struct {
	core.PatchApproval
	Client string
}

// AgeDays is how many whole days ago t was.
func (p fleetPage) AgeDays(t time.Time) int {
	if t.IsZero() {
		return 0
	}
	return int(p.now.Sub(t).Hours() / 24)
}

// Pct formats a compliance percentage, rounded down to a whole one so
// that 99.6 % is never shown as 100 %.
func (p fleetPage) Pct(f float64) string { return p.lang.Percent(int(f)) }

// CVEs counts a vulnerability map's entry for severity.
func (fleetPage) CVEs(m map[string]int, sev string) int { return m[sev] }

// VulnSeverities are the summary's columns: the severities, then
// unrated.
func (fleetPage) VulnSeverities() []string { return append(slices.Clone(patch.Severities), "") }

func (s *server) patches(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx, q := r.Context(), r.URL.Query()
	p := fleetPage{lang: rc.lang, now: s.now(), Unrestricted: !rc.user.Scope.Restricted}
	bad := ""
	num := func(k string) int64 {
		v := q.Get(k)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad = k
			return 0
		}
		return n
	}
	p.Q = service.PatchQuery{ClientID: num("client"), SiteID: num("site"), Severity: q.Get("severity"),
		Classification: q.Get("classification"), Source: q.Get("source"), CVE: strings.TrimSpace(q.Get("cve")),
		Search: strings.TrimSpace(q.Get("q")), Limit: patchesPerPage, Offset: int(num("offset"))}
	var err error
	if p.Clients, err = s.svc.ListClients(ctx, rc.user); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if p.Sites, err = s.svc.ListSites(ctx, rc.user); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "fp.title"
	status := http.StatusOK
	if bad == "" {
		p.List, err = s.svc.ListPatches(ctx, rc.user, p.Q)
		var ve *policy.ValidationError
		switch {
		case errors.As(err, &ve):
			status, v.Error, v.Detail = http.StatusBadRequest, "fp.badFilter", ve.In(rc.lang.Code())
		case err != nil:
			s.renderError(w, r, rc.lang, err)
			return
		}
		if p.Compliance, err = s.svc.PatchCompliance(ctx, rc.user, p.Q.ClientID); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
	} else {
		status, v.Error, v.Detail = http.StatusBadRequest, "fp.badFilter", bad
	}
	filter := url.Values{}
	for _, k := range []string{"client", "site", "severity", "classification", "source", "cve", "q"} {
		if x := strings.TrimSpace(q.Get(k)); x != "" && k != "done" {
			filter.Set(k, x)
		}
	}
	page := func(off int) string {
		f := url.Values{}
		for k, vs := range filter {
			f[k] = vs
		}
		if off > 0 {
			f.Set("offset", strconv.Itoa(off))
		}
		return "/patches?" + f.Encode()
	}
	p.Query = filter.Encode()
	if p.Q.Offset > 0 {
		p.Prev = page(max(p.Q.Offset-patchesPerPage, 0))
	}
	if p.Q.Offset+len(p.List.Patches) < p.List.Total {
		p.Next = page(p.Q.Offset + patchesPerPage)
	}
	switch d := r.URL.Query().Get("done"); d {
	case "approved", "declined", "cleared":
		v.Notice, v.NoticeKind = "fp."+d+"Notice", "ok"
		// For whom, named: without a client filter the list shows only
		// the decisions for every client.
		if c := q.Get("for"); c == "0" {
			v.Detail = rc.lang.T("fp.everyClient")
		} else if id, err := strconv.ParseInt(c, 10, 64); err == nil {
			for _, cl := range p.Clients {
				if cl.ID == id {
					v.Detail = cl.Name
				}
			}
		}
	}
	v.Page = p
	s.render(w, status, "patches", v)
}

// patchApproval approves, declines or clears ("decision") patch {id} for
// a client ("client", 0: every client) and returns to the fleet view
// with its filter ("return", a query string).
func (s *server) patchApproval(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	client, err := strconv.ParseInt(r.PostFormValue("client"), 10, 64)
	if err != nil || client < 0 {
		s.renderError(w, r, rc.lang, core.ErrInvalid)
		return
	}
	done := ""
	switch d := r.PostFormValue("decision"); d {
	case "approve", "decline":
		_, err = s.svc.SetPatchApproval(r.Context(), rc.user, id, service.Approval{Client: client, Approved: d == "approve"})
		done = d + "d"
	case "clear":
		err = s.svc.DeletePatchApproval(r.Context(), rc.user, id, client)
		done = "cleared"
	default:
		err = core.ErrInvalid
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	back, _ := url.ParseQuery(r.PostFormValue("return")) // only our own filter keys go back
	ret := url.Values{}
	for _, k := range []string{"client", "site", "severity", "classification", "source", "cve", "q", "offset"} {
		if x := back.Get(k); x != "" {
			ret.Set(k, x)
		}
	}
	ret.Set("done", done)
	ret.Set("for", strconv.FormatInt(client, 10))
	http.Redirect(w, r, "/patches?"+ret.Encode()+"#patch-"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}
