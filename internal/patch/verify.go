package patch

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Verify is the daily verification, the "patches" check: what the device
// misses under policy p (defaults applied) and the technicians'
// decisions, against the thresholds.
//
//   - error: no source scanned successfully (never "no updates" on a
//     failed scan); the message lists each source's reason;
//   - failure: an approved critical or security update (or one rated
//     critical or important) missing longer than CriticalDays, any
//     approved update missing longer than MaxWaitDays, or a stuck update;
//   - warning: an update whose install failed, a restart pending longer
//     than RebootDays, a restart state the agent could not read, a source
//     whose scan failed while others worked, end-of-life software;
//   - ok otherwise, approved updates missing within the thresholds
//     included (they install in the next window).
//
// Value is the number of approved updates missing. Updates that wait for
// approval, were declined or are excluded are counted in the message, not
// as failures.
func Verify(p core.PatchPolicy, decisions map[string]bool, missing []core.MissingUpdate, reboot core.RebootState,
	sources []core.PatchSourceStatus, now time.Time) Verification {
	p = Defaults(p)
	var okSources int
	var failedEN, failedDE, absentEN, absentDE []string
	for _, s := range sources {
		switch s.Status {
		case core.ScanOK:
			okSources++
		case core.ScanError:
			failedEN = append(failedEN, fmt.Sprintf("%s: %s", s.Source, orText(s.Message.EN, "scan failed")))
			failedDE = append(failedDE, fmt.Sprintf("%s: %s", s.Source, orText(s.Message.In("de"), "Suche fehlgeschlagen")))
		case core.ScanDisabled:
			absentEN = append(absentEN, fmt.Sprintf("%s: %s", s.Source, orText(s.Message.EN, "turned off by the policy")))
			absentDE = append(absentDE, fmt.Sprintf("%s: %s", s.Source, orText(s.Message.In("de"), "von der Richtlinie abgeschaltet")))
		default:
			absentEN = append(absentEN, fmt.Sprintf("%s: %s", s.Source, orText(s.Message.EN, "not available on this device")))
			absentDE = append(absentDE, fmt.Sprintf("%s: %s", s.Source, orText(s.Message.In("de"), "auf diesem Gerät nicht verfügbar")))
		}
	}
	if okSources == 0 {
		if len(failedEN) == 0 && len(absentEN) == 0 {
			return Verification{Status: core.StatusError, Message: core.Text{
				EN: "no update source has been scanned successfully yet",
				DE: "noch keine Update-Quelle wurde erfolgreich durchsucht"}}
		}
		if len(failedEN) == 0 {
			return Verification{Status: core.StatusError, Message: core.Text{
				EN: "no update source can be scanned on this device: " + strings.Join(absentEN, "; "),
				DE: "auf diesem Gerät kann keine Update-Quelle durchsucht werden: " + strings.Join(absentDE, "; ")}}
		}
		return Verification{Status: core.StatusError, Message: core.Text{
			EN: "no update source could be scanned: " + strings.Join(failedEN, "; "),
			DE: "keine Update-Quelle konnte durchsucht werden: " + strings.Join(failedDE, "; ")}}
	}

	var (
		status                                 = core.StatusOK
		approved, critical, awaiting, declined int
		excluded, failed, stuck                int
		oldest                                 time.Duration
		failedNames, stuckNames, eolNames      []string
		failedNamesDE, stuckNamesDE            []string
		overCritical, overWait                 bool
		criticalLimit, waitLimit, rebootLimit  = days(p.Thresholds.CriticalDays), days(p.Thresholds.MaxWaitDays), days(p.Thresholds.RebootDays)
	)
	worse := func(s core.Status) {
		if s > status {
			status = s
		}
	}
	for _, m := range missing {
		u := m.Update
		if u.Source == core.SourceEOL || u.Classification == core.ClassEOL {
			if Excluded(p.Exclusions, u) {
				excluded++
				continue
			}
			name := u.Title
			if e, ok := LookupEOL(u.Product); ok {
				name = e.Name
			}
			eolNames = append(eolNames, name)
			continue
		}
		switch Approve(p, decisions, u) {
		case core.ApprovalExcluded:
			excluded++
			continue
		case core.ApprovalDeclined:
			declined++
			continue
		case core.ApprovalNone:
			awaiting++
			continue
		}
		approved++
		age := now.Sub(m.FirstSeen)
		if m.FirstSeen.IsZero() || age < 0 {
			age = 0
		}
		oldest = max(oldest, age)
		if isCritical(u) {
			critical++
			if age > criticalLimit {
				overCritical = true
			}
		}
		if age > waitLimit {
			overWait = true
		}
		switch {
		case m.Stuck:
			stuck++
			stuckNames = append(stuckNames, failureName(u, m.LastError, "en"))
			stuckNamesDE = append(stuckNamesDE, failureName(u, m.LastError, "de"))
		case m.Failures > 0:
			failed++
			failedNames = append(failedNames, failureName(u, m.LastError, "en"))
			failedNamesDE = append(failedNamesDE, failureName(u, m.LastError, "de"))
		}
	}

	var en, de []string
	if approved == 0 {
		en, de = append(en, "all approved updates installed"), append(de, "Alle freigegebenen Updates sind installiert")
	} else {
		var inEN, inDE []string
		if critical > 0 {
			inEN, inDE = append(inEN, fmt.Sprintf("%d critical", critical)), append(inDE, fmt.Sprintf("%d kritisch", critical))
		}
		d := int(oldest / (24 * time.Hour))
		if d == 0 {
			inEN, inDE = append(inEN, "oldest since today"), append(inDE, "ältestes seit heute")
		} else {
			inEN, inDE = append(inEN, fmt.Sprintf("oldest %s", plural(d, "day", "days"))), append(inDE, fmt.Sprintf("ältestes seit %s", plural(d, "Tag", "Tagen")))
		}
		en = append(en, fmt.Sprintf("%d missing (%s)", approved, strings.Join(inEN, ", ")))
		de = append(de, fmt.Sprintf("%d %s (%s)", approved, verbDE(approved, "fehlt", "fehlen"), strings.Join(inDE, ", ")))
		if overCritical {
			worse(core.StatusFailure)
			en = append(en, fmt.Sprintf("a critical or security update is missing for more than %s", plural(p.Thresholds.CriticalDays, "day", "days")))
			de = append(de, fmt.Sprintf("ein kritisches oder Sicherheitsupdate fehlt seit mehr als %s", plural(p.Thresholds.CriticalDays, "Tag", "Tagen")))
		}
		if overWait {
			worse(core.StatusFailure)
			en = append(en, fmt.Sprintf("an approved update is missing for more than %s", plural(p.Thresholds.MaxWaitDays, "day", "days")))
			de = append(de, fmt.Sprintf("ein freigegebenes Update fehlt seit mehr als %s", plural(p.Thresholds.MaxWaitDays, "Tag", "Tagen")))
		}
	}
	if stuck > 0 {
		worse(core.StatusFailure)
		en = append(en, fmt.Sprintf("%d stuck after %s (%s)", stuck, plural(p.MaxFailures, "failure", "failures"), list(stuckNames)))
		de = append(de, fmt.Sprintf("%d %s nach %s (%s)", stuck, verbDE(stuck, "hängt", "hängen"), plural(p.MaxFailures, "Fehlschlag", "Fehlschlägen"), list(stuckNamesDE)))
	}
	if failed > 0 {
		worse(core.StatusWarning)
		en = append(en, fmt.Sprintf("%d failed (%s)", failed, list(failedNames)))
		de = append(de, fmt.Sprintf("%d fehlgeschlagen (%s)", failed, list(failedNamesDE)))
	}
	if len(eolNames) > 0 {
		worse(core.StatusWarning)
		en = append(en, fmt.Sprintf("%s no longer supported by the vendor (%s): remove it", plural(len(eolNames), "program", "programs"), list(eolNames)))
		de = append(de, fmt.Sprintf("%s ohne Herstellerunterstützung (%s): entfernen", plural(len(eolNames), "Programm", "Programme"), list(eolNames)))
	}
	switch {
	case reboot.Error != "":
		worse(core.StatusWarning)
		en = append(en, "restart state unknown: "+reboot.Error)
		de = append(de, "Neustart-Status unbekannt: "+reboot.Error)
	case reboot.Pending && reboot.Since.IsZero():
		en, de = append(en, "reboot pending"), append(de, "Neustart ausstehend")
	case reboot.Pending:
		age := max(now.Sub(reboot.Since), 0)
		if age > rebootLimit {
			worse(core.StatusWarning)
		}
		if d := int(age / (24 * time.Hour)); d == 0 {
			en, de = append(en, "reboot pending since today"), append(de, "Neustart ausstehend seit heute")
		} else {
			en = append(en, fmt.Sprintf("reboot pending for %s", plural(d, "day", "days")))
			de = append(de, fmt.Sprintf("Neustart ausstehend seit %s", plural(d, "Tag", "Tagen")))
		}
	}
	if len(failedEN) > 0 {
		worse(core.StatusWarning)
		en = append(en, "scan failed: "+strings.Join(failedEN, "; "))
		de = append(de, "Suche fehlgeschlagen: "+strings.Join(failedDE, "; "))
	}
	if awaiting > 0 {
		en, de = append(en, fmt.Sprintf("%d awaiting approval", awaiting)), append(de, fmt.Sprintf("%d %s auf Freigabe", awaiting, verbDE(awaiting, "wartet", "warten")))
	}
	if declined > 0 {
		en, de = append(en, fmt.Sprintf("%d declined", declined)), append(de, fmt.Sprintf("%d abgelehnt", declined))
	}
	if excluded > 0 {
		en, de = append(en, fmt.Sprintf("%d excluded", excluded)), append(de, fmt.Sprintf("%d ausgeschlossen", excluded))
	}
	return Verification{Status: status, Value: float64(approved), Message: core.Text{EN: strings.Join(en, ", "), DE: strings.Join(de, ", ")}}
}

// isCritical: critical or security classification, or rated critical or
// important (as core.DevicePatchStatus.Critical counts).
func isCritical(u core.Update) bool {
	return u.Classification == core.ClassCritical || u.Classification == core.ClassSecurity ||
		core.SeverityRank(u.Severity) >= core.SeverityRank(core.SeverityImportant)
}

func verbDE(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func orText(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// list joins at most three names, "…" for more.
func list(names []string) string {
	if len(names) > 3 {
		return strings.Join(names[:3], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}

// failureName is "KB5034441: 0x80070643": the update's KB, else its ID or
// title, and the error's code (the text before a colon, if it looks like
// one) or its first 60 characters.
func failureName(u core.Update, lastErr *core.Text, lang string) string {
	name := u.KB
	if name == "" {
		name = u.ID
		if name == "" || len(name) > 40 {
			name = short(u.Title, 40)
		}
	}
	if lastErr == nil {
		return name
	}
	msg := strings.TrimSpace(lastErr.In(lang))
	if code, _, ok := strings.Cut(msg, ":"); ok && code != "" && len(code) <= 24 && !strings.ContainsAny(code, " \t") {
		msg = code
	}
	if msg == "" {
		return name
	}
	return name + ": " + short(msg, 60)
}

func short(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
