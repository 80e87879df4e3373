package trayipc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// firstLineTimeout is how long a new connection may take to send its
// first request.
const firstLineTimeout = 30 * time.Second

// maxConnsPerUser bounds the open connections of one peer UID, so one
// user cannot exhaust the agent; a tray needs one.
const maxConnsPerUser = 16

// Listener is the agent's end: a Unix socket or a named pipe.
type Listener struct {
	ln   net.Listener
	addr string
}

// Close stops accepting; Serve then returns.
func (l *Listener) Close() error { return l.ln.Close() }

// Addr is the socket path or pipe name.
func (l *Listener) Addr() string { return l.addr }

// Serve accepts connections until ctx ends or l is closed, then closes the
// open connections and returns nil once their handlers have returned. Each
// connection runs in its own goroutine: its peer is read from the OS once,
// when its first line has arrived (Windows can ask for a pipe client's
// token only after reading from it), and checked with Allowed; a refused
// peer gets one Response{Error: CodeRefused} and is closed, as is a
// connection with a line longer than MaxLine (CodeBadRequest). A line that
// is not a Request gets CodeBadRequest and the connection stays usable:
// the line framing is intact. Requests of one connection are answered one
// after the other, in order.
func Serve(ctx context.Context, l *Listener, h Handler, log *slog.Logger) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(ctx, func() { l.ln.Close() })
	defer stop()
	s := &server{h: h, log: log, conns: map[string]int{}}
	var wg sync.WaitGroup
	for {
		c, err := l.ln.Accept()
		if err != nil {
			closed := parent.Err() != nil || errors.Is(err, net.ErrClosed)
			cancel()
			wg.Wait()
			if closed {
				return nil
			}
			return fmt.Errorf("accepting tray connections on %s: %w", l.addr, err)
		}
		wg.Go(func() { s.serveConn(ctx, c) })
	}
}

type server struct {
	h   Handler
	log *slog.Logger

	mu    sync.Mutex
	conns map[string]int // open connections per peer UID
}

func (s *server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 4096), MaxLine+1) // +1: the newline
	// Until its first line a connection is nobody's and counts against no
	// user's limit: it may not stay idle.
	c.SetReadDeadline(time.Now().Add(firstLineTimeout))
	if !sc.Scan() {
		s.finish(c, sc.Err())
		return
	}
	c.SetReadDeadline(time.Time{})
	p, err := readPeer(c)
	if err != nil {
		s.log.Warn("tray connection refused: peer unknown", "err", err)
		s.write(c, Response{Error: errUnknownPeer})
		return
	}
	log := s.log.With("uid", p.UID, "user", p.User, "pid", p.PID)
	if e := allowed(runtime.GOOS, p); e != nil {
		log.Info("tray connection refused")
		s.write(c, Response{Error: e})
		return
	}
	if !s.acquire(p.UID) {
		log.Warn("tray connection refused: too many connections of this user")
		s.write(c, Response{Error: &Error{Code: CodeBusy, Message: core.Text{
			EN: fmt.Sprintf("Too many connections of this user (at most %d).", maxConnsPerUser),
			DE: fmt.Sprintf("Zu viele Verbindungen dieses Benutzers (höchstens %d).", maxConnsPerUser),
		}}})
		return
	}
	defer s.release(p.UID)
	for {
		if !s.write(c, s.answer(ctx, log, p, sc.Bytes())) || !sc.Scan() {
			break
		}
	}
	s.finish(c, sc.Err())
}

// finish answers a line that was too long before the connection closes.
func (s *server) finish(c net.Conn, err error) {
	if errors.Is(err, bufio.ErrTooLong) {
		s.write(c, Response{Error: &Error{Code: CodeBadRequest, Message: core.Text{
			EN: fmt.Sprintf("Request longer than %d bytes.", MaxLine),
			DE: fmt.Sprintf("Anfrage länger als %d Bytes.", MaxLine),
		}}})
	}
}

func (s *server) acquire(uid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[uid] >= maxConnsPerUser {
		return false
	}
	s.conns[uid]++
	return true
}

func (s *server) release(uid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[uid]--; s.conns[uid] == 0 {
		delete(s.conns, uid)
	}
}

var errInternal = &Error{Code: CodeInternal, Message: core.Text{
	EN: "The agent could not answer; the details are in its log.",
	DE: "Der Agent konnte nicht antworten; Einzelheiten stehen in seinem Protokoll.",
}}

// answer runs one request line through the Handler.
func (s *server) answer(ctx context.Context, log *slog.Logger, p Peer, line []byte) (resp Response) {
	var req Request
	if err := json.Unmarshal(line, &req); err != nil || req.Op == "" {
		return Response{ID: req.ID, Error: &Error{Code: CodeBadRequest, Message: core.Text{
			EN: "Malformed request.", DE: "Fehlerhafte Anfrage.",
		}}}
	}
	resp.ID = req.ID
	defer func() { // a bug in one operation must not stop the agent
		if r := recover(); r != nil {
			log.Error("tray request panicked", "op", req.Op, "panic", r)
			resp = Response{ID: req.ID, Error: errInternal}
		}
	}()
	v, err := s.h(ctx, p, req.Op, req.Data)
	if err != nil {
		if e, ok := errors.AsType[*Error](err); ok {
			resp.Error = e
			return resp
		}
		log.Error("tray request failed", "op", req.Op, "err", err)
		resp.Error = errInternal
		return resp
	}
	if v == nil {
		return resp
	}
	if resp.Data, err = json.Marshal(v); err != nil {
		log.Error("encoding a tray answer", "op", req.Op, "err", err)
		return Response{ID: req.ID, Error: errInternal}
	}
	return resp
}

// write sends one response line; false when the connection is gone.
func (s *server) write(c net.Conn, resp Response) bool {
	line, err := json.Marshal(resp)
	if err == nil && len(line) > MaxLine {
		err = fmt.Errorf("answer of %d bytes exceeds MaxLine", len(line))
	}
	if err != nil {
		s.log.Error("encoding a tray answer", "id", resp.ID, "err", err)
		line, _ = json.Marshal(Response{ID: resp.ID, Error: errInternal})
	}
	_, err = c.Write(append(line, '\n'))
	return err == nil
}
