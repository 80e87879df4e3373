package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// InventoryFile keeps the last inventory the server acknowledged, the base
// of the next diff: a restart sends a diff, not the whole inventory.
const InventoryFile = "inventory.json"

// Timing of inventory reports. A server that does not know inventories
// (an older version) never answers: the retry stays slow.
const (
	invRetryMin = 5 * time.Minute // first wait after a report went unanswered
	invRetryMax = 6 * time.Hour
)

// storedInventory is inventory.json. At is when the server acknowledged
// it, which the daily schedule counts from.
type storedInventory struct {
	Digest    string         `json:"digest"`
	At        time.Time      `json:"at"`
	Inventory core.Inventory `json:"inventory"`
}

// invState is the agent's inventory state: the acknowledged inventory,
// the requests waiting and the retry back-off.
type invState struct {
	path string // "" keeps the state in memory only
	log  *slog.Logger

	acks chan protocol.Envelope // TypeInventoryAck, from the read loop
	kick chan struct{}          // a session was welcomed or a refresh asked

	mu       sync.Mutex
	acked    *storedInventory // nil: nothing acknowledged, the next report is whole
	want     bool             // a refresh is waiting
	wantFull bool
	// A report the server did not store is tried again (whole if it was)
	// once retryAt passed.
	again     bool
	againFull bool
	failures  int
	retryAt   time.Time
}

func newInvState(path string, log *slog.Logger) *invState {
	s := &invState{path: path, log: log, acks: make(chan protocol.Envelope, 4), kick: make(chan struct{}, 1)}
	s.acked = loadInventory(path, log)
	return s
}

// loadInventory reads inventory.json. A damaged file, or one whose
// inventory does not have its digest, counts as none: the next report is
// whole, which always works.
func loadInventory(path string, log *slog.Logger) *storedInventory {
	si, ok := loadJSON[storedInventory](path, log, "the acknowledged inventory", "sending the whole inventory")
	if !ok {
		return nil
	}
	si.Inventory = protocol.NormalizeInventory(si.Inventory)
	if d := protocol.InventoryDigest(si.Inventory); d != si.Digest {
		log.Warn("acknowledged inventory does not match its digest; sending the whole inventory", "digest", si.Digest, "computed", d)
		return nil
	}
	return &si
}

// stored records inv (digest d) as acknowledged at at and persists it. A
// file that cannot be written costs a whole report after a restart.
func (s *invState) stored(inv core.Inventory, d string, at time.Time) {
	si := &storedInventory{Digest: d, At: at.UTC(), Inventory: inv}
	s.mu.Lock()
	s.acked, s.failures, s.retryAt, s.again = si, 0, time.Time{}, false
	s.mu.Unlock()
	saveJSON(s.path, si, s.log, "the acknowledged inventory; the next start sends it whole")
}

// failed schedules the next attempt of a report (full: a whole one) with
// a doubling back-off from first.
func (s *invState) failed(now time.Time, first time.Duration, full bool) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.again, s.againFull = true, full
	wait := first
	for i := 0; i < s.failures && wait < invRetryMax; i++ {
		wait *= 2
	}
	s.failures++
	s.retryAt = now.Add(min(wait, invRetryMax))
	return s.retryAt
}

// base returns the acknowledged inventory, nil for none.
func (s *invState) base() *core.Inventory {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acked == nil {
		return nil
	}
	inv := s.acked.Inventory
	return &inv
}

// request asks for a collection now (full: a whole report). Requests that
// arrive while a collection runs are coalesced into one more run after it.
func (s *invState) request(full bool) {
	s.mu.Lock()
	s.want = true
	s.wantFull = s.wantFull || full
	s.mu.Unlock()
	s.wake()
}

func (s *invState) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// due says whether to collect at now: a refresh was asked, or (outside a
// retry back-off) a report failed, nothing was ever acknowledged or the
// daily run at h:m is due. It takes the waiting refresh or retry. retry is
// when the back-off ends (zero if none).
func (s *invState) due(now time.Time, loc *time.Location, h, m int) (run, full bool, retry time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.want {
		run, full = true, s.wantFull
		s.want, s.wantFull = false, false
		return run, full, time.Time{}
	}
	if now.Before(s.retryAt) {
		return false, false, s.retryAt
	}
	if s.again {
		run, full = true, s.againFull
		s.again, s.againFull = false, false
		return run, full, time.Time{}
	}
	if s.acked == nil {
		return true, false, time.Time{}
	}
	return inventoryDue(s.acked.At, now, loc, h, m), false, time.Time{}
}

// inventoryDue says whether the daily inventory at h:m (wall clock in loc)
// is due at now, the last one acknowledged at last. Like a daily check, a
// day missed while the machine was off runs at the next start.
func inventoryDue(last, now time.Time, loc *time.Location, h, m int) bool {
	if last.IsZero() {
		return true
	}
	if last.After(now) {
		last = now // the clock went back: count from now
	}
	return !nextDaily(last.In(loc), h, m).After(now)
}

// inventoryAt is the daily inventory's time: the earliest daily check of
// the plan, else the policy's default for workstations.
func inventoryAt(plan []planned) (h, m int) {
	var ats []string
	for _, p := range plan {
		if p.Schedule.Class == core.ScheduleDaily && p.Schedule.At != "" {
			ats = append(ats, p.Schedule.At)
		}
	}
	sort.Strings(ats) // "HH:MM" sorts by time
	for _, at := range ats {
		if h, m, err := policy.ParseAt(at); err == nil {
			return h, m
		}
	}
	h, m, _ = policy.ParseAt(policy.DefaultAtWorkstation)
	return h, m
}

// invLink is the session the inventory is sent on; done ends with it.
type invLink struct {
	c    conn
	done <-chan struct{}
}

// runInventory collects and sends the inventory until ctx ends: after a
// session is welcomed when nothing was ever acknowledged or a collection is
// due, daily, and when the server asks (ActionInventoryRefresh). It is one
// goroutine, so one collection runs at a time, and it waits for nothing
// the heartbeats or result batches need.
func (a *Agent) runInventory(ctx context.Context) {
	for ctx.Err() == nil {
		wait := maxSleep
		if link := a.invLink.Load(); link != nil {
			h, m := inventoryAt(a.plan.get())
			run, full, retry := a.inv.due(a.now(), a.sched.loc, h, m)
			if run {
				a.inventoryOnce(ctx, link, full)
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
		case <-a.inv.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// inventoryOnce collects and sends one report; a report the server did
// not store is tried again after a back-off.
func (a *Agent) inventoryOnce(ctx context.Context, link *invLink, full bool) {
	cur := protocol.NormalizeInventory(a.opts.Inventory(ctx))
	if ctx.Err() != nil {
		return
	}
	err := a.sendInventory(ctx, link, cur, full)
	switch {
	case err == nil:
	case ctx.Err() != nil:
	default:
		next := a.inv.failed(a.now(), a.opts.InventoryRetry, full)
		a.log.Warn("inventory not stored by the server", "err", err, "retry_at", next)
	}
}

// errInventoryUnanswered: the server did not acknowledge a report in time.
var errInventoryUnanswered = errors.New("no answer to the inventory report in time")

// sendInventory sends cur as a diff against the acknowledged inventory
// (whole if full or none is acknowledged) and waits for the server to
// store it. A server that asks for a resend (restored from a backup, or
// it forgot the device) gets the whole inventory once.
func (a *Agent) sendInventory(ctx context.Context, link *invLink, cur core.Inventory, full bool) error {
	prev := a.inv.base()
	if prev != nil {
		// A part that failed this time keeps what the server knows.
		protocol.KeepMissing(prev, &cur)
		cur = protocol.NormalizeInventory(cur)
	}
	base := prev
	if full {
		base = nil
	}
	for {
		id := uuid.NewString()
		b, sent, digest, err := encodeInventory(id, protocol.DiffInventory(base, cur), cur)
		if err != nil {
			return err
		}
		if err := link.c.write(protocol.TypeInventory, b); err != nil {
			return err
		}
		a.log.Info("inventory sent", "whole", base == nil, "bytes", len(b), "programs", len(sent.Software))
		ack, err := a.waitInventoryAck(ctx, link, id)
		if err != nil {
			return err
		}
		switch {
		case ack.Status == protocol.InventoryStored && ack.Digest == digest:
			a.inv.stored(sent, digest, a.now())
			return nil
		case ack.Status == protocol.InventoryStored:
			a.log.Warn("server stored another inventory than sent; sending it whole", "sent", digest, "stored", ack.Digest)
		case ack.Status == protocol.InventoryResend:
			a.log.Info("server asks for the whole inventory", "reason", ack.Reason)
		default:
			return fmt.Errorf("unknown inventory acknowledgement %q", ack.Status)
		}
		if base == nil {
			return fmt.Errorf("server did not store the whole inventory: %s %s", ack.Status, ack.Reason)
		}
		base = nil
	}
}

// waitInventoryAck waits for the acknowledgement of report id, until the
// session ends or twice the results' ack timeout passes.
func (a *Agent) waitInventoryAck(ctx context.Context, link *invLink, id string) (protocol.InventoryAck, error) {
	var ack protocol.InventoryAck
	t := time.NewTimer(2 * a.opts.AckTimeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ack, ctx.Err()
		case <-link.done:
			return ack, errors.New("session ended before the inventory was acknowledged")
		case <-t.C:
			return ack, errInventoryUnanswered
		case env := <-a.inv.acks:
			if env.ID != id {
				continue // a late answer to an abandoned report
			}
			err := protocol.DecodeData(env, &ack)
			return ack, err
		}
	}
}

// encodeInventory encodes report r with id, which turns the server's
// inventory into cur. A report larger than a
// message may be (the server would close the session) becomes a whole
// inventory with the program list cut until it fits, and a gap saying
// so. It returns the inventory the server will hold after it, and its
// digest.
func encodeInventory(id string, r protocol.InventoryReport, cur core.Inventory) (b []byte, sent core.Inventory, digest string, err error) {
	sent = cur
	b, err = protocol.Encode(protocol.TypeInventory, id, r)
	if err != nil || len(b) <= protocol.MaxMessageBytes {
		return b, sent, r.Digest, err
	}
	all := len(sent.Software)
	cut := func(n int) (protocol.InventoryReport, []byte, error) {
		inv := sent
		inv.Software = sent.Software[:n]
		inv.Missing = append(append([]core.InventoryGap(nil), sent.Missing...), core.InventoryGap{Part: core.PartSoftware,
			Error: fmt.Sprintf("%d programs found; only the first %d are sent: the whole list is larger than the %d bytes of one message", all, n, protocol.MaxMessageBytes)})
		rep := protocol.DiffInventory(nil, protocol.NormalizeInventory(inv))
		b, err := protocol.Encode(protocol.TypeInventory, id, rep)
		return rep, b, err
	}
	// The largest n that fits; encoding is far cheaper than collecting.
	n := sort.Search(all+1, func(n int) bool {
		_, b, err := cut(n)
		return err != nil || len(b) > protocol.MaxMessageBytes
	}) - 1
	if n < 0 {
		return nil, sent, "", fmt.Errorf("the inventory without programs is still larger than %d bytes", protocol.MaxMessageBytes)
	}
	rep, b, err := cut(n)
	if err != nil {
		return nil, sent, "", err
	}
	return b, *rep.Full, rep.Digest, nil
}

func inventoryPath(dir string) string { return filepath.Join(dir, InventoryFile) }
