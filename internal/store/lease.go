package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/wacht-rmm/wacht/internal/clock"
)

// Leadership of a cluster-wide job is a lease in cluster_leases, fenced by
// time (docs/cluster.md, "Leading a job"):
//
//   - A leader renews its lease every leaseRenew by counting up beat, with
//     its term as the fencing token: a renewal of a term that is no longer
//     current changes nothing, and the leader stops at once.
//   - A leader stops its job leaseHold after it sent its last renewal that
//     succeeded, on its own clock, whether the database answers or not.
//   - Another node takes over only after it has seen the same (term, beat)
//     for leaseTTL on its own clock, and only if it is still unchanged.
//
// The other node began to look after the renewal was sent, and leaseHold <
// leaseTTL, so the old leader's job was told to stop leaseTTL - leaseHold
// before the new one starts; only durations on each node's monotonic clock
// count, never the offset between the nodes' clocks.
const (
	leaseRenew = 2 * time.Second
	leaseHold  = 6 * time.Second
	leaseTTL   = 10 * time.Second
	// leaseCall bounds the statements of a node that does not lead; they
	// decide nothing by their timing, so it runs on the real clock.
	leaseCall = 10 * time.Second
)

// Lead runs fn on one node of the cluster at a time until ctx ends: the
// node holding the named job's lease runs fn with a context that ends when
// it loses the lease, the others look at the lease every leaseRenew and
// take it over once it has not been renewed for leaseTTL. fn must return
// within leaseTTL - leaseHold (4 s) once its context ends; a leader that
// shuts down gives its lease back, so another node takes over at once. If
// fn returns early it is started again after a pause. On SQLite (a single
// node) fn simply runs.
func (s *DB) Lead(ctx context.Context, job string, fn func(ctx context.Context)) {
	clk := s.clk()
	if !s.Clustered() {
		for ctx.Err() == nil {
			fn(ctx)
			sleep(ctx, clk, leaseRenew)
		}
		return
	}
	var seen seenLease
	for ctx.Err() == nil {
		if term, sent, ok := s.takeLease(ctx, clk, job, &seen); ok {
			s.holdLease(ctx, clk, job, term, sent, fn)
			seen = seenLease{}
		}
		sleep(ctx, clk, leaseRenew)
	}
}

// seenLease is what a node that does not lead last saw of a lease, and
// when, by its own clock.
type seenLease struct {
	term, beat int64
	at         time.Time
}

// takeLease makes this node the job's leader if the lease was given back
// or has not changed for leaseTTL since seen; sent is when the statement
// that took it was sent.
func (s *DB) takeLease(ctx context.Context, clk clock.Clock, job string, seen *seenLease) (term int64, sent time.Time, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, leaseCall)
	defer cancel()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO cluster_leases (job, term, beat) VALUES ($1, 0, -1)
		ON CONFLICT (job) DO NOTHING`, job); err != nil {
		return 0, time.Time{}, false
	}
	var l seenLease
	if err := s.db.QueryRowContext(ctx, `SELECT term, beat FROM cluster_leases WHERE job = $1`, job).Scan(&l.term, &l.beat); err != nil {
		return 0, time.Time{}, false
	}
	if l.beat >= 0 { // held
		if l.term != seen.term || l.beat != seen.beat || seen.at.IsZero() {
			l.at = clk.Now() // after the renewal that set beat was sent
			*seen = l
			return 0, time.Time{}, false
		}
		if clk.Now().Sub(seen.at) < leaseTTL {
			return 0, time.Time{}, false
		}
	}
	sent = clk.Now()
	res, err := s.db.ExecContext(ctx, `UPDATE cluster_leases SET term = term + 1, beat = 0
		WHERE job = $1 AND term = $2 AND beat = $3`, job, l.term, l.beat)
	if changed(res, err) != 1 {
		return 0, time.Time{}, false
	}
	return l.term + 1, sent, true
}

// holdLease runs fn while it renews the lease of term, which it took by a
// statement sent at sent, and gives the lease back once fn has returned.
func (s *DB) holdLease(ctx context.Context, clk clock.Clock, job string, term int64, sent time.Time,
	fn func(ctx context.Context)) {
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	// The watchdog ends the term leaseHold after the last renewal was
	// sent, even while a renewal hangs on a connection that went dead.
	watchdog := clk.AfterFunc(sent.Add(leaseHold).Sub(clk.Now()), stop)
	defer watchdog.Stop()
	done := make(chan struct{})
	go func() { defer close(done); fn(lctx) }()
	defer func() {
		stop()
		<-done
		// Given back only after fn returned; a term taken over meanwhile
		// stays with its new leader.
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseCall)
		defer cancel()
		s.db.ExecContext(gctx, `UPDATE cluster_leases SET beat = -1 WHERE job = $1 AND term = $2`, job, term)
	}()
	tick := clk.NewTimer(leaseRenew)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-lctx.Done():
			return
		case <-tick.C():
		}
		sent := clk.Now()
		res, err := s.db.ExecContext(lctx, `UPDATE cluster_leases SET beat = beat + 1
			WHERE job = $1 AND term = $2 AND beat >= 0`, job, term)
		switch changed(res, err) {
		case 0: // another node leads now
			return
		case 1:
			watchdog.Reset(sent.Add(leaseHold).Sub(clk.Now()))
		} // an error: keep the deadline, try again
		tick.Reset(leaseRenew)
	}
}

// changed returns the number of rows a statement changed, -1 on an error.
func changed(res sql.Result, err error) int64 {
	if err != nil {
		return -1
	}
	n, err := res.RowsAffected()
	if err != nil {
		return -1
	}
	return n
}

func (s *DB) clk() clock.Clock {
	if s.clock == nil {
		return clock.Real
	}
	return s.clock
}

func sleep(ctx context.Context, clk clock.Clock, d time.Duration) {
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C():
	}
}
