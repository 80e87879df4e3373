package tlsconf

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSlotsNewestFirst: a freed slot goes to the newest waiter, a waiter
// that gives up leaves the queue, and a slot nobody waits for is free again.
func TestSlotsNewestFirst(t *testing.T) {
	s := newSlots(1)
	done := make(chan struct{})
	if err := s.acquire(context.Background(), done); err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 3)
	errs := make(chan error, 3)
	ctxs := make([]context.CancelFunc, 3)
	for i := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		ctxs[i] = cancel
		defer cancel()
		go func() {
			if err := s.acquire(ctx, done); err != nil {
				errs <- err
				return
			}
			got <- i
		}()
		waitWaiters(t, s, i+1) // queued in this order
	}

	s.release()
	if i := <-got; i != 2 {
		t.Fatalf("the freed slot went to waiter %d, want the newest (2)", i)
	}
	ctxs[0]()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled waiter got %v", err)
	}
	waitWaiters(t, s, 1)
	s.release()
	if i := <-got; i != 1 {
		t.Fatalf("the next slot went to waiter %d, want 1", i)
	}
	s.release()
	s.mu.Lock()
	free := s.free
	s.mu.Unlock()
	if free != 1 {
		t.Fatalf("%d slots free after every waiter was served, want 1", free)
	}
	close(done)
}

func waitWaiters(t *testing.T, s *slots, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		k := len(s.waiters)
		s.mu.Unlock()
		if k == n {
			return
		}
	}
	t.Fatalf("want %d waiters", n)
}
