package alert

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/alert/notify/smtp"
	"github.com/wacht-rmm/wacht/internal/alert/notify/webhook"
	"github.com/wacht-rmm/wacht/internal/core"
)

// claimBatch is how many messages one DeliverDue pass takes.
const claimBatch = 32

// senderBatch is how many messages one sender claims at a time: the
// mails among them go in one SMTP session.
const senderBatch = 8

// outboxLoop runs Senders senders. Each claims a few due messages and
// delivers them; one that claimed a full batch wakes another before
// sending, so a backlog is spread over all senders at once and no sender
// waits for another's slow session (as one claim of a large batch shared
// out to sessions would).
func (e *Engine) outboxLoop(ctx context.Context) {
	var wg sync.WaitGroup
	for range e.o.Senders {
		wg.Go(func() { e.sendLoop(ctx) })
	}
	wg.Wait()
}

func (e *Engine) sendLoop(ctx context.Context) {
	t := time.NewTicker(e.o.Poll)
	defer t.Stop()
	for {
		n, err := e.deliverDue(ctx, senderBatch, 1, e.Nudge)
		if err != nil && ctx.Err() == nil {
			e.log.Error("delivering notifications", "err", err)
		}
		if n == senderBatch {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return
		case <-e.nudge:
		case <-t.C:
		}
	}
}

// DeliverDue claims due messages and delivers them, several at once:
// e-mails in a few SMTP sessions of several messages each (one TLS
// handshake per session), webhooks one by one. It returns how many it
// claimed.
func (e *Engine) DeliverDue(ctx context.Context) (int, error) {
	return e.deliverDue(ctx, claimBatch, e.o.Senders, nil)
}

// deliverDue claims up to limit due messages and delivers them in up to
// sessions concurrent SMTP sessions (and as many webhook calls at once);
// full, if set, is called when the claim was full, before delivering.
func (e *Engine) deliverDue(ctx context.Context, limit, sessions int, full func()) (int, error) {
	items, err := e.o.Store.ClaimOutbox(ctx, e.o.Now(), limit, e.o.Lease)
	if err != nil {
		return 0, err
	}
	if len(items) == limit && full != nil {
		full()
	}
	var mails, single []core.OutboxItem
	for _, m := range items {
		if m.Channel == core.ChannelEmail && e.o.Deliver == nil {
			mails = append(mails, m)
		} else {
			single = append(single, m)
		}
	}
	sem := make(chan struct{}, sessions)
	var wg sync.WaitGroup
	for _, m := range single {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			e.record(ctx, m, e.deliver(ctx, m))
		})
	}
	// Spread the mails over up to sessions sessions of at least mailsPerSession.
	sessions = min(sessions, (len(mails)+mailsPerSession-1)/mailsPerSession)
	for i := range sessions {
		var chunk []core.OutboxItem
		for j := i; j < len(mails); j += sessions {
			chunk = append(chunk, mails[j])
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs := e.deliverMails(ctx, chunk)
			var ok []int64
			for k, m := range chunk {
				if errs[k] == nil {
					ok = append(ok, m.ID)
				} else {
					e.record(ctx, m, errs[k])
				}
			}
			e.recordDelivered(ctx, ok)
		})
	}
	wg.Wait()
	return len(items), nil
}

// mailsPerSession is the fewest mails worth one SMTP session of their own.
const mailsPerSession = 4

// deliverMails sends e-mails over one SMTP connection.
func (e *Engine) deliverMails(ctx context.Context, items []core.OutboxItem) []error {
	errs := make([]error, len(items))
	s, err := e.Settings(ctx)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	var envs []smtp.Envelope
	var idx []int
	for i, m := range items {
		var msg notify.Message
		if err := json.Unmarshal(m.Payload, &msg); err != nil {
			errs[i] = fmt.Errorf("decoding notification %d: %w", m.ID, err)
			continue
		}
		envs = append(envs, smtp.Envelope{To: m.Target, Message: msg})
		idx = append(idx, i)
	}
	if len(envs) > 0 {
		for j, err := range smtp.SendMany(ctx, e.smtpConfig(s), envs) {
			errs[idx[j]] = err
		}
	}
	return errs
}

// record stores the outcome of one delivery attempt. It is written even
// if ctx ended meanwhile, to keep the window in which an accepted message
// is not yet marked (and would be sent again) small.
func (e *Engine) record(ctx context.Context, m core.OutboxItem, err error) {
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := e.o.Now()
	if err == nil {
		if err := e.o.Store.MarkDelivered(mctx, m.ID, now); err != nil {
			e.log.Error("recording delivered notification", "id", m.ID, "err", err)
		}
		return
	}
	if e.o.DeliveryFailed != nil {
		e.o.DeliveryFailed(m.Channel)
	}
	if now.Sub(m.OutboxStart()) >= e.o.GiveUpAfter {
		e.giveUp(mctx, m, err, now)
		return
	}
	next := now.Add(e.backoff(m.Attempts + 1))
	level := slog.LevelWarn
	if errors.Is(err, smtp.ErrNotConfigured) {
		level = slog.LevelDebug // mailReady said so once; not again per message and retry
	}
	e.log.Log(mctx, level, "notification not delivered", "id", m.ID, "channel", m.Channel, "attempt", m.Attempts+1,
		"retry_at", next, "err", err)
	if err := e.o.Store.MarkFailed(mctx, m.ID, err.Error(), next); err != nil {
		e.log.Error("recording failed notification", "id", m.ID, "err", err)
	}
}

// giveUp records the last failed attempt of a message that kept failing
// for longer than GiveUpAfter: it is not retried unless an administrator
// asks for it.
func (e *Engine) giveUp(ctx context.Context, m core.OutboxItem, err error, now time.Time) {
	e.log.Warn("notification given up", "id", m.ID, "channel", m.Channel, "attempts", m.Attempts+1,
		"since", m.OutboxStart(), "err", err)
	if err := e.o.Store.MarkGivenUp(ctx, m.ID, err.Error(), now); err != nil {
		e.log.Error("recording given-up notification", "id", m.ID, "err", err)
	}
}

// recordDelivered marks several messages delivered in one statement (see
// record for why ctx's end is ignored).
func (e *Engine) recordDelivered(ctx context.Context, ids []int64) {
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.o.Store.MarkDeliveredAll(mctx, ids, e.o.Now()); err != nil {
		e.log.Error("recording delivered notifications", "ids", ids, "err", err)
	}
}

// backoff doubles per attempt from RetryMin up to RetryMax, ±20 % jitter.
func (e *Engine) backoff(attempt int) time.Duration {
	d := e.o.RetryMin
	for i := 1; i < attempt && d < e.o.RetryMax; i++ {
		d *= 2
	}
	d = min(d, e.o.RetryMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func (e *Engine) deliver(ctx context.Context, m core.OutboxItem) error {
	if e.o.Deliver != nil {
		return e.o.Deliver(ctx, m)
	}
	return e.deliverChannel(ctx, m)
}

// deliverChannel sends m through its channel.
func (e *Engine) deliverChannel(ctx context.Context, m core.OutboxItem) error {
	var msg notify.Message
	if err := json.Unmarshal(m.Payload, &msg); err != nil {
		return fmt.Errorf("decoding notification %d: %w", m.ID, err)
	}
	switch m.Channel {
	case core.ChannelEmail:
		s, err := e.Settings(ctx)
		if err != nil {
			return err
		}
		return smtp.Send(ctx, e.smtpConfig(s), m.Target, msg)
	case core.ChannelWebhook:
		return webhook.Send(ctx, e.o.HTTPClient, m.Target, msg, e.o.Now())
	default:
		return fmt.Errorf("unknown channel %q", m.Channel)
	}
}

func (e *Engine) smtpConfig(s Settings) smtp.Config {
	c := s.SMTP
	c.TLSConfig = e.o.SMTPTLS
	return c
}

// SendTest sends a test e-mail with the given settings directly, not
// through the outbox, so that the caller sees the SMTP server's answer.
func SendTest(ctx context.Context, s Settings, to, lang string, tlsCfg *tls.Config, now time.Time) error {
	m := Render(Facts{Kind: notify.KindTest, At: now}, lang)
	m.Subject = "[Wacht] Test message"
	if m.Lang == "de" {
		m.Subject = "[Wacht] Testnachricht"
	}
	m.ID = notify.StableID("test:" + newRef())
	c := s.WithDefaults().SMTP
	c.TLSConfig = tlsCfg
	return smtp.Send(ctx, c, to, m)
}
