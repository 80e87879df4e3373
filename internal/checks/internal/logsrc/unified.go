package logsrc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
)

// Unified reads the macOS unified log through `log show --style ndjson`.
// `log show --start` takes whole seconds, so the bookmark is the time of the
// last entry read plus the IDs of the entries at exactly that time; the next
// read starts at that second and drops what it has already seen.
type Unified struct {
	Run Runner
	// Predicate is passed to --predicate, e.g.
	// `messageType == error OR messageType == fault`.
	Predicate string
}

type unifiedBookmark struct {
	Time time.Time `json:"time"`
	IDs  []string  `json:"ids,omitempty"`
}

// unifiedLayout is the time format of both --start and the ndjson
// "timestamp" field (which adds microseconds and a zone offset).
const (
	unifiedStart = "2006-01-02 15:04:05"
	unifiedTime  = "2006-01-02 15:04:05.000000-0700"
)

// Read implements Reader.
func (u Unified) Read(ctx context.Context, bm json.RawMessage, since time.Time) ([]Entry, json.RawMessage, error) {
	var b unifiedBookmark
	if len(bm) > 0 {
		if err := json.Unmarshal(bm, &b); err != nil {
			return nil, nil, fmt.Errorf("parsing unified log bookmark: %w", err)
		}
	}
	start := since
	if !b.Time.IsZero() {
		start = b.Time
	}
	// log show reads --start in the local time zone.
	args := []string{"show", "--style", "ndjson", "--info", "--start", start.Local().Format(unifiedStart)}
	if u.Predicate != "" {
		args = append(args, "--predicate", u.Predicate)
	}
	out, err := u.Run(ctx, "/usr/bin/log", args...)
	if err != nil {
		return nil, nil, msg.Wrap("reading the unified log", "Lesen des vereinheitlichten Protokolls (unified log)", err)
	}
	all, err := parseUnified(out)
	if err != nil {
		return nil, nil, err
	}
	entries, nb := unifiedAfter(all, b)
	if nb.Time.IsZero() {
		return entries, bm, nil
	}
	raw, err := json.Marshal(nb)
	return entries, raw, err
}

// unifiedAfter drops entries at or before the bookmark and returns the new
// bookmark (zero if nothing is new).
func unifiedAfter(all []unifiedEntry, b unifiedBookmark) ([]Entry, unifiedBookmark) {
	seen := map[string]bool{}
	for _, id := range b.IDs {
		seen[id] = true
	}
	nb := b
	var out []Entry
	for _, ue := range all {
		t := ue.Time
		if !b.Time.IsZero() && (t.Before(b.Time) || t.Equal(b.Time) && seen[ue.key]) {
			continue
		}
		out = append(out, ue.Entry)
		if !t.Equal(nb.Time) {
			nb = unifiedBookmark{Time: t}
			if t.Equal(b.Time) {
				nb.IDs = append(nb.IDs, b.IDs...)
			}
		}
		nb.IDs = append(nb.IDs, ue.key)
	}
	if len(out) == 0 {
		return nil, unifiedBookmark{}
	}
	return out, nb
}

type unifiedEntry struct {
	Entry
	key string
}

// parseUnified parses `log show --style ndjson` output. The final summary
// object ({"count":…,"finished":1}) and other non-event lines are skipped.
func parseUnified(out []byte) ([]unifiedEntry, error) {
	var res []unifiedEntry
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue // "Filtering the log data using …" header on a TTY
		}
		var r struct {
			Timestamp    string      `json:"timestamp"`
			EventType    string      `json:"eventType"`
			MessageType  string      `json:"messageType"`
			EventMessage string      `json:"eventMessage"`
			Process      string      `json:"processImagePath"`
			Subsystem    string      `json:"subsystem"`
			PID          json.Number `json:"processID"`
			Thread       json.Number `json:"threadID"`
			Mach         json.Number `json:"machTimestamp"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("unified log line %d: %w", n, err)
		}
		if r.Timestamp == "" || r.EventType != "logEvent" {
			continue
		}
		t, err := time.Parse(unifiedTime, r.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("unified log line %d: %w", n, err)
		}
		e := Entry{Time: t.UTC(), Log: "unified", Source: path.Base(r.Process), Message: r.EventMessage, PID: r.PID.String(), Priority: unifiedPriority(r.MessageType)}
		if r.Process == "" {
			e.Source = r.Subsystem
		}
		h := sha256.Sum256([]byte(r.Mach.String() + "\x00" + r.PID.String() + "\x00" + r.Thread.String() + "\x00" + r.EventMessage))
		res = append(res, unifiedEntry{Entry: e, key: hex.EncodeToString(h[:8])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading unified log output: %w", err)
	}
	return res, nil
}

// unifiedPriority maps unified log message types to syslog priorities.
func unifiedPriority(t string) int {
	switch t {
	case "Fault":
		return 2
	case "Error":
		return 3
	case "Default":
		return 5
	case "Info":
		return 6
	case "Debug":
		return 7
	}
	if p, err := strconv.Atoi(t); err == nil {
		return p
	}
	return -1
}
