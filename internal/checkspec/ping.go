package checkspec

import (
	"maps"
	"net/textproto"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/check"
)

// Ping declares the ping check.
var Ping = &check.Spec{
	Name:  "ping",
	Label: tx("Ping", "Ping"),
	Help:  tx("ICMP echo to a host: packet loss and, optionally, the average round trip.", "ICMP-Echo an einen Host: Paketverlust und wahlweise die mittlere Umlaufzeit."),
	Params: []check.Param{
		hostParam(tx("Host name or IP address to ping.", "Hostname oder IP-Adresse, die angepingt wird.")),
		{Name: "count", Type: check.Integer, Default: 4, Min: lim(1), Max: lim(100),
			Label: tx("Pings", "Pings"), Help: tx("Echo requests per run.", "Echo-Anfragen je Lauf.")},
		{Name: "interval_seconds", Type: check.Number, Unit: "s", Default: 1, Min: lim(0.2), Max: lim(10),
			Label: tx("Interval", "Abstand"), Help: tx("Time between two pings.", "Zeit zwischen zwei Pings.")},
		{Name: "timeout_seconds", Type: check.Number, Unit: "s", Default: 10, Min: lim(0), Max: lim(60),
			Label: tx("Timeout", "Zeitlimit"), Help: tx("The whole run, including the wait for late replies.", "Der ganze Lauf, samt Warten auf späte Antworten.")},
		limitObject("loss_percent", "%", tx("Packet loss", "Paketverlust"),
			tx("Lost pings in percent.", "Verlorene Pings in Prozent."), map[string]any{"warn": 25, "fail": 100}, lim(100)),
		limitObject("rtt_ms", "ms", tx("Round trip", "Umlaufzeit"),
			tx("Average round trip; off by default.", "Mittlere Umlaufzeit; standardmäßig aus."), nil, nil),
		{Name: "mode", Type: check.Choice, Choices: []string{"auto", "privileged", "unprivileged"}, Default: "auto",
			Label: tx("Socket", "Socket"), Help: tx("auto tries a raw socket, then an unprivileged one.", "auto versucht einen Raw-Socket, dann einen unprivilegierten.")},
		{Name: "ip_version", Type: check.Integer, Default: 0, Min: lim(0), Max: lim(6),
			Label: tx("IP version", "IP-Version"), Help: tx("4 or 6; 0 takes either.", "4 oder 6; 0 nimmt beide.")},
	},
	Rules: []check.Rule{
		notAboveIn("loss_percent", false), notAboveIn("rtt_ms", false),
		func(v check.Values) *check.FieldError {
			if n := v.Num("ip_version"); n != 0 && n != 4 && n != 6 {
				return &check.FieldError{Field: "ip_version", Message: tx("must be 0, 4 or 6", "muss 0, 4 oder 6 sein")}
			}
			return nil
		},
		func(v check.Values) *check.FieldError {
			timeout := v.Num("timeout_seconds")
			if timeout == 0 {
				timeout = 10
			}
			if (v.Num("count")-1)*v.Num("interval_seconds") >= timeout {
				return &check.FieldError{Field: "count", Message: tx("the pings do not fit in the timeout", "die Pings passen nicht in das Zeitlimit")}
			}
			return nil
		},
	},
}

// Website declares the website check, which the server runs itself for
// network devices without a probe.
var Website = &check.Spec{
	Name:  "website",
	Label: tx("Website", "Website"),
	Help:  tx("An HTTP(S) request: status, content, response time and certificate expiry.", "Eine HTTP(S)-Anfrage: Status, Inhalt, Antwortzeit und Ablauf des Zertifikats."),
	Params: []check.Param{
		{Name: "url", Type: check.Text, Required: true, MaxLen: 2048, Format: check.FormatURL,
			Label: tx("URL", "URL"), Help: tx("Absolute http or https URL, without credentials.", "Absolute http- oder https-URL, ohne Zugangsdaten.")},
		{Name: "method", Type: check.Choice, Choices: []string{"GET", "HEAD"}, Default: "GET",
			Label: tx("Method", "Methode"), Help: tx("HEAD fetches no body.", "HEAD lädt keinen Inhalt.")},
		{Name: "expect_status", Type: check.List, MaxLen: 50, Items: &check.Param{Type: check.Integer, Min: lim(100), Max: lim(599)},
			Label: tx("Expected status", "Erwarteter Status"), Help: tx("HTTP status codes that pass; empty accepts any 2xx.", "HTTP-Statuscodes, die bestehen; leer nimmt jeden 2xx.")},
		{Name: "contains", Type: check.Text,
			Label: tx("Must contain", "Muss enthalten"), Help: tx("Text that must appear in the body.", "Text, der im Inhalt vorkommen muss.")},
		{Name: "not_contains", Type: check.Text,
			Label: tx("Must not contain", "Darf nicht enthalten"), Help: tx("Text that must not appear in the body.", "Text, der im Inhalt nicht vorkommen darf.")},
		limitObject("response_ms", "ms", tx("Response time", "Antwortzeit"), tx("Off by default.", "Standardmäßig aus."), nil, nil),
		{Name: "follow_redirects", Type: check.Boolean, Default: true,
			Label: tx("Follow redirects", "Weiterleitungen folgen"), Help: tx("Judge the final page rather than the redirect.", "Die Zielseite statt der Weiterleitung beurteilen.")},
		limitObject("cert_days", "days", tx("Certificate expiry", "Zertifikatsablauf"),
			tx("Days before the certificate expires; fewer days are worse.", "Tage bis zum Ablauf des Zertifikats; weniger ist schlechter."), map[string]any{"warn": 21, "fail": 7}, nil),
		{Name: "headers", Type: check.Map, MaxLen: 50, Items: text(1024),
			Label: tx("Request headers", "Anfrage-Header"), Help: tx("Extra headers; not Host or Authorization.", "Zusätzliche Header; nicht Host oder Authorization.")},
		{Name: "username", Type: check.Text, MaxLen: 256,
			Label: tx("User name", "Benutzername"), Help: tx("For HTTP basic authentication.", "Für HTTP-Basic-Authentifizierung.")},
		{Name: "password", Type: check.Text, MaxLen: 1024,
			Label: tx("Password", "Passwort"), Help: tx("For HTTP basic authentication; stored encrypted.", "Für HTTP-Basic-Authentifizierung; verschlüsselt gespeichert.")},
		{Name: "timeout_seconds", Type: check.Number, Unit: "s", Default: 10, Min: lim(0), Max: lim(60),
			Label: tx("Timeout", "Zeitlimit"), Help: tx("For the whole request.", "Für die ganze Anfrage.")},
		{Name: "ca_pem", Type: check.Text, MaxLen: 65536, Format: check.FormatPEM,
			Label: tx("Extra CA certificates", "Zusätzliche CA-Zertifikate"), Help: tx("PEM certificates trusted besides the system's (intranet).", "PEM-Zertifikate, denen zusätzlich zum System vertraut wird (Intranet).")},
		{Name: "tls_skip_verify", Type: check.Boolean, Default: false,
			Label: tx("Skip certificate verification", "Zertifikatsprüfung überspringen"), Help: tx("Still reports the expiry.", "Meldet den Ablauf trotzdem.")},
	},
	Rules: []check.Rule{
		notAboveIn("response_ms", false), notAboveIn("cert_days", true),
		func(v check.Values) *check.FieldError {
			if v.Str("method") == "HEAD" && (v.Str("contains") != "" || v.Str("not_contains") != "") {
				return &check.FieldError{Field: "contains", Message: tx("a HEAD request has no body to search", "eine HEAD-Anfrage hat keinen Inhalt zum Durchsuchen")}
			}
			return nil
		},
		headerRule,
		func(v check.Values) *check.FieldError {
			if v.Str("password") != "" && v.Str("username") == "" {
				return &check.FieldError{Field: "username", Message: tx("is required with a password", "ist mit einem Passwort erforderlich")}
			}
			return nil
		},
	},
}

// RefusedHeaders may not be among a website check's headers: the URL names
// the host, the request's framing and connection are the client's, and
// credentials belong in username and password (sealed on the server), not
// in parameters anyone who can read the check sees.
var RefusedHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
	"Proxy-Connection", "Upgrade", "Te", "Trailer", "Expect", "Authorization", "Proxy-Authorization"}

// headerRule refuses header names and values that would break the request
// or that RefusedHeaders lists.
func headerRule(v check.Values) *check.FieldError {
	h, _ := v.Raw("headers").(map[string]any)
	for _, k := range slices.Sorted(maps.Keys(h)) {
		val, _ := h[k].(string)
		switch {
		case k == "" || strings.ContainsAny(k, "\r\n: ") || strings.ContainsAny(val, "\r\n"):
			return &check.FieldError{Field: "headers." + k, Message: tx("is not a valid header (no line breaks; no colon or space in the name)", "ist kein gültiger Header (keine Zeilenumbrüche; kein Doppelpunkt und kein Leerzeichen im Namen)")}
		case slices.Contains(RefusedHeaders, textproto.CanonicalMIMEHeaderKey(k)):
			return &check.FieldError{Field: "headers." + k, Message: tx("may not be set (the URL names the host; credentials go in username and password)", "darf nicht gesetzt werden (die URL bestimmt den Host; Zugangsdaten gehören in username und password)")}
		}
	}
	return nil
}
