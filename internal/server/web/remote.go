package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/httperr"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Remote management of one device: its processes (refreshed live while
// the page is open), its services and a box to run one command line. Every
// page calls the service, which authorizes, honours the device's local
// lock and audits; a refusal (locked, offline, second factor missing) is
// shown on the page with its reason.

func init() { pageNames = append(pageNames, "device-processes", "device-services", "device-run") }

func (s *server) remoteRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /devices/{id}/processes", authz.Remote, s.withSession(s.processesPage))
	rt.HandleFunc("GET /devices/{id}/processes/list", authz.Remote, s.withSession(s.processesPartial))
	rt.HandleFunc("POST /devices/{id}/processes/{pid}/kill", authz.Remote, s.withSession(s.killProcess))
	rt.HandleFunc("GET /devices/{id}/services", authz.Remote, s.withSession(s.servicesPage))
	rt.HandleFunc("POST /devices/{id}/services/{name}/{op}", authz.Remote, s.withSession(s.controlService))
	rt.HandleFunc("GET /devices/{id}/run", authz.Remote, s.withSession(s.runPage))
	rt.HandleFunc("POST /devices/{id}/run", authz.Remote, s.withSession(s.runCommand))
	rt.HandleFunc("POST /settings/remote", authz.Admin, s.withSession(s.setRemoteSettings))
}

// remoteCard is the device page's "Remote management" card. Whether the
// agent is online the page takes from the device (its last contact, on
// any node); the locks are known on the node that holds its session, and
// elsewhere the agent refuses a locked feature itself.
type remoteCard struct {
	DeviceID int64
	Needs2FA bool
	Features []remoteFeature
}

type remoteFeature struct {
	Key    string // catalog key of its name
	Href   string
	ID     string // element ID
	Locked bool
}

// remoteCardFor builds the card for users who may act remotely on an
// agent's device; nil hides it.
func (s *server) remoteCardFor(ctx context.Context, rc *reqCtx, v view) *remoteCard {
	if !authz.CanRemote(rc.user.Role) || v.Net != nil || v.Device.State != core.DeviceActive {
		return nil
	}
	st, err := s.svc.RemoteState(ctx, rc.user, v.Device.ID)
	if err != nil {
		s.log.Warn("reading a device's remote state", "device", v.Device.ID, "err", err)
		return nil
	}
	base := "/devices/" + strconv.FormatInt(v.Device.ID, 10)
	return &remoteCard{DeviceID: v.Device.ID, Needs2FA: st.Needs2FA, Features: []remoteFeature{
		{"remote.processes", base + "/processes", "remote-processes", st.Locked(protocol.LockProcesses)},
		{"remote.services", base + "/services", "remote-services", st.Locked(protocol.LockServices)},
		{"remote.run", base + "/run", "remote-run", st.Locked(protocol.LockExec)},
		{"term.title", base + "/terminal", "remote-terminal", st.Locked(protocol.LockTerminal)},
		{"scripts.runOnDevice", "/scripts?device=" + strconv.FormatInt(v.Device.ID, 10), "remote-script", st.Locked(protocol.LockScripts)},
	}}
}

// remotePage is what the three pages share.
type remotePage struct {
	DeviceID int64
	Hostname string
	Base     string // /devices/{id}
	Err      string // why the device did not answer, in the page's language
	Done     string // catalog key of the last action's outcome
}

// remoteBase reads the path's device and checks that u may see it.
func (s *server) remoteBase(r *http.Request, rc *reqCtx) (remotePage, view, error) {
	v := s.view(r, rc.lang, rc)
	id, err := pathID(r)
	if err != nil {
		return remotePage{}, v, err
	}
	d, err := s.svc.GetDevice(r.Context(), id)
	if err != nil {
		return remotePage{}, v, err
	}
	v.Device = newDeviceView(d, rc.lang)
	v.Path = r.URL.RequestURI()
	return remotePage{DeviceID: id, Hostname: d.Hostname, Base: "/devices/" + strconv.FormatInt(id, 10)}, v, nil
}

// refusal words a remote action's error for the page; ok is false for
// errors that are not the device's business (scope, role), which get the
// error page.
func refusal(lang Lang, err error) (string, bool) {
	var ve *policy.ValidationError
	switch {
	case errors.As(err, &ve):
		return ve.In(lang.Code()), true
	case errors.Is(err, core.ErrNotFound), errors.Is(err, core.ErrForbidden) && !errors.Is(err, service.ErrRemote2FA):
		return "", false
	}
	if t, ok := service.Reason(err); ok {
		return lang.Message(t), true
	}
	switch {
	case errors.Is(err, core.ErrOffline):
		return lang.T("remote.offline"), true
	case errors.Is(err, context.DeadlineExceeded):
		return lang.T("remote.timeout"), true
	case errors.Is(err, core.ErrConflict):
		return lang.T("remote.inactive"), true
	}
	return lang.T("error.internal"), true
}

// statusOf is the HTTP status of a page that shows a refused action.
func statusOf(err error) int {
	if ve := (*policy.ValidationError)(nil); errors.As(err, &ve) {
		return http.StatusBadRequest
	}
	status, _, _ := httperr.Status(err)
	return status
}

// --- processes

// processesPage is the process list's data.
type processesPage struct {
	remotePage
	Rows     []procRow
	Total    int
	Q        string
	Sort     string
	Desc     bool
	Query    string // sort and filter, for the live refresh and the forms
	Self     string // this list with its sort and filter
	ListHref string // the table alone, for the live refresh
	Cols     []sortCol
	SampleMS int
	Confirm  *procRow // the process the user chose to end, to confirm
	Gone     bool     // the chosen process no longer runs
}

type procRow struct {
	protocol.Process
	CPU, Mem, Started string
	EndHref           string
}

type sortCol struct {
	Key, Label, Href string
	Active, Desc     bool
	Num              bool
}

// procSort is a sort key of the process list with its column label,
// whether it sorts descending first and whether it is a number.
type procSort struct {
	key, label string
	desc, num  bool
}

var procSorts = []procSort{
	{"pid", "remote.col.pid", false, true}, {"name", "remote.col.name", false, false}, {"user", "remote.col.user", false, false},
	{"cpu", "remote.col.cpu", true, true}, {"mem", "remote.col.mem", true, true}, {"start", "remote.col.start", true, false},
}

func (s *server) processesPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p, v, err := s.processesView(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v.Title, v.Page = "remote.processesTitle", p
	s.render(w, http.StatusOK, "device-processes", v)
}

// processesPartial is the table alone, for the live refresh; a device
// that stops answering shows why in its place (200, so that htmx swaps
// it in and keeps polling).
func (s *server) processesPartial(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p, v, err := s.processesView(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v.Page = p
	s.render(w, http.StatusOK, "process-table", v)
}

func (s *server) processesView(r *http.Request, rc *reqCtx) (processesPage, view, error) {
	base, v, err := s.remoteBase(r, rc)
	if err != nil {
		return processesPage{}, v, err
	}
	q := r.URL.Query()
	p := processesPage{remotePage: base, Q: strings.TrimSpace(q.Get("q")), Sort: q.Get("sort"), Desc: q.Get("desc") == "1"}
	if !slices.ContainsFunc(procSorts, func(c procSort) bool { return c.key == p.Sort }) {
		p.Sort, p.Desc = "cpu", true
	}
	p.Query = url.Values{"q": {p.Q}, "sort": {p.Sort}, "desc": {boolParam(p.Desc)}}.Encode()
	p.Self, p.ListHref = base.Base+"/processes?"+p.Query, base.Base+"/processes/list?"+p.Query
	for _, c := range procSorts {
		desc := c.desc
		if c.key == p.Sort {
			desc = !p.Desc
		}
		href := base.Base + "/processes?" + url.Values{"q": {p.Q}, "sort": {c.key}, "desc": {boolParam(desc)}}.Encode()
		p.Cols = append(p.Cols, sortCol{Key: c.key, Label: rc.lang.T(c.label), Href: href, Active: c.key == p.Sort, Desc: p.Desc, Num: c.num})
	}
	p.Done = map[string]string{"ended": "remote.ended"}[q.Get("done")]
	list, err := s.svc.Processes(r.Context(), rc.user, base.DeviceID)
	if err != nil {
		msg, ok := refusal(rc.lang, err)
		if !ok {
			return p, v, err
		}
		p.Err = msg
		return p, v, nil
	}
	p.SampleMS, p.Total = list.SampleMS, len(list.Processes)
	want := strings.ToLower(p.Q)
	for _, pr := range list.Processes {
		if want != "" && !strings.Contains(strings.ToLower(pr.Name+"\x00"+pr.User+"\x00"+pr.Cmdline+"\x00"+strconv.Itoa(int(pr.PID))), want) {
			continue
		}
		row := procRow{Process: pr, CPU: rc.lang.Value(&pr.CPUPercent, "%"), Mem: fmtBytes(rc.lang, pr.RSSBytes),
			Started: rc.lang.Time(time.UnixMilli(pr.StartTime))}
		row.EndHref = base.Base + "/processes?" + url.Values{"q": {p.Q}, "sort": {p.Sort}, "desc": {boolParam(p.Desc)},
			"end": {strconv.Itoa(int(pr.PID))}, "start": {strconv.FormatInt(pr.StartTime, 10)}}.Encode()
		p.Rows = append(p.Rows, row)
	}
	sortProcs(p.Rows, p.Sort, p.Desc)
	if end := q.Get("end"); end != "" {
		i := slices.IndexFunc(list.Processes, func(pr protocol.Process) bool {
			return strconv.Itoa(int(pr.PID)) == end && strconv.FormatInt(pr.StartTime, 10) == q.Get("start")
		})
		if i < 0 {
			p.Gone = true
		} else {
			pr := list.Processes[i]
			p.Confirm = &procRow{Process: pr, CPU: rc.lang.Value(&pr.CPUPercent, "%"), Mem: fmtBytes(rc.lang, pr.RSSBytes),
				Started: rc.lang.Time(time.UnixMilli(pr.StartTime))}
		}
	}
	return p, v, nil
}

func boolParam(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func sortProcs(rows []procRow, key string, desc bool) {
	slices.SortStableFunc(rows, func(a, b procRow) int {
		var c int
		switch key {
		case "pid":
			c = cmp.Compare(a.PID, b.PID)
		case "name":
			c = cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		case "user":
			c = cmp.Compare(a.User, b.User)
		case "cpu":
			c = cmp.Compare(a.CPUPercent, b.CPUPercent)
		case "mem":
			c = cmp.Compare(a.RSSBytes, b.RSSBytes)
		case "start":
			c = cmp.Compare(a.StartTime, b.StartTime)
		}
		if c == 0 {
			c = cmp.Compare(a.PID, b.PID)
		}
		if desc {
			c = -c
		}
		return c
	})
}

// fmtBytes writes a size in binary units with the language's decimal
// separator.
func fmtBytes(lang Lang, n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return lang.Value(&f, units[i])
}

// killProcess ends the process the confirmation names (pid and start_time,
// tree=1 for its tree) and returns to the list.
func (s *server) killProcess(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	pid, perr := strconv.ParseInt(r.PathValue("pid"), 10, 32)
	start, serr := strconv.ParseInt(r.PostFormValue("start_time"), 10, 64)
	if perr != nil || serr != nil || pid <= 0 || start <= 0 {
		s.renderError(w, r, rc.lang, core.ErrInvalid)
		return
	}
	waitLonger(w, service.RemoteWait)
	_, err = s.svc.KillProcess(r.Context(), rc.user, id, service.KillRequest{PID: int32(pid), StartTime: start, Tree: r.PostFormValue("tree") == "1"})
	if err != nil {
		msg, ok := refusal(rc.lang, err)
		if !ok {
			s.renderError(w, r, rc.lang, err)
			return
		}
		p, v, verr := s.processesView(r, rc)
		if verr != nil {
			s.renderError(w, r, rc.lang, verr)
			return
		}
		p.Err = msg
		v.Title, v.Page = "remote.processesTitle", p
		s.render(w, statusOf(err), "device-processes", v)
		return
	}
	back := localPath(r.PostFormValue("next"))
	if !strings.HasPrefix(back, "/devices/"+strconv.FormatInt(id, 10)+"/processes") {
		back = "/devices/" + strconv.FormatInt(id, 10) + "/processes"
	}
	u, _ := url.Parse(back)
	qv := u.Query()
	qv.Del("end")
	qv.Del("start")
	qv.Set("done", "ended")
	u.RawQuery = qv.Encode()
	http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
}

// --- services

type servicesPage struct {
	remotePage
	Manager    string
	Rows       []svcRow
	Total      int
	Q          string
	StartTypes []string
	Changed    *svcRow // the service the last action was on (?done=name)
}

type svcRow struct {
	protocol.Service
	Esc      string // the name, escaped for a path
	Class    string
	Settable bool // its start type is one the form offers
}

func (s *server) servicesPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderServices(w, r, rc, http.StatusOK, "")
}

func (s *server) renderServices(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, errMsg string) {
	base, v, err := s.remoteBase(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if r.Method == http.MethodPost {
		q = strings.TrimSpace(r.PostFormValue("q"))
	}
	p := servicesPage{remotePage: base, Q: q, StartTypes: service.StartTypes}
	list, err := s.svc.Services(r.Context(), rc.user, base.DeviceID)
	if err != nil {
		msg, ok := refusal(rc.lang, err)
		if !ok {
			s.renderError(w, r, rc.lang, err)
			return
		}
		p.Err = msg
	}
	if errMsg != "" {
		p.Err = errMsg
	}
	p.Manager, p.Total = list.Manager, len(list.Services)
	want, done := strings.ToLower(q), r.URL.Query().Get("done")
	for _, sv := range list.Services {
		if done != "" && sv.Name == done && errMsg == "" {
			p.Changed = &svcRow{Service: sv}
		}
		if want != "" && !strings.Contains(strings.ToLower(sv.Name+"\x00"+sv.DisplayName+"\x00"+sv.Description), want) {
			continue
		}
		p.Rows = append(p.Rows, svcRow{Service: sv, Esc: url.PathEscape(sv.Name), Class: svcClass(sv),
			Settable: slices.Contains(service.StartTypes, sv.StartType)})
	}
	v.Title, v.Page = "remote.servicesTitle", p
	s.render(w, status, "device-services", v)
}

// svcWordKey makes a service manager's word a catalogue key ("start
// pending" → "start-pending", systemd's "inactive/dead" → "inactive-dead").
// An LSB init script's "dead, pid file exists" → "dead-pid-file-exists".
var svcWordKey = strings.NewReplacer(", ", "-", " ", "-", "/", "-")

// SvcWord translates a service manager's state or start type word under
// prefix ("remote.state", "remote.start"); a word the catalogue does not
// know (launchd's "running, PID 12", a failed status call) is shown as
// the agent sent it.
func (l Lang) SvcWord(prefix, raw string) string {
	if s, ok := catalog[l.code][prefix+"."+svcWordKey.Replace(raw)]; ok {
		return s
	}
	if code, ok := strings.CutPrefix(raw, "status exit code "); ok && prefix == "remote.state" {
		return fmt.Sprintf(l.T("remote.state.exitCode"), code) // an init script's own status code
	}
	return raw
}

func svcClass(sv protocol.Service) string {
	switch {
	case sv.Error != "":
		return "failure"
	case sv.Running:
		return "ok"
	}
	return "unknown"
}

// controlService runs start, stop, restart or start-type (form field
// start_type) and returns to the services, or shows them with the reason
// it failed.
func (s *server) controlService(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	op := r.PathValue("op")
	if op == "start-type" {
		op = protocol.ServiceSetStartType
	} else if op == protocol.ServiceSetStartType {
		op = ""
	}
	waitLonger(w, service.RemoteWait)
	res, err := s.svc.ControlService(r.Context(), rc.user, id, r.PathValue("name"), op, r.PostFormValue("start_type"))
	if err != nil {
		msg, ok := refusal(rc.lang, err)
		if !ok {
			s.renderError(w, r, rc.lang, err)
			return
		}
		s.renderServices(w, r, rc, statusOf(err), fmt.Sprintf("%s: %s", r.PathValue("name"), msg))
		return
	}
	// Back to the list, which shows the service as it is now.
	back := url.Values{"done": {res.Service.Name}}
	if q := strings.TrimSpace(r.PostFormValue("q")); q != "" {
		back.Set("q", q)
	}
	http.Redirect(w, r, "/devices/"+strconv.FormatInt(id, 10)+"/services?"+back.Encode(), http.StatusSeeOther)
}

// --- run command

type runPage struct {
	remotePage
	Shells  []string
	Shell   string
	Command string
	Timeout int
	Result  *protocol.ExecResult
	Limit   int
}

func (s *server) runPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	base, v, err := s.remoteBase(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	p := runPage{remotePage: base, Shells: protocol.ExecShells(v.Device.OS), Timeout: protocol.DefaultExecTimeoutSec, Limit: protocol.MaxExecTimeoutSec}
	p.Shell = p.Shells[0]
	if st, err := s.svc.RemoteState(r.Context(), rc.user, base.DeviceID); err == nil && st.Locked(protocol.LockExec) {
		p.Err, _ = refusal(rc.lang, service.LockedError(protocol.LockExec))
	}
	v.Title, v.Page = "remote.runTitle", p
	s.render(w, http.StatusOK, "device-run", v)
}

// runCommand runs the form's command and shows the page with its output.
func (s *server) runCommand(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	base, v, err := s.remoteBase(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	p := runPage{remotePage: base, Shells: protocol.ExecShells(v.Device.OS), Shell: r.PostFormValue("shell"),
		Command: r.PostFormValue("command"), Limit: protocol.MaxExecTimeoutSec}
	p.Timeout, err = strconv.Atoi(r.PostFormValue("timeout_seconds"))
	if err != nil {
		p.Timeout = -1 // refused by the service, field by field
	}
	// Browsers send line breaks in a textarea as CRLF.
	cmdline := strings.ReplaceAll(p.Command, "\r\n", "\n")
	status := http.StatusOK
	req := service.ExecRequest{Shell: p.Shell, Command: cmdline, TimeoutSeconds: p.Timeout}
	waitLonger(w, req.Wait())
	res, err := s.svc.Exec(r.Context(), rc.user, base.DeviceID, req)
	if err != nil {
		msg, ok := refusal(rc.lang, err)
		if !ok {
			s.renderError(w, r, rc.lang, err)
			return
		}
		p.Err, status = msg, statusOf(err)
		if isHTMX(r) {
			status = http.StatusOK // htmx swaps only successful answers
		}
	} else {
		p.Result = &res
	}
	if p.Timeout < 1 {
		p.Timeout = protocol.DefaultExecTimeoutSec
	}
	v.Title, v.Page = "remote.runTitle", p
	s.render(w, status, "device-run", v)
}

// waitLonger lets the answer take d beyond the server's write timeout:
// a command may run for up to an hour, a service take minutes to stop.
func waitLonger(w http.ResponseWriter, d time.Duration) {
	// Not every writer can (a test recorder); the server's timeout then
	// stands.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d + time.Minute))
}

// --- settings

func (s *server) setRemoteSettings(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	days, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("recording_retention_days")))
	if err != nil {
		days = 0 // refused by the service with its field error
	}
	rs := service.RemoteSettings{Require2FA: r.PostFormValue("require_2fa") == "on", RecordingDays: days}
	if err := s.svc.SetRemoteSettings(r.Context(), rc.user, rs); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/users", http.StatusSeeOther)
}
