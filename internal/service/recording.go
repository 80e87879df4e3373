package service

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Terminal sessions are recorded on the server as asciicast v2 (a header
// line, then [seconds, "o"|"i"|"r"|"m", data] events), in the database so
// that every node of a cluster can replay them. The recording is written
// in chunks, each a gzip member, by a writer of its own, off the path of
// the terminal's input and output: a keystroke's echo never waits for the
// database. The terminal's output waits for the writer only when it holds
// recordHold bytes not yet stored (the database is behind), so memory stays
// bounded. A node that dies loses what was not yet stored: the events of
// the last recordFlushEvery (plus the writer's tick), at most recordHold
// bytes of output (recordHoldInput with a paste), and the chunk being
// written.

// MaxRecording caps a recording's compressed size; beyond it the session
// goes on unrecorded, and the recording ends with a marker event and
// Truncated set.
const MaxRecording = 64 << 20

// maxRecording is MaxRecording, lowered by tests.
var maxRecording int64 = MaxRecording

const (
	recordFlush      = 64 << 10        // uncompressed bytes that wake the writer
	recordHold       = 2 * recordFlush // held bytes at which output waits for the writer
	recordHoldInput  = 8 * recordHold  // … and input (a paste while the database is behind)
	recordFlushEvery = 5 * time.Second // the longest a recorded event waits
)

// gzipPool keeps the compressors' state (about 1 MiB each) between
// chunks: a hundred busy terminals flush often.
var gzipPool = sync.Pool{New: func() any { zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return zw }}

// recorder records one session's asciicast. Safe for concurrent use (the
// output and input pumps both record); finish ends it.
type recorder struct {
	store core.RecordingStore
	id    int64
	start time.Time
	now   func() time.Time
	ctx   context.Context // of the writer's database calls

	wake    chan struct{} // the held events should be stored
	stop    chan struct{} // finish: store the rest and end
	stopped chan struct{} // the writer ended

	mu        sync.Mutex
	cond      *sync.Cond   // the writer took the held events or failed
	buf       bytes.Buffer // events not yet handed to the writer
	tail      []byte       // an incomplete UTF-8 sequence at the end of the output
	last      time.Time    // of the last chunk taken
	storing   int          // chunks taken, not yet stored
	stored    int          // chunks stored (sync waits for it)
	err       error        // the writer failed: the session must end
	truncated bool
	finished  bool

	// The writer's own.
	seq   int
	size  int64 // uncompressed bytes stored
	bytes int64 // compressed bytes stored
}

type castHeader struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

// newRecorder starts recording id; ctx is the writer's (not cancelled
// before finish).
func newRecorder(ctx context.Context, st core.RecordingStore, id int64, start time.Time, now func() time.Time, cols, rows int, shell, title string) *recorder {
	r := &recorder{store: st, id: id, start: start, now: now, ctx: ctx, last: start,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	r.cond = sync.NewCond(&r.mu)
	h, _ := json.Marshal(castHeader{Version: 2, Width: cols, Height: rows, Timestamp: start.Unix(), Title: title,
		Env: map[string]string{"SHELL": shell, "TERM": "xterm-256color"}})
	r.buf.Write(h)
	r.buf.WriteByte('\n')
	go r.write()
	return r
}

// output records what the terminal printed. It waits while the writer is
// behind by recordHold bytes, so that a flood (`yes`) slows down to what
// the database takes instead of growing memory.
func (r *recorder) output(b []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b = append(r.tail, b...)
	b, r.tail = splitUTF8(b)
	r.tail = bytes.Clone(r.tail)
	if len(b) == 0 {
		return r.err
	}
	return r.eventLocked("o", string(b), recordHold)
}

// event records an event of kind ("i" input, "r" resize, "m" marker).
func (r *recorder) event(kind, data string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.eventLocked(kind, data, recordHoldInput)
}

// eventLocked appends an event and wakes the writer at recordFlush bytes;
// at hold bytes it waits until the writer took them.
func (r *recorder) eventLocked(kind, data string, hold int) error {
	if r.err != nil || r.truncated || r.finished {
		return r.err
	}
	r.buf.WriteByte('[')
	r.buf.WriteString(strconv.FormatFloat(r.now().Sub(r.start).Seconds(), 'f', 6, 64))
	r.buf.WriteString(`, "` + kind + `", `)
	enc := json.NewEncoder(&r.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil { // adds the newline after the string
		return err
	}
	r.buf.Truncate(r.buf.Len() - 1)
	r.buf.WriteString("]\n")
	if r.buf.Len() >= recordFlush {
		r.wakeWriter()
	}
	for r.buf.Len() >= hold && r.err == nil && !r.finished {
		r.cond.Wait()
	}
	return r.err
}

func (r *recorder) wakeWriter() {
	select {
	case r.wake <- struct{}{}:
	default: // awake already
	}
}

// write is the writer: it stores the held events as a chunk when woken,
// when the oldest waited recordFlushEvery, and at the end.
func (r *recorder) write() {
	defer close(r.stopped)
	tk := time.NewTicker(min(recordFlushEvery/4, time.Second))
	defer tk.Stop()
	for {
		final := false
		select {
		case <-r.wake:
		case <-tk.C:
		case <-r.stop:
			final = true
		}
		if err := r.storeHeld(final); err != nil || final {
			return
		}
	}
}

// storeHeld takes the held events and stores them: always when final,
// else if they are recordFlush bytes or waited long enough.
func (r *recorder) storeHeld(final bool) error {
	r.mu.Lock()
	if r.err != nil {
		r.mu.Unlock()
		return r.err
	}
	n := r.buf.Len()
	if n == 0 || (!final && n < recordFlush && r.now().Sub(r.last) < recordFlushEvery) {
		r.mu.Unlock()
		return nil
	}
	chunk := bytes.Clone(r.buf.Bytes())
	r.buf.Reset()
	if r.buf.Cap() > 2*recordHold {
		r.buf = bytes.Buffer{} // a long paste grew it: give it back
	}
	r.last = r.now()
	at := r.last
	r.storing++
	r.cond.Broadcast() // output may go on
	r.mu.Unlock()

	err := r.storeChunk(chunk, at)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.storing--
	r.stored++
	if err != nil {
		r.err = err
	}
	r.cond.Broadcast()
	return err
}

// storeChunk compresses events into a gzip member and appends it; beyond
// maxRecording it stores only a marker (at at) and marks the recording
// truncated.
func (r *recorder) storeChunk(events []byte, at time.Time) error {
	var z bytes.Buffer
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(&z)
	zw.Write(events)
	zw.Close()
	size, truncated := int64(len(events)), false
	if r.bytes+int64(z.Len()) > maxRecording {
		// Beyond the cap: a last chunk with only the marker.
		truncated = true
		marker := fmt.Sprintf("[%s, \"m\", %q]\n", strconv.FormatFloat(at.Sub(r.start).Seconds(), 'f', 6, 64),
			fmt.Sprintf("recording truncated at %d KiB", maxRecording>>10))
		z.Reset()
		zw.Reset(&z)
		zw.Write([]byte(marker))
		zw.Close()
		size = int64(len(marker))
		r.mu.Lock()
		r.truncated = true
		r.buf.Reset()
		r.mu.Unlock()
	}
	// Back into the pool before the store is written: writers waiting for
	// the database's one writer must not each hold a compressor (1 MiB).
	zw.Reset(nil)
	gzipPool.Put(zw)
	if err := r.store.AppendRecording(r.ctx, r.id, r.seq, z.Bytes(), r.size+size, r.bytes+int64(z.Len()), truncated); err != nil {
		return fmt.Errorf("storing recording %d: %w", r.id, err)
	}
	r.seq++
	r.size += size
	r.bytes += int64(z.Len())
	return nil
}

// sync stores the events held so far before it returns: a chunk boundary.
func (r *recorder) sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buf.Len() == 0 {
		return r.err
	}
	want := r.stored + r.storing + 1
	r.last = time.Time{} // due at once
	r.wakeWriter()
	for r.stored < want && r.err == nil {
		r.cond.Wait()
	}
	return r.err
}

// Err is the writer's failure, if any: the session must end.
func (r *recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// finish stores what is held and the end time; ctx bounds the end time's
// write (the writer's chunks use the recorder's context).
func (r *recorder) finish(ctx context.Context) error {
	r.mu.Lock()
	if len(r.tail) > 0 {
		r.eventLocked("o", string(r.tail), math.MaxInt) // shown as U+FFFD, as a terminal would
		r.tail = nil
	}
	r.finished = true
	r.cond.Broadcast()
	r.mu.Unlock()
	close(r.stop)
	<-r.stopped
	return errors.Join(r.Err(), r.store.FinishRecording(ctx, r.id, r.now()))
}

// splitUTF8 splits b before an incomplete UTF-8 sequence at its end.
func splitUTF8(b []byte) (complete, rest []byte) {
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		c := b[i]
		if c < 0x80 {
			break
		}
		if c >= 0xC0 {
			need := 2
			switch {
			case c >= 0xF0:
				need = 4
			case c >= 0xE0:
				need = 3
			}
			if len(b)-i < need {
				return b[:i], b[i:]
			}
			break
		}
	}
	return b, nil
}

// Recording returns a recording's facts (administrators).
func (s *Service) Recording(ctx context.Context, u core.User, id int64) (core.Recording, error) {
	if err := need(u, authz.Admin); err != nil {
		return core.Recording{}, err
	}
	r, err := s.store.GetRecording(ctx, id)
	if err != nil {
		return r, fmt.Errorf("recording %d: %w", id, err)
	}
	return r, nil
}

// ReplayRecording writes recording id as an asciicast v2 file to w
// (administrators; audited as "recording.replay"). A recording still
// running yields what was stored so far.
func (s *Service) ReplayRecording(ctx context.Context, u core.User, id int64, w io.Writer) error {
	rec, err := s.Recording(ctx, u, id)
	if err != nil {
		return err
	}
	if err := s.record(ctx, u, "recording.replay", target("recording", id),
		fmt.Sprintf("device=%d by=%s", rec.DeviceID, rec.Actor), core.AuditOK); err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(s.store.RecordingChunks(ctx, id, func(b []byte) error { _, err := pw.Write(b); return err }))
	}()
	defer pr.Close()
	zr, err := gzip.NewReader(pr)
	if errors.Is(err, io.EOF) {
		return nil // nothing stored yet
	}
	if err != nil {
		return fmt.Errorf("reading recording %d: %w", id, err)
	}
	if _, err := io.Copy(w, zr); err != nil {
		return fmt.Errorf("reading recording %d: %w", id, err)
	}
	return nil
}

// PruneRecordings deletes the terminal recordings older than the
// retention setting (SettingRecordingDays); the server's retention job
// runs it.
func PruneRecordings(ctx context.Context, st interface {
	core.SettingStore
	core.RecordingStore
}, now time.Time) (int, error) {
	days := DefaultRecordingDays
	v, err := st.GetSetting(ctx, SettingRecordingDays)
	switch {
	case err == nil:
		if n, perr := strconv.Atoi(v); perr == nil && n > 0 {
			days = n
		}
	case !errors.Is(err, core.ErrNotFound):
		return 0, fmt.Errorf("reading recording retention: %w", err)
	}
	return st.DeleteRecordings(ctx, now.AddDate(0, 0, -days))
}
