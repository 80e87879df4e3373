package trayipc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Client is a tray's connection to the agent. Its calls are serialized.
// After a failed exchange (the agent went away, ctx ended mid-call, a
// refusal of the whole connection: CodeRefused, CodeBusy) every call
// fails: the tray dials again when it wants to.
type Client struct {
	conn net.Conn

	mu     sync.Mutex
	sc     *bufio.Scanner
	lastID uint64
	err    error // sticky: the connection is unusable
}

// Dial connects to the agent once; it does not retry. The first Call
// should follow at once: the agent closes a connection that sends nothing
// for 30 seconds after connecting.
func Dial(ctx context.Context, addr string) (*Client, error) {
	conn, err := dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to the agent at %s: %w", addr, err)
	}
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 4096), MaxLine+1)
	return &Client{conn: conn, sc: sc}, nil
}

// Close closes the connection; a call in progress fails.
func (c *Client) Close() error { return c.conn.Close() }

// Call sends op with args (nil: no data) and decodes the answer into reply
// (nil: ignored). A refusal or failure the agent answers with comes back
// as an *Error (errors.As).
func (c *Client) Call(ctx context.Context, op string, args, reply any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	req := Request{ID: c.lastID + 1, Op: op}
	if args != nil {
		data, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", op, err)
		}
		req.Data = data
	}
	line, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", op, err)
	}
	if len(line) > MaxLine {
		return &Error{Code: CodeBadRequest, Message: core.Text{
			EN: fmt.Sprintf("Request longer than %d bytes.", MaxLine),
			DE: fmt.Sprintf("Anfrage länger als %d Bytes.", MaxLine),
		}}
	}
	c.lastID = req.ID

	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.conn.Write(append(line, '\n')); err != nil {
		return c.fail(ctx, op, err)
	}
	if !c.sc.Scan() {
		err := c.sc.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return c.fail(ctx, op, err)
	}
	var resp Response
	if err := json.Unmarshal(c.sc.Bytes(), &resp); err != nil {
		return c.fail(ctx, op, fmt.Errorf("malformed answer: %w", err))
	}
	switch {
	case resp.Error != nil && resp.ID == 0:
		// About the connection (refused, busy): the agent closes it.
		c.conn.Close()
		c.err = resp.Error
		return resp.Error
	case resp.ID != req.ID:
		return c.fail(ctx, op, fmt.Errorf("answer %d to request %d", resp.ID, req.ID))
	case resp.Error != nil:
		return resp.Error
	case reply != nil && len(resp.Data) > 0:
		if err := json.Unmarshal(resp.Data, reply); err != nil {
			return fmt.Errorf("decoding the answer to %s: %w", op, err)
		}
	}
	return nil
}

// fail closes the connection after a broken exchange and makes that
// error sticky.
func (c *Client) fail(ctx context.Context, op string, err error) error {
	c.conn.Close()
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	c.err = fmt.Errorf("calling the agent (%s): %w", op, err)
	return c.err
}
