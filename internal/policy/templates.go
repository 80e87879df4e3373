package policy

import (
	"encoding/json"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Built-in template keys (core.Policy.Builtin).
const (
	BuiltinServer      = "server"
	BuiltinWorkstation = "workstation"
)

// Template returns the built-in template with key (BuiltinServer or
// BuiltinWorkstation; anything else gives the workstation template).
//
// Each template lists what it checks and why, in English and German.
// Checks join here as they land; not yet: missing updates. Backup needs
// parameters (which job to watch), so a client's policy adds it.
func Template(key string) core.Policy {
	if key == BuiltinServer {
		return core.Policy{
			Name:    "Server",
			Builtin: BuiltinServer,
			Description: core.Text{
				EN: "Built-in template for servers, applied to every device with the role server.\n" +
					"- Services (every 5 minutes): every service set to start automatically is running, because a stopped service is an outage for its users.\n" +
					"- CPU and memory (every 5 minutes): sustained load averaged over 30 seconds, because a saturated server answers slowly or not at all.\n" +
					"- Disk space (every 15 minutes): warning at 80 %, failure at 90 % used, because a full volume stops databases, mail and backups.\n" +
					"- Critical events (every 15 minutes): critical and error events of the system logs, because they announce failing hardware and software.\n" +
					"- Failed logins (every 15 minutes): failed log-ins and lock-outs, because a burst of them is an attack on the server.\n" +
					"- Daily safety checks at 06:00 local time: S.M.A.R.T. disk health (disks fail gradually and warn first), antivirus (active, signatures current) and data growth over 24 hours (so a volume's filling is seen days ahead).",
				DE: "Eingebaute Vorlage für Server, gilt für jedes Gerät mit der Rolle Server.\n" +
					"- Dienste (alle 5 Minuten): jeder automatisch startende Dienst läuft, denn ein angehaltener Dienst ist ein Ausfall für seine Nutzer.\n" +
					"- CPU und Arbeitsspeicher (alle 5 Minuten): anhaltende Last, gemittelt über 30 Sekunden, denn ein ausgelasteter Server antwortet langsam oder gar nicht.\n" +
					"- Speicherplatz (alle 15 Minuten): Warnung ab 80 %, Fehler ab 90 % belegt, denn ein volles Laufwerk hält Datenbanken, Mail und Datensicherungen an.\n" +
					"- Kritische Ereignisse (alle 15 Minuten): kritische und Fehlerereignisse der Systemprotokolle, denn sie kündigen Hardware- und Softwarefehler an.\n" +
					"- Fehlgeschlagene Anmeldungen (alle 15 Minuten): fehlgeschlagene Anmeldungen und Kontosperren, denn eine Häufung ist ein Angriff auf den Server.\n" +
					"- Tägliche Sicherheitsprüfungen um 06:00 Uhr Ortszeit: S.M.A.R.T.-Zustand der Festplatten (sie fallen schleichend aus und warnen vorher), Virenschutz (aktiv, Signaturen aktuell) und Datenwachstum über 24 Stunden (damit ein volllaufendes Laufwerk Tage vorher auffällt).",
			},
			Checks: []core.PolicyCheck{
				{Name: "services", Type: "services", Params: raw(`{"mode":"auto"}`), Schedule: every(5)},
				{Name: "cpu", Type: "cpu", Params: raw(`{"window":"30s","warn":85,"fail":95}`), Schedule: every(5)},
				{Name: "memory", Type: "memory", Params: raw(`{"window":"30s","warn":90,"fail":95}`), Schedule: every(5)},
				{Name: "disk", Type: "disk", Params: raw(`{"warn":80,"fail":90}`), Schedule: every(15)},
				{Name: "eventlog", Type: "eventlog", Schedule: every(15)},
				{Name: "logins", Type: "logins", Schedule: every(15)},
				{Name: "smart", Type: "smart", Schedule: daily},
				{Name: "antivirus", Type: "antivirus", Schedule: daily},
				{Name: "growth", Type: "growth", Schedule: daily},
			},
		}
	}
	return core.Policy{
		Name:    "Workstation",
		Builtin: BuiltinWorkstation,
		Description: core.Text{
			EN: "Built-in template for workstations and notebooks.\n" +
				"- Services (every 15 minutes): every service set to start automatically is running, because security and backup software runs as services.\n" +
				"- CPU and memory (every 15 minutes): sustained load averaged over 30 seconds, because a saturated machine makes its user wait.\n" +
				"- Daily safety checks at 10:00 local time, when the machine is usually on (missed ones run at the next start): disk space (warning at 80 %, failure at 90 % used, because a full disk stops updates and loses documents), S.M.A.R.T. disk health, critical events since the last day, antivirus (active, signatures current) and data growth over 24 hours.",
			DE: "Eingebaute Vorlage für Arbeitsplätze und Notebooks.\n" +
				"- Dienste (alle 15 Minuten): jeder automatisch startende Dienst läuft, denn Sicherheits- und Sicherungssoftware läuft als Dienst.\n" +
				"- CPU und Arbeitsspeicher (alle 15 Minuten): anhaltende Last, gemittelt über 30 Sekunden, denn ein ausgelasteter Rechner lässt seinen Nutzer warten.\n" +
				"- Tägliche Sicherheitsprüfungen um 10:00 Uhr Ortszeit, wenn der Rechner meist läuft (versäumte laufen beim nächsten Start): Speicherplatz (Warnung ab 80 %, Fehler ab 90 % belegt, denn eine volle Festplatte hält Updates an und verliert Dokumente), S.M.A.R.T.-Zustand der Festplatten, kritische Ereignisse seit dem Vortag, Virenschutz (aktiv, Signaturen aktuell) und Datenwachstum über 24 Stunden.",
		},
		Checks: []core.PolicyCheck{
			{Name: "services", Type: "services", Params: raw(`{"mode":"auto"}`), Schedule: every(15)},
			{Name: "cpu", Type: "cpu", Params: raw(`{"window":"30s","warn":90,"fail":98}`), Schedule: every(15)},
			{Name: "memory", Type: "memory", Params: raw(`{"window":"30s","warn":90,"fail":97}`), Schedule: every(15)},
			{Name: "disk", Type: "disk", Params: raw(`{"warn":80,"fail":90}`), Schedule: daily},
			{Name: "smart", Type: "smart", Schedule: daily},
			{Name: "eventlog", Type: "eventlog", Schedule: daily},
			{Name: "antivirus", Type: "antivirus", Schedule: daily},
			{Name: "growth", Type: "growth", Schedule: daily},
		},
	}
}

// TemplateFor returns the template for a device role: server → Server,
// workstation, notebook and anything else → Workstation.
func TemplateFor(role string) core.Policy {
	if IsServer(role) {
		return Template(BuiltinServer)
	}
	return Template(BuiltinWorkstation)
}

// Templates returns all built-in templates.
func Templates() []core.Policy {
	return []core.Policy{Template(BuiltinServer), Template(BuiltinWorkstation)}
}

// daily runs at the role's default hour (06:00 servers, 10:00 workstations).
var daily = core.Schedule{Class: core.ScheduleDaily}

func every(min int) core.Schedule { return core.Schedule{Class: core.Schedule24x7, EveryMinutes: min} }

func raw(s string) json.RawMessage { return json.RawMessage(s) }
