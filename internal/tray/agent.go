package tray

import (
	"context"
	"sync"
)

// Caller is one connection to the agent (a *trayipc.Client).
type Caller interface {
	Call(ctx context.Context, op string, args, reply any) error
	Close() error
}

// Agent is the tray's link to the local agent: it dials on first use and
// again after a broken connection, so every caller simply calls.
type Agent struct {
	dial func(ctx context.Context) (Caller, error)

	mu sync.Mutex
	c  Caller
}

// NewAgent returns an Agent that connects with dial.
func NewAgent(dial func(ctx context.Context) (Caller, error)) *Agent {
	return &Agent{dial: dial}
}

// Call performs one operation. Any error drops the connection (a
// trayipc.Client fails for good after a broken exchange or a refusal of the
// connection), so the next call dials anew: cheap on a local socket.
func (a *Agent) Call(ctx context.Context, op string, args, reply any) error {
	a.mu.Lock()
	c := a.c
	a.mu.Unlock()
	if c == nil {
		var err error
		if c, err = a.dial(ctx); err != nil {
			return err
		}
		a.mu.Lock()
		if a.c != nil { // another call connected meanwhile
			c.Close()
			c = a.c
		} else {
			a.c = c
		}
		a.mu.Unlock()
	}
	err := c.Call(ctx, op, args, reply)
	if err != nil {
		a.mu.Lock()
		if a.c == c {
			a.c = nil
		}
		a.mu.Unlock()
		c.Close()
	}
	return err
}

// Close closes the connection, if any.
func (a *Agent) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.c == nil {
		return nil
	}
	err := a.c.Close()
	a.c = nil
	return err
}
