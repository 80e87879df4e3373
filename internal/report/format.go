package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/plural"
)

// words are the reports' strings: English, German. A counted phrase holds
// its singular and plural form separated by "|" (package plural); L.N
// formats it.
var words = map[string][2]string{
	"title":        {"Daily report for %s", "Tagesbericht für %s"},
	"subject":      {"[Wacht] Daily report %s – %s", "[Wacht] Tagesbericht %s – %s"},
	"period":       {"%s to %s (%s)", "%s bis %s (%s)"},
	"summary":      {"%d device: %d OK, %d failing, %d offline|%d devices: %d OK, %d failing, %d offline", "%d Gerät: %d in Ordnung, %d gestört, %d offline|%d Geräte: %d in Ordnung, %d gestört, %d offline"},
	"quiet":        {"No critical events: nothing failed and every device was online.", "Keine kritischen Ereignisse: nichts ist ausgefallen und alle Geräte waren online."},
	"failingNow":   {"Failing now", "Jetzt gestört"},
	"events":       {"Critical events", "Kritische Ereignisse"},
	"noEvents":     {"No critical events.", "Keine kritischen Ereignisse."},
	"more":         {"and %d more", "und %d weitere"},
	"fromMessage":  {"older agent, its message:", "älterer Agent, seine Meldung:"},
	"failed":       {"Failed checks", "Fehlgeschlagene Prüfungen"},
	"noFailed":     {"No check failed.", "Keine Prüfung ist fehlgeschlagen."},
	"outages":      {"Outages", "Störungen"},
	"noOutages":    {"No outages.", "Keine Störungen."},
	"offline":      {"Devices offline", "Offline-Geräte"},
	"noOffline":    {"Every device was online.", "Alle Geräte waren online."},
	"offlineNow":   {"offline now, last seen %s", "jetzt offline, zuletzt gemeldet %s"},
	"neverSeen":    {"never connected", "nie verbunden"},
	"offlineFrom":  {"offline %s to %s (%s)", "offline %s bis %s (%s)"},
	"offlineOpen":  {"offline since %s (%s)", "offline seit %s (%s)"},
	"device":       {"Device", "Gerät"},
	"check":        {"Check", "Prüfung"},
	"message":      {"Message", "Meldung"},
	"since":        {"Since", "Seit"},
	"now":          {"Now", "Jetzt"},
	"time":         {"Time", "Zeit"},
	"source":       {"Source", "Quelle"},
	"event":        {"Event", "Ereignis"},
	"count":        {"Count", "Anzahl"},
	"opened":       {"Began", "Beginn"},
	"closed":       {"Ended", "Ende"},
	"duration":     {"Duration", "Dauer"},
	"stillOpen":    {"still open", "noch offen"},
	"failing":      {"failing", "gestört"},
	"okAgain":      {"OK again", "wieder in Ordnung"},
	"open":         {"Open in the dashboard", "Im Dashboard öffnen"},
	"footer":       {"Sent by Wacht. The report's recipients and hour are set on the customer's page.", "Gesendet von Wacht. Empfänger und Uhrzeit des Berichts werden auf der Seite des Kunden eingestellt."},
	"patches":      {"Patch compliance", "Patch-Stand"},
	"patchSummary": {"%d of %d device fully patched (%d%%)|%d of %d devices fully patched (%d%%)", "%d von %d Gerät vollständig gepatcht (%d %%)|%d von %d Geräten vollständig gepatcht (%d %%)"},
	"patchDef":     {"Fully patched: every update source scanned, no approved update missing, none failed (as on the dashboard). Updates waiting for approval and pending restarts are listed apart.", "Vollständig gepatcht: jede Updatequelle wurde durchsucht, kein freigegebenes Update fehlt, keines ist fehlgeschlagen (wie im Dashboard). Updates, die auf Freigabe warten, und ausstehende Neustarts stehen gesondert."},
	"patchCrit":    {"Critical or security updates missing: %d on %d device|Critical or security updates missing: %d on %d devices", "Fehlende kritische oder Sicherheitsupdates: %d auf %d Gerät|Fehlende kritische oder Sicherheitsupdates: %d auf %d Geräten"},
	"patchFailed":  {"Failed updates: %d", "Fehlgeschlagene Updates: %d"},
	"patchReboots": {"Restarts pending: %d", "Ausstehende Neustarts: %d"},
	"patchScanErr": {"Devices whose update scan failed: %d", "Geräte mit fehlgeschlagener Update-Suche: %d"},
	"patchAllOK":   {"Every device is fully patched.", "Alle Geräte sind vollständig gepatcht."},
	"missing":      {"Missing", "Fehlend"},
	"critical":     {"Critical", "Kritisch"},
	"failedUpd":    {"Failed", "Fehlgeschlagen"},
	"reboot":       {"Restart", "Neustart"},
	"oldestSec":    {"Oldest security update missing since", "Ältestes Sicherheitsupdate fehlt seit"},
	"rebootSince":  {"pending since %s", "ausstehend seit %s"},
	"rebootYes":    {"pending", "ausstehend"},
	"notScanned":   {"not scanned yet", "noch nicht gesucht"},
	"scanError":    {"scan failed", "Suche fehlgeschlagen"},
	"patchDevLine": {"%d missing (%d critical), %d failed", "%d fehlend (%d kritisch), %d fehlgeschlagen"},
	"digestTitle":  {"Daily digest of your customers (%d)", "Tagesübersicht Ihrer Kunden (%d)"},
	"digestSubj":   {"[Wacht] Daily digest – %s", "[Wacht] Tagesübersicht – %s"},
	"eventCount":   {"%d critical event|%d critical events", "%d kritisches Ereignis|%d kritische Ereignisse"},
	"outageCount":  {"%d outage|%d outages", "%d Störung|%d Störungen"},
	"offlineList":  {"Offline", "Offline"},
	"digestQuiet":  {"No critical events", "Keine kritischen Ereignisse"},
	"digestFooter": {"Sent by Wacht. Turn the digest off on your account page.", "Gesendet von Wacht. Die Übersicht lässt sich auf Ihrer Kontoseite abbestellen."},
}

// L formats for one language and time zone; templates call its methods.
type L struct {
	Lang string
	Loc  *time.Location
}

func newL(lang string, loc *time.Location) L {
	if lang != "de" {
		lang = "en"
	}
	if loc == nil {
		loc = time.UTC
	}
	return L{Lang: lang, Loc: loc}
}

// T returns the string key, formatted with args if given.
func (l L) T(key string, args ...any) string {
	w, ok := words[key]
	if !ok {
		return key
	}
	s := w[0]
	if l.Lang == "de" {
		s = w[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// N formats the counted phrase key in the form for n, filled with args
// (n itself without args): "1 Gerät", "2 Geräte".
func (l L) N(key string, n int, args ...any) string {
	return plural.Sprintf(l.T(key), n, args...)
}

// Time is dd.mm.yyyy HH:MM in German, yyyy-mm-dd HH:MM in English, in the
// report's zone.
func (l L) Time(t time.Time) string {
	if t.IsZero() {
		return l.T("neverSeen")
	}
	if l.Lang == "de" {
		return t.In(l.Loc).Format("02.01.2006 15:04")
	}
	return t.In(l.Loc).Format("2006-01-02 15:04")
}

// Date is the day of t in the report's zone.
func (l L) Date(t time.Time) string {
	if l.Lang == "de" {
		return t.In(l.Loc).Format("02.01.2006")
	}
	return t.In(l.Loc).Format("2006-01-02")
}

// Dur is a duration in days, hours and minutes ("1 d 2 h 5 min",
// "1 T. 2 Std. 5 Min.").
func (l L) Dur(d time.Duration) string {
	if d < time.Minute {
		if l.Lang == "de" {
			return "< 1 Min."
		}
		return "< 1 min"
	}
	units := [3]string{"d", "h", "min"}
	if l.Lang == "de" {
		units = [3]string{"T.", "Std.", "Min."}
	}
	m := int(d / time.Minute)
	parts := []string{}
	for i, n := range [3]int{m / (24 * 60), m / 60 % 24, m % 60} {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, units[i]))
		}
	}
	return strings.Join(parts, " ")
}

// Value is a measured value with at most two decimals, a decimal comma in
// German, and its unit.
func (l L) Value(v *float64, unit string) string {
	if v == nil {
		return ""
	}
	return alert.FormatValue(*v, unit, l.Lang)
}

// Check names a check instance by its type's display name, the instance
// after it: "Speicherplatz /", "CPU". An instance that only repeats the
// type's name (the antivirus check's "antivirus") is left out.
func (l L) Check(name, key string) string {
	label := name
	if spec, ok := checkspec.Lookup(name); ok {
		label = spec.Label.In(l.Lang)
	}
	if key == "" || key == name {
		return label
	}
	return label + " " + key
}

// Summary is the summary line.
func (l L) Summary(s Summary) string {
	return l.N("summary", s.Devices, s.Devices, s.OK, s.Failing, s.Offline)
}

// Join lists names.
func (l L) Join(names []string) string { return strings.Join(names, ", ") }

// Period is one offline period.
func (l L) Period(p Period) string {
	if p.To == nil {
		return l.T("offlineOpen", l.Time(p.From), l.Dur(p.Duration.D()))
	}
	return l.T("offlineFrom", l.Time(p.From), l.Time(*p.To), l.Dur(p.Duration.D()))
}
