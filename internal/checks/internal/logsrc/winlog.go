package logsrc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/wevtapi"
)

// WinReadFunc reads events from a Windows channel with an XPath query and
// returns their XML and the bookmark XML after the last one (wevtapi.Read).
type WinReadFunc func(ctx context.Context, channel, xpath string, max int) ([]string, string, error)

// WinLog reads one Windows event log channel. Its bookmark is the wevtapi
// bookmark XML of the last event read and that event's time; the next query
// asks for events with a higher EventRecordID (record IDs grow per channel
// and survive wrapping) or, should the numbering have started over after
// the log was cleared, a later time.
type WinLog struct {
	Channel string
	Cond    string // XPath condition on System, e.g. "(Level=1 or Level=2)"
	Max     int    // events per read; 0 means 10000
	ReadXML WinReadFunc
}

type winBookmark struct {
	XML  string    `json:"xml"`
	Time time.Time `json:"time,omitzero"`
}

// Read implements Reader.
func (w WinLog) Read(ctx context.Context, bm json.RawMessage, since time.Time) ([]Entry, json.RawMessage, error) {
	var b winBookmark
	if len(bm) > 0 {
		if err := json.Unmarshal(bm, &b); err != nil {
			return nil, nil, fmt.Errorf("parsing %s bookmark: %w", w.Channel, err)
		}
	}
	var after uint64
	if b.XML != "" {
		id, err := BookmarkRecordID(b.XML)
		if err != nil {
			return nil, nil, fmt.Errorf("%s bookmark: %w", w.Channel, err)
		}
		after = id
	}
	lookback := time.Since(since)
	if lookback < time.Second {
		lookback = time.Second
	}
	max := w.Max
	if max <= 0 {
		max = 10000
	}
	xs, nbx, err := w.ReadXML(ctx, w.Channel, WinQuery(w.Cond, after, b.Time, lookback), max)
	if err != nil {
		return nil, nil, msg.Wrap("reading event log "+w.Channel, "Lesen des Ereignisprotokolls "+w.Channel, WinCallError(err))
	}
	entries := make([]Entry, 0, len(xs))
	for _, x := range xs {
		e, _, err := ParseWinEvent([]byte(x))
		if err != nil {
			return nil, nil, fmt.Errorf("event log %s: %w", w.Channel, err)
		}
		entries = append(entries, e)
	}
	if nbx == "" {
		return entries, bm, nil
	}
	var last time.Time
	if len(entries) > 0 {
		last = entries[len(entries)-1].Time
	}
	nb, err := json.Marshal(winBookmark{XML: nbx, Time: last})
	return entries, nb, err
}

// WinCallError words a failed wevtapi call in English and German; other
// errors pass unchanged.
func WinCallError(err error) error {
	ce := (*wevtapi.CallError)(nil)
	if !errors.As(err, &ce) {
		return err
	}
	if errors.Is(ce.Err, wevtapi.ErrNoErrorCode) {
		return &msg.OSError{Err: err, Text: core.Text{
			EN: ce.Call + " failed without an error code (the call may not be implemented on this system)",
			DE: ce.Call + " ist ohne Fehlercode fehlgeschlagen (der Aufruf ist auf diesem System womöglich nicht umgesetzt)",
		}}
	}
	return msg.Call(ce.Call, ce.Err)
}
