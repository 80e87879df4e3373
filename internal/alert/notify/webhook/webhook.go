// Package webhook posts notifications to HTTP(S) endpoints: Wacht's JSON
// signed with HMAC-SHA256, or a {"text": …} body that Slack, Microsoft
// Teams and Mattermost incoming webhooks accept.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
)

// Headers of a signed delivery.
const (
	// HeaderSignature is "sha256=" + hex HMAC-SHA256 over
	// timestamp + "." + body, keyed with the recipient's secret.
	HeaderSignature = "X-Wacht-Signature"
	HeaderTimestamp = "X-Wacht-Timestamp" // Unix seconds, part of the signature
	// HeaderDelivery is stable across retries: receivers drop duplicates by it.
	HeaderDelivery   = "X-Wacht-Delivery"
	HeaderIdempotent = "Idempotency-Key"
)

// Formats.
const (
	FormatJSON = "json"
	FormatChat = "chat"
)

// Payload is the JSON body of FormatJSON.
type Payload struct {
	ID      string       `json:"id"`
	Lang    string       `json:"lang"`
	Subject string       `json:"subject"`
	Text    string       `json:"text"`
	Event   notify.Event `json:"event"`
}

// Sign computes the HeaderSignature value.
func Sign(secret string, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signature in constant time.
func Verify(secret, timestamp string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature))
}

// Send posts m to url; only a 2xx answer counts as delivered.
func Send(ctx context.Context, client *http.Client, url string, m notify.Message, now time.Time) error {
	var body []byte
	var err error
	if m.Format == FormatChat {
		body, err = json.Marshal(map[string]string{"text": "*" + m.Subject + "*\n" + m.Text})
	} else {
		body, err = json.Marshal(Payload{ID: m.ID, Lang: m.Lang, Subject: m.Subject, Text: m.Text, Event: m.Event})
	}
	if err != nil {
		return fmt.Errorf("webhook: encoding: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Wacht-Webhook/1")
	req.Header.Set(HeaderDelivery, m.ID)
	req.Header.Set(HeaderIdempotent, m.ID)
	if m.Secret != "" {
		ts := strconv.FormatInt(now.Unix(), 10)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, Sign(m.Secret, ts, body))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: posting: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: %s answered %s: %q", req.URL.Redacted(), resp.Status, bytes.TrimSpace(snippet))
	}
	return nil
}
