package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a Clock that stands still until Advance or Set moves it. Its
// timers fire inside Advance, in the order of their deadlines; AfterFunc
// functions run there too, so that their effect has happened when Advance
// returns. Tests wait for the code under test to arm its next timer with
// WaitPending instead of sleeping.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer  // pending
	changed chan struct{} // closed and replaced whenever timers changes
}

// NewFake returns a Fake showing t.
func NewFake(t time.Time) *Fake { return &Fake{now: t, changed: make(chan struct{})} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Set moves the clock to t without firing timers (to jump over days in
// tests of code that only reads the time).
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t
	f.mu.Unlock()
}

// Advance moves the clock forward by d and fires every timer due by then.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	end := f.now.Add(d)
	for {
		var next *fakeTimer
		for _, t := range f.timers {
			if !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		f.now = next.at
		f.remove(next)
		f.mu.Unlock()
		next.fire(next.at)
		f.mu.Lock()
	}
	f.now = end
	f.mu.Unlock()
}

// Pending returns the number of timers that have not fired or stopped.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// WaitPending waits until exactly n timers are pending, or ctx ends.
func (f *Fake) WaitPending(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		got, ch := len(f.timers), f.changed
		f.mu.Unlock()
		if got == n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// NewTimer implements Clock.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// AfterFunc implements Clock.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	t := &fakeTimer{f: f, fn: fn}
	t.Reset(d)
	return t
}

// remove takes t off the pending list; f.mu is held.
func (f *Fake) remove(t *fakeTimer) bool {
	for i, p := range f.timers {
		if p == t {
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			f.notify()
			return true
		}
	}
	return false
}

// notify wakes WaitPending; f.mu is held.
func (f *Fake) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

type fakeTimer struct {
	f  *Fake
	at time.Time
	c  chan time.Time
	fn func()
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) fire(now time.Time) {
	if t.fn != nil {
		t.fn()
		return
	}
	select {
	case t.c <- now:
	default: // like time.Timer: an unread value stays, no second one
	}
}

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.f.remove(t)
}

// Reset re-arms the timer; one due already (d <= 0) fires at once, as a
// time.Timer would.
func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	was := t.f.remove(t)
	if t.c != nil {
		select { // like time.Timer since Go 1.23: no stale value after Reset
		case <-t.c:
		default:
		}
	}
	t.at = t.f.now.Add(d)
	if d <= 0 {
		now := t.f.now
		t.f.mu.Unlock()
		t.fire(now)
		return was
	}
	t.f.timers = append(t.f.timers, t)
	t.f.notify()
	t.f.mu.Unlock()
	return was
}
