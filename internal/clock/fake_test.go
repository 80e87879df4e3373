package clock

import (
	"context"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)

// TestFakeFiresInOrder: timers fire only when Advance reaches them, in the
// order of their deadlines, each seeing its own deadline as the time.
func TestFakeFiresInOrder(t *testing.T) {
	f := NewFake(t0)
	var got []time.Duration
	late := f.AfterFunc(3*time.Second, func() { got = append(got, f.Now().Sub(t0)) })
	f.AfterFunc(time.Second, func() { got = append(got, f.Now().Sub(t0)) })
	tm := f.NewTimer(2 * time.Second)
	if f.Pending() != 3 {
		t.Fatalf("%d pending, want 3", f.Pending())
	}
	f.Advance(time.Second - 1)
	select {
	case <-tm.C():
		t.Fatal("timer fired early")
	default:
	}
	if len(got) != 0 {
		t.Fatalf("fired early: %v", got)
	}
	f.Advance(1500 * time.Millisecond)
	if at := <-tm.C(); !at.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("timer saw %v", at)
	}
	if len(got) != 1 || got[0] != time.Second {
		t.Errorf("fired at %v, want [1s]", got)
	}
	if !late.Stop() || late.Stop() {
		t.Error("Stop of a pending timer must report true once")
	}
	f.Advance(time.Hour)
	if len(got) != 1 || f.Pending() != 0 || !f.Now().Equal(t0.Add(time.Hour+2500*time.Millisecond-1)) {
		t.Errorf("after a stop: fired %v, %d pending, now %v", got, f.Pending(), f.Now())
	}
}

// TestFakeReset: Reset re-arms from the current fake time, drops a value
// nobody read, and fires a timer that is already due at once.
func TestFakeReset(t *testing.T) {
	f := NewFake(t0)
	tm := f.NewTimer(time.Second)
	f.Advance(time.Second) // fired, value unread
	if tm.Reset(time.Second) {
		t.Error("Reset of a fired timer reported it pending")
	}
	select {
	case <-tm.C():
		t.Fatal("stale value after Reset")
	default:
	}
	fired := false
	f.AfterFunc(-time.Second, func() { fired = true })
	if !fired {
		t.Error("a due AfterFunc did not run at once")
	}
	f.Advance(time.Second)
	<-tm.C()
}

// TestFakeWaitPending: WaitPending returns once the code under test has
// armed the timers it waits on.
func TestFakeWaitPending(t *testing.T) {
	f := NewFake(t0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 {
			<-f.NewTimer(time.Second).C()
		}
	}()
	for range 3 {
		if err := f.WaitPending(ctx, 1); err != nil {
			t.Fatal(err)
		}
		f.Advance(time.Second)
	}
	<-done
	short, stop := context.WithCancel(ctx)
	stop()
	if err := f.WaitPending(short, 1); err == nil {
		t.Error("WaitPending did not end with its context")
	}
}
