package web

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
)

// The page tour: every GET page of the dashboard, enumerated from the
// route table so that a new page is visited without touching this file,
// against one fixture with content on every page. The language test and
// the browser's layout test both walk it.

// notPages are GET routes that answer no HTML page for a reader: assets,
// downloads, data for scripts and sockets.
var notPages = map[string]string{
	"/static/":                         "assets",
	"/healthz":                         "health probe",
	reportLogoPath:                     "image",
	"/audit.csv":                       "download",
	"/inventory/export.csv":            "download",
	"/scripts/export":                  "download",
	"/clients/{id}/monthly-report.pdf": "PDF (its text is in the report package's language test)",
	"/clients/{id}/branding/icon":      "image",
	"/support/{id}/screenshot":         "image",
	"/recordings/{id}/cast":            "asciicast data",
	"/devices/{id}/terminal/ws":        "websocket",
	"/devices/{id}/files/content":      "file download",
	"/installers/{kind}/{arch}":        "installer download",
	"/billing/runs/{file}":             "invoice download",
	"/agents/rollouts/{id}/progress":   "live progress fragment of a rollout the fixture does not start",
	"/jobs/{id}/progress":              "live progress fragment; the job page itself is visited",
	"/recordings/{id}":                 "needs a recorded terminal session, which only a live agent makes",
	"/devices/{id}/processes/list":     "asks the agent live (the fixture has none)",
	"/devices/{id}/inventory/changes":  "fragment of the inventory page",
	"/partials/alert-count":            "badge fragment",
	"/partials/support-count":          "badge fragment",
	"/devices/{id}/terminal":           "asks the agent live: TestLivePagesTour visits it with real agents",
	"/devices/{id}/processes":          "asks the agent live: TestLivePagesTour visits it with real agents",
	"/devices/{id}/services":           "asks the agent live: TestLivePagesTour visits it with real agents",
	"/devices/{id}/files":              "asks the agent live: TestLivePagesTour visits it with real agents",
	"/login/totp":                      "only within a sign-in with a second factor",
	"/partials/devices":                "fragment of the overview, visited through it",
	"/devices/{id}/checks":             "fragment of the device page, visited through it",
	"/devices/{id}/effective":          "fragment of the device page; /devices/{id}/policies shows the same table",
}

// tourFixture is the fixture of newAlertsFixture (outages open, closed and
// acknowledged, a second client) plus a policy, a script, a package, a
// maintenance window, a network device, a support request, a billing
// contract, a time entry, a patch status and a services result, so pages
// show content rather than their empty state.
type tourFixture struct {
	*alertsFixture
	ids   map[string]string // "devices/{id}" → the ID to fill in
	query map[string]string // pattern → the query a page needs
}

func newTourFixture(t *testing.T) *tourFixture {
	t.Helper()
	f := &tourFixture{alertsFixture: newAlertsFixture(t)}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	d := f.device
	four := 4.0
	must(f.st.SaveResults(ctx, d.ID, []core.Result{{ID: "s1", Check: "services", Status: core.StatusFailure, Value: &four, Unit: "services",
		Message: core.Text{EN: "4 of 60 automatic services are not running: Fax (stopped)", DE: "4 von 60 automatischen Diensten laufen nicht: Fax (beendet)"}, At: now}}))
	pol := core.Policy{Name: "Standard", Checks: []core.PolicyCheck{{Name: "cpu", Type: "cpu", Params: json.RawMessage(`{}`), Schedule: core.Schedule{}}}}
	must(f.st.CreatePolicy(ctx, &pol))
	must(f.st.SetAssignments(ctx, core.LevelClient, d.ClientID, []int64{pol.ID}))
	sc := core.Script{Name: "Spooler neu starten", Language: "sh", Body: "echo ok\n", TimeoutSeconds: 30, RunAs: core.RunAsSystem,
		Params: []core.ScriptParam{{Name: "MODE", Type: core.ParamChoice, Choices: []string{"sanft", "hart"}, Required: true}}}
	must(f.st.CreateScript(ctx, &sc))
	job := core.ScriptJob{ScriptID: sc.ID, ScriptVersion: 1, Params: map[string]string{"MODE": "sanft"}, Target: "site " + strconv.FormatInt(d.SiteID, 10),
		CreatedBy: "user:admin@example.com", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	_, err := f.st.CreateScriptJob(ctx, &job, []core.ScriptRun{{DeviceID: d.ID}})
	must(err)
	pkg := core.Package{Name: "htop", Version: "3.3", OS: "linux", Kind: core.PkgApt, ManagerID: "htop", Install: []string{}, Uninstall: []string{},
		Params: []core.PackageParam{}, ExitCodes: core.DefaultExitCodes(), Detection: core.Detection{Kind: core.DetectOSPackage, Name: "htop"},
		TimeoutSeconds: 600, UpdatedBy: "test"}
	must(f.st.CreatePackage(ctx, &pkg))
	end := now.Add(time.Hour)
	mw := core.Maintenance{Scope: core.LevelSite, TargetID: d.SiteID, Title: "Serverwartung", Start: now, End: &end, TimeZone: "Europe/Berlin"}
	must(f.st.CreateMaintenance(ctx, &mw))
	nd := core.NetDevice{SiteID: d.SiteID, Name: "Drucker-Flur", Address: "192.0.2.40", Type: "printer", ProbeID: d.ID}
	must(f.st.CreateNetDevice(ctx, &nd))
	sr := core.SupportRequest{DeviceID: d.ID, Ref: "printer-1", OSUser: `MUELLER\anna`, Contact: core.SupportContact{Name: "Anna Amsel"},
		Message: "Mein Drucker druckt nicht", Lang: "de", CreatedAt: now, ReceivedAt: now}
	_, err = f.st.SaveSupportRequest(ctx, &sr, nil, nil)
	must(err)
	contract := core.DefaultContract(d.ClientID, now.AddDate(0, -2, 0).Format("2006-01-02"))
	contract.UpdatedBy = "test"
	must(f.st.PutContract(ctx, &contract))
	te := core.TimeEntry{ClientID: d.ClientID, User: "admin@example.com", StartedAt: now.Add(-time.Hour), Minutes: 45, Note: "Drucker eingerichtet", Billable: true}
	must(f.st.CreateTimeEntry(ctx, &te))
	must(f.st.SavePatchReport(ctx, d.ID, core.PatchReport{ScannedAt: now, Sources: []core.PatchSourceStatus{
		{Source: core.SourceApt, Status: core.ScanOK, ScannedAt: now, Missing: 0}}}, now))
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	f.ids = map[string]string{
		"devices/{id}": id(d.ID), "clients/{id}": id(d.ClientID), "sites/{id}": id(d.SiteID),
		"policies/{id}": id(pol.ID), "scripts/{id}": id(sc.ID), "packages/{id}": id(pkg.ID),
		"maintenance/{id}": id(mw.ID), "network-devices/{id}": id(nd.ID), "support/{id}": id(sr.ID),
		"time/{id}": id(te.ID), "jobs/{id}": id(job.ID),
	}
	f.query = map[string]string{
		"/devices/{id}/history":      "check=disk&key=/",
		"/time/new":                  "support=" + id(sr.ID),
		"/check-form":                "row=0&c0.type=website", // a type with every kind of field but a list of objects
		"/devices/{id}/run-progress": "since=1&checks=3",
		"/clients/{id}/report":       "lang=", // + the page's language: the preview speaks the report's
	}
	return f
}

// tourPages returns the path of every GET page route, its placeholders
// filled from the fixture; a page route whose placeholder the fixture
// cannot fill fails the test, so a new page is never silently left out.
func (f *tourFixture) tourPages(t *testing.T, lang string) []string {
	t.Helper()
	var paths []string
	for _, r := range Routes() {
		pattern, ok := strings.CutPrefix(r.Pattern, "GET ")
		if !ok {
			continue
		}
		if _, skip := notPages[pattern]; skip {
			continue
		}
		if r.Perm == authz.Public {
			continue // the signed-out pages are toured apart
		}
		path, ok := f.fill(pattern)
		if !ok {
			t.Errorf("page %s: the tour fixture has no object for it; seed one in newTourFixture (or list the route in notPages with the reason)", pattern)
			continue
		}
		if q, ok := f.query[pattern]; ok {
			path += "?" + q
			if strings.HasSuffix(q, "lang=") {
				path += lang
			}
		}
		paths = append(paths, path)
	}
	sort.Strings(paths)
	return paths
}

// fill replaces each {placeholder} of pattern with the fixture's ID for
// the segment before it.
func (f *tourFixture) fill(pattern string) (string, bool) {
	if pattern == "/{$}" {
		return "/", true
	}
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			continue
		}
		if i == 0 {
			return "", false
		}
		id, ok := f.ids[segs[i-1]+"/"+s]
		if !ok {
			return "", false
		}
		segs[i] = id
	}
	return strings.Join(segs, "/"), true
}

// publicPages are the pages a signed-out visitor sees.
var publicPages = []string{"/login"}

// getPage fetches path and fails unless it answers an HTML page.
func (b *browser) getPage(t *testing.T, path string) (string, bool) {
	t.Helper()
	p := b.do("GET", path, nil)
	if p.status != http.StatusOK {
		t.Errorf("%s: status %d", path, p.status)
		return "", false
	}
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s: Content-Type %q, not a page (list it in notPages)", path, ct)
		return "", false
	}
	return p.body, true
}
