// Package mux multiplexes flow-controlled streams over the agent's one
// websocket, beside the JSON control messages (heartbeats, results, acks,
// actions), on the agent and the server alike.
//
// Each stream has a channel ID; its data travels in binary frames
// (protocol.DataFrame) of at most protocol.MaxStreamChunk bytes. Flow
// control is a credit window per direction: a side sends no more than the
// credit the other granted, and the receiver grants more (TypeStreamWindow)
// only as its reader consumes. So a receiver never buffers more than its
// window per stream, and a producer that never stops (`yes`) blocks in
// Write instead of growing memory on either side.
//
// Priority: every data frame goes through one writer goroutine, one frame at
// a time, while control messages are written directly by their senders. The
// websocket library queues writers on a channel (first come, first served),
// so a control message waits for at most the one data frame being written,
// however many streams are busy.
package mux

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// DefaultWindow is the credit each side grants per stream: what a receiver
// buffers at most for a stream whose reader does not read.
const DefaultWindow = 256 << 10

// BulkWindow is the credit for a file transfer. A sender that has sent its
// window waits for the receiver's grant, a round trip through two busy
// processes; with 256 KiB (granted back after half of it was read) that
// wait came every 128 KiB and held a download on loopback to half its
// speed. 1 MiB per transfer and leg is what a receiver buffers at most.
const BulkWindow = 1 << 20

// WindowFor is the credit a side grants a stream of type typ
// (protocol.Stream…).
func WindowFor(typ string) int {
	switch typ {
	case protocol.StreamFileDownload, protocol.StreamFileUpload:
		return BulkWindow
	}
	return DefaultWindow
}

// ErrClosed is returned by a stream used after its Close.
var ErrClosed = errors.New("stream closed")

// CloseError is the reason the other side gave for ending a stream, or the
// reason the connection ended.
type CloseError struct {
	Code    string
	Message core.Text
}

func (e *CloseError) Error() string { return "stream closed: " + e.Code + ": " + e.Message.EN }

// Codes of a stream closed by the mux itself.
const (
	CodeConnectionLost = "connection_lost"
	CodeFlowControl    = "flow_control"
)

// Writer sends frames on the websocket: binary data frames and control
// envelopes. Both must be safe for concurrent use and bounded in time.
type Writer interface {
	WriteBinary(ctx context.Context, b []byte) error
	Send(ctx context.Context, typ string, data any) error
}

// Mux holds the streams of one connection.
type Mux struct {
	w    Writer
	data chan dataFrame
	done chan struct{}

	mu      sync.Mutex
	streams map[uint32]*Stream
	err     *CloseError // set once the connection ended
}

// dataFrame is a frame handed to the data writer by its stream.
type dataFrame struct {
	b []byte
	s *Stream
}

// New returns a Mux writing through w and starts its data writer; Close
// ends it.
func New(w Writer) *Mux {
	m := &Mux{w: w, data: make(chan dataFrame), done: make(chan struct{}), streams: map[uint32]*Stream{}}
	go m.writeData()
	return m
}

func (m *Mux) writeData() {
	for {
		select {
		case f := <-m.data:
			_ = m.w.WriteBinary(context.Background(), f.b) // a failed write ends the connection
			putFrame(f.b)
			f.s.mu.Lock()
			f.s.queued--
			f.s.cond.Broadcast()
			f.s.mu.Unlock()
		case <-m.done:
			return
		}
	}
}

// Open registers a stream on channel: window is the credit this side grants
// the other (what it buffers at most), credit what the other side granted.
func (m *Mux) Open(channel uint32, window, credit int) (*Stream, error) {
	s := &Stream{m: m, id: channel, window: window, credit: credit, done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	if _, ok := m.streams[channel]; ok {
		return nil, fmt.Errorf("channel %d is in use", channel)
	}
	m.streams[channel] = s
	return s, nil
}

func (m *Mux) stream(channel uint32) *Stream {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.streams[channel]
}

func (m *Mux) forget(s *Stream) {
	m.mu.Lock()
	if m.streams[s.id] == s {
		delete(m.streams, s.id)
	}
	m.mu.Unlock()
}

// Len is the number of open streams.
func (m *Mux) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.streams)
}

// Buffered is the number of received bytes not yet read, over all streams.
func (m *Mux) Buffered() int {
	m.mu.Lock()
	ss := make([]*Stream, 0, len(m.streams))
	for _, s := range m.streams {
		ss = append(ss, s)
	}
	m.mu.Unlock()
	n := 0
	for _, s := range ss {
		n += s.Buffered()
	}
	return n
}

// Data takes a binary frame from the connection. Data for a channel that is
// not open (closed here while the frame was under way) is dropped; data
// beyond the granted credit closes that stream.
func (m *Mux) Data(b []byte) error {
	ch, data, err := protocol.ParseDataFrame(b)
	if err != nil {
		return err
	}
	s := m.stream(ch)
	if s == nil {
		return nil
	}
	if !s.receive(data) {
		s.CloseWithError(CodeFlowControl, core.Text{
			EN: "The other side sent more than its credit allows.",
			DE: "Die Gegenseite hat mehr gesendet, als ihr Guthaben erlaubt.",
		})
	}
	return nil
}

// Window takes a TypeStreamWindow from the connection.
func (m *Mux) Window(w protocol.StreamWindow) {
	if s := m.stream(w.Channel); s != nil && w.Bytes > 0 {
		s.mu.Lock()
		s.credit += w.Bytes
		s.cond.Broadcast()
		s.mu.Unlock()
	}
}

// Closed takes a TypeStreamClose from the connection: the other side ended
// the stream.
func (m *Mux) Closed(c protocol.StreamClose) {
	if s := m.stream(c.Channel); s != nil {
		var err error = io.EOF
		if c.Code != "" {
			err = &CloseError{Code: c.Code, Message: c.Message}
		}
		s.end(err, false)
	}
}

// Close ends every stream (readers and writers see a CloseError with
// CodeConnectionLost) and the data writer; the connection has ended. It is
// idempotent.
func (m *Mux) Close() {
	m.CloseWith(core.Text{
		EN: "The connection to the agent ended.",
		DE: "Die Verbindung zum Agenten wurde beendet.",
	})
}

// CloseWith is Close telling the streams' readers and writers msg: which
// connection ended (another server node's, for a relayed stream).
func (m *Mux) CloseWith(msg core.Text) {
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return
	}
	m.err = &CloseError{Code: CodeConnectionLost, Message: msg}
	ss := m.streams
	m.streams = map[uint32]*Stream{}
	close(m.done)
	m.mu.Unlock()
	for _, s := range ss {
		s.end(m.err, false)
	}
}

// Stream is one channel: an io.ReadWriteCloser with flow control.
type Stream struct {
	m  *Mux
	id uint32

	mu   sync.Mutex
	cond *sync.Cond
	// Received, not yet read: n bytes from head in a ring that grows up
	// to the window as needed. Each byte is copied in once and out once,
	// however far the reader lags.
	ring    []byte
	head, n int
	window  int   // credit granted to the other side, in all
	unacked int   // bytes read but not yet granted again
	credit  int   // bytes this side may still send
	err     error // set when the stream ended: what Read returns after the ring, Write at once
	done    chan struct{}
	queued  int // data frames handed to the writer and not yet written
}

// Done is closed when the stream ended, on either side or with the
// connection.
func (s *Stream) Done() <-chan struct{} { return s.done }

// ID is the stream's channel.
func (s *Stream) ID() uint32 { return s.id }

// Buffered is the number of received bytes not yet read.
func (s *Stream) Buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// receive buffers data; false if it exceeds the window granted.
func (s *Stream) receive(data []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return true
	}
	if s.n+s.unacked+len(data) > s.window {
		return false
	}
	if s.n+len(data) > len(s.ring) {
		// Grow, at most to the window; the unread bytes move to the start.
		ring := make([]byte, min(s.window, max(2*len(s.ring), s.n+len(data), 4<<10)))
		s.n = s.take(ring)
		s.ring, s.head = ring, 0
	}
	tail := (s.head + s.n) % len(s.ring)
	k := copy(s.ring[tail:], data)
	copy(s.ring, data[k:])
	s.n += len(data)
	s.cond.Broadcast()
	return true
}

// take moves up to len(p) unread bytes into p.
func (s *Stream) take(p []byte) int {
	if s.n == 0 {
		return 0
	}
	k := copy(p, s.ring[s.head:min(s.head+s.n, len(s.ring))])
	if k < len(p) && k < s.n {
		k += copy(p[k:], s.ring[:s.n-k])
	}
	s.head = (s.head + k) % len(s.ring)
	s.n -= k
	return k
}

// Read reads received data; after the stream ended and its data was read
// it returns io.EOF (a normal end) or the reason.
func (s *Stream) Read(p []byte) (int, error) {
	s.mu.Lock()
	for s.n == 0 && s.err == nil {
		s.cond.Wait()
	}
	if s.n == 0 {
		err := s.err
		s.mu.Unlock()
		return 0, err
	}
	n := s.take(p)
	s.unacked += n
	grant := 0
	if s.unacked >= s.window/2 && s.err == nil {
		grant, s.unacked = s.unacked, 0
	}
	s.mu.Unlock()
	if grant > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := s.m.w.Send(ctx, protocol.TypeStreamWindow, protocol.StreamWindow{Channel: s.id, Bytes: grant}); err != nil {
			s.end(err, false)
		}
	}
	return n, nil
}

// Write sends p within the credit granted, blocking while there is none.
func (s *Stream) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		s.mu.Lock()
		for s.credit == 0 && s.err == nil {
			s.cond.Wait()
		}
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return written, writeErr(err)
		}
		n := min(s.credit, len(p), protocol.MaxStreamChunk)
		s.credit -= n
		s.mu.Unlock()
		s.mu.Lock()
		s.queued++
		s.mu.Unlock()
		select {
		case s.m.data <- dataFrame{b: appendFrame(s.id, p[:n]), s: s}:
		case <-s.m.done:
			s.mu.Lock()
			s.queued--
			s.mu.Unlock()
			return written, writeErr(s.m.err)
		}
		// The writer took the frame (it wrote the one before): the next
		// chunk is prepared while this one is written. Close waits for the
		// queued ones, so that the close follows the data.
		written += n
		p = p[n:]
	}
	return written, nil
}

// writeErr is what Write returns on an ended stream: a normal end by the
// other side means it reads no more.
func writeErr(err error) error {
	if err == io.EOF {
		return ErrClosed
	}
	return err
}

// Close ends the stream normally: the other side reads what was written,
// then io.EOF.
func (s *Stream) Close() error { return s.CloseWithError("", core.Text{}) }

// CloseWithError ends the stream, telling the other side why.
func (s *Stream) CloseWithError(code string, msg core.Text) error {
	s.mu.Lock()
	// Until the data is on the wire (or failed: then the connection ends,
	// and with it the stream).
	for s.queued > 0 && s.err == nil {
		s.cond.Wait()
	}
	s.mu.Unlock()
	if !s.end(ErrClosed, true) {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	return s.m.w.Send(ctx, protocol.TypeStreamClose, protocol.StreamClose{Channel: s.id, Code: code, Message: msg})
}

// Discard forgets the stream without telling the other side: for an
// opening the other side refused.
func (s *Stream) Discard() { s.end(ErrClosed, true) }

// end marks the stream ended with err, wakes its reader and writer and
// forgets it; false if it had ended before. local reports a Close here,
// which discards unread data.
func (s *Stream) end(err error, local bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	s.err = err
	close(s.done)
	if local {
		s.ring, s.head, s.n = nil, 0, 0
	}
	s.cond.Broadcast()
	s.m.forget(s)
	return true
}

// frames recycles the buffers of outgoing data frames (header and a full
// chunk): a bulk transfer would otherwise allocate one per chunk. A
// sync.Pool loses its buffers at every garbage collection, which a small
// agent's heap starts every few megabytes: the allocations kept the
// collector busy. A few buffers suffice, as the one writer writes one
// frame at a time.
var frames = make(chan []byte, 8)

// appendFrame builds a data frame of channel and data in a recycled buffer.
func appendFrame(channel uint32, data []byte) []byte {
	var b []byte
	select {
	case b = <-frames:
	default:
		b = make([]byte, 0, protocol.StreamHeader+protocol.MaxStreamChunk)
	}
	b = binary.BigEndian.AppendUint32(b[:0], channel)
	return append(b, data...)
}

// putFrame returns a written frame's buffer for reuse.
func putFrame(b []byte) {
	if cap(b) != protocol.StreamHeader+protocol.MaxStreamChunk {
		return
	}
	select {
	case frames <- b[:0]:
	default:
	}
}
