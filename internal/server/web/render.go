package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sort"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/service"
)

// pageNames are the full pages; each defines "content" for the layout.
var pageNames = []string{"login", "overview", "device", "error"}

// partialsKey names the template set that renders htmx fragments.
const partialsKey = ""

func parseTemplates(assets fs.FS) (map[string]*template.Template, error) {
	base, err := template.New("").ParseFS(assets, "templates/layout.html", "templates/partials*.html")
	if err != nil {
		return nil, fmt.Errorf("parsing dashboard templates: %w", err)
	}
	pages := map[string]*template.Template{partialsKey: base}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(assets, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parsing dashboard template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// view is the data of every page and fragment.
type view struct {
	L          Lang
	User       core.User
	CSRF       string
	HTMX       bool
	Path       string // the page's own path, where the language switch returns
	Title      string // catalog key
	Error      string // catalog key
	Detail     string // what was wrong with the input, in the page's language
	Notice     string // catalog key
	NoticeKind string // ok, warning, failure
	Now        time.Time

	Email     string // login form
	LoginCSRF string

	Clients []clientView // overview
	Devices int

	Device     deviceView         // device page
	Net        *service.NetDevice // the device page's network device; nil for an agent
	Checks     []checkView
	CanOperate bool
	CanRemote  bool         // remote management (authz.Remote)
	Outages    *outageTable // alerts view and device page (alerts.go)
	Remote     *remoteCard  // device page: remote management (remote.go)
	Runs       *runTable    // device page: its script runs (scripts.go)

	// Page is the data of the pages in access.go and admin.go.
	Page any
}

type clientView struct {
	Name  string
	Sites []siteView
}

type siteView struct {
	ID      int64 // 0 if unknown (a device's site not in the list)
	Name    string
	Devices []deviceView
}

type deviceView struct {
	service.Device
	Class string // CSS colour class
	Label string // what the colour means, translated
	// AV and Backup are the overview's protection columns (protection.go).
	AV, Backup protCell
	Probe      string // a network device's probe hostname (netdevices.go)
	// Maintenance: a maintenance window is active (maintenance.go).
	Maintenance bool
}

type checkView struct {
	core.CheckState
	Class string
}

func (s *server) view(r *http.Request, lang Lang, rc *reqCtx) view {
	v := view{L: lang, HTMX: s.htmx, Path: r.URL.Path, Now: s.now()}
	if rc != nil {
		v.User, v.CSRF = rc.user, rc.sess.CSRF
		v.CanOperate = authz.CanOperate(rc.user.Role)
		v.CanRemote = authz.CanRemote(rc.user.Role)
	}
	return v
}

// render executes a page (by name, in the layout) or a fragment into a
// buffer first, so a template error never leaves half a page.
func (s *server) render(w http.ResponseWriter, status int, name string, v view) {
	var buf bytes.Buffer
	var err error
	if t, ok := s.pages[name]; ok && name != partialsKey {
		err = t.ExecuteTemplate(&buf, "layout", v)
	} else {
		err = s.pages[partialsKey].ExecuteTemplate(&buf, name, v)
	}
	if err != nil {
		s.log.Error("rendering template", "template", name, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// statusClass is the colour of a status: green ok, amber warning, red
// failure or error, grey for everything unknown.
func statusClass(st core.Status) string {
	switch st {
	case core.StatusOK:
		return "ok"
	case core.StatusWarning:
		return "warning"
	case core.StatusFailure, core.StatusError:
		return "failure"
	default:
		return "unknown"
	}
}

func newDeviceView(d service.Device, lang Lang) deviceView {
	if !d.Online {
		return deviceView{Device: d, Class: "unknown", Label: lang.T("offline")}
	}
	return deviceView{Device: d, Class: statusClass(d.Worst), Label: lang.Status(d.Worst)}
}

// groupDevices arranges devices as clients → sites → devices, sorted by
// name; sites without devices are listed too.
func groupDevices(sites []core.Site, ds []service.Device, lang Lang) []clientView {
	type key struct{ client, site string }
	bySite := map[key][]deviceView{}
	ids := map[key]int64{}
	for _, d := range ds {
		k := key{d.ClientName, d.SiteName}
		bySite[k] = append(bySite[k], newDeviceView(d, lang))
	}
	for _, st := range sites {
		k := key{st.ClientName, st.Name}
		ids[k] = st.ID
		if _, ok := bySite[k]; !ok {
			bySite[k] = nil
		}
	}
	keys := make([]key, 0, len(bySite))
	for k := range bySite {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].client != keys[j].client {
			return keys[i].client < keys[j].client
		}
		return keys[i].site < keys[j].site
	})
	var out []clientView
	for _, k := range keys {
		devs := bySite[k]
		sort.Slice(devs, func(i, j int) bool { return devs[i].Hostname < devs[j].Hostname })
		if len(out) == 0 || out[len(out)-1].Name != k.client {
			out = append(out, clientView{Name: k.client})
		}
		c := &out[len(out)-1]
		c.Sites = append(c.Sites, siteView{ID: ids[k], Name: k.site, Devices: devs})
	}
	return out
}

// confirmView is what the "confirm-delete" template shows.
type confirmView struct {
	L        Lang
	ID       string // the summary's id; the rest derive from it
	Label    string // the button, e.g. "Delete policy"
	Action   string // where the confirmed form posts
	Question string // naming the thing, e.g. "Delete the policy „Praxis“?"
	CSRF     string
	Next     string // an optional "next" field
	Now      string // the confirming button's catalogue key, when not "Yes, delete"
	Force    string // the label key of an optional "force" box
}

// Confirm builds a confirm-delete for the thing name: label and question
// are catalogue keys, the question a format with the name (or, for a
// thing without one, name is "" and the question plain text).
func (l Lang) Confirm(id, label, action, question, name, csrf string) confirmView {
	q := l.T(question)
	if name != "" {
		q = fmt.Sprintf(q, name)
	}
	return confirmView{L: l, ID: id, Label: l.T(label), Action: action, Question: q, CSRF: csrf}
}

// WithNext adds a "next" field to the confirmed form.
func (c confirmView) WithNext(next string) confirmView { c.Next = next; return c }

// WithNow names the confirming button, e.g. "Yes, revoke".
func (c confirmView) WithNow(key string) confirmView { c.Now = key; return c }

// WithForce adds a "force" box, labelled by key, to the confirmed form.
func (c confirmView) WithForce(key string) confirmView { c.Force = key; return c }

// confirmed reports whether a delete or revoke was confirmed: its form
// (the "confirm-delete" template) posts confirm=yes. Without it nothing
// may be deleted, and the user is answered instead: by ask, which shows
// the question, or else by a 400 saying that nothing was deleted.
func (s *server) confirmed(w http.ResponseWriter, r *http.Request, rc *reqCtx, ask func()) bool {
	if r.PostFormValue("confirm") == "yes" {
		return true
	}
	if ask != nil {
		ask()
		return false
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Error = "error.title", "confirm.missing"
	s.render(w, http.StatusBadRequest, errorTemplate(r), v)
	return false
}
