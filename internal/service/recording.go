package service

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Terminal sessions are recorded on the server as asciicast v2 (a header
// line, then [seconds, "o"|"i"|"r"|"m", data] events), in the database so
// that every node of a cluster can replay them. The recording is written
// in chunks, each a gzip member, so that a session never holds more than
// recordFlush bytes of it in memory and a node that dies loses at most the
// last seconds.

// MaxRecording caps a recording's compressed size; beyond it the session
// goes on unrecorded, and the recording ends with a marker event and
// Truncated set.
const MaxRecording = 64 << 20

// maxRecording is MaxRecording, lowered by tests.
var maxRecording int64 = MaxRecording

const (
	recordFlush      = 64 << 10        // uncompressed bytes held before a chunk is stored
	recordFlushEvery = 5 * time.Second // the longest a recorded event waits
)

// gzipPool keeps the compressors' state (about 1 MiB each) between
// chunks: a hundred busy terminals flush often.
var gzipPool = sync.Pool{New: func() any { zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return zw }}

// recorder writes one session's asciicast in chunks. Safe for concurrent
// use (the output and input pumps both record).
type recorder struct {
	store core.RecordingStore
	id    int64
	start time.Time
	now   func() time.Time

	mu        sync.Mutex
	buf       bytes.Buffer // events not yet stored
	tail      []byte       // an incomplete UTF-8 sequence at the end of the output
	seq       int
	size      int64 // uncompressed bytes stored
	stored    int64 // compressed bytes stored
	truncated bool
	finished  bool
	last      time.Time // of the last chunk stored
}

type castHeader struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

func newRecorder(st core.RecordingStore, id int64, start time.Time, now func() time.Time, cols, rows int, shell, title string) *recorder {
	r := &recorder{store: st, id: id, start: start, now: now, last: start}
	h, _ := json.Marshal(castHeader{Version: 2, Width: cols, Height: rows, Timestamp: start.Unix(), Title: title,
		Env: map[string]string{"SHELL": shell, "TERM": "xterm-256color"}})
	r.buf.Write(h)
	r.buf.WriteByte('\n')
	return r
}

// output records what the terminal printed.
func (r *recorder) output(ctx context.Context, b []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b = append(r.tail, b...)
	b, r.tail = splitUTF8(b)
	r.tail = bytes.Clone(r.tail)
	if len(b) == 0 {
		return nil
	}
	return r.eventLocked(ctx, "o", string(b))
}

// event records an event of kind ("i" input, "r" resize, "m" marker).
func (r *recorder) event(ctx context.Context, kind, data string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.eventLocked(ctx, kind, data)
}

func (r *recorder) eventLocked(ctx context.Context, kind, data string) error {
	if r.truncated || r.finished {
		return nil
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
		return r.flushLocked(ctx)
	}
	return nil
}

// flushDue stores the events held if the oldest waited long enough.
func (r *recorder) flushDue(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buf.Len() == 0 || r.now().Sub(r.last) < recordFlushEvery {
		return nil
	}
	return r.flushLocked(ctx)
}

func (r *recorder) flushLocked(ctx context.Context) error {
	if r.buf.Len() == 0 {
		return nil
	}
	var z bytes.Buffer
	// Back into the pool before the store is written: sessions waiting
	// for the database's one writer must not each hold a compressor.
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(&z)
	zw.Write(r.buf.Bytes())
	zw.Close()
	size := int64(r.buf.Len())
	if r.stored+int64(z.Len()) > maxRecording {
		// Beyond the cap: a last chunk with only the marker.
		r.truncated = true
		r.buf.Reset()
		fmt.Fprintf(&r.buf, "[%s, \"m\", %q]\n", strconv.FormatFloat(r.now().Sub(r.start).Seconds(), 'f', 6, 64),
			fmt.Sprintf("recording truncated at %d KiB", maxRecording>>10))
		z.Reset()
		zw.Reset(&z)
		zw.Write(r.buf.Bytes())
		zw.Close()
		size = int64(r.buf.Len())
	}
	zw.Reset(nil)
	gzipPool.Put(zw)
	if err := r.store.AppendRecording(ctx, r.id, r.seq, z.Bytes(), r.size+size, r.stored+int64(z.Len()), r.truncated); err != nil {
		return fmt.Errorf("storing recording %d: %w", r.id, err)
	}
	r.seq++
	r.size += size
	r.stored += int64(z.Len())
	r.last = r.now()
	r.buf.Reset()
	if r.buf.Cap() > 4*recordFlush {
		r.buf = bytes.Buffer{} // a long paste grew it: give it back
	}
	return nil
}

// finish stores what is held and the end time.
func (r *recorder) finish(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.tail) > 0 && !r.truncated {
		r.eventLocked(ctx, "o", string(r.tail)) // shown as U+FFFD, as a terminal would
		r.tail = nil
	}
	err := r.flushLocked(ctx)
	r.finished = true
	return errors.Join(err, r.store.FinishRecording(ctx, r.id, r.now()))
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
