package gateway

import (
	"testing"
	"time"
)

// A relayed exec may run as long as a local one (up to an hour); the
// holder stops a little before the asker and never works unbounded.
func TestRelayWaitFollowsTheAsker(t *testing.T) {
	n := &node{h: &Hub{commandTimeout: 30 * time.Second}}
	for _, c := range []struct {
		asked, want time.Duration
	}{
		{0, 29 * time.Second},
		{45 * time.Minute, 45*time.Minute - time.Second},
		{5 * time.Second, 4500 * time.Millisecond},
		{10 * time.Hour, maxRelayWait - time.Second},
	} {
		if got := n.wait(&relayRequest{WaitMS: c.asked.Milliseconds()}); got != c.want {
			t.Errorf("asked %v: holder waits %v, want %v", c.asked, got, c.want)
		}
	}
}
