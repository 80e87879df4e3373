package smtp

import (
	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
)

// explanations map the common failures, recognized by words of the raw
// error (go-mail's, net's and crypto/tls's), to what to check, in English
// and German. The first match wins: a refused password comes over TLS, so
// authentication goes before TLS.
var explanations = []notify.Explanation{
	{Words: []string{"no server or sender configured"}, Text: core.Text{
		EN: "No mail server configured.",
		DE: "Kein Mailserver eingerichtet."}},
	{Words: []string{"connection refused"}, Text: core.Text{
		EN: "The mail server refused the connection: check the server name and port, and that it is running.",
		DE: "Der Mailserver hat die Verbindung abgelehnt: Servername und Port prüfen und ob er läuft."}},
	{Words: []string{"no such host", "server misbehaving"}, Text: core.Text{
		EN: "The mail server's name was not found (DNS).",
		DE: "Der Name des Mailservers wurde nicht gefunden (DNS)."}},
	{Words: []string{"timeout", "deadline exceeded", "timed out"}, Text: core.Text{
		EN: "The mail server did not answer in time.",
		DE: "Der Mailserver hat nicht rechtzeitig geantwortet."}},
	{Words: []string{"authentication", "auth failed", "535", "534", "username and password"}, Text: core.Text{
		EN: "The mail server refused the user name or password.",
		DE: "Der Mailserver hat Benutzername oder Passwort abgelehnt."}},
	{Words: []string{"tls", "x509", "certificate", "starttls", "handshake"}, Text: core.Text{
		EN: "The encrypted connection (TLS) failed: check the TLS mode and the server's certificate.",
		DE: "Die verschlüsselte Verbindung (TLS) ist fehlgeschlagen: TLS-Modus und Zertifikat des Servers prüfen."}},
	{Words: []string{"rcpt", "recipient", "550", "551", "553", "mailbox"}, Text: core.Text{
		EN: "The mail server refused the recipient address.",
		DE: "Der Mailserver hat die Empfängeradresse abgelehnt."}},
}

// Explain says in English and German what an SMTP error (its text, as the
// outbox keeps it) means for the user; the raw error stays the detail.
// An error it does not know gets a general sentence.
func Explain(raw string) core.Text {
	return notify.Explain(raw, explanations,
		core.Text{EN: "The mail server reported an error.", DE: "Der Mailserver hat einen Fehler gemeldet."})
}
