package webhook

import (
	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
)

// explanations map the common failures, recognized by words of Send's
// error (its "answered <status>" or net's and crypto/tls's text), to what
// to check, in English and German. Status codes come first: their answer
// may quote anything.
var explanations = []notify.Explanation{
	{Words: []string{"answered 401", "answered 403"}, Text: core.Text{
		EN: "The receiver refused the request: check the token in the URL or the signing secret.",
		DE: "Der Empfänger hat die Anfrage abgelehnt: Token in der URL oder Signaturgeheimnis prüfen."}},
	{Words: []string{"answered 404", "answered 410"}, Text: core.Text{
		EN: "The receiver does not know this URL: check the webhook's URL (a deleted Teams or Slack connector answers so).",
		DE: "Der Empfänger kennt diese URL nicht: URL des Webhooks prüfen (ein gelöschter Teams- oder Slack-Connector antwortet so)."}},
	{Words: []string{"answered 429"}, Text: core.Text{
		EN: "The receiver limits how often it may be called; the delivery is retried later.",
		DE: "Der Empfänger begrenzt, wie oft er aufgerufen werden darf; die Zustellung wird später wiederholt."}},
	{Words: []string{"answered 5"}, Text: core.Text{
		EN: "The receiver failed with a server error; the delivery is retried.",
		DE: "Der Empfänger ist mit einem Serverfehler gescheitert; die Zustellung wird wiederholt."}},
	{Words: []string{"answered 4"}, Text: core.Text{
		EN: "The receiver rejected the message: check that the URL expects Wacht's format (JSON or chat).",
		DE: "Der Empfänger hat die Nachricht abgelehnt: prüfen, ob die URL das Format von Wacht erwartet (JSON oder Chat)."}},
	{Words: []string{"connection refused"}, Text: core.Text{
		EN: "The receiver refused the connection: check the URL's host and port, and that it is running.",
		DE: "Der Empfänger hat die Verbindung abgelehnt: Host und Port der URL prüfen und ob er läuft."}},
	{Words: []string{"no such host", "server misbehaving"}, Text: core.Text{
		EN: "The receiver's host name was not found (DNS).",
		DE: "Der Hostname des Empfängers wurde nicht gefunden (DNS)."}},
	{Words: []string{"timeout", "deadline exceeded", "timed out"}, Text: core.Text{
		EN: "The receiver did not answer in time.",
		DE: "Der Empfänger hat nicht rechtzeitig geantwortet."}},
	{Words: []string{"x509", "certificate", "tls"}, Text: core.Text{
		EN: "The encrypted connection (TLS) failed: check the receiver's certificate.",
		DE: "Die verschlüsselte Verbindung (TLS) ist fehlgeschlagen: Zertifikat des Empfängers prüfen."}},
}

// Explain says in English and German what a webhook delivery's error (its
// text, as the outbox keeps it) means for the user; the raw error stays
// the detail. An error it does not know gets a general sentence.
func Explain(raw string) core.Text {
	return notify.Explain(raw, explanations,
		core.Text{EN: "The webhook could not be delivered.", DE: "Der Webhook konnte nicht zugestellt werden."})
}
