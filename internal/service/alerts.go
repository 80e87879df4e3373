package service

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/alert/notify/smtp"
	"github.com/wacht-rmm/wacht/internal/alert/notify/webhook"
	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// ListOutages returns the outages u may see, newest first. The store
// applies u's scope, so a limit counts only visible outages.
func (s *Service) ListOutages(ctx context.Context, u core.User, f core.OutageFilter) ([]core.Outage, error) {
	if err := need(u, authz.Read); err != nil {
		return nil, err
	}
	if f.DeviceID != 0 {
		if _, err := s.device(ctx, u, f.DeviceID); err != nil {
			return nil, err
		}
	}
	f.Scope = u.Scope
	os, err := s.store.ListOutages(ctx, f)
	if err != nil {
		return nil, err
	}
	if os == nil {
		os = []core.Outage{}
	}
	for i := range os {
		if err := s.withFix(ctx, &os[i]); err != nil {
			return nil, err
		}
	}
	return os, nil
}

// withFix fills o.Fix with the newest automatic fix of its check between
// shortly before it opened and its end.
func (s *Service) withFix(ctx context.Context, o *core.Outage) error {
	if o.Kind == core.OutageOffline || o.CheckName == "" {
		return nil
	}
	to := s.now()
	if o.ClosedAt != nil {
		to = *o.ClosedAt
	}
	fix, err := s.store.LatestFix(ctx, o.DeviceID, o.CheckName, o.OpenedAt.Add(-core.FixWindow), to)
	if err != nil {
		return err
	}
	o.Fix = fix
	return nil
}

// CountOutages counts the outages u may see that f selects.
func (s *Service) CountOutages(ctx context.Context, u core.User, f core.OutageFilter) (int, error) {
	if err := need(u, authz.Read); err != nil {
		return 0, err
	}
	f.Scope = u.Scope
	return s.store.CountOutages(ctx, f)
}

// Outage returns one outage u may see; another client's is ErrNotFound.
func (s *Service) Outage(ctx context.Context, u core.User, id int64) (core.Outage, error) {
	o, err := s.store.GetOutage(ctx, id)
	if err != nil {
		return o, err
	}
	if !authz.CanSeeClient(u, o.ClientID) {
		return core.Outage{}, fmt.Errorf("outage %d: %w", id, core.ErrNotFound)
	}
	return o, s.withFix(ctx, &o)
}

// AckOutage records u's acknowledgement with a comment, audited.
func (s *Service) AckOutage(ctx context.Context, u core.User, id int64, comment string) (core.Outage, error) {
	if err := need(u, authz.Operate); err != nil {
		return core.Outage{}, err
	}
	o, err := s.Outage(ctx, u, id)
	if err != nil {
		return o, err
	}
	comment = strings.TrimSpace(comment)
	if len(comment) > 2000 {
		return o, fmt.Errorf("comment longer than 2000 bytes: %w", core.ErrInvalid)
	}
	if err := s.store.AckOutage(ctx, id, Actor(u), comment, s.now().UTC()); err != nil {
		return o, err
	}
	if err := s.record(ctx, u, "outage.ack", target("outage", id), comment, ""); err != nil {
		return o, err
	}
	return s.store.GetOutage(ctx, id)
}

// ClearRequest clears a check's notifications until a time, until it
// passes again, or both (whichever ends first is not tracked: both must end).
type ClearRequest struct {
	Until     *time.Time `json:"until,omitempty"`
	UntilPass bool       `json:"until_pass"`
	Comment   string     `json:"comment,omitempty"`
}

// ClearCheck suppresses a check's notifications, audited.
func (s *Service) ClearCheck(ctx context.Context, u core.User, deviceID, checkID int64, req ClearRequest) error {
	if err := need(u, authz.Operate); err != nil {
		return err
	}
	if _, err := s.device(ctx, u, deviceID); err != nil {
		return err
	}
	if req.Until == nil && !req.UntilPass {
		return fmt.Errorf("give until, until_pass or both: %w", core.ErrInvalid)
	}
	if req.Until != nil && !req.Until.After(s.now()) {
		return fmt.Errorf("until lies in the past: %w", core.ErrInvalid)
	}
	if err := s.store.ClearCheck(ctx, deviceID, checkID, req.Until, req.UntilPass); err != nil {
		return err
	}
	detail := "until_pass=" + strconv.FormatBool(req.UntilPass)
	if req.Until != nil {
		detail += " until=" + req.Until.UTC().Format(time.RFC3339)
	}
	if req.Comment != "" {
		detail += " comment=" + req.Comment
	}
	return s.record(ctx, u, "check.clear", target("device", deviceID)+"/check:"+strconv.FormatInt(checkID, 10), detail, "")
}

// ListPresence returns the presence of the devices u may see.
func (s *Service) ListPresence(ctx context.Context, u core.User) ([]alert.DevicePresence, error) {
	ps, err := alert.PresenceStates(ctx, s.store, s.now())
	if err != nil {
		return nil, err
	}
	devs, err := s.store.ListDevices(ctx)
	if err != nil {
		return nil, err
	}
	client := map[int64]int64{}
	for _, d := range devs {
		client[d.ID] = d.ClientID
	}
	out := []alert.DevicePresence{}
	for _, p := range ps {
		if authz.CanSeeClient(u, client[p.DeviceID]) {
			out = append(out, p)
		}
	}
	return out, nil
}

// DevicePresence returns the presence of one device u may see, reading
// only that device; State is "" when it was never heard from or is retired.
func (s *Service) DevicePresence(ctx context.Context, u core.User, id int64) (alert.DevicePresence, error) {
	if _, err := s.device(ctx, u, id); err != nil {
		return alert.DevicePresence{}, err
	}
	p, err := s.store.GetPresence(ctx, id)
	if errors.Is(err, core.ErrNotFound) {
		return alert.DevicePresence{Presence: core.Presence{DeviceID: id}}, nil
	} else if err != nil {
		return alert.DevicePresence{}, err
	}
	set, err := alert.LoadSettings(ctx, s.store)
	if err != nil {
		return alert.DevicePresence{}, err
	}
	return alert.DevicePresence{Presence: p, State: alert.EvaluatePresence(p, set, s.now()).State}, nil
}

// redacted hides the SMTP password in answers.
func redacted(s alert.Settings) alert.Settings {
	if s.SMTP.Password != "" {
		s.SMTP.Password = "********"
	}
	return s
}

// AlertSettings returns the settings without the SMTP password.
func (s *Service) AlertSettings(ctx context.Context, u core.User) (alert.Settings, error) {
	if err := need(u, authz.Admin); err != nil {
		return alert.Settings{}, err
	}
	st, err := alert.LoadSettings(ctx, s.store)
	return redacted(st), err
}

// keepSMTPPassword fills an empty or redacted password of next with the
// stored one, cur's, unless next would send it to another server, port
// or TLS mode: then it must be typed again, so that nobody sends the
// stored password somewhere new without knowing it.
func keepSMTPPassword(next *smtp.Config, cur smtp.Config) error {
	if next.Password != "" && next.Password != "********" {
		return nil
	}
	next.Password = ""
	if cur.Password == "" {
		return nil
	}
	if next.Target() != cur.Target() {
		return &policy.ValidationError{Fields: []policy.FieldError{
			secretAgain("smtp.password", "password", core.Text{EN: "the SMTP server", DE: "der SMTP-Server"})}}
	}
	next.Password = cur.Password
	return nil
}

// SetAlertSettings saves new settings, audited. An empty or redacted SMTP
// password keeps the stored one.
func (s *Service) SetAlertSettings(ctx context.Context, u core.User, next alert.Settings) (alert.Settings, error) {
	if err := need(u, authz.Admin); err != nil {
		return alert.Settings{}, err
	}
	cur, err := alert.LoadSettings(ctx, s.store)
	if err != nil {
		return cur, err
	}
	if err := keepSMTPPassword(&next.SMTP, cur.SMTP); err != nil {
		return cur, err
	}
	if err := alert.SaveSettings(ctx, s.store, next); err != nil {
		return cur, err
	}
	if err := s.record(ctx, u, "alert.settings", "settings:alerts", "smtp="+next.SMTP.Host, ""); err != nil {
		return cur, err
	}
	return s.AlertSettings(ctx, u)
}

// TestMailRequest sends a test mail with the stored (or the given) settings.
type TestMailRequest struct {
	To       string          `json:"to"`
	Lang     string          `json:"lang,omitempty"`
	Settings *alert.Settings `json:"settings,omitempty"`
}

// TestMailResult reports the SMTP server's answer.
type TestMailResult struct {
	Sent  bool   `json:"sent"`
	Error string `json:"error,omitempty"` // the server's answer, raw
	// Message says what Error means, in English and German (smtp.Explain).
	Message *core.Text `json:"message,omitempty"`
}

// SendTestMail sends a test e-mail at once, audited; an SMTP failure is a
// result (Sent false with the server's answer), not an API error. Invalid
// input is a *policy.ValidationError.
func (s *Service) SendTestMail(ctx context.Context, u core.User, req TestMailRequest) (TestMailResult, error) {
	if err := need(u, authz.Admin); err != nil {
		return TestMailResult{}, err
	}
	if _, err := mail.ParseAddress(req.To); err != nil {
		return TestMailResult{}, &policy.ValidationError{Fields: []policy.FieldError{{Field: "to",
			Message: core.Text{EN: "not an e-mail address", DE: "keine E-Mail-Adresse"}}}}
	}
	cfg, err := alert.LoadSettings(ctx, s.store)
	if err != nil {
		return TestMailResult{}, err
	}
	if req.Settings != nil {
		if err := keepSMTPPassword(&req.Settings.SMTP, cfg.SMTP); err != nil {
			return TestMailResult{}, err
		}
		cfg = req.Settings.WithDefaults()
	}
	if err := cfg.ValidateMail(); err != nil {
		return TestMailResult{}, err
	}
	sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	res := TestMailResult{Sent: true}
	result := ""
	if err := alert.SendTest(sctx, cfg, req.To, req.Lang, nil, s.now()); err != nil {
		why := smtp.Explain(err.Error())
		res, result = TestMailResult{Error: err.Error(), Message: &why}, core.AuditFailed
	}
	if err := s.record(ctx, u, "alert.test-mail", "settings:alerts", "to="+req.To, result); err != nil {
		return res, err
	}
	return res, nil
}

// ListRecipients returns every recipient (admins only).
func (s *Service) ListRecipients(ctx context.Context, u core.User) ([]core.Recipient, error) {
	if err := need(u, authz.Admin); err != nil {
		return nil, err
	}
	rs, err := s.store.ListRecipients(ctx)
	if rs == nil {
		rs = []core.Recipient{}
	}
	return rs, err
}

// RecipientRequest creates a recipient; Secret is only written, never read.
type RecipientRequest struct {
	core.Recipient
	Secret string `json:"secret,omitempty"`
}

// CreateRecipient validates and stores a recipient, audited; invalid input
// is a *policy.ValidationError naming the fields.
func (s *Service) CreateRecipient(ctx context.Context, u core.User, r core.Recipient) (core.Recipient, error) {
	if err := need(u, authz.Admin); err != nil {
		return r, err
	}
	r.ID = 0
	if r.Lang == "" {
		r.Lang = "de"
	}
	if r.Hours == "" {
		r.Hours = core.HoursAlways
	}
	var ve policy.ValidationError
	bad := func(field, en, de string) {
		ve.Fields = append(ve.Fields, policy.FieldError{Field: field, Message: core.Text{EN: en, DE: de}})
	}
	switch r.Level {
	case core.LevelDefault:
		r.TargetID = 0
	case core.LevelClient:
		if _, err := s.store.GetClient(ctx, r.TargetID); err != nil {
			bad("target_id", "choose an existing client", "einen vorhandenen Kunden wählen")
		}
	case core.LevelSite:
		if _, err := s.store.GetSite(ctx, r.TargetID); err != nil {
			bad("target_id", "choose an existing site", "einen vorhandenen Standort wählen")
		}
	case core.LevelDevice:
		if _, err := s.store.GetDevice(ctx, r.TargetID); err != nil {
			bad("target_id", "choose an existing device", "ein vorhandenes Gerät wählen")
		}
	default:
		bad("level", "must be default, client, site or device", "muss default, client, site oder device sein")
	}
	switch r.Channel {
	case core.ChannelEmail:
		if _, err := mail.ParseAddress(r.Target); err != nil {
			bad("target", "not an e-mail address", "keine E-Mail-Adresse")
		}
		r.Format, r.Secret = "", ""
	case core.ChannelWebhook:
		if u, err := url.Parse(r.Target); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("target", "not an http(s) URL", "keine http(s)-URL")
		}
		if r.Format == "" {
			r.Format = core.WebhookJSON
		}
		if r.Format != core.WebhookJSON && r.Format != core.WebhookChat {
			bad("format", "must be json or chat", "muss json oder chat sein")
		}
	default:
		bad("channel", "must be email or webhook", "muss email oder webhook sein")
	}
	if r.Lang != "de" && r.Lang != "en" {
		bad("lang", "must be de or en", "muss de oder en sein")
	}
	if r.Hours != core.HoursAlways && r.Hours != core.HoursOffice && r.Hours != core.HoursAfter {
		bad("hours", "must be always, office or after", "muss always, office oder after sein")
	}
	if len(ve.Fields) > 0 {
		return r, &ve
	}
	if err := s.store.CreateRecipient(ctx, &r); err != nil {
		return r, err
	}
	return r, s.record(ctx, u, "alert.recipient-create", target("recipient", r.ID), r.Level+" "+r.Channel+" "+r.Target, "")
}

// DeleteRecipient removes a recipient, audited.
func (s *Service) DeleteRecipient(ctx context.Context, u core.User, id int64) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	if err := s.store.DeleteRecipient(ctx, id); err != nil {
		return err
	}
	return s.record(ctx, u, "alert.recipient-delete", target("recipient", id), "", "")
}

// OutboxEntry is an outbox item without its payload.
type OutboxEntry struct {
	core.OutboxItem
	Payload []byte `json:"payload,omitempty"`
	// State is OutboxPending, OutboxDelivered or OutboxGivenUp.
	State string `json:"state"`
}

// The states of an outbox entry.
const (
	OutboxPending   = "pending"   // waiting for its next attempt
	OutboxDelivered = "delivered" // accepted by the mail server or webhook
	OutboxGivenUp   = "given_up"  // failed for too long; retried only when asked
)

// outboxState names the state of m.
func outboxState(m core.OutboxItem) string {
	switch {
	case m.DeliveredAt != nil:
		return OutboxDelivered
	case m.GivenUpAt != nil:
		return OutboxGivenUp
	}
	return OutboxPending
}

// ErrorText says what a delivery's last error means, in English and
// German (smtp.Explain, webhook.Explain); nil for no error.
func (e OutboxEntry) ErrorText() *core.Text {
	if e.LastError == "" {
		return nil
	}
	t := smtp.Explain(e.LastError)
	if e.Channel == core.ChannelWebhook {
		t = webhook.Explain(e.LastError)
	}
	return &t
}

// ListOutbox returns the newest deliveries (admins only), without payloads.
func (s *Service) ListOutbox(ctx context.Context, u core.User, limit int) ([]OutboxEntry, error) {
	return s.OutboxPage(ctx, u, core.PageKey{}, limit)
}

// OutboxPage is ListOutbox after a key (an item's ID).
func (s *Service) OutboxPage(ctx context.Context, u core.User, after core.PageKey, limit int) ([]OutboxEntry, error) {
	if err := need(u, authz.Admin); err != nil {
		return nil, err
	}
	items, err := s.store.ListOutboxPage(ctx, after, limit)
	out := make([]OutboxEntry, len(items))
	for i, m := range items {
		m.Payload = nil
		out[i] = OutboxEntry{OutboxItem: m, State: outboxState(m)}
	}
	return out, err
}

// RetryOutbox sends a given-up delivery back into the queue, due now and
// with a fresh give-up limit (admins only); ErrNotFound if there is no
// such given-up delivery.
func (s *Service) RetryOutbox(ctx context.Context, u core.User, id int64) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	if err := s.store.RetryOutbox(ctx, id, s.now()); err != nil {
		return err
	}
	return s.record(ctx, u, "alert.outbox-retry", target("outbox", id), "", "")
}

// RecentOutages is how far back the "recent" outage filter reaches.
const RecentOutages = 7 * 24 * time.Hour

// OutageQuery reads the outage filters of a query, for the API and the
// dashboard alike: state (open: unacknowledged, acked, recent: closed in the
// last RecentOutages, closed), client (ID), severity (failure, offline),
// open=true (open, acknowledged or not).
func OutageQuery(q url.Values, now time.Time) (core.OutageFilter, error) {
	f := core.OutageFilter{OpenOnly: q.Get("open") == "true"}
	switch st := q.Get("state"); st {
	case "", core.OutagesOpen, core.OutagesAcked, core.OutagesClosed:
		f.State = st
	case "recent":
		f.State, f.ClosedSince = core.OutagesClosed, now.Add(-RecentOutages)
	default:
		return f, fmt.Errorf("state %q: %w", st, core.ErrInvalid)
	}
	if c := q.Get("client"); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id <= 0 {
			return f, fmt.Errorf("client %q: %w", c, core.ErrInvalid)
		}
		f.ClientID = id
	}
	switch sev := q.Get("severity"); sev {
	case "", core.AlertFailure, core.OutageOffline:
		f.Severity = sev
	default:
		return f, fmt.Errorf("severity %q: %w", sev, core.ErrInvalid)
	}
	return f, nil
}
