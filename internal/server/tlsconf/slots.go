package tlsconf

import (
	"context"
	"net"
	"sync"
)

// slots is a counting semaphore whose waiters are served newest first.
// Under a burst of handshakes (an attack, or every agent reconnecting after
// a restart) a first-come queue makes everyone wait for the whole burst,
// the user who just opened the dashboard included, and once the queue is
// longer than the handshake timeout nobody gets through. Newest first, the
// latest arrivals are served at once and the oldest ones wait, which are
// the most likely to have given up already (adaptive LIFO).
type slots struct {
	mu      sync.Mutex
	free    int
	waiters []chan struct{} // the newest last
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire takes a slot, waiting until one is free or ctx or done ends.
func (s *slots) acquire(ctx context.Context, done <-chan struct{}) error {
	s.mu.Lock()
	if s.free > 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{}, 1)
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	var err error
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-done:
		err = net.ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, w := range s.waiters {
		if w == ch {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return err
		}
	}
	// The slot was handed over as the wait ended: pass it on.
	s.releaseLocked()
	return err
}

// release frees a slot, handing it to the newest waiter if there is one.
func (s *slots) release() {
	s.mu.Lock()
	s.releaseLocked()
	s.mu.Unlock()
}

func (s *slots) releaseLocked() {
	if n := len(s.waiters); n > 0 {
		ch := s.waiters[n-1]
		s.waiters[n-1] = nil
		s.waiters = s.waiters[:n-1]
		ch <- struct{}{}
		return
	}
	s.free++
}
