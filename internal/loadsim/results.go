package loadsim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// simCheck is one check of a simulated agent's 24x7 schedule.
type simCheck struct {
	name, key, unit string
	base, spread    float64 // value = base ± spread
	warn, fail      float64 // thresholds the failures cross
	en, de          string  // message formats with one %s for the value
}

// schedule is a plausible 24x7 policy of about 15 checks: what a server of
// a small business reports every few minutes.
var schedule = []simCheck{
	{"cpu", "", "%", 18, 15, 85, 95, "CPU load %s %%", "CPU-Last %s %%"},
	{"memory", "", "%", 55, 20, 90, 95, "Memory used %s %%", "Arbeitsspeicher belegt %s %%"},
	{"disk", "C:", "%", 61, 10, 80, 90, "Volume C: %s %% used", "Laufwerk C: zu %s %% belegt"},
	{"disk", "D:", "%", 44, 10, 80, 90, "Volume D: %s %% used", "Laufwerk D: zu %s %% belegt"},
	{"service", "Spooler", "", 1, 0, 2, 3, "Service Spooler is running (%s)", "Dienst Spooler läuft (%s)"},
	{"service", "MSSQLSERVER", "", 1, 0, 2, 3, "Service MSSQLSERVER is running (%s)", "Dienst MSSQLSERVER läuft (%s)"},
	{"service", "wuauserv", "", 1, 0, 2, 3, "Service wuauserv is running (%s)", "Dienst wuauserv läuft (%s)"},
	{"ping", "gateway", "ms", 1.2, 1, 50, 200, "Gateway answers in %s ms", "Gateway antwortet in %s ms"},
	{"ping", "dc01", "ms", 0.8, 0.5, 50, 200, "dc01 answers in %s ms", "dc01 antwortet in %s ms"},
	{"website", "https://intranet", "ms", 85, 40, 2000, 5000, "Intranet answers in %s ms", "Intranet antwortet in %s ms"},
	{"eventlog", "System", "events", 0, 0, 1, 5, "%s critical events", "%s kritische Ereignisse"},
	{"logins", "failed", "logins", 1, 1, 20, 100, "%s failed logins", "%s fehlgeschlagene Anmeldungen"},
	{"antivirus", "", "", 1, 0, 2, 3, "Antivirus active, signatures current (%s)", "Virenschutz aktiv, Signaturen aktuell (%s)"},
	{"smart", "disk0", "°C", 38, 4, 55, 65, "Disk 0 healthy at %s °C", "Festplatte 0 in Ordnung bei %s °C"},
	{"backup", "veeam", "h", 10, 6, 26, 50, "Last backup %s h ago", "Letzte Sicherung vor %s h"},
}

// daily are the checks of the once-a-day batch (updates, inventory-like
// results), repeated with numbered keys to reach the batch size.
var daily = []simCheck{
	{"updates", "KB", "", 0, 0, 1, 1, "Update pending (%s)", "Update ausstehend (%s)"},
	{"software", "pkg", "", 0, 0, 1, 1, "Installed (%s)", "Installiert (%s)"},
}

// results produces one round of checks (the first n of the schedule, cycled
// with numbered keys beyond its length); failRate of them cross a threshold.
func makeResults(list []simCheck, n int, failRate float64, at time.Time) []core.Result {
	out := make([]core.Result, n)
	for i := range out {
		c := list[i%len(list)]
		key := c.key
		if i >= len(list) {
			key += strconv.Itoa(i / len(list))
		}
		v := c.base
		if c.spread > 0 {
			v += (rand.Float64()*2 - 1) * c.spread
		}
		st := core.StatusOK
		if r := rand.Float64(); r < failRate {
			// Two thirds warnings, one third failures.
			if r < failRate/3 {
				st, v = core.StatusFailure, c.fail*1.02
			} else {
				st, v = core.StatusWarning, c.warn*1.01
			}
		}
		v = float64(int(max(v, 0)*10)) / 10
		val := v
		out[i] = core.Result{
			ID: core.NewResultID(), Check: c.name, Key: key, Status: st, Value: &val, Unit: c.unit,
			Message: core.Text{EN: fmt.Sprintf(c.en, formatEN(v)), DE: fmt.Sprintf(c.de, formatDE(v))},
			At:      at,
		}
	}
	return out
}

func formatEN(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// formatDE writes the German decimal comma.
func formatDE(v float64) string { return strings.Replace(formatEN(v), ".", ",", 1) }

// nowMS is the result time as the store keeps it.
func nowMS() time.Time { return protocol.Now() }
