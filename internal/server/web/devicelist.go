package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/service"
)

func init() { pageNames = append(pageNames, "home", "device-bulk") }

// Device list page sizes; the first is the default.
var listSizes = []int{50, 25, 100, 200}

// maxPrevCursors bounds how many earlier pages' cursors the URL keeps for
// "previous" (keyset paging cannot count backwards).
const maxPrevCursors = 50

// listQuery is the device list's query as the URL carries it: parsed from
// and written back to the same parameters, so every link, the filter form
// and a saved view describe the list the same way.
type listQuery struct {
	Search   string
	Statuses []string
	Online   string // "", "yes", "no"
	OS       []string
	Clients  []int64
	Sites    []int64
	Roles    []string
	Tags     []string
	Maint    string // "", "yes", "no"
	Sort     string
	Desc     bool
	Size     int
	Cursor   string
	Prev     []string // cursors of the earlier pages, oldest first
}

// listStatuses are the statuses the filter offers.
var listStatuses = []string{"ok", "warning", "failure", "error", "unknown"}

// listOS are the operating systems the filter offers (GOOS values).
var listOS = []string{"windows", "linux", "darwin"}

// listRoles are the roles the filter offers.
var listRoles = []string{core.DeviceRoleServer, core.DeviceRoleWorkstation, core.DeviceRoleNotebook, core.KindNetwork}

// parseListQuery reads the list's parameters; unknown values are dropped
// rather than refused, so an old bookmark still opens.
func parseListQuery(v url.Values) listQuery {
	q := listQuery{
		Search: strings.TrimSpace(v.Get("q")),
		Online: yesNo(v.Get("online")),
		Maint:  yesNo(v.Get("maint")),
		Sort:   v.Get("sort"),
		Desc:   v.Get("desc") == "1",
		Cursor: v.Get("cursor"),
	}
	q.Statuses = known(service.ListParam(v, "status"), listStatuses)
	q.OS = known(service.ListParam(v, "os"), listOS)
	q.Roles = known(service.ListParam(v, "role"), listRoles)
	for _, t := range service.ListParam(v, "tag") {
		if !slices.Contains(q.Tags, t) {
			q.Tags = append(q.Tags, t)
		}
	}
	q.Clients, q.Sites = ids(service.ListParam(v, "client")), ids(service.ListParam(v, "site"))
	if !slices.Contains(core.DeviceSorts, core.DeviceSort(q.Sort)) {
		q.Sort = string(core.SortName)
	}
	q.Size = listSizes[0]
	if n, err := strconv.Atoi(v.Get("size")); err == nil && slices.Contains(listSizes, n) {
		q.Size = n
	}
	if q.Cursor != "" {
		q.Prev = v["prev"]
		if len(q.Prev) > maxPrevCursors {
			q.Prev = q.Prev[len(q.Prev)-maxPrevCursors:]
		}
	}
	return q
}

func yesNo(s string) string {
	if s == "yes" || s == "no" {
		return s
	}
	return ""
}

func known(vs, allowed []string) []string {
	var out []string
	for _, v := range vs {
		if slices.Contains(allowed, v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func ids(vs []string) []int64 {
	var out []int64
	for _, v := range vs {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// core turns the URL query into the service's query.
func (q listQuery) core() core.DeviceListQuery {
	cq := core.DeviceListQuery{Search: q.Search, OS: q.OS, ClientIDs: q.Clients, SiteIDs: q.Sites, Roles: q.Roles,
		Tags: q.Tags, Sort: core.DeviceSort(q.Sort), Desc: q.Desc, Limit: q.Size, Cursor: q.Cursor}
	for _, s := range q.Statuses {
		cq.Statuses = append(cq.Statuses, core.ParseStatus(s))
	}
	cq.Online, cq.Maintenance = boolPtr(q.Online), boolPtr(q.Maint)
	return cq
}

func boolPtr(yn string) *bool {
	if yn == "" {
		return nil
	}
	b := yn == "yes"
	return &b
}

// values writes the filters back (without paging): what a saved view
// keeps and what the sort links and "select all matching" carry.
func (q listQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", q.Search)
	set("online", q.Online)
	set("maint", q.Maint)
	v["status"], v["os"], v["role"], v["tag"] = q.Statuses, q.OS, q.Roles, q.Tags
	for _, id := range q.Clients {
		v.Add("client", strconv.FormatInt(id, 10))
	}
	for _, id := range q.Sites {
		v.Add("site", strconv.FormatInt(id, 10))
	}
	if q.Sort != string(core.SortName) {
		v.Set("sort", q.Sort)
	}
	if q.Desc {
		v.Set("desc", "1")
	}
	if q.Size != listSizes[0] {
		v.Set("size", strconv.Itoa(q.Size))
	}
	for k, vs := range v {
		if len(vs) == 0 {
			delete(v, k)
		}
	}
	return v
}

// Filters is the query string of the filters, sort and page size.
func (q listQuery) Filters() string { return q.values().Encode() }

// URL is the list's address with the query, page one.
func (q listQuery) URL() string { return withQuery("/", q.values()) }

// SortURL is the address sorted by col: the current column flips its
// direction, another starts ascending.
func (q listQuery) SortURL(col string) string {
	v := q.values()
	v.Del("desc")
	v.Del("sort")
	if col != string(core.SortName) {
		v.Set("sort", col)
	}
	if col == q.Sort && !q.Desc {
		v.Set("desc", "1")
	}
	return withQuery("/", v)
}

// SortMark is aria-sort's value for col.
func (q listQuery) SortMark(col string) string {
	switch {
	case col != q.Sort:
		return "none"
	case q.Desc:
		return "descending"
	}
	return "ascending"
}

// Toggle is the address with one filter value set alone (the counts
// panel's client and site links), or cleared when it was the only one.
func (q listQuery) Toggle(key string, id int64) string {
	v := q.values()
	s := strconv.FormatInt(id, 10)
	if cur := v[key]; len(cur) == 1 && cur[0] == s {
		v.Del(key)
	} else {
		v.Set(key, s)
		if key == "client" {
			v.Del("site")
		}
	}
	return withQuery("/", v)
}

// NextURL is the following page's address.
func (q listQuery) NextURL(next string) string {
	v := q.values()
	if q.Cursor != "" {
		v["prev"] = append(slices.Clone(q.Prev), q.Cursor)
	}
	v.Set("cursor", next)
	return withQuery("/", v)
}

// PrevURL is the previous page's address ("" on page one).
func (q listQuery) PrevURL() string {
	if q.Cursor == "" {
		return ""
	}
	v := q.values()
	if n := len(q.Prev); n > 0 {
		v["prev"] = q.Prev[:n-1]
		v.Set("cursor", q.Prev[n-1])
	}
	return withQuery("/", v)
}

// Page is the number of the page shown, from 1.
func (q listQuery) Page() int {
	if q.Cursor == "" {
		return 1
	}
	return len(q.Prev) + 2
}

func (q listQuery) HasStatus(s string) bool { return slices.Contains(q.Statuses, s) }
func (q listQuery) HasOS(s string) bool     { return slices.Contains(q.OS, s) }
func (q listQuery) HasRole(s string) bool   { return slices.Contains(q.Roles, s) }
func (q listQuery) HasClient(id int64) bool { return slices.Contains(q.Clients, id) }
func (q listQuery) HasSite(id int64) bool   { return slices.Contains(q.Sites, id) }

// Tag is the tag filter's text: the tags, comma separated.
func (q listQuery) Tag() string { return strings.Join(q.Tags, ", ") }

// Filtered reports whether any filter narrows the list.
func (q listQuery) Filtered() bool {
	return q.Search != "" || q.Online != "" || q.Maint != "" || len(q.Statuses)+len(q.OS)+len(q.Roles)+len(q.Tags)+len(q.Clients)+len(q.Sites) > 0
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// builtinViews are the views every user has; their names are catalog keys.
var builtinViews = []struct{ Key, Query string }{
	{"dl.view.failing", "status=failure&status=error&sort=status&desc=1"},
	{"dl.view.offline", "online=no&sort=last_seen"},
	{"dl.view.maintenance", "maint=yes"},
}

// listPage is the device list page's data (view.Page).
type listPage struct {
	Q        listQuery
	Rows     []listRow
	Total    int
	Next     string
	Counts   []clientCount
	Clients  []core.Client
	Sites    []core.Site
	Policies []core.Policy
	Views    []core.SavedView
	Deleted  string // the saved view just deleted, for the notice
	Builtin  []struct{ Key, Query string }
	Sorts    []string
	Sizes    []int
	// Durations are the bulk maintenance lengths, in minutes.
	Durations []int
	// Filters are the filters of several values, in the form's order.
	Filters []multiFilter
	// Refresh is how often the open list refreshes itself, in seconds.
	Refresh int
}

// multiFilter is a filter of several values: the form shows it as a
// dropdown of checkboxes whose summary names the values chosen.
type multiFilter struct {
	Name    string // the URL parameter
	Label   string
	Summary string // the chosen values' names, or "any"
	Options []multiOption
}

type multiOption struct {
	Value, Label string
	On           bool
}

// add offers one value, ticked when on.
func (f *multiFilter) add(value, label string, on bool) {
	f.Options = append(f.Options, multiOption{Value: value, Label: label, On: on})
}

// summarize names the ticked values (or "any") once all are added.
func (f *multiFilter) summarize(lang Lang) {
	var on []string
	for _, o := range f.Options {
		if o.On {
			on = append(on, o.Label)
		}
	}
	f.Summary = strings.Join(on, ", ")
	if len(on) == 0 {
		f.Summary = lang.T("dl.any")
	}
}

// listFilters builds the status, OS, client, site and role filters.
func listFilters(q listQuery, lang Lang, clients []core.Client, sites []core.Site) []multiFilter {
	status := multiFilter{Name: "status", Label: lang.T("col.status")}
	for _, s := range listStatuses {
		status.add(s, lang.T("status."+s), q.HasStatus(s))
	}
	oses := multiFilter{Name: "os", Label: lang.T("dl.os")}
	for _, s := range listOS {
		oses.add(s, lang.T("dl.os."+s), q.HasOS(s))
	}
	client := multiFilter{Name: "client", Label: lang.T("client")}
	for _, c := range clients {
		client.add(strconv.FormatInt(c.ID, 10), c.Name, q.HasClient(c.ID))
	}
	site := multiFilter{Name: "site", Label: lang.T("site")}
	for _, st := range sites {
		site.add(strconv.FormatInt(st.ID, 10), st.ClientName+" / "+st.Name, q.HasSite(st.ID))
	}
	role := multiFilter{Name: "role", Label: lang.T("device.role")}
	for _, r := range listRoles {
		role.add(r, lang.Role(r), q.HasRole(r))
	}
	fs := []multiFilter{status, oses, client, site, role}
	for i := range fs {
		fs[i].summarize(lang)
	}
	return fs
}

// listRow is one device row.
type listRow struct {
	core.DeviceRow
	Class, Label string
	Probe        string   // a network device's probe hostname (netdevices.go)
	AV, Backup   protCell // antivirus and backup, as in the grouping view
}

// clientCount is one client's line of the counts panel with its sites.
type clientCount struct {
	ID, Devices, Failing, Offline int64
	Name                          string
	Sites                         []core.DeviceCount
}

// groupCounts sums the per-site counts by client, keeping the store's order.
func groupCounts(cs []core.DeviceCount) []clientCount {
	var out []clientCount
	for _, c := range cs {
		if len(out) == 0 || out[len(out)-1].ID != c.ClientID {
			out = append(out, clientCount{ID: c.ClientID, Name: c.ClientName})
		}
		cc := &out[len(out)-1]
		cc.Devices += int64(c.Devices)
		cc.Failing += int64(c.Failing)
		cc.Offline += int64(c.Offline)
		cc.Sites = append(cc.Sites, c)
	}
	return out
}

func (s *server) deviceListView(r *http.Request, rc *reqCtx) (view, error) {
	v := s.view(r, rc.lang, rc)
	v.Title = "overview.title"
	q := parseListQuery(r.URL.Query())
	ctx := r.Context()
	p, err := s.svc.DeviceList(ctx, rc.user, q.core())
	if err != nil {
		return v, err
	}
	page := listPage{Q: q, Total: p.Total, Next: p.Next, Counts: groupCounts(p.Counts), Builtin: builtinViews,
		Sizes: listSizes, Durations: bulkDurations, Refresh: max(1, int(s.refresh/time.Second))}
	for _, c := range core.DeviceSorts {
		page.Sorts = append(page.Sorts, string(c))
	}
	for _, d := range p.Devices {
		page.Rows = append(page.Rows, newListRow(d, rc.lang))
	}
	if err := s.addListProbes(r, rc.lang, page.Rows); err != nil {
		return v, err
	}
	if err := s.addListProtection(ctx, rc.lang, page.Rows); err != nil {
		return v, err
	}
	if page.Clients, err = s.svc.ListClients(ctx, rc.user); err != nil {
		return v, err
	}
	if page.Sites, err = s.svc.ListSites(ctx, rc.user); err != nil {
		return v, err
	}
	page.Filters = listFilters(q, rc.lang, page.Clients, page.Sites)
	if page.Views, err = s.svc.SavedViews(ctx, rc.user); err != nil {
		return v, err
	}
	if v.CanOperate {
		if page.Policies, err = s.svc.ListPolicies(ctx); err != nil {
			return v, err
		}
	}
	// The notice shows once: the page's own address leaves it out.
	uq := r.URL.Query()
	page.Deleted = uq.Get(viewDeletedParam)
	uq.Del(viewDeletedParam)
	v.Path = withQuery("/", uq)
	v.Page = page
	return v, nil
}

func newListRow(d core.DeviceRow, lang Lang) listRow {
	if !d.Online {
		return listRow{DeviceRow: d, Class: "unknown", Label: lang.T("offline")}
	}
	return listRow{DeviceRow: d, Class: statusClass(d.Worst), Label: lang.Status(d.Worst)}
}

// home is the dashboard's home page: the device list, or the devices
// grouped by client and site (?view=clients). htmx requests get the list
// fragment, but a history restore gets the whole page.
func (s *server) home(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if r.URL.Query().Get("view") == "clients" {
		s.overview(w, r, rc)
		return
	}
	if isHTMX(r) && r.Header.Get("HX-History-Restore-Request") != "true" {
		s.renderView(w, r, rc, "device-list", s.deviceListView)
		return
	}
	s.renderView(w, r, rc, "home", s.deviceListView)
}

// Minutes formats a number of minutes as a duration.
func (l Lang) Minutes(n int) string { return l.Duration(time.Duration(n) * time.Minute) }

// addListProbes names the probe of each network device on the page, like
// the overview (addProbes), looking up only the probes the page needs.
func (s *server) addListProbes(r *http.Request, lang Lang, rows []listRow) error {
	if !slices.ContainsFunc(rows, func(row listRow) bool { return row.Role == core.KindNetwork }) {
		return nil
	}
	nds, err := s.store.ListNetDevices(r.Context(), 0)
	if err != nil {
		return err
	}
	probe := make(map[int64]int64, len(nds))
	for _, nd := range nds {
		probe[nd.ID] = nd.ProbeID
	}
	host := map[int64]string{0: lang.T("netdev.server")}
	for i := range rows {
		p, ok := probe[rows[i].ID]
		if !ok {
			continue
		}
		if _, known := host[p]; !known {
			d, err := s.svc.GetDevice(r.Context(), p)
			if err != nil && !errors.Is(err, core.ErrNotFound) {
				return err
			}
			host[p] = d.Hostname
		}
		rows[i].Probe = host[p]
	}
	return nil
}
