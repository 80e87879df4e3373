package loadsim

import (
	"errors"
	"testing"
)

// A write that fails because the server closed the session is counted by
// the reader's reason, not as a write error.
func TestCausePrefersTheReadersReason(t *testing.T) {
	werr := &errKind{"write", errors.New("websocket closed")}
	rerr := make(chan error, 1)
	rerr <- &errKind{"closed_by_server", errors.New("status 1013")}
	if got := kindOf(cause(werr, rerr)); got != "closed_by_server" {
		t.Errorf("kind %q, want closed_by_server", got)
	}
	if got := kindOf(cause(werr, make(chan error))); got != "write" {
		t.Errorf("kind %q without a read error, want write", got)
	}
}
