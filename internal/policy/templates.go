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
// Each template lists what it checks and why. Checks join here as they
// land: services that should be running, S.M.A.R.T., critical events,
// failed logins, antivirus, backup, missing updates, data growth.
func Template(key string) core.Policy {
	if key == BuiltinServer {
		return core.Policy{
			Name:    "Server",
			Builtin: BuiltinServer,
			Description: core.Text{
				EN: "Built-in template for servers, applied to every device with the role server. " +
					"CPU and memory: sustained load (averaged over 30 seconds) every 5 minutes, because a server " +
					"that stays saturated answers its users slowly or not at all. " +
					"Disk space every 15 minutes, warning at 80 % and failing at 90 % used, because a full volume " +
					"stops databases, mail and backups.",
				DE: "Eingebaute Vorlage für Server, gilt für jedes Gerät mit der Rolle Server. " +
					"CPU und Arbeitsspeicher: anhaltende Last (gemittelt über 30 Sekunden) alle 5 Minuten, denn ein " +
					"dauerhaft ausgelasteter Server antwortet seinen Nutzern langsam oder gar nicht. " +
					"Speicherplatz alle 15 Minuten, Warnung ab 80 %, Fehler ab 90 % belegt, denn ein volles Laufwerk " +
					"hält Datenbanken, Mail und Datensicherungen an.",
			},
			Checks: []core.PolicyCheck{
				{Name: "cpu", Type: "cpu", Params: raw(`{"window":"30s","warn":85,"fail":95}`), Schedule: every(5)},
				{Name: "memory", Type: "memory", Params: raw(`{"warn":90,"fail":95}`), Schedule: every(5)},
				{Name: "disk", Type: "disk", Params: raw(`{"warn":80,"fail":90}`), Schedule: every(15)},
			},
		}
	}
	return core.Policy{
		Name:    "Workstation",
		Builtin: BuiltinWorkstation,
		Description: core.Text{
			EN: "Built-in template for workstations and notebooks. " +
				"CPU and memory: sustained load (averaged over 30 seconds) every 15 minutes, because a machine " +
				"that stays saturated makes its user wait. " +
				"Disk space as a daily safety check at 10:00 local time, warning at 80 % and failing at 90 % used, " +
				"because a full disk stops updates and loses documents being saved.",
			DE: "Eingebaute Vorlage für Arbeitsplätze und Notebooks. " +
				"CPU und Arbeitsspeicher: anhaltende Last (gemittelt über 30 Sekunden) alle 15 Minuten, denn ein " +
				"dauerhaft ausgelasteter Rechner lässt seinen Nutzer warten. " +
				"Speicherplatz als tägliche Sicherheitsprüfung um 10:00 Uhr Ortszeit, Warnung ab 80 %, Fehler ab " +
				"90 % belegt, denn eine volle Festplatte hält Updates an und verliert gerade gespeicherte Dokumente.",
		},
		Checks: []core.PolicyCheck{
			{Name: "cpu", Type: "cpu", Params: raw(`{"window":"30s","warn":90,"fail":98}`), Schedule: every(15)},
			{Name: "memory", Type: "memory", Params: raw(`{"warn":90,"fail":97}`), Schedule: every(15)},
			{Name: "disk", Type: "disk", Params: raw(`{"warn":80,"fail":90}`), Schedule: core.Schedule{Class: core.ScheduleDaily}},
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

func every(min int) core.Schedule { return core.Schedule{Class: core.Schedule24x7, EveryMinutes: min} }

func raw(s string) json.RawMessage { return json.RawMessage(s) }
