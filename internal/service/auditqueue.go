package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// AuditQueue writes audit entries in the background, in the order they
// were added, so that a command's reply does not wait for the audit
// chain's lock (appends are serialized and, under heavy ingest, queue
// behind result writes). An entry keeps the time it was added; a failed
// write is retried until it succeeds or Close gives up, and Close writes
// whatever is still queued. Only the entries of the last milliseconds
// before a crash can be lost, never those of a graceful shutdown.
type AuditQueue struct {
	store   core.AuditStore
	log     *slog.Logger
	entries chan core.AuditEntry
	stop    chan struct{} // closed by Close: give up retrying at its deadline
	done    chan struct{}
	retry   time.Duration
}

// auditWriteTimeout bounds one attempt to write an entry.
const auditWriteTimeout = 10 * time.Second

// NewAuditQueue starts the queue's writer.
func NewAuditQueue(st core.AuditStore, log *slog.Logger) *AuditQueue {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := &AuditQueue{store: st, log: log, entries: make(chan core.AuditEntry, 1024),
		stop: make(chan struct{}), done: make(chan struct{}), retry: time.Second}
	go q.run()
	return q
}

// Add queues e. When the queue is full it waits: entries are never
// dropped.
func (q *AuditQueue) Add(e core.AuditEntry) { q.entries <- e }

func (q *AuditQueue) run() {
	defer close(q.done)
	for e := range q.entries {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), auditWriteTimeout)
			err := q.store.Audit(ctx, e)
			cancel()
			if err == nil {
				break
			}
			q.log.Error("writing an audit entry; retrying", "action", e.Action, "target", e.Target, "err", err)
			select {
			case <-q.stop:
				q.log.Error("audit entry not written", "action", e.Action, "target", e.Target, "actor", e.Actor, "at", e.At)
			case <-time.After(q.retry):
				continue
			}
			break
		}
	}
}

// Close stops accepting entries and waits until every queued one is
// written. When ctx ends first, entries that still fail are logged in
// full (never silently dropped) and Close returns the context's error.
// Add must not be called after Close.
func (q *AuditQueue) Close(ctx context.Context) error {
	close(q.entries)
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		close(q.stop)
		<-q.done
		return fmt.Errorf("writing queued audit entries: %w", ctx.Err())
	}
}

// recordLater audits like record, but through the AuditQueue when the
// Service has one, so that the caller's reply does not wait for the write.
func (s *Service) recordLater(ctx context.Context, u core.User, action, target, detail, result string) error {
	if s.audits == nil {
		return s.record(ctx, u, action, target, detail, result)
	}
	s.audits.Add(s.auditEntry(ctx, u, action, target, detail, result))
	return nil
}
