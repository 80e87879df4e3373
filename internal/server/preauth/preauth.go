// Package preauth bounds what peers that have not authenticated hold on the
// server (issue 12, H1/H2). A Pool tracks connections that wait for their
// peer (a TLS ClientHello, an agent's auth frame), capped in total and per
// source network; a newcomer beyond a cap pushes out the oldest waiting
// connection instead of being refused, so idle sockets cannot lock out real
// clients, which never wait long. A Tally logs refused and failed
// connections as one summary line per interval instead of a line each.
package preauth

import (
	"container/list"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Source is the network a peer at hostport (a RemoteAddr) counts against:
// its IPv4 address, or the /64 of its IPv6 address (one host commonly holds
// a whole /64). Addresses that do not parse share the zero Source.
func Source(hostport string) netip.Prefix {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return netip.Prefix{}
	}
	a := ap.Addr().Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// MinWait is how long a connection waits before a newcomer may push it
// out of a Pool. A real client answers within a round trip, but a server
// busy with a reconnect storm may not get round to reading the answer at
// once; those must not be dropped for the next arrivals.
const MinWait = time.Second

// Pool is a set of waiting connections, at most max in total and
// perSource from one Source, except that connections that have waited less
// than MinWait are never dropped (the caps may be exceeded by what arrives
// within MinWait). It is safe for concurrent use.
type Pool struct {
	max, perSource int

	mu       sync.Mutex
	all      list.List // *Entry, oldest first
	bySource map[netip.Prefix]*list.List
}

// Entry is one connection in a Pool.
type Entry struct {
	source       netip.Prefix
	added        time.Time
	drop         func()
	inAll, inSrc *list.Element
	gone         bool // removed or dropped; under Pool.mu
}

// NewPool returns a Pool with these caps (each at least 1).
func NewPool(total, perSource int) *Pool {
	return &Pool{max: max(total, 1), perSource: max(perSource, 1), bySource: map[netip.Prefix]*list.List{}}
}

// Add records a waiting connection from source that drop ends. When that
// exceeds a cap, the oldest waiting connection of the source (per-source
// cap) or of all (total cap) is removed and its drop called, outside the
// lock, if it waited MinWait at least; Add returns how many were dropped
// (0 or 1).
func (p *Pool) Add(source netip.Prefix, drop func()) (*Entry, int) {
	now := time.Now()
	e := &Entry{source: source, added: now, drop: drop}
	p.mu.Lock()
	src := p.bySource[source]
	if src == nil {
		src = list.New()
		p.bySource[source] = src
	}
	e.inAll = p.all.PushBack(e)
	e.inSrc = src.PushBack(e)
	var victim *Entry
	switch {
	case src.Len() > p.perSource:
		victim = src.Front().Value.(*Entry)
	case p.all.Len() > p.max:
		victim = p.all.Front().Value.(*Entry)
	}
	if victim != nil && now.Sub(victim.added) < MinWait {
		victim = nil
	}
	if victim != nil {
		p.removeLocked(victim)
	}
	p.mu.Unlock()
	if victim == nil {
		return e, 0
	}
	victim.drop()
	return e, 1
}

// Remove takes e out of the pool: its connection stopped waiting. It
// reports false if e had been dropped (or removed) already.
func (p *Pool) Remove(e *Entry) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.gone {
		return false
	}
	p.removeLocked(e)
	return true
}

func (p *Pool) removeLocked(e *Entry) {
	e.gone = true
	p.all.Remove(e.inAll)
	src := p.bySource[e.source]
	src.Remove(e.inSrc)
	if src.Len() == 0 {
		delete(p.bySource, e.source)
	}
}

// Len is the number of waiting connections.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.all.Len()
}

// Tally counts events by kind and logs them as one line (msg, the
// interval, and a count per kind) at the end of an interval that had any,
// instead of one line per event. It is safe for concurrent use.
type Tally struct {
	log   *slog.Logger
	msg   string
	every time.Duration

	mu     sync.Mutex
	counts map[string]int
	timer  *time.Timer // pending summary; nil when nothing is counted
	closed bool
}

// NewTally returns a Tally logging msg at Info level at most once per
// interval.
func NewTally(log *slog.Logger, msg string, every time.Duration) *Tally {
	return &Tally{log: log, msg: msg, every: every, counts: map[string]int{}}
}

// Add counts one event. The first of an interval schedules its summary.
func (t *Tally) Add(kind string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts[kind]++
	if t.timer == nil && !t.closed {
		t.timer = time.AfterFunc(t.every, t.flush)
	}
}

func (t *Tally) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timer = nil
	t.logLocked()
}

func (t *Tally) logLocked() {
	if len(t.counts) == 0 {
		return
	}
	args := []any{"interval", t.every}
	for _, k := range slices.Sorted(maps.Keys(t.counts)) {
		args = append(args, k, t.counts[k])
	}
	clear(t.counts)
	t.log.Info(t.msg, args...)
}

// Close logs what is counted and stops; later events are counted but not
// logged.
func (t *Tally) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.closed = true
	t.logLocked()
}
