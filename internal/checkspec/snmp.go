package checkspec

import (
	"maps"
	"slices"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

var snmpAuthProtocols = []string{"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"}
var snmpPrivProtocols = []string{"DES", "AES", "AES192", "AES256", "AES192C", "AES256C"}

// snmpLimit declares a number limit of an SNMP template or OID.
func snmpLimit(name string, label, help core.Text) check.Param {
	return check.Param{Name: name, Type: check.Object, Label: label, Help: help, Fields: snmpLimitFields()}
}

func snmpLimitFields() []check.Param {
	return []check.Param{
		{Name: "warn", Type: check.Number, Label: tx("Warning at", "Warnung ab"), Help: tx("Absent: no warning level.", "Fehlt: keine Warnstufe.")},
		{Name: "fail", Type: check.Number, Label: tx("Failure at", "Fehler ab"), Help: tx("Absent: no failure level.", "Fehlt: keine Fehlerstufe.")},
		{Name: "below", Type: check.Boolean, Default: false, Label: tx("Lower is worse", "Weniger ist schlechter"),
			Help: tx("For values such as toner or battery charge.", "Für Werte wie Toner oder Akkuladung.")},
	}
}

// SNMP declares the snmp check.
var SNMP = &check.Spec{
	Name:  "snmp",
	Label: tx("SNMP", "SNMP"),
	Help:  tx("Reads a network device over SNMP v1, v2c or v3: a template (interfaces, uptime, storage, printer, ups) or chosen OIDs.", "Liest ein Netzwerkgerät über SNMP v1, v2c oder v3: eine Vorlage (interfaces, uptime, storage, printer, ups) oder gewählte OIDs."),
	Params: []check.Param{
		hostParam(tx("Host name or IP address of the device.", "Hostname oder IP-Adresse des Geräts.")),
		{Name: "port", Type: check.Integer, Default: 161, Min: lim(1), Max: lim(65535),
			Label: tx("Port", "Port"), Help: tx("UDP port.", "UDP-Port.")},
		{Name: "version", Type: check.Choice, Choices: []string{"1", "2c", "3", "v1", "v2c", "v3"}, Default: "2c",
			Label: tx("Version", "Version"), Help: tx("SNMP version.", "SNMP-Version.")},
		{Name: "community", Type: check.Text, MaxLen: 256,
			Label: tx("Community", "Community"), Help: tx("v1 and v2c; stored encrypted.", "v1 und v2c; verschlüsselt gespeichert.")},
		{Name: "user", Type: check.Text, MaxLen: 256, Label: tx("User", "Benutzer"), Help: tx("v3 user name.", "v3-Benutzername.")},
		{Name: "auth_protocol", Type: check.Choice, Choices: snmpAuthProtocols,
			Label: tx("Authentication protocol", "Authentifizierungsprotokoll"), Help: tx("v3.", "v3.")},
		{Name: "auth_passphrase", Type: check.Text, MaxLen: 256,
			Label: tx("Authentication passphrase", "Authentifizierungs-Passphrase"), Help: tx("v3; stored encrypted.", "v3; verschlüsselt gespeichert.")},
		{Name: "priv_protocol", Type: check.Choice, Choices: snmpPrivProtocols,
			Label: tx("Privacy protocol", "Verschlüsselungsprotokoll"), Help: tx("v3.", "v3.")},
		{Name: "priv_passphrase", Type: check.Text, MaxLen: 256,
			Label: tx("Privacy passphrase", "Verschlüsselungs-Passphrase"), Help: tx("v3; stored encrypted.", "v3; verschlüsselt gespeichert.")},
		{Name: "context", Type: check.Text, MaxLen: 256, Label: tx("Context", "Kontext"), Help: tx("v3 context name.", "v3-Kontextname.")},
		{Name: "timeout_seconds", Type: check.Number, Unit: "s", Default: 10, Min: lim(0.1), Max: lim(60),
			Label: tx("Timeout", "Zeitlimit"), Help: tx("For the whole run.", "Für den ganzen Lauf.")},
		{Name: "retries", Type: check.Integer, Default: 1, Min: lim(0), Max: lim(3),
			Label: tx("Retries", "Wiederholungen"), Help: tx("Per request.", "Je Anfrage.")},
		{Name: "max_varbinds", Type: check.Integer, Default: 10000, Min: lim(1), Max: lim(10000),
			Label: tx("Most values per walk", "Höchstens Werte je Walk"), Help: tx("Bounds a walk of a large table.", "Begrenzt den Walk einer großen Tabelle.")},
		{Name: "template", Type: check.Choice, Choices: []string{"interfaces", "uptime", "storage", "printer", "ups"},
			Label: tx("Template", "Vorlage"), Help: tx("What to read; or list OIDs.", "Was gelesen wird; oder OIDs angeben.")},
		{Name: "interfaces", Type: check.List, MaxLen: 1000, Items: text(256),
			Label: tx("Interfaces that must be up", "Schnittstellen, die aktiv sein müssen"), Help: tx("Template interfaces.", "Vorlage interfaces.")},
		snmpLimit("storage_percent", tx("Storage use", "Speicherbelegung"), tx("Template storage, in percent.", "Vorlage storage, in Prozent.")),
		snmpLimit("supply_percent", tx("Supply level", "Verbrauchsmaterial"), tx("Template printer, in percent.", "Vorlage printer, in Prozent.")),
		snmpLimit("battery_percent", tx("Battery charge", "Akkuladung"), tx("Template ups, in percent.", "Vorlage ups, in Prozent.")),
		{Name: "oids", Type: check.List, MaxLen: 100, Label: tx("OIDs", "OIDs"), Help: tx("Objects to read besides or instead of a template.", "Objekte, die neben oder statt einer Vorlage gelesen werden."),
			Items: &check.Param{Type: check.Object, Fields: append([]check.Param{
				{Name: "oid", Type: check.Text, Required: true, MaxLen: 256, Format: check.FormatOID, Label: tx("OID", "OID"), Help: tx("Numeric OID, e.g. 1.3.6.1.2.1.1.3.0.", "Numerische OID, z. B. 1.3.6.1.2.1.1.3.0.")},
				{Name: "name", Type: check.Text, MaxLen: 64, Label: tx("Name", "Name"), Help: tx("Result key; default the OID.", "Ergebnisschlüssel; Standard die OID.")},
				{Name: "walk", Type: check.Boolean, Default: false, Label: tx("Walk", "Walk"), Help: tx("Read the whole subtree.", "Den ganzen Teilbaum lesen.")},
				{Name: "rate", Type: check.Boolean, Default: false, Label: tx("Per second", "Pro Sekunde"), Help: tx("Report counters per second.", "Zähler pro Sekunde melden.")},
				{Name: "scale", Type: check.Number, Default: 1, Label: tx("Scale", "Faktor"), Help: tx("Multiply numbers by this.", "Zahlen damit multiplizieren.")},
				{Name: "unit", Type: check.Text, MaxLen: 16, Label: tx("Unit", "Einheit"), Help: tx("Shown with the value.", "Wird mit dem Wert gezeigt.")},
				{Name: "expect", Type: check.Text, MaxLen: 1024, Label: tx("Expected text", "Erwarteter Text"), Help: tx("Fail unless the value is this text.", "Fehlschlagen, wenn der Wert nicht dieser Text ist.")},
			}, snmpLimitFields()...)}},
	},
	Rules: []check.Rule{
		func(v check.Values) *check.FieldError {
			if v.Str("template") == "" && v.Len("oids") == 0 {
				return &check.FieldError{Field: "oids", Message: tx("give a template or at least one OID", "geben Sie eine Vorlage oder mindestens eine OID an")}
			}
			return nil
		},
		snmpVersionRule,
		func(v check.Values) *check.FieldError {
			for _, n := range []string{"storage_percent", "supply_percent", "battery_percent"} {
				o, _ := v.Raw(n).(map[string]any)
				if e := snmpLimitRule(n, o); e != nil {
					return e
				}
			}
			l, _ := v.Raw("oids").([]any)
			for i, o := range l {
				if e := snmpLimitRule("oids["+itoa(i)+"]", o.(map[string]any)); e != nil {
					return e
				}
			}
			return nil
		},
	},
}

// SNMPTrap declares the snmptrap check: a probe agent's trap receiver.
var SNMPTrap = &check.Spec{
	Name:  "snmptrap",
	Label: tx("SNMP traps", "SNMP-Traps"),
	Help:  tx("Receives SNMP v1, v2c and v3 traps and turns them into results by rules.", "Empfängt SNMP-Traps (v1, v2c, v3) und macht daraus Ergebnisse nach Regeln."),
	Params: []check.Param{
		{Name: "listen", Type: check.Text, Default: ":162", MaxLen: 64, Format: check.FormatHostPort,
			Label: tx("Listen address", "Empfangsadresse"), Help: tx("UDP address, e.g. :162.", "UDP-Adresse, z. B. :162.")},
		{Name: "communities", Type: check.List, MaxLen: 100, Items: text(256), Default: []string{"public"},
			Label: tx("Communities", "Communities"), Help: tx("Accepted v1/v2c communities; stored encrypted.", "Akzeptierte v1/v2c-Communities; verschlüsselt gespeichert.")},
		{Name: "users", Type: check.List, MaxLen: 100, Label: tx("v3 users", "v3-Benutzer"), Help: tx("Users traps may come from.", "Benutzer, von denen Traps kommen dürfen."),
			Items: &check.Param{Type: check.Object, Fields: []check.Param{
				{Name: "name", Type: check.Text, Required: true, MaxLen: 256, Label: tx("User", "Benutzer"), Help: tx("v3 user name.", "v3-Benutzername.")},
				{Name: "auth_protocol", Type: check.Choice, Choices: snmpAuthProtocols, Label: tx("Authentication protocol", "Authentifizierungsprotokoll"), Help: tx("Empty: none.", "Leer: keines.")},
				{Name: "auth_passphrase", Type: check.Text, MaxLen: 256, Label: tx("Authentication passphrase", "Authentifizierungs-Passphrase"), Help: tx("Stored encrypted.", "Verschlüsselt gespeichert.")},
				{Name: "priv_protocol", Type: check.Choice, Choices: snmpPrivProtocols, Label: tx("Privacy protocol", "Verschlüsselungsprotokoll"), Help: tx("Empty: none.", "Leer: keines.")},
				{Name: "priv_passphrase", Type: check.Text, MaxLen: 256, Label: tx("Privacy passphrase", "Verschlüsselungs-Passphrase"), Help: tx("Stored encrypted.", "Verschlüsselt gespeichert.")},
			}}},
		{Name: "known_sources", Type: check.List, MaxLen: 1000, Items: &check.Param{Type: check.Text, Required: true, MaxLen: 64, Format: check.FormatIPOrCIDR},
			Label: tx("Known sources", "Bekannte Quellen"), Help: tx("IPs or CIDRs; empty: every source is known.", "IPs oder CIDRs; leer: jede Quelle ist bekannt.")},
		{Name: "rules", Type: check.List, MaxLen: 1000, Label: tx("Rules", "Regeln"), Help: tx("Traps matching a rule give its status under its name.", "Traps, die auf eine Regel passen, ergeben deren Status unter ihrem Namen."),
			Items: &check.Param{Type: check.Object, Fields: []check.Param{
				{Name: "name", Type: check.Text, Required: true, MaxLen: 64, Label: tx("Name", "Name"), Help: tx("Result key.", "Ergebnisschlüssel.")},
				{Name: "source", Type: check.Text, MaxLen: 64, Format: check.FormatIPOrCIDR, Label: tx("Source", "Quelle"), Help: tx("IP or CIDR; empty matches any.", "IP oder CIDR; leer passt auf alle.")},
				{Name: "trap_oid", Type: check.Text, MaxLen: 256, Format: check.FormatOID, Label: tx("Trap OID", "Trap-OID"), Help: tx("The trap or a prefix of it.", "Der Trap oder ein Präfix davon.")},
				{Name: "varbinds", Type: check.Map, MaxLen: 50, Items: text(1024), Label: tx("Values", "Werte"), Help: tx("OID (or prefix) to exact value text.", "OID (oder Präfix) zu genauem Werttext.")},
				{Name: "status", Type: check.Choice, Choices: []string{"failure", "warning", "ok"}, Default: "failure", Label: tx("Status", "Status"), Help: tx("Status of a matching trap.", "Status eines passenden Traps.")},
			}}},
	},
	Rules: []check.Rule{
		func(v check.Values) *check.FieldError {
			l, _ := v.Raw("users").([]any)
			for i, u := range l {
				u := u.(map[string]any)
				if e := snmpV3Rule("users["+itoa(i)+"].", func(k string) string { s, _ := u[k].(string); return s }); e != nil {
					return e
				}
			}
			return nil
		},
		func(v check.Values) *check.FieldError {
			l, _ := v.Raw("rules").([]any)
			for i, r := range l {
				vb, _ := r.(map[string]any)["varbinds"].(map[string]any)
				for _, k := range slices.Sorted(maps.Keys(vb)) {
					if m := check.FormatMessage(check.FormatOID, k); m != nil || k == "" {
						return &check.FieldError{Field: "rules[" + itoa(i) + "].varbinds." + k, Message: tx("the key must be a numeric OID such as 1.3.6.1.2.1.1.3.0", "der Schlüssel muss eine numerische OID wie 1.3.6.1.2.1.1.3.0 sein")}
					}
				}
			}
			return nil
		},
	},
}

// snmpVersionRule refuses v3 settings without version 3 and, with it, a
// community or a missing user, and what snmpV3Rule refuses.
func snmpVersionRule(v check.Values) *check.FieldError {
	if ver := v.Str("version"); ver != "3" && ver != "v3" {
		for _, k := range []string{"user", "auth_protocol", "priv_protocol"} {
			if v.Str(k) != "" {
				return &check.FieldError{Field: k, Message: tx("v3 settings need version 3", "v3-Einstellungen brauchen Version 3")}
			}
		}
		return nil
	}
	if u := v.Str("user"); u == "" || len(u) > 32 {
		return &check.FieldError{Field: "user", Message: tx("is required for version 3 (at most 32 characters)", "ist für Version 3 erforderlich (höchstens 32 Zeichen)")}
	}
	if v.Str("community") != "" {
		return &check.FieldError{Field: "community", Message: tx("is not used with version 3", "wird mit Version 3 nicht verwendet")}
	}
	return snmpV3Rule("", v.Str)
}

// snmpV3Rule refuses what gosnmp cannot use: a passphrase under 8 bytes
// for a chosen protocol, privacy without authentication. at prefixes the
// field names; get reads a field.
func snmpV3Rule(at string, get func(string) string) *check.FieldError {
	short := tx("must have at least 8 characters", "muss mindestens 8 Zeichen haben")
	switch {
	case get("auth_protocol") != "" && len(get("auth_passphrase")) < 8:
		return &check.FieldError{Field: at + "auth_passphrase", Message: short}
	case get("priv_protocol") != "" && get("auth_protocol") == "":
		return &check.FieldError{Field: at + "priv_protocol", Message: tx("privacy needs an auth_protocol", "Verschlüsselung braucht ein auth_protocol")}
	case get("priv_protocol") != "" && len(get("priv_passphrase")) < 8:
		return &check.FieldError{Field: at + "priv_passphrase", Message: short}
	}
	return nil
}

// snmpLimitRule refuses a warning level beyond the failure level of a
// limit object (o nil: absent).
func snmpLimitRule(at string, o map[string]any) *check.FieldError {
	if o["warn"] == nil || o["fail"] == nil {
		return nil
	}
	w, f := check.Num(o["warn"]), check.Num(o["fail"])
	if below, _ := o["below"].(bool); below && w < f || !below && w > f {
		return &check.FieldError{Field: at + ".warn", Message: tx("must not be beyond fail (below for lower-is-worse values)", "darf nicht jenseits von fail liegen (unter fail bei Werten, bei denen weniger schlechter ist)")}
	}
	return nil
}
