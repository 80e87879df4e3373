package logsrc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Journal reads the systemd journal through `journalctl -o json`, which
// needs no cgo (DESIGN §4). Its bookmark is the __CURSOR of the last entry
// read; the next read starts with --after-cursor.
type Journal struct {
	Run Runner
	// Args narrow the query, e.g. "-p", "0..3" or field matches such as
	// "SYSLOG_FACILITY=4", "SYSLOG_FACILITY=10".
	Args []string
}

type journalBookmark struct {
	Cursor string `json:"cursor"`
}

// Read implements Reader.
func (j Journal) Read(ctx context.Context, bm json.RawMessage, since time.Time) ([]Entry, json.RawMessage, error) {
	var b journalBookmark
	if len(bm) > 0 {
		if err := json.Unmarshal(bm, &b); err != nil {
			return nil, nil, fmt.Errorf("parsing journal bookmark: %w", err)
		}
	}
	out, err := j.run(ctx, b.Cursor, since)
	if err != nil && b.Cursor != "" && strings.Contains(err.Error(), "cursor") {
		// A cursor journalctl rejects (a journal from another machine
		// restored, a damaged state file) would stop the check for good;
		// start over from the lookback window instead.
		out, err = j.run(ctx, "", since)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the journal: %w", err)
	}
	entries, cursor, err := ParseJournal(out)
	if err != nil {
		return nil, nil, err
	}
	if cursor == "" {
		return entries, bm, nil
	}
	nb, err := json.Marshal(journalBookmark{Cursor: cursor})
	return entries, nb, err
}

func (j Journal) run(ctx context.Context, cursor string, since time.Time) ([]byte, error) {
	args := []string{"-o", "json", "--all", "--no-pager", "-q"}
	if cursor != "" {
		args = append(args, "--after-cursor", cursor)
	} else {
		args = append(args, "--since", "@"+strconv.FormatInt(since.Unix(), 10))
	}
	return j.Run(ctx, "journalctl", append(args, j.Args...)...)
}

// ParseJournal parses `journalctl -o json` output (one JSON object a line)
// and returns the entries and the cursor of the last one. Field values are
// strings, arrays of bytes (for non-UTF-8 or binary values) or arrays of
// those (for fields logged more than once); all three are decoded.
func ParseJournal(out []byte) ([]Entry, string, error) {
	var entries []Entry
	var cursor string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			return nil, "", fmt.Errorf("journal line %d: %w", n, err)
		}
		f := func(name string) string { return journalField(raw[name]) }
		e := Entry{
			Log:      "journal",
			Source:   f("SYSLOG_IDENTIFIER"),
			Unit:     f("_SYSTEMD_UNIT"),
			Message:  f("MESSAGE"),
			PID:      f("_PID"),
			Host:     f("_HOSTNAME"),
			Priority: -1,
		}
		if e.Source == "" {
			e.Source = f("_COMM")
		}
		if e.PID == "" {
			e.PID = f("SYSLOG_PID")
		}
		if p, err := strconv.Atoi(f("PRIORITY")); err == nil {
			e.Priority = p
		}
		if us, err := strconv.ParseInt(f("__REALTIME_TIMESTAMP"), 10, 64); err == nil {
			e.Time = time.UnixMicro(us).UTC()
		}
		if c := f("__CURSOR"); c != "" {
			cursor = c
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, "", fmt.Errorf("reading journal output: %w", err)
	}
	return entries, cursor, nil
}

// journalField decodes one journal JSON field value; for a field logged
// several times it returns the last value.
func journalField(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var bs []byte
	var nums []int
	if json.Unmarshal(v, &nums) == nil {
		bs = make([]byte, len(nums))
		for i, n := range nums {
			bs[i] = byte(n)
		}
		return string(bytes.ToValidUTF8(bs, []byte("\uFFFD")))
	}
	var multi []json.RawMessage
	if json.Unmarshal(v, &multi) == nil && len(multi) > 0 {
		return journalField(multi[len(multi)-1])
	}
	return ""
}
