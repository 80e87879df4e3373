package alert

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
)

// SupportMessages renders a user's support request (issue 20) for the
// recipients an alert about its device would reach at now (Recipients),
// each in the recipient's language, as outbox items with the dedupe key
// support-<device>-<ref>:<recipient>: queued again for a resent request,
// they are stored once. serverURL makes the link to the request.
func SupportMessages(all []core.Recipient, s Settings, serverURL string, d core.Device, r core.SupportRequest, now time.Time) ([]core.OutboxItem, error) {
	loc, err := core.LoadZone(s.OfficeHours.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	var out []core.OutboxItem
	for _, rc := range Recipients(all, d, s.OfficeHours, now) {
		key := "support-" + strconv.FormatInt(d.ID, 10) + "-" + r.Ref + ":" + strconv.FormatInt(rc.ID, 10)
		m := RenderSupport(d, r, serverURL, loc, rc.Lang)
		m.ID = notify.StableID(key)
		if rc.Channel == core.ChannelWebhook {
			m.Format, m.Secret = rc.Format, rc.Secret
		}
		payload, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encoding support notification: %w", err)
		}
		out = append(out, core.OutboxItem{DedupeKey: key, Channel: rc.Channel, Target: rc.Target,
			Payload: payload, NextAttemptAt: now, CreatedAt: now})
	}
	return out, nil
}

// RenderSupport builds the message about request r from device d in lang
// ("de" or "en"); times in loc.
func RenderSupport(d core.Device, r core.SupportRequest, serverURL string, loc *time.Location, lang string) notify.Message {
	if lang != "de" {
		lang = "en"
	}
	tr := func(en, de string) string {
		if lang == "de" {
			return de
		}
		return en
	}
	who := r.Contact.Name
	if who == "" {
		who = r.OSUser
	}
	subject := fmt.Sprintf(tr("[Wacht] Support request from %s on %s (%s)", "[Wacht] Supportanfrage von %s auf %s (%s)"),
		oneLine(who), d.Hostname, d.ClientName)
	link := ""
	if serverURL != "" && r.ID != 0 {
		link = strings.TrimRight(serverURL, "/") + "/support/" + strconv.FormatInt(r.ID, 10)
	}
	var b strings.Builder
	b.WriteString(tr("A user asks for help.", "Ein Benutzer bittet um Hilfe.") + "\n\n")
	b.WriteString(r.Message)
	b.WriteString("\n\n")
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%-13s %s\n", label+":", oneLine(value))
		}
	}
	line(tr("Name", "Name"), r.Contact.Name)
	line(tr("E-mail", "E-Mail"), r.Contact.Email)
	line(tr("Phone", "Telefon"), r.Contact.Phone)
	line(tr("User account", "Benutzerkonto"), r.OSUser)
	line(tr("Customer", "Kunde"), d.ClientName)
	line(tr("Site", "Standort"), d.SiteName)
	line(tr("Device", "Gerät"), d.Hostname)
	line(tr("Time", "Zeit"), formatTime(r.CreatedAt, loc, lang))
	if r.HasScreenshot {
		line(tr("Screenshot", "Bildschirmfoto"), tr("attached by the user; see it in the dashboard",
			"vom Benutzer beigefügt; im Dashboard einsehbar"))
	} else {
		line(tr("Screenshot", "Bildschirmfoto"), tr("none", "keines"))
	}
	line("Link", link)
	return notify.Message{
		Lang:    lang,
		Subject: subject,
		Text:    b.String(),
		Event: notify.Event{Kind: notify.KindSupport, Client: d.ClientName, Site: d.SiteName, Device: d.Hostname,
			DeviceID: d.ID, Message: r.Message, At: r.CreatedAt, Link: link},
	}
}

// oneLine keeps a value the user typed from starting new lines (or mail
// headers, in the subject).
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
