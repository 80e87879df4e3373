package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The history page of one check instance: a range selector, a uPlot chart
// of the numeric values with status bands (static/history.js), and a table
// of the latest results. The data comes from service.Service.CheckHistory, so
// the API and the dashboard apply the same scope.

func init() { pageNames = append(pageNames, "history") }

func (s *server) historyRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /devices/{id}/history", authz.Read, s.withSession(s.history))
}

// historyRanges are the selectable periods; the first is the default.
var historyRanges = []struct {
	id  string
	dur time.Duration
}{{"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}

// historyTableRows caps the table; the chart gets every fetched result.
const historyTableRows = 200

// uplotFile is the chart library web/build.sh copies into static/vendor.
const uplotFile = "vendor/uPlot.iife.min.js"

type historyPage struct {
	DeviceID  int64
	Check     string // technical name
	Key       string
	CheckName string // display name in the page's language
	Ranges    []historyRange
	Rows      []historyRow // newest first, at most historyTableRows
	Capped    string       // "showing the latest n of m", if the table is capped
	Truncated string       // note when the period holds more than the API limit
	HasValues bool         // some result has a number to chart
	Chart     bool         // uPlot is built in and there is something to draw
	Series    string       // JSON for static/history.js
}

type historyRange struct {
	ID, Label, Href string
	Active          bool
}

type historyRow struct {
	core.Result
	Class string
}

// historySeries is what static/history.js draws, oldest first; times are
// Unix seconds, a missing value is null.
type historySeries struct {
	Lang   string     `json:"lang"`
	Zone   string     `json:"zone"` // the user's IANA zone: axis and legend show times in it
	Label  string     `json:"label"`
	Time   string     `json:"time"` // the legend's name of the time axis
	Unit   string     `json:"unit"`
	T      []float64  `json:"t"`
	V      []*float64 `json:"v"`
	Status []string   `json:"s"`
}

func (s *server) history(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	v := s.view(r, rc.lang, rc)
	v.Title = "history.title"
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	q := r.URL.Query()
	check, key := q.Get("check"), q.Get("key")
	rng := historyRanges[0]
	for _, hr := range historyRanges {
		if hr.id == q.Get("range") {
			rng = hr
		}
	}
	d, err := s.svc.GetDevice(r.Context(), id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	h, err := s.svc.CheckHistory(r.Context(), id, check, key, s.now().Add(-rng.dur), time.Time{}, service.MaxHistoryLimit)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v.Device = newDeviceView(d, rc.lang)
	v.Path = r.URL.RequestURI()
	p := historyPage{DeviceID: id, Check: check, Key: key, CheckName: rc.lang.Check(check)}
	for _, hr := range historyRanges {
		qs := url.Values{"check": {check}, "key": {key}, "range": {hr.id}}
		p.Ranges = append(p.Ranges, historyRange{ID: hr.id, Label: rc.lang.T("history.range." + hr.id),
			Href: "/devices/" + strconv.FormatInt(id, 10) + "/history?" + qs.Encode(), Active: hr.id == rng.id})
	}
	for i, res := range h.Results {
		if i < historyTableRows {
			if u := res.Rollup; u != nil {
				// Raw results aged out into an hourly summary (docs/internals.md).
				msg := rc.lang.N("history.rollup", u.Results, rc.lang.Int(u.Results),
					rc.lang.Value(u.Min, res.Unit), rc.lang.Value(u.Max, res.Unit))
				res.Message = core.Text{EN: msg, DE: msg}
			}
			p.Rows = append(p.Rows, historyRow{Result: res, Class: statusClass(res.Status)})
		}
		if res.Value != nil {
			p.HasValues = true
		}
	}
	if n := len(h.Results); n > historyTableRows {
		p.Capped = fmt.Sprintf(rc.lang.T("history.capped"), rc.lang.Int(historyTableRows), rc.lang.Int(n))
	}
	if len(h.Results) == service.MaxHistoryLimit {
		p.Truncated = fmt.Sprintf(rc.lang.T("history.truncated"), rc.lang.Int(service.MaxHistoryLimit))
	}
	if _, err := fs.Stat(s.static, uplotFile); err == nil && p.HasValues {
		series, err := newHistorySeries(h.Results, rc.lang, p.CheckName)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		p.Chart, p.Series = true, series
	}
	v.Page = p
	s.render(w, http.StatusOK, "history", v)
}

// newHistorySeries turns results (newest first) into the chart's JSON.
func newHistorySeries(rs []core.Result, lang Lang, label string) (string, error) {
	hs := historySeries{Lang: lang.code, Zone: lang.ZoneName(), Label: label, Time: lang.T("history.time"), T: make([]float64, 0, len(rs)),
		V: make([]*float64, 0, len(rs)), Status: make([]string, 0, len(rs))}
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i]
		if r.Unit != "" {
			hs.Unit = r.Unit
		}
		hs.T = append(hs.T, float64(r.At.UnixMilli())/1000)
		hs.V = append(hs.V, r.Value)
		hs.Status = append(hs.Status, statusClass(r.Status))
	}
	b, err := json.Marshal(hs)
	if err != nil {
		return "", fmt.Errorf("encoding chart data: %w", err)
	}
	return string(b), nil
}

// Int formats a whole number with the language's thousands separator.
func (l Lang) Int(n int) string {
	s := strconv.Itoa(n)
	sep := ","
	if l.code == langDE {
		sep = "."
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}
