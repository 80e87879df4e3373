package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The inventory pages (issue 18): a device's inventory tab with its change
// history, and the fleet search with the per-client CSV export. Every
// page calls the service's inventory methods, which scope by client, so
// the API and the dashboard show the same.

func init() { pageNames = append(pageNames, "inventory", "inventory-search") }

const (
	// changesOnTab is how many changes the tab shows; the history page
	// pages by changesPerPage.
	changesOnTab   = 10
	changesPerPage = 50
	// searchLimit bounds a fleet search's results.
	searchLimit = 500
)

func (s *server) inventoryRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /devices/{id}/inventory", authz.Read, s.withSession(s.deviceInventory))
	rt.HandleFunc("GET /devices/{id}/inventory/changes", authz.Read, s.withSession(s.deviceInventory))
	rt.HandleFunc("POST /devices/{id}/inventory/refresh", authz.Operate, s.withSession(s.refreshInventory))
	rt.HandleFunc("GET /inventory", authz.Read, s.withSession(s.inventorySearch))
	rt.HandleFunc("GET /inventory/export.csv", authz.Read, s.withSession(s.inventoryCSV))
}

// inventoryPage is the device tab (History false) or its change history
// (History true, paged by Before).
type inventoryPage struct {
	service.DeviceInventory
	Inv     *core.Inventory // nil: none received yet
	gaps    map[string]string
	lang    Lang
	Changes []core.InventoryChange
	History bool
	Before  int64 // the history page's cursor; 0 from the newest
	Older   int64 // the cursor of the next page; 0 when there is none
}

// gapNote is the "not collected" note of one part; Reason is "" when the
// part was collected.
type gapNote struct {
	L            Lang
	Part, Reason string
}

// GapOf is the note of part for the "inv-gap" template.
func (p inventoryPage) GapOf(part string) gapNote {
	return gapNote{L: p.lang, Part: part, Reason: p.gaps[part]}
}

func (s *server) deviceInventory(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	ctx := r.Context()
	di, err := s.svc.DeviceInventory(ctx, rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	d, err := s.svc.GetDevice(ctx, id) // the header's client and site names
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	p := inventoryPage{DeviceInventory: di, lang: rc.lang, History: strings.HasSuffix(r.URL.Path, "/changes")}
	if di.Stored != nil {
		p.Inv = &di.Stored.Inventory
		p.gaps = map[string]string{}
		for _, g := range p.Inv.Missing {
			p.gaps[g.Part] = g.Error
		}
	}
	limit := changesOnTab
	if p.History {
		limit = changesPerPage
		if b := r.URL.Query().Get("before"); b != "" {
			if p.Before, err = strconv.ParseInt(b, 10, 64); err != nil || p.Before < 0 {
				s.renderError(w, r, rc.lang, core.ErrInvalid)
				return
			}
		}
	}
	// One more than shown tells whether there is an older page.
	p.Changes, err = s.svc.InventoryChanges(ctx, rc.user, id, p.Before, limit+1)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if len(p.Changes) > limit {
		p.Changes = p.Changes[:limit]
		p.Older = p.Changes[limit-1].ID
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "inv.title"
	v.Device = newDeviceView(d, rc.lang)
	v.Page = p
	switch r.URL.Query().Get("refresh") { // set by refreshInventory for browsers without htmx
	case "ok":
		v.Notice, v.NoticeKind = "inv.refresh.ok", "ok"
	case "offline":
		v.Notice, v.NoticeKind = "inv.refresh.offline", "warning"
	}
	s.render(w, http.StatusOK, "inventory", v)
}

// refreshInventory asks the agent for its inventory (full=1: a whole one,
// not a diff). htmx gets a notice fragment, plain forms a redirect back to
// the tab with the outcome, as runChecks does; an agent's refusal is an
// error with its reason.
func (s *server) refreshInventory(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	err = s.svc.RefreshInventory(r.Context(), rc.user, id, r.PostFormValue("full") == "1")
	outcome, kind := "ok", "ok"
	if errors.Is(err, core.ErrOffline) {
		outcome, kind = "offline", "warning"
	} else if err != nil {
		// htmx swaps only a 2xx answer: an agent's refusal goes in place.
		if t, ok := service.Reason(err); ok && isHTMX(r) {
			v := s.view(r, rc.lang, rc)
			v.Error, v.Detail = "inv.refresh.failed", rc.lang.Message(t)
			s.render(w, http.StatusOK, "error-fragment", v)
			return
		}
		s.renderError(w, r, rc.lang, err)
		return
	}
	if !isHTMX(r) {
		http.Redirect(w, r, "/devices/"+strconv.FormatInt(id, 10)+"/inventory?refresh="+outcome, http.StatusSeeOther)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Notice, v.NoticeKind = "inv.refresh."+outcome, kind
	s.render(w, http.StatusOK, "notice", v)
}

// searchPage is the fleet search: the two forms as entered, and the
// results of the one that was sent.
type searchPage struct {
	Clients []core.Client
	Search  string // "software", "devices" or "" (no search yet)

	Name, VersionBelow string
	OS, MemoryBelow    string
	BatteryBelow       string
	ClientID           int64
	Invalid            string // the field with a bad number

	Programs []core.SoftwareHit
	Devices  []searchDevice
	Limited  bool
	Limit    int
	lang     Lang
}

// clientSelect is the client field of one of the search forms.
type clientSelect struct {
	L        Lang
	ID       string
	Clients  []core.Client
	Selected int64
}

// ClientSelect is the client field with the HTML id id.
func (p searchPage) ClientSelect(id string) clientSelect {
	return clientSelect{L: p.lang, ID: id, Clients: p.Clients, Selected: p.ClientID}
}

// searchDevice is one device result with its OS's end of support, if
// known.
type searchDevice struct {
	core.InventorySummary
	EndOfSupport *service.EndOfSupport
}

func (s *server) inventorySearch(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	q := r.URL.Query()
	p := searchPage{Search: q.Get("search"), Name: strings.TrimSpace(q.Get("name")), VersionBelow: strings.TrimSpace(q.Get("version_below")),
		OS: strings.TrimSpace(q.Get("os")), MemoryBelow: strings.TrimSpace(q.Get("memory_below")),
		BatteryBelow: strings.TrimSpace(q.Get("battery_below")), Limit: searchLimit, lang: rc.lang}
	var err error
	if p.Clients, err = s.svc.ListClients(ctx, rc.user); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if c := q.Get("client"); c != "" {
		if p.ClientID, err = strconv.ParseInt(c, 10, 64); err != nil || p.ClientID < 0 {
			p.Invalid = "client"
		}
	}
	status := http.StatusOK
	switch {
	case p.Invalid != "":
		status = http.StatusBadRequest
	case p.Search == "software":
		p.Programs, err = s.svc.SearchSoftware(ctx, rc.user, service.SoftwareSearch{Name: p.Name, VersionBelow: p.VersionBelow, ClientID: p.ClientID, Limit: searchLimit + 1})
		p.Limited = len(p.Programs) > searchLimit
		p.Programs = p.Programs[:min(len(p.Programs), searchLimit)]
	case p.Search == "devices":
		is := service.InventorySearch{ClientID: p.ClientID, OS: p.OS, Limit: searchLimit + 1}
		var gib float64
		if gib, p.Invalid = positive(p.MemoryBelow, "memory_below"); p.Invalid == "" {
			is.MemoryBelow = uint64(gib * (1 << 30))
			var pct float64
			if pct, p.Invalid = positive(p.BatteryBelow, "battery_below"); p.Invalid == "" {
				is.BatteryBelow = int(pct)
			}
		}
		if p.Invalid != "" {
			status = http.StatusBadRequest
			break
		}
		var found []core.InventorySummary
		found, err = s.svc.SearchInventories(ctx, rc.user, is)
		p.Limited = len(found) > searchLimit
		for _, d := range found[:min(len(found), searchLimit)] {
			p.Devices = append(p.Devices, searchDevice{InventorySummary: d, EndOfSupport: service.OSEndOfSupport(d.OSName, d.OSVersion, d.OSBuild, s.now())})
		}
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "inv.search"
	v.Page = p
	if p.Invalid != "" {
		v.Error = "inv.badNumber"
	}
	s.render(w, status, "inventory-search", v)
}

// positive parses an optional positive number; a German decimal comma is
// fine. It returns field as the second result when s is not one.
func positive(s, field string) (float64, string) {
	if s == "" {
		return 0, ""
	}
	f, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
	if err != nil || f <= 0 {
		return 0, field
	}
	return f, ""
}

// inventoryCSV streams a client's inventory as CSV. The headers wait for
// the first byte, so that a refusal before any is an error page.
func (s *server) inventoryCSV(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := strconv.ParseInt(r.URL.Query().Get("client"), 10, 64)
	if err != nil || id <= 0 {
		s.renderError(w, r, rc.lang, core.ErrNotFound)
		return
	}
	// The service narrows the export to the user's clients; asking for
	// the client first makes a foreign one a 404, not an empty file.
	if _, err := s.svc.GetClient(r.Context(), rc.user, id); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	lw := &lazyCSV{w: w, name: fmt.Sprintf("inventory-client-%d-%s.csv", id, s.now().Format("2006-01-02"))}
	if err := s.svc.WriteInventoryCSV(r.Context(), rc.user, id, lw); err != nil {
		if !lw.started {
			s.renderError(w, r, rc.lang, err)
			return
		}
		// Too late for a status: the cut-off file is the sign.
		s.log.Error("writing the inventory CSV", "client", id, "err", err)
	}
	if !lw.started { // a client without devices still gets its header row
		lw.start()
	}
}

// lazyCSV sets a CSV download's headers on its first write.
type lazyCSV struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (l *lazyCSV) start() {
	l.started = true
	h := l.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+l.name+`"`)
	l.w.WriteHeader(http.StatusOK)
}

func (l *lazyCSV) Write(b []byte) (int, error) {
	if !l.started {
		l.start()
	}
	return l.w.Write(b)
}

// Size formats a size in bytes for people: 16 GiB, 1,5 TiB in German.
func (l Lang) Size(n uint64) string { return fmtBytes(l, n) }

// Percent formats a whole percentage: 87% in English, 87 % in German.
func (l Lang) Percent(n int) string {
	f := float64(n)
	return l.Value(&f, "%")
}

// Date formats a YYYY-MM-DD date the way the language writes dates; a
// date in another form is shown as it came.
func (l Lang) Date(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	if l.code == langDE {
		return t.Format("02.01.2006")
	}
	return t.Format("Jan 2, 2006")
}

// Or translates key+"."+value when the catalog has it, else shows value
// ("" as –): for the inventory's enumerations, which an agent may extend.
func (l Lang) Or(key, value string) string {
	if value == "" {
		return "–"
	}
	if s, ok := catalog[l.code][key+"."+value]; ok {
		return s
	}
	return value
}

// Tf translates a key whose text is a format.
func (l Lang) Tf(key string, args ...any) string { return fmt.Sprintf(l.T(key), args...) }
