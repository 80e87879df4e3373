package checkspec

import (
	"path"

	"github.com/wacht-rmm/wacht/internal/check"
)

// Services declares the services check.
var Services = &check.Spec{
	Name:  "services",
	Label: tx("Services", "Dienste"),
	Help:  tx("Services that should run but do not: every automatic service (mode auto) or the named ones; can restart them.", "Dienste, die laufen sollten, es aber nicht tun: alle automatischen (Modus auto) oder die genannten; kann sie neu starten."),
	Params: []check.Param{
		{Name: "mode", Type: check.Choice, Choices: []string{"auto", "named"}, Default: "auto",
			Label: tx("Mode", "Modus"), Help: tx("auto: every service set to start automatically; named: the services listed.", "auto: alle automatisch startenden Dienste; named: die aufgeführten Dienste.")},
		{Name: "services", Type: check.List, Items: text(256), MaxLen: 200,
			Label: tx("Services", "Dienste"), Help: tx("Mode named: the services that must run.", "Modus named: die Dienste, die laufen müssen.")},
		{Name: "exclude", Type: check.List, Items: text(256), MaxLen: 200,
			Label: tx("Leave out", "Auslassen"), Help: tx("Mode auto: services to leave out (patterns with * and ?, any case), on top of the built-in list.", "Modus auto: auszulassende Dienste (Muster mit * und ?, ohne Groß/Klein), zusätzlich zur eingebauten Liste.")},
		{Name: "no_default_exclude", Type: check.Boolean, Default: false,
			Label: tx("No built-in exclusions", "Ohne eingebaute Ausnahmen"), Help: tx("Do not leave out the services of the built-in list.", "Die Dienste der eingebauten Liste nicht auslassen.")},
		{Name: "restart", Type: check.Boolean, Default: false, Privileged: check.Changes,
			Label: tx("Restart stopped services", "Gestoppte Dienste neu starten"), Help: tx("Start a stopped service again, within the limits below.", "Einen gestoppten Dienst wieder starten, in den Grenzen unten.")},
		{Name: "max_restarts_in_row", Type: check.Integer, Default: 2, Min: lim(0), Max: lim(100),
			Label: tx("Restarts in a row", "Neustarts in Folge"), Help: tx("Stop restarting a service after this many failed restarts in a row.", "Nach so vielen erfolglosen Neustarts in Folge nicht mehr neu starten.")},
		{Name: "max_restarts_per_day", Type: check.Integer, Default: 4, Min: lim(0), Max: lim(1000),
			Label: tx("Restarts per day", "Neustarts pro Tag"), Help: tx("Restart one service at most this often in 24 hours.", "Einen Dienst höchstens so oft in 24 Stunden neu starten.")},
	},
	Rules: []check.Rule{
		func(v check.Values) *check.FieldError {
			if v.Str("mode") == "named" && v.Len("services") == 0 {
				return &check.FieldError{Field: "services", Message: tx(`mode "named" needs a list of services`, `Modus "named" braucht eine Liste von Diensten`)}
			}
			return nil
		},
		func(v check.Values) *check.FieldError {
			l, _ := v.Raw("exclude").([]any)
			for i, p := range l {
				if _, err := path.Match(p.(string), ""); err != nil {
					return &check.FieldError{Field: "exclude[" + itoa(i) + "]", Message: tx("is not a valid pattern", "ist kein gültiges Muster")}
				}
			}
			return nil
		},
	},
}

// SMART declares the smart check.
var SMART = &check.Spec{
	Name:  "smart",
	Label: tx("Disk health (S.M.A.R.T.)", "Festplattenzustand (S.M.A.R.T.)"),
	Help:  tx("Health of every disk as smartctl (or WMI on Windows) reports it, and the wear of NVMe drives.", "Zustand jeder Festplatte laut smartctl (oder WMI unter Windows) und Abnutzung von NVMe-Laufwerken."),
	Params: []check.Param{
		{Name: "devices", Type: check.List, Items: text(256), MaxLen: 64, Privileged: check.ReadPath,
			Label: tx("Devices", "Geräte"), Help: tx("smartctl device names (/dev/sda); empty checks every device smartctl finds.", "smartctl-Gerätenamen (/dev/sda); leer prüft jedes Gerät, das smartctl findet.")},
		{Name: "wear_warn", Type: check.Number, Unit: "%", Default: 80, Min: lim(0), Max: lim(100),
			Label: tx("Wear warning at", "Abnutzung: Warnung ab"), Help: tx("NVMe percentage used.", "NVMe: verbrauchter Anteil in Prozent.")},
		{Name: "wear_fail", Type: check.Number, Unit: "%", Default: 95, Min: lim(0), Max: lim(100),
			Label: tx("Wear failure at", "Abnutzung: Fehler ab"), Help: tx("NVMe percentage used.", "NVMe: verbrauchter Anteil in Prozent.")},
	},
	Rules: []check.Rule{
		check.Ordered("wear_warn", "wear_fail"),
		func(v check.Values) *check.FieldError {
			l, _ := v.Raw("devices").([]any)
			for i, d := range l {
				if s := d.(string); s == "" || s[0] == '-' {
					return &check.FieldError{Field: "devices[" + itoa(i) + "]", Message: tx("must be a device name such as /dev/sda", "muss ein Gerätename wie /dev/sda sein")}
				}
			}
			return nil
		},
	},
}

// Antivirus declares the antivirus check.
var Antivirus = &check.Spec{
	Name:  "antivirus",
	Label: tx("Antivirus", "Virenschutz"),
	Help:  tx("Whether an antivirus product is active and its signatures are current (Defender, Security Center, ClamAV, XProtect, Microsoft Defender for Endpoint).", "Ob ein Virenschutz aktiv ist und seine Signaturen aktuell sind (Defender, Sicherheitscenter, ClamAV, XProtect, Microsoft Defender for Endpoint)."),
	Params: []check.Param{
		{Name: "max_signature_age_days", Type: check.Number, Unit: "days", Default: 3, Min: lim(0.01), Max: lim(3650),
			Label: tx("Signatures at most", "Signaturen höchstens"), Help: tx("Fail when the signatures are older.", "Fehlschlagen, wenn die Signaturen älter sind.")},
		{Name: "xprotect_max_age_days", Type: check.Number, Unit: "days", Default: 60, Min: lim(0.01), Max: lim(3650),
			Label: tx("XProtect at most", "XProtect höchstens"), Help: tx("Apple updates XProtect every few weeks, not daily.", "Apple aktualisiert XProtect alle paar Wochen, nicht täglich.")},
		{Name: "clamav_database", Type: check.Text, MaxLen: 1024, Privileged: check.ReadPath,
			Label: tx("ClamAV database folder", "ClamAV-Datenbankordner"), Help: tx("Default: the distribution's folder.", "Standard: der Ordner der Distribution.")},
	},
}
