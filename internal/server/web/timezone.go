package web

import (
	"bufio"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

func init() { pageNames = append(pageNames, "account-timezone") }

// timeZoneRoutes: each user's time zone, chosen on the account page or
// reported once by the browser (static/timezone.js).
func (s *server) timeZoneRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /account/time-zone", authz.Authenticated, s.withSession(s.timeZonePage))
	rt.HandleFunc("POST /account/time-zone", authz.Authenticated, s.withSession(s.setTimeZone))
}

// timeZoneView is the account page's time zone form.
type timeZoneView struct {
	Value  string   // the zone in the field
	Chosen bool     // the user has a zone (else the default is shown)
	Error  string   // why Value was refused
	Zones  []string // IANA names the select offers, Value among them
}

func (s *server) timeZonePage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderTimeZone(w, r, rc, http.StatusOK, timeZoneView{Value: rc.lang.ZoneName()})
}

func (s *server) renderTimeZone(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, tv timeZoneView) {
	v := s.view(r, rc.lang, rc)
	v.Title = "tz.title"
	if status == http.StatusOK && r.URL.Query().Get("saved") == "1" {
		v.Notice, v.NoticeKind = "tz.saved", "ok"
	}
	tv.Chosen, tv.Zones = rc.user.TimeZone != "", zoneChoices(tv.Value)
	v.Page = tv
	s.render(w, status, "account-timezone", v)
}

// setTimeZone saves the user's zone. The browser's report (auto=1) counts
// only while the user has none, so it never overrides a choice; it gets
// 204 or an error status, no page.
func (s *server) setTimeZone(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	zone := strings.TrimSpace(r.PostFormValue("time_zone"))
	if r.PostFormValue("auto") == "1" {
		if rc.user.TimeZone == "" {
			if err := s.svc.SetTimeZone(r.Context(), rc.user, zone); err != nil {
				s.renderError(w, r, rc.lang, err)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	err := s.svc.SetTimeZone(r.Context(), rc.user, zone)
	if ve := (*policy.ValidationError)(nil); errors.As(err, &ve) {
		s.renderTimeZone(w, r, rc, http.StatusBadRequest, timeZoneView{Value: zone, Error: ve.In(rc.lang.Code())})
		return
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/account/time-zone?saved=1", http.StatusSeeOther)
}

// commonZones are offered when this machine has no zone table to read.
var commonZones = []string{"Africa/Johannesburg", "America/Chicago", "America/Denver", "America/Los_Angeles",
	"America/New_York", "America/Sao_Paulo", "Asia/Dubai", "Asia/Kolkata", "Asia/Shanghai", "Asia/Singapore",
	"Asia/Tokyo", "Atlantic/Reykjavik", "Australia/Sydney", "Europe/Amsterdam", "Europe/Athens", "Europe/Berlin",
	"Europe/Brussels", "Europe/Istanbul", "Europe/Lisbon", "Europe/London", "Europe/Luxembourg", "Europe/Madrid",
	"Europe/Paris", "Europe/Rome", "Europe/Vienna", "Europe/Warsaw", "Europe/Zurich", "Pacific/Auckland", "UTC"}

// zoneNames lists the IANA zones of this machine's zone table (its
// canonical zones, zone1970.tab) for the form's suggestions, read once.
var zoneNames = sync.OnceValue(func() []string {
	names := slices.Clone(commonZones)
	f, err := os.Open("/usr/share/zoneinfo/zone1970.tab")
	if err != nil {
		return names
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); !strings.HasPrefix(line, "#") {
			if fields := strings.Split(line, "\t"); len(fields) >= 3 {
				names = append(names, fields[2])
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
})

// zoneChoices is the select's list: the zone table, and the value shown
// first when the table lacks it (a zone saved before, or one refused), so
// the select never silently shows another zone than the user's.
func zoneChoices(value string) []string {
	names := zoneNames()
	if value == "" || slices.Contains(names, value) {
		return names
	}
	return append([]string{value}, names...)
}
