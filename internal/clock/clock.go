// Package clock is the time source of code whose tests must control time:
// Real in production, Fake in tests, which move it forward by hand so that
// timers fire when the test says, not when a loaded machine gets round to it.
// Code that only reads the time takes a plain func() time.Time (Fake.Now
// serves as one).
package clock

import "time"

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer whose C receives the time once d has passed.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f once d has passed (Real: in its own goroutine).
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a one-shot timer of a Clock, like *time.Timer.
type Timer interface {
	// C is nil for a timer made by AfterFunc.
	C() <-chan time.Time
	// Stop prevents the timer from firing; false if it fired or was stopped.
	Stop() bool
	// Reset makes a stopped or fired timer fire once d has passed from now.
	Reset(d time.Duration) bool
}

// Real is the system clock.
var Real Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }
