package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
)

// The terminal: a shell on the device's PTY, reached through a signed
// stream (protocol.StreamTerminal), recorded (recording.go) and audited at
// its opening and end. A transport (the dashboard's websocket, the API's)
// pumps a *Terminal: Read the output until it fails, Input and Resize what
// the user does, Close when the user goes — which ends the shell on the
// device (the agent kills its session when the stream closes).

// Terminal caps on one server node: the agent enforces its own per device
// (protocol.MaxTerminals) too.
const (
	MaxTerminalsPerDevice = protocol.MaxTerminals
	MaxTerminalsPerUser   = 8
)

// TerminalRequest opens a terminal: Shell as in protocol.TerminalArgs (""
// for the device's default), the first size.
type TerminalRequest struct {
	Shell      string
	Rows, Cols uint16
}

// terminalCounts counts the open terminals of this node.
type terminalCounts struct {
	mu     sync.Mutex
	device map[int64]int
	user   map[int64]int
}

func (c *terminalCounts) acquire(deviceID, userID int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.device == nil {
		c.device, c.user = map[int64]int{}, map[int64]int{}
	}
	if c.device[deviceID] >= MaxTerminalsPerDevice {
		return &protocol.ActionError{Code: protocol.CodeBusy, Message: core.Text{
			EN: fmt.Sprintf("This device has %d terminals open already; close one first.", MaxTerminalsPerDevice),
			DE: fmt.Sprintf("Auf diesem Gerät sind bereits %d Terminals offen; schließen Sie zuerst eines.", MaxTerminalsPerDevice)}}
	}
	if c.user[userID] >= MaxTerminalsPerUser {
		return &protocol.ActionError{Code: protocol.CodeBusy, Message: core.Text{
			EN: fmt.Sprintf("You have %d terminals open already; close one first.", MaxTerminalsPerUser),
			DE: fmt.Sprintf("Sie haben bereits %d Terminals offen; schließen Sie zuerst eines.", MaxTerminalsPerUser)}}
	}
	c.device[deviceID]++
	c.user[userID]++
	return nil
}

func (c *terminalCounts) release(deviceID, userID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.device[deviceID]--; c.device[deviceID] <= 0 {
		delete(c.device, deviceID)
	}
	if c.user[userID]--; c.user[userID] <= 0 {
		delete(c.user, userID)
	}
}

// OpenTerminals returns how many terminals this node has open to the
// device.
func (s *Service) OpenTerminals(deviceID int64) int {
	s.terms.mu.Lock()
	defer s.terms.mu.Unlock()
	return s.terms.device[deviceID]
}

// Terminal is an open terminal session. Read and Input/Resize may run
// concurrently; Close is safe at any time and more than once.
type Terminal struct {
	// Shell is the program the agent started, PID its process ID on the
	// device, Recording the ID of the session's recording.
	Shell     string
	PID       int
	Recording int64

	s       *Service
	u       core.User
	dev     core.Device
	ctx     context.Context // the opening's values (caller, address), never cancelled
	stream  *gateway.Stream
	rec     *recorder
	started time.Time
	idle    time.Duration

	wmu       sync.Mutex   // frames to the agent in order
	lastInput atomic.Int64 // unix nanoseconds
	closing   chan struct{}
	closeOnce sync.Once
	stopped   chan struct{} // the watcher ended

	mu     sync.Mutex
	reason *mux.CloseError // why the session ended, once known
}

// OpenTerminal opens a terminal on device id for u: the remote-action
// rules (remoteTarget with protocol.LockTerminal), the caps per device and
// per user, then the signed stream and the recording. The opening is
// audited as "device.terminal", the end as "device.terminal.end" with its
// duration and the recording's ID.
func (s *Service) OpenTerminal(ctx context.Context, u core.User, id int64, req TerminalRequest) (*Terminal, error) {
	_, r, err := s.remoteTarget(ctx, u, id, protocol.LockTerminal)
	var t *Terminal
	switch {
	case errors.Is(err, core.ErrForbidden) || errors.Is(err, core.ErrNotFound):
		return nil, err // not the caller's to act on: nothing was tried
	case err == nil:
		t, err = s.openTerminal(ctx, u, id, r, req)
	}
	detail := fmt.Sprintf("open shell=%s size=%dx%d", req.Shell, req.Cols, req.Rows)
	if err == nil {
		detail = fmt.Sprintf("open shell=%s pid=%d size=%dx%d recording=%d", t.Shell, t.PID, req.Cols, req.Rows, t.Recording)
	}
	if aerr := s.auditRemote(ctx, u, "device.terminal", id, detail, err); aerr != nil && err == nil {
		t.closeWith(protocol.CodeFailed, core.Text{EN: "The session could not be audited.", DE: "Die Sitzung konnte nicht protokolliert werden."})
		t.Close()
		return nil, aerr
	}
	return t, err
}

func (s *Service) openTerminal(ctx context.Context, u core.User, id int64, r Remote, req TerminalRequest) (*Terminal, error) {
	d, err := s.store.GetDevice(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("getting device %d: %w", id, err)
	}
	if err := s.terms.acquire(id, u.ID); err != nil {
		return nil, err
	}
	idle := s.TerminalIdle
	if idle <= 0 {
		idle = protocol.DefaultTerminalIdle
	}
	if req.Rows == 0 || req.Cols == 0 {
		req.Rows, req.Cols = 24, 80
	}
	st, err := r.OpenStream(ctx, id, protocol.StreamTerminal, protocol.TerminalArgs{
		Shell: req.Shell, Rows: req.Rows, Cols: req.Cols,
		// The agent's own idle timeout (input or output) backs up this
		// node's (input only).
		IdleSeconds: int(idle / time.Second),
	})
	if err != nil {
		s.terms.release(id, u.ID)
		return nil, err
	}
	var meta protocol.TerminalOpened
	if err := json.Unmarshal(st.Meta, &meta); err != nil {
		st.Close()
		s.terms.release(id, u.ID)
		return nil, fmt.Errorf("terminal on device %d: bad meta: %w", id, err)
	}
	now := s.now()
	rec := core.Recording{DeviceID: id, UserID: u.ID, Actor: Actor(u), Shell: meta.Shell, StartedAt: now}
	if err := s.store.CreateRecording(ctx, &rec); err != nil {
		st.CloseWithError(protocol.CodeFailed, core.Text{EN: "The session could not be recorded.", DE: "Die Sitzung konnte nicht aufgezeichnet werden."})
		s.terms.release(id, u.ID)
		return nil, fmt.Errorf("recording a terminal on device %d: %w", id, err)
	}
	t := &Terminal{
		Shell: meta.Shell, PID: meta.PID, Recording: rec.ID,
		s: s, u: u, dev: d, ctx: context.WithoutCancel(ctx), stream: st, started: now, idle: idle,
		rec:     newRecorder(context.WithoutCancel(ctx), s.store, rec.ID, now, s.now, int(req.Cols), int(req.Rows), meta.Shell, d.Hostname),
		closing: make(chan struct{}), stopped: make(chan struct{}),
	}
	t.lastInput.Store(time.Now().UnixNano())
	go t.watch()
	return t, nil
}

// watch ends an idle session, or one whose recording failed, until the
// session ends.
func (t *Terminal) watch() {
	defer close(t.stopped)
	tick := min(recordFlushEvery, t.idle/4)
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for {
		select {
		case <-t.closing:
			return
		case <-t.stream.Done():
			return
		case <-tk.C:
		}
		if err := t.rec.Err(); err != nil {
			t.failRecording(err)
			return
		}
		if time.Since(time.Unix(0, t.lastInput.Load())) >= t.idle {
			t.closeWith(protocol.CodeIdleTimeout, core.Text{
				EN: fmt.Sprintf("The terminal was closed after %v without input.", t.idle),
				DE: fmt.Sprintf("Das Terminal wurde nach %v ohne Eingabe geschlossen.", t.idle)})
			return
		}
	}
}

func (t *Terminal) failRecording(err error) {
	t.s.log.Error("terminal recording failed; ending the session", "recording", t.Recording, "err", err)
	t.closeWith(protocol.CodeFailed, core.Text{EN: "The session could not be recorded any further and was closed.",
		DE: "Die Sitzung konnte nicht weiter aufgezeichnet werden und wurde geschlossen."})
}

// closeWith ends the stream with a reason for the agent and the user.
func (t *Terminal) closeWith(code string, msg core.Text) {
	t.mu.Lock()
	if t.reason == nil {
		t.reason = &mux.CloseError{Code: code, Message: msg}
	}
	t.mu.Unlock()
	t.stream.CloseWithError(code, msg)
}

// Read reads the terminal's output (raw bytes, UTF-8 sequences may be
// split). After the session ended it returns an error; Reason says why.
func (t *Terminal) Read(p []byte) (int, error) {
	n, err := t.stream.Read(p)
	if n > 0 {
		if rerr := t.rec.output(p[:n]); rerr != nil {
			t.failRecording(rerr)
		}
	}
	if err != nil {
		t.setReason(err)
	}
	return n, err
}

func (t *Terminal) setReason(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reason != nil {
		return
	}
	var ce *mux.CloseError
	switch {
	case errors.As(err, &ce):
		t.reason = ce
	case errors.Is(err, io.EOF):
		t.reason = &mux.CloseError{Code: "exited", Message: core.Text{EN: "The shell has ended.", DE: "Die Shell wurde beendet."}}
	default:
		t.reason = &mux.CloseError{Code: "closed", Message: core.Text{EN: "The terminal was closed.", DE: "Das Terminal wurde geschlossen."}}
	}
}

// Reason says why the session ended (nil while it runs).
func (t *Terminal) Reason() *mux.CloseError {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reason
}

// Input sends keystrokes (UTF-8, as the browser's terminal produced them)
// to the shell; it blocks while the agent has granted no credit.
func (t *Terminal) Input(keys []byte) error {
	if len(keys) == 0 {
		return nil
	}
	t.lastInput.Store(time.Now().UnixNano())
	if err := t.rec.event("i", string(keys)); err != nil {
		t.failRecording(err)
		return err
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	_, err := t.stream.Write(protocol.AppendTermInput(nil, keys))
	return err
}

// Resize sets the terminal's size.
func (t *Terminal) Resize(rows, cols uint16) error {
	if rows == 0 || cols == 0 {
		return fmt.Errorf("resize to %d×%d: %w", rows, cols, core.ErrInvalid)
	}
	if err := t.rec.event("r", fmt.Sprintf("%dx%d", cols, rows)); err != nil {
		t.failRecording(err)
		return err
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	_, err := t.stream.Write(protocol.AppendTermResize(nil, rows, cols))
	return err
}

// Close ends the session: the stream (the agent kills the shell and its
// processes), the recording, the caps, and the audit entry of its end.
func (t *Terminal) Close() error {
	var err error
	t.closeOnce.Do(func() {
		close(t.closing)
		t.stream.Close()
		t.setReason(io.ErrClosedPipe)
		<-t.stopped
		t.s.terms.release(t.dev.ID, t.u.ID)
		ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
		defer cancel()
		rerr := t.rec.finish(ctx)
		reason := t.Reason()
		detail := fmt.Sprintf("end recording=%d duration=%s reason=%s", t.Recording,
			t.s.now().Sub(t.started).Round(time.Second), reason.Code)
		result := core.AuditOK
		if rerr != nil {
			result = core.AuditFailed
			detail += " → recording: " + rerr.Error()
		}
		err = errors.Join(rerr, t.s.record(ctx, t.u, "device.terminal.end", target("device", t.dev.ID), detail, result))
	})
	return err
}

// TerminalAllowed reports whether u may open a terminal on device id now:
// the remote-action rules and the device's local lock, without opening one
// (the dashboard shows the reason instead of a terminal).
func (s *Service) TerminalAllowed(ctx context.Context, u core.User, id int64) error {
	_, _, err := s.remoteTarget(ctx, u, id, protocol.LockTerminal)
	return err
}
