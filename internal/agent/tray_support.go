package agent

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

// The users' support requests (issue 20): kept in support.json (a
// screenshot in support/<ref>.png until the server has it), sent on every
// session until the server acknowledges them, like the patch report, and
// kept afterwards for the tray's list with the state and replies the
// server sends (TypeSupportState).
const (
	SupportFile = "support.json"
	supportDir  = "support"
)

// Bounds of the requests a tray may leave with the agent.
const (
	maxUnsentPerUser  = 10  // waiting for the server, per user
	maxPerUserHour    = 20  // sent by one user within an hour
	maxUnsentTotal    = 50  // waiting, all users together (a terminal server)
	maxSupportRecords = 200 // kept for the lists, the oldest sent ones dropped first
	maxSupportReplies = 10  // the newest replies kept per request
)

// supportRecord is one request as the agent keeps it.
type supportRecord struct {
	Ref string `json:"ref"`
	// UID is the peer's ID (trayipc.Peer.UID) that made it; "" for a
	// request only the server told of (then OSUser finds its user).
	UID        string              `json:"uid,omitempty"`
	OSUser     string              `json:"os_user"`
	Contact    core.SupportContact `json:"contact"`
	Message    string              `json:"message,omitempty"`
	Lang       string              `json:"lang,omitempty"`
	CreatedAt  time.Time           `json:"created_at,omitzero"`
	Screenshot bool                `json:"screenshot,omitempty"` // support/<ref>.png waits to be sent
	Sent       bool                `json:"sent,omitempty"`       // the server has it
	State      string              `json:"state,omitempty"`
	UpdatedAt  time.Time           `json:"updated_at,omitzero"`
	Replies    []core.SupportReply `json:"replies,omitempty"`
}

// supportBox keeps the requests and sends them.
type supportBox struct {
	path, dir string // "" keeps them in memory only (tests)
	log       *slog.Logger
	acks      chan protocol.Envelope // TypeSupportAck, from the read loop
	kick      chan struct{}          // a request waits or a session began

	mu       sync.Mutex
	recs     map[string]*supportRecord
	failures int       // requests unanswered in a row
	sendAt   time.Time // the next attempt after an unanswered one
}

func newSupportBox(dataDir string, log *slog.Logger) *supportBox {
	b := &supportBox{log: log, acks: make(chan protocol.Envelope, 4), kick: make(chan struct{}, 1)}
	if dataDir != "" {
		b.path, b.dir = filepath.Join(dataDir, SupportFile), filepath.Join(dataDir, supportDir)
	}
	b.recs = loadRecords[supportRecord](b.path, log, "the support requests", "starting with none")
	return b
}

func (b *supportBox) wake() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *supportBox) shotPath(ref string) string { return filepath.Join(b.dir, ref+".png") }

// saveLocked writes the records, returning the error.
func (b *supportBox) saveLocked() error {
	if b.path == "" {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // replies are text, not HTML: keep them small
	if err := enc.Encode(b.recs); err != nil {
		return err
	}
	return writeFileAtomic(b.path, buf.Bytes())
}

func (b *supportBox) saveOrLogLocked() {
	if err := b.saveLocked(); err != nil {
		b.log.Warn("cannot save the support requests", "err", err)
	}
}

// dropShotLocked deletes r's screenshot file.
func (b *supportBox) dropShotLocked(r *supportRecord) {
	if !r.Screenshot || b.dir == "" {
		r.Screenshot = false
		return
	}
	r.Screenshot = false
	if err := os.Remove(b.shotPath(r.Ref)); err != nil && !errors.Is(err, os.ErrNotExist) {
		b.log.Warn("cannot delete a sent screenshot", "ref", r.Ref, "err", err)
	}
}

// pruneLocked drops sent requests older than the server reports them and,
// beyond maxSupportRecords, the oldest sent ones.
func (b *supportBox) pruneLocked(now time.Time) {
	var sent []*supportRecord
	for ref, r := range b.recs {
		if !r.Sent {
			continue
		}
		if now.Sub(latest(r)) > protocol.SupportStateDays*24*time.Hour {
			delete(b.recs, ref)
			continue
		}
		sent = append(sent, r)
	}
	if over := len(b.recs) - maxSupportRecords; over > 0 {
		slices.SortFunc(sent, func(x, y *supportRecord) int { return latest(x).Compare(latest(y)) })
		for _, r := range sent[:min(over, len(sent))] {
			delete(b.recs, r.Ref)
		}
	}
}

// latest is the last time r changed.
func latest(r *supportRecord) time.Time {
	if r.UpdatedAt.After(r.CreatedAt) {
		return r.UpdatedAt
	}
	return r.CreatedAt
}

// checkSupportArgs validates what the tray sent, in the user's words.
func checkSupportArgs(s trayipc.SupportArgs) *trayipc.Error {
	msg := strings.TrimSpace(s.Message)
	switch {
	case msg == "":
		return trayErr(trayipc.CodeBadRequest, "Please describe what you need help with.", "Bitte beschreiben Sie, wobei Sie Hilfe brauchen.")
	case len(msg) > core.MaxSupportMessage || !utf8.ValidString(msg):
		return trayErr(trayipc.CodeBadRequest, "The message is too long (at most %d characters).", "Die Nachricht ist zu lang (höchstens %d Zeichen).", core.MaxSupportMessage)
	case len(s.Contact.Name) > core.MaxSupportContact || len(s.Contact.Email) > core.MaxSupportContact || len(s.Contact.Phone) > core.MaxSupportContact:
		return trayErr(trayipc.CodeBadRequest, "Name, e-mail and phone may each have at most %d characters.", "Name, E-Mail und Telefon dürfen je höchstens %d Zeichen haben.", core.MaxSupportContact)
	case !utf8.ValidString(s.Contact.Name + s.Contact.Email + s.Contact.Phone):
		return trayErr(trayipc.CodeBadRequest, "The contact details contain invalid characters.", "Die Kontaktdaten enthalten ungültige Zeichen.")
	case s.Lang != "de" && s.Lang != "en":
		return trayErr(trayipc.CodeBadRequest, "Unknown language %q (de or en).", "Unbekannte Sprache %q (de oder en).", s.Lang)
	case len(s.Screenshot) > core.MaxSupportScreenshot:
		return trayErr(trayipc.CodeBadRequest, "The screenshot is too large (at most %d MB).", "Das Bildschirmfoto ist zu groß (höchstens %d MB).", core.MaxSupportScreenshot>>20)
	case len(s.Screenshot) > 0 && !protocol.IsPNG(s.Screenshot):
		return trayErr(trayipc.CodeBadRequest, "The screenshot is not a PNG image.", "Das Bildschirmfoto ist kein PNG-Bild.")
	}
	return nil
}

var errSupportBusy = &trayipc.Error{Code: trayipc.CodeBusy, Message: core.Text{
	EN: "Too many requests at once. Please wait until IT has received your earlier ones, or call.",
	DE: "Zu viele Anfragen auf einmal. Bitte warten Sie, bis die IT Ihre früheren erhalten hat, oder rufen Sie an.",
}}

// add stores a new request of peer p on disk, screenshot first, and
// returns its Ref; the tray learns of nothing that is not saved.
func (b *supportBox) add(p trayipc.Peer, s trayipc.SupportArgs, now time.Time) (string, error) {
	if err := checkSupportArgs(s); err != nil {
		return "", err
	}
	r := &supportRecord{Ref: uuid.NewString(), UID: p.UID, OSUser: p.User, Contact: s.Contact,
		Message: strings.TrimSpace(s.Message), Lang: s.Lang, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	req := protocol.SupportRequest{Ref: r.Ref, OSUser: r.OSUser, Contact: r.Contact, Message: r.Message, Lang: r.Lang,
		Screenshot: s.Screenshot, CreatedAt: r.CreatedAt}
	if err := req.Validate(); err != nil {
		return "", trayErr(trayipc.CodeBadRequest, "The request cannot be sent: %v.", "Die Anfrage kann nicht gesendet werden: %v.", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	unsent, mine, hour := 0, 0, 0
	for _, o := range b.recs {
		if !o.Sent {
			unsent++
		}
		if o.UID != p.UID {
			continue
		}
		if !o.Sent {
			mine++
		}
		if now.Sub(o.CreatedAt) < time.Hour {
			hour++
		}
	}
	if unsent >= maxUnsentTotal || mine >= maxUnsentPerUser || hour >= maxPerUserHour {
		return "", errSupportBusy
	}
	if len(s.Screenshot) > 0 && b.dir != "" {
		if err := writeFileAtomic(b.shotPath(r.Ref), s.Screenshot); err != nil {
			return "", fmt.Errorf("saving the screenshot: %w", err)
		}
		r.Screenshot = true
	}
	b.recs[r.Ref] = r
	b.pruneLocked(now)
	if err := b.saveLocked(); err != nil {
		delete(b.recs, r.Ref)
		b.dropShotLocked(r)
		return "", fmt.Errorf("saving the support request: %w", err)
	}
	b.wake()
	return r.Ref, nil
}

// requests lists peer p's own requests, newest first: those it made (by
// UID) and those the server told of for its account.
func (b *supportBox) requests(p trayipc.Peer) trayipc.Requests {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := trayipc.Requests{Requests: []trayipc.UserRequest{}}
	var mine []*supportRecord
	for _, r := range b.recs {
		if r.UID == p.UID || r.UID == "" && r.OSUser == p.User {
			mine = append(mine, r)
		}
	}
	slices.SortFunc(mine, func(x, y *supportRecord) int {
		return cmp.Or(cmp.Or(y.CreatedAt, y.UpdatedAt).Compare(cmp.Or(x.CreatedAt, x.UpdatedAt)), strings.Compare(x.Ref, y.Ref))
	})
	size := 0
	for _, r := range mine {
		// The answer must fit one line, even with every character
		// escaped (6 bytes in JSON): the oldest go when replies are long.
		size += len(r.Message) + 256
		for _, rp := range r.Replies {
			size += len(rp.Author) + len(rp.Body) + 128
		}
		if size > trayipc.MaxLine/6 {
			break
		}
		u := trayipc.UserRequest{Ref: r.Ref, Message: r.Message, CreatedAt: cmp.Or(r.CreatedAt, r.UpdatedAt), Sent: r.Sent,
			UpdatedAt: r.UpdatedAt, Replies: slices.Clone(r.Replies)}
		if r.Sent {
			u.State = cmp.Or(r.State, core.SupportNew)
		}
		out.Requests = append(out.Requests, u)
	}
	return out
}

// merge takes the server's state of the device's requests; requests it
// does not know locally are kept for their account.
func (b *supportBox) merge(st protocol.SupportState, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, s := range st.Requests {
		if i >= protocol.MaxSupportState {
			break
		}
		if !core.ValidSupportState(s.State) || len(s.Ref) > 64 || s.Ref == "" || s.OSUser == "" || len(s.OSUser) > core.MaxSupportContact {
			b.log.Warn("ignoring a malformed support state", "ref", truncate(s.Ref, 64))
			continue
		}
		r := b.recs[s.Ref]
		if r == nil {
			r = &supportRecord{Ref: s.Ref, OSUser: s.OSUser}
			b.recs[s.Ref] = r
		}
		if !r.Sent {
			// The server has it even if its ack was lost.
			r.Sent = true
			b.dropShotLocked(r)
		}
		r.State, r.UpdatedAt = s.State, s.UpdatedAt
		r.Replies = nil
		for _, rp := range s.Replies[max(len(s.Replies)-maxSupportReplies, 0):] {
			rp.Author, rp.Body = truncate(rp.Author, core.MaxSupportContact), truncate(rp.Body, core.MaxSupportReply)
			r.Replies = append(r.Replies, rp)
		}
	}
	b.pruneLocked(now)
	b.saveOrLogLocked()
}

// next returns the oldest request waiting for the server with its
// screenshot, or when to look again.
func (b *supportBox) next(now time.Time) (*protocol.SupportRequest, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.sendAt) {
		return nil, b.sendAt
	}
	var first *supportRecord
	for _, r := range b.recs {
		if !r.Sent && (first == nil || r.CreatedAt.Before(first.CreatedAt)) {
			first = r
		}
	}
	if first == nil {
		return nil, time.Time{}
	}
	req := &protocol.SupportRequest{Ref: first.Ref, OSUser: first.OSUser, Contact: first.Contact, Message: first.Message,
		Lang: first.Lang, CreatedAt: first.CreatedAt}
	if first.Screenshot {
		shot, err := os.ReadFile(b.shotPath(first.Ref))
		if err != nil {
			// Sent without it rather than never.
			b.log.Warn("cannot read a request's screenshot; sending it without", "ref", first.Ref, "err", err)
		}
		req.Screenshot = shot
	}
	return req, time.Time{}
}

// answered takes the server's acknowledgement of ref: stored keeps it as
// sent, without its screenshot; rejected drops it (it would be refused
// again).
func (b *supportBox) answered(ref string, stored bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.sendAt = 0, time.Time{}
	r := b.recs[ref]
	if r == nil {
		return
	}
	b.dropShotLocked(r)
	if stored {
		r.Sent = true
	} else {
		delete(b.recs, ref)
	}
	b.saveOrLogLocked()
}

// unanswered schedules the next attempt after a request got no answer.
func (b *supportBox) unanswered(now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	b.sendAt = now.Add(backoff(b.failures, patchReportRetry, patchReportMax))
	return b.sendAt
}

// runSupport sends the waiting requests on the welcomed session, one at a
// time until each is acknowledged, and again on every new session.
func (a *Agent) runSupport(ctx context.Context) {
	for ctx.Err() == nil {
		wait := maxSleep
		if link := a.invLink.Load(); link != nil && !link.ended() {
			r, retry := a.support.next(a.now())
			if r != nil {
				a.sendSupport(ctx, link, r)
				continue
			}
			if !retry.IsZero() {
				wait = min(max(retry.Sub(a.now()), 0), maxSleep)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-a.support.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// sendSupport sends r and waits for its acknowledgement.
func (a *Agent) sendSupport(ctx context.Context, link *invLink, r *protocol.SupportRequest) {
	err := link.c.send(protocol.TypeSupportRequest, r.Ref, r)
	var env protocol.Envelope
	if err == nil {
		env, err = a.waitAck(ctx, link, a.support.acks, r.Ref)
	}
	var ack protocol.SupportAck
	if err == nil {
		err = protocol.DecodeData(env, &ack)
	}
	switch {
	case err == nil && ack.Status == protocol.SupportStored:
		a.support.answered(r.Ref, true)
		a.log.Info("support request delivered", "ref", r.Ref)
	case err == nil && ack.Status == protocol.SupportRejected:
		a.support.answered(r.Ref, false)
		a.log.Error("the server refused a support request; dropped", "ref", r.Ref, "reason", ack.Reason)
	case ctx.Err() != nil:
	case errors.Is(err, errSessionEnded) || link.ended():
		a.log.Info("session ended before the support request was acknowledged; resending on the next", "ref", r.Ref)
	default:
		if err == nil {
			err = fmt.Errorf("support request not stored: %q", ack.Status)
		}
		next := a.support.unanswered(a.now())
		a.log.Warn("support request not acknowledged", "ref", r.Ref, "err", err, "retry_at", next)
	}
}
