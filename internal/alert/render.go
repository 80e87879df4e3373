package alert

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/plural"
)

// Facts are what a message reports, independent of language.
type Facts struct {
	Kind      string // notify.Kind*
	Device    core.Device
	Check     string
	Key       string
	Status    core.Status
	Value     *float64
	Unit      string
	Message   core.Text
	OutageRef string
	Since     time.Time // when the outage began / the device was last heard from
	At        time.Time
	ServerURL string
	Location  *time.Location // for times in the text; nil = UTC
	// Fix is the newest automatic fix of the check (issue 16), if any.
	Fix *core.Fix
}

var kindWords = map[string]core.Text{
	notify.KindOutage:   {EN: "FAILURE", DE: "STÖRUNG"},
	notify.KindRecovery: {EN: "RECOVERED", DE: "BEHOBEN"},
	notify.KindOffline:  {EN: "OFFLINE", DE: "OFFLINE"},
	notify.KindOnline:   {EN: "ONLINE AGAIN", DE: "WIEDER ONLINE"},
	notify.KindFlapping: {EN: "FLAPPING", DE: "INSTABIL"},
	notify.KindStable:   {EN: "STABLE AGAIN", DE: "WIEDER STABIL"},
	notify.KindReminder: {EN: "STILL FAILING", DE: "WEITERHIN GESTÖRT"},
	notify.KindTest:     {EN: "TEST", DE: "TEST"},
}

var statusWords = map[core.Status]core.Text{
	core.StatusOK:          {EN: "ok", DE: "in Ordnung"},
	core.StatusWarning:     {EN: "warning", DE: "Warnung"},
	core.StatusFailure:     {EN: "failure", DE: "Fehler"},
	core.StatusError:       {EN: "check error", DE: "Prüfung fehlgeschlagen"},
	core.StatusUnknown:     {EN: "unknown", DE: "unbekannt"},
	core.StatusUnsupported: {EN: "unsupported", DE: "nicht unterstützt"},
}

// Render builds the message for one language ("de" or "en").
func Render(f Facts, lang string) notify.Message {
	if lang != "de" {
		lang = "en"
	}
	tr := func(en, de string) string {
		if lang == "de" {
			return de
		}
		return en
	}
	loc := f.Location
	if loc == nil {
		loc = time.UTC
	}
	check := f.Check
	if f.Key != "" {
		check += " " + f.Key
	}
	d := f.Device
	var subject string
	if f.Check != "" {
		subject = fmt.Sprintf("[Wacht] %s: %s %s %s (%s / %s)", kindWords[f.Kind].In(lang), check,
			tr("on", "auf"), d.Hostname, d.ClientName, d.SiteName)
	} else {
		subject = fmt.Sprintf("[Wacht] %s: %s (%s / %s)", kindWords[f.Kind].In(lang), d.Hostname, d.ClientName, d.SiteName)
	}
	link := ""
	if f.ServerURL != "" && d.ID != 0 {
		link = strings.TrimRight(f.ServerURL, "/") + "/devices/" + strconv.FormatInt(d.ID, 10)
	}

	var b strings.Builder
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%-11s %s\n", label+":", value)
		}
	}
	switch f.Kind {
	case notify.KindOutage:
		b.WriteString(tr("A check is failing.", "Eine Prüfung schlägt fehl.") + "\n\n")
	case notify.KindRecovery:
		b.WriteString(tr("The check passes again.", "Die Prüfung ist wieder in Ordnung.") + "\n\n")
	case notify.KindOffline:
		b.WriteString(tr("The device's agent has not been heard from since ", "Der Agent des Geräts hat sich seit ") +
			formatTime(f.Since, loc, lang) + tr(".", " nicht mehr gemeldet.") + "\n\n")
	case notify.KindOnline:
		b.WriteString(tr("The device's agent reports again.", "Der Agent des Geräts meldet sich wieder.") + "\n\n")
	case notify.KindFlapping:
		b.WriteString(tr("The check keeps changing between failing and passing. Further changes are not notified until it is stable.",
			"Die Prüfung wechselt ständig zwischen Fehler und in Ordnung. Weitere Wechsel werden erst wieder gemeldet, wenn sie stabil ist.") + "\n\n")
	case notify.KindStable:
		b.WriteString(tr("The check is stable again.", "Die Prüfung ist wieder stabil.") + "\n\n")
	case notify.KindReminder:
		b.WriteString(tr("This outage is still open and nobody has acknowledged it.",
			"Diese Störung besteht weiterhin und wurde von niemandem bestätigt.") + "\n\n")
	case notify.KindTest:
		b.WriteString(tr("This is a test message from Wacht: notifications reach you.",
			"Dies ist eine Testnachricht von Wacht: Benachrichtigungen erreichen Sie.") + "\n\n")
	}
	line(tr("Customer", "Kunde"), d.ClientName)
	line(tr("Site", "Standort"), d.SiteName)
	line(tr("Device", "Gerät"), d.Hostname)
	line(tr("Check", "Prüfung"), check)
	if f.Check != "" {
		line("Status", statusWords[f.Status].In(lang))
	}
	if f.Value != nil {
		line(tr("Value", "Wert"), FormatValue(*f.Value, f.Unit, lang))
	}
	line(tr("Message", "Meldung"), f.Message.In(lang))
	fix := ""
	if f.Fix != nil {
		fix = f.Fix.Text(loc).In(lang)
	}
	line(tr("Fix", "Behebung"), fix)
	if f.Kind == notify.KindRecovery || f.Kind == notify.KindOnline || f.Kind == notify.KindReminder {
		line(tr("Down since", "Gestört seit"), formatTime(f.Since, loc, lang))
	}
	line(tr("Time", "Zeit"), formatTime(f.At, loc, lang))
	line("Link", link)

	return notify.Message{
		Lang:    lang,
		Subject: subject,
		Text:    b.String(),
		Event: notify.Event{
			Kind: f.Kind, Client: d.ClientName, Site: d.SiteName, Device: d.Hostname, DeviceID: d.ID,
			Check: f.Check, Key: f.Key, Status: statusName(f), Value: f.Value, Unit: f.Unit,
			Message: f.Message.In(lang), OutageID: f.OutageRef, At: f.At, Link: link, Fix: fix,
		},
	}
}

func statusName(f Facts) string {
	if f.Check == "" {
		return ""
	}
	return f.Status.String()
}

// FormatValue prints a value with at most two decimals, a decimal comma in
// German, and its unit.
func FormatValue(v float64, unit, lang string) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if lang == "de" {
		s = strings.Replace(s, ".", ",", 1)
	}
	if unit != "" {
		s += " " + plural.Unit(lang, unit, v)
	}
	return s
}

func formatTime(t time.Time, loc *time.Location, lang string) string {
	if t.IsZero() {
		return ""
	}
	if lang == "de" {
		return t.In(loc).Format("02.01.2006 15:04:05 MST")
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}
