package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The notification settings page (administrators): SMTP server with a test
// mail, office hours and timings, recipients and the outbox. service.Service
// validates, keeps the SMTP password write-only and audits; this file only
// turns forms into its requests and its field errors into messages beside
// the fields.

func init() { pageNames = append(pageNames, "alertsettings") }

const alertSettingsPath = "/settings/alerts"

func (s *server) alertSettingsRoutes(rt *auth.Router) {
	rt.HandleFunc("GET "+alertSettingsPath, authz.Admin, s.withSession(s.alertSettings))
	rt.HandleFunc("POST "+alertSettingsPath, authz.Admin, s.withSession(s.saveAlertSettings))
	rt.HandleFunc("POST "+alertSettingsPath+"/test", authz.Admin, s.withSession(s.testMail))
	rt.HandleFunc("POST "+alertSettingsPath+"/recipients", authz.Admin, s.withSession(s.createRecipient))
	rt.HandleFunc("POST "+alertSettingsPath+"/recipients/{id}/delete", authz.Admin, s.withSession(s.deleteRecipient))
	rt.HandleFunc("POST "+alertSettingsPath+"/outbox/{id}/retry", authz.Admin, s.withSession(s.retryOutbox))
}

// settingFields are the settings form's fields, named like the fields of
// alert.Settings.Validate's errors. The password is write-only and office
// days are checkboxes, so neither is here.
var settingFields = []string{"smtp.host", "smtp.port", "smtp.tls", "smtp.username", "smtp.from",
	"office_hours.start", "office_hours.end", "office_hours.timezone"}

// timingFields are the settings in seconds (flap_changes: a count).
var timingFields = []string{"offline_after_server", "offline_after_workstation", "offline_alert_delay",
	"goodbye_grace", "flap_changes", "flap_window", "remind_after"}

type alertSettingsPage struct {
	Values      map[string]string // the settings form as shown
	Days        []dayOption
	PasswordSet bool
	Timings     []string
	TLSModes    []string
	Errors      map[string]string // by field, settings and recipient forms
	TestTo      string
	Test        *service.TestMailResult
	Recipients  []recipientRow
	Rec         map[string]string // the new-recipient form as sent
	Clients     []core.Client
	Sites       []core.Site
	Devices     []service.Device
	Outbox      []service.OutboxEntry // undelivered: pending or given up
	MailOff     bool                  // no mail server stored: no e-mail is queued
	Logo        *logoCard             // the monthly reports' logo (monthly.go)
	days        []int                 // office days of a form as sent
}

type dayOption struct {
	N     int
	Label string
	On    bool
}

type recipientRow struct {
	core.Recipient
	TargetName string
	SecretSet  bool
}

// settingsForm renders settings into form values.
func settingsForm(st alert.Settings) map[string]string {
	num := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	return map[string]string{
		"smtp.host": st.SMTP.Host, "smtp.port": num(st.SMTP.Port), "smtp.tls": st.SMTP.TLS,
		"smtp.username": st.SMTP.Username, "smtp.from": st.SMTP.From,
		"office_hours.start": st.OfficeHours.Start, "office_hours.end": st.OfficeHours.End,
		"office_hours.timezone":     st.OfficeHours.TimeZone,
		"offline_after_server":      num(int(st.OfflineAfterServer)),
		"offline_after_workstation": num(int(st.OfflineAfterWorkstation)),
		"offline_alert_delay":       num(int(st.OfflineAlertDelay)),
		"goodbye_grace":             num(int(st.GoodbyeGrace)),
		"flap_changes":              num(st.FlapChanges),
		"flap_window":               num(int(st.FlapWindow)),
		"remind_after":              num(int(st.RemindAfter)),
	}
}

// formSettings reads the settings form; numbers that are not whole
// non-negative numbers are refused by field (the rest is the Service's to
// validate).
func formSettings(r *http.Request, lang Lang) (alert.Settings, map[string]string, []int, map[string]string) {
	vals, errs := map[string]string{}, map[string]string{}
	for _, f := range append(append([]string{}, settingFields...), timingFields...) {
		vals[f] = strings.TrimSpace(r.PostFormValue(f))
	}
	num := func(f string) int {
		if vals[f] == "" {
			return 0
		}
		n, err := strconv.Atoi(vals[f])
		if err != nil || n < 0 {
			errs[f] = lang.T("alertset.notNumber")
		}
		return n
	}
	var days []int
	for _, d := range r.PostForm["office_hours.days"] {
		n, err := strconv.Atoi(d)
		if err != nil {
			errs["office_hours.days"] = lang.T("alertset.notNumber")
		}
		days = append(days, n)
	}
	st := alert.Settings{
		OfficeHours: alert.OfficeHours{Days: days, Start: vals["office_hours.start"], End: vals["office_hours.end"],
			TimeZone: vals["office_hours.timezone"]},
		OfflineAfterServer:      alert.Seconds(num("offline_after_server")),
		OfflineAfterWorkstation: alert.Seconds(num("offline_after_workstation")),
		OfflineAlertDelay:       alert.Seconds(num("offline_alert_delay")),
		GoodbyeGrace:            alert.Seconds(num("goodbye_grace")),
		FlapChanges:             num("flap_changes"),
		FlapWindow:              alert.Seconds(num("flap_window")),
		RemindAfter:             alert.Seconds(num("remind_after")),
	}
	st.SMTP.Host, st.SMTP.Port, st.SMTP.TLS = vals["smtp.host"], num("smtp.port"), vals["smtp.tls"]
	st.SMTP.Username, st.SMTP.From = vals["smtp.username"], vals["smtp.from"]
	st.SMTP.Password = r.PostFormValue("smtp.password") // empty: keep the stored one
	return st, vals, days, errs
}

// fieldErrors adds a validation error's messages to errs by field (rename
// maps a Service field name to a form field); other errors are returned.
func fieldErrors(err error, lang Lang, errs map[string]string, rename map[string]string) error {
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	for _, f := range ve.Fields {
		name := f.Field
		if to, ok := rename[name]; ok {
			name = to
		}
		if errs[name] != "" {
			errs[name] += "; "
		}
		errs[name] += f.Message.In(lang.Code())
	}
	return nil
}

func (s *server) alertSettings(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	v := s.view(r, rc.lang, rc)
	switch r.URL.Query().Get("saved") {
	case "settings":
		v.Notice, v.NoticeKind = "alertset.saved", "ok"
	case "recipient":
		v.Notice, v.NoticeKind = "alertset.recipientSaved", "ok"
	case "deleted":
		v.Notice, v.NoticeKind = "alertset.recipientDeleted", "ok"
	case "retried":
		v.Notice, v.NoticeKind = "alertset.retried", "ok"
	case "logo":
		v.Notice, v.NoticeKind = "monthly.logoSaved", "ok"
	case "logoRemoved":
		v.Notice, v.NoticeKind = "monthly.logoRemoved", "ok"
	}
	s.renderAlertSettings(w, r, rc, v, http.StatusOK, &alertSettingsPage{})
}

// renderAlertSettings fills in what the page shows besides the forms as
// sent: the stored settings (unless p.Values holds a form), recipients,
// pickers and the outbox.
func (s *server) renderAlertSettings(w http.ResponseWriter, r *http.Request, rc *reqCtx, v view, status int, p *alertSettingsPage) {
	ctx, u := r.Context(), rc.user
	st, err := s.svc.AlertSettings(ctx, u)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if p.Values == nil {
		p.Values, p.days = settingsForm(st), st.OfficeHours.Days
	}
	p.PasswordSet, p.MailOff = st.SMTP.Password != "", !st.MailReady()
	for _, n := range []int{1, 2, 3, 4, 5, 6, 0} {
		on := false
		for _, d := range p.days {
			on = on || d == n
		}
		p.Days = append(p.Days, dayOption{N: n, Label: rc.lang.T("day." + strconv.Itoa(n)), On: on})
	}
	p.Timings, p.TLSModes = timingFields, []string{"starttls", "tls", "none"}
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	if p.Rec == nil {
		p.Rec = map[string]string{"scope": core.LevelDefault, "channel": core.ChannelEmail, "lang": rc.lang.Code(),
			"hours": core.HoursAlways, "format": core.WebhookJSON}
	}
	if p.Clients, err = s.svc.ListClients(ctx, u); err == nil {
		if p.Sites, err = s.svc.ListSites(ctx, u); err == nil {
			p.Devices, err = s.svc.ListDevicesFor(ctx, u, service.DeviceFilter{})
		}
	}
	var rs []core.Recipient
	if err == nil {
		rs, err = s.svc.ListRecipients(ctx, u)
	}
	var box []service.OutboxEntry
	if err == nil {
		box, err = s.svc.ListOutbox(ctx, u, 200)
	}
	if err == nil && p.Logo == nil {
		p.Logo, err = s.logoCardOf(ctx, u)
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	names := map[string]string{core.LevelDefault + ":0": rc.lang.T("alertset.level.default")}
	for _, c := range p.Clients {
		names[core.LevelClient+":"+strconv.FormatInt(c.ID, 10)] = c.Name
	}
	for _, site := range p.Sites {
		names[core.LevelSite+":"+strconv.FormatInt(site.ID, 10)] = site.ClientName + " / " + site.Name
	}
	for _, d := range p.Devices {
		names[core.LevelDevice+":"+strconv.FormatInt(d.ID, 10)] = d.ClientName + " / " + d.Hostname
	}
	for _, rcp := range rs {
		p.Recipients = append(p.Recipients, recipientRow{Recipient: rcp, SecretSet: rcp.Secret != "",
			TargetName: names[rcp.Level+":"+strconv.FormatInt(rcp.TargetID, 10)]})
	}
	for _, m := range box {
		if m.DeliveredAt == nil {
			p.Outbox = append(p.Outbox, m)
		}
	}
	v.Title, v.Page = "alertsettings.title", p
	s.render(w, status, "alertsettings", v)
}

// settingsSent is the page for a settings form that comes back with
// errors or a test result.
func settingsSent(vals map[string]string, days []int, errs map[string]string) *alertSettingsPage {
	return &alertSettingsPage{Values: vals, Errors: errs, days: days}
}

func (s *server) saveAlertSettings(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	st, vals, days, errs := formSettings(r, rc.lang)
	if len(errs) == 0 {
		_, err := s.svc.SetAlertSettings(r.Context(), rc.user, st)
		if err = fieldErrors(err, rc.lang, errs, nil); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	if len(errs) > 0 {
		v := s.view(r, rc.lang, rc)
		v.Error = "alertset.invalid"
		s.renderAlertSettings(w, r, rc, v, http.StatusBadRequest, settingsSent(vals, days, errs))
		return
	}
	http.Redirect(w, r, alertSettingsPath+"?saved=settings", http.StatusSeeOther)
}

// testMail sends a test mail with the settings as typed into the form (not
// yet saved) and shows the SMTP server's answer beside the button.
func (s *server) testMail(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	st, vals, days, errs := formSettings(r, rc.lang)
	p := settingsSent(vals, days, errs)
	p.TestTo = strings.TrimSpace(r.PostFormValue("test_to"))
	status := http.StatusOK
	if len(errs) == 0 {
		res, err := s.svc.SendTestMail(r.Context(), rc.user, service.TestMailRequest{To: p.TestTo, Lang: rc.lang.Code(), Settings: &st})
		if err = fieldErrors(err, rc.lang, errs, map[string]string{"to": "test_to"}); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		if len(errs) == 0 {
			p.Test = &res
		}
	}
	v := s.view(r, rc.lang, rc)
	if len(errs) > 0 {
		v.Error, status = "alertset.invalid", http.StatusBadRequest
	}
	s.renderAlertSettings(w, r, rc, v, status, p)
}

// recipientFields are the new-recipient form's fields; scope is the level
// and target together: "default", "client:ID", "site:ID" or "device:ID".
var recipientFields = []string{"scope", "channel", "target", "lang", "hours", "format"}

func (s *server) createRecipient(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	vals := map[string]string{}
	for _, f := range recipientFields {
		vals[f] = strings.TrimSpace(r.PostFormValue(f))
	}
	level, target, _ := strings.Cut(vals["scope"], ":")
	id, _ := strconv.ParseInt(target, 10, 64) // not a number: 0, refused by the Service
	rcp := core.Recipient{Level: level, TargetID: id, Channel: vals["channel"], Target: vals["target"],
		Lang: vals["lang"], Hours: vals["hours"], Format: vals["format"], Secret: r.PostFormValue("secret")}
	errs := map[string]string{}
	_, err := s.svc.CreateRecipient(r.Context(), rc.user, rcp)
	if err = fieldErrors(err, rc.lang, errs, map[string]string{"level": "scope", "target_id": "scope"}); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if len(errs) > 0 {
		v := s.view(r, rc.lang, rc)
		v.Error = "alertset.recipientInvalid"
		s.renderAlertSettings(w, r, rc, v, http.StatusBadRequest, &alertSettingsPage{Rec: vals, Errors: errs})
		return
	}
	http.Redirect(w, r, alertSettingsPath+"?saved=recipient", http.StatusSeeOther)
}

// retryOutbox sends a given-up delivery back into the queue; no
// confirmation, as a retry sends at most the message once more.
func (s *server) retryOutbox(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) {
		return alertSettingsPath + "?saved=retried#outbox", s.svc.RetryOutbox(r.Context(), rc.user, id)
	})
}

func (s *server) deleteRecipient(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	s.act(w, r, rc, func(id int64) (string, error) {
		return alertSettingsPath + "?saved=deleted", s.svc.DeleteRecipient(r.Context(), rc.user, id)
	})
}
