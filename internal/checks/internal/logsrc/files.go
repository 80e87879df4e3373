package logsrc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// Files reads classic syslog files (/var/log/syslog, auth.log, secure, or a
// daemon's own log file) where there is no journal. Its bookmark is the
// file's inode and the offset after the last complete line read. When the
// inode changed the file was rotated: the rest of the old file is read from
// <name>.1 if it is there with the old inode, then the new file from the
// start. Only complete lines are consumed, so a line being written is read
// whole on the next run.
type Files struct {
	Paths []string
	// FirstMax bounds how much of a file the first run reads (from the
	// end); 0 means 16 MiB.
	FirstMax int64
	// MaxRead bounds what one run reads per file (the rest waits for the
	// next run, so nothing is skipped); 0 means 32 MiB.
	MaxRead int64
	// Now gives the time for lines without a year or without a time
	// stamp; nil means time.Now.
	Now func() time.Time
}

type filePos struct {
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
}

type filesBookmark map[string]filePos

// Read implements Reader. Files that do not exist yet are skipped.
func (fs Files) Read(ctx context.Context, bm json.RawMessage, since time.Time) ([]Entry, json.RawMessage, error) {
	b := filesBookmark{}
	if len(bm) > 0 {
		if err := json.Unmarshal(bm, &b); err != nil {
			return nil, nil, fmt.Errorf("parsing file bookmark: %w", err)
		}
	}
	now := time.Now
	if fs.Now != nil {
		now = fs.Now
	}
	var all []Entry
	found := false
	for _, path := range fs.Paths {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		pos, had := b[path]
		lines, npos, err := readFile(path, pos, had, fs.FirstMax, fs.MaxRead)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		found = true
		b[path] = npos
		t := now()
		for _, l := range lines {
			e := ParseSyslogLine(l, t)
			e.Log = path
			if !had && !e.Time.IsZero() && e.Time.Before(since) {
				continue
			}
			if e.Time.IsZero() {
				e.Time = t.UTC()
			}
			all = append(all, e)
		}
	}
	if !found && len(fs.Paths) > 0 {
		return nil, nil, fmt.Errorf("none of the log files exists: %s: %w", strings.Join(fs.Paths, ", "), os.ErrNotExist)
	}
	nb, err := json.Marshal(b)
	return all, nb, err
}

// readFile returns the complete lines after pos and the new position.
func readFile(path string, pos filePos, had bool, firstMax, maxRead int64) ([]string, filePos, error) {
	if maxRead <= 0 {
		maxRead = 32 << 20
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, pos, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, pos, fmt.Errorf("reading %s: %w", path, err)
	}
	ino := fileID(fi)
	var lines []string
	var start int64
	skipPartial := false
	switch {
	case !had:
		if firstMax <= 0 {
			firstMax = 16 << 20
		}
		if fi.Size() > firstMax {
			start, skipPartial = fi.Size()-firstMax, true
		}
	case ino == pos.Inode && fi.Size() >= pos.Offset:
		start = pos.Offset
	case ino == pos.Inode:
		// Truncated in place (copytruncate): everything is new.
	default:
		// Rotated: finish the old file if it was renamed to <name>.1.
		rest, end, full, err := readRotated(path+".1", pos, maxRead)
		if err != nil {
			return nil, pos, err
		}
		if full {
			// More than one run's worth left in the old file: go on
			// with it next time.
			return rest, filePos{Inode: pos.Inode, Offset: end}, nil
		}
		lines = rest
	}
	more, end, _, err := readLines(f, start, skipPartial, maxRead)
	if err != nil {
		return nil, pos, fmt.Errorf("reading %s: %w", path, err)
	}
	return append(lines, more...), filePos{Inode: ino, Offset: end}, nil
}

// readRotated reads the rest of the rotated file if it is the bookmarked
// one; full reports that it stopped at maxRead with more to come.
func readRotated(path string, pos filePos, maxRead int64) (lines []string, end int64, full bool, err error) {
	old, err := os.Open(path)
	if err != nil {
		return nil, 0, false, nil // not kept, or compressed: nothing to finish
	}
	defer old.Close()
	fi, err := old.Stat()
	if err != nil || fileID(fi) != pos.Inode || fi.Size() < pos.Offset {
		return nil, 0, false, nil
	}
	lines, end, full, err = readLines(old, pos.Offset, false, maxRead)
	if err != nil {
		return nil, 0, false, fmt.Errorf("reading %s: %w", path, err)
	}
	return lines, end, full, nil
}

// readLines reads complete lines from offset start, up to about max bytes,
// and returns them with the offset after the last one; full reports that
// it stopped at max rather than at the end of the file.
func readLines(f *os.File, start int64, skipPartial bool, max int64) ([]string, int64, bool, error) {
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return nil, start, false, err
	}
	r := bufio.NewReaderSize(f, 64*1024)
	var lines []string
	off := start
	first := true
	for off-start < max {
		l, err := r.ReadBytes('\n')
		if err == io.EOF {
			// A partial last line stays for the next run.
			return lines, off, false, nil
		}
		if err != nil {
			return nil, start, false, err
		}
		off += int64(len(l))
		if first && skipPartial {
			first = false
			continue
		}
		first = false
		l = bytes.TrimRight(l, "\r\n")
		if len(l) > 0 {
			lines = append(lines, string(bytes.ToValidUTF8(l, []byte("\uFFFD"))))
		}
	}
	return lines, off, true, nil
}

var (
	// Traditional BSD format: "Nov  6 22:35:43 host ...".
	bsdLine = regexp.MustCompile(`^([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)\s+(\S+)\s+(.*)$`)
)

// ParseSyslogLine parses one syslog file line. Lines without a recognised
// time stamp (a daemon's own log file, e.g. sshd -E) keep a zero Time and
// the whole line as message, with a program tag if one leads the line.
// BSD time stamps carry no year: the year is the one that puts the time
// not more than a day after now. Priority is unknown (-1) in files.
func ParseSyslogLine(line string, now time.Time) Entry {
	e := Entry{Priority: -1}
	rest := line
	if len(line) > 20 && line[4] == '-' && line[10] == 'T' {
		// RFC 3339, split by hand: this runs for every line of a file.
		ts, after, _ := strings.Cut(line, " ")
		host, msg, ok := strings.Cut(strings.TrimLeft(after, " "), " ")
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil && ok {
			e.Time, e.Host, rest = t.UTC(), host, strings.TrimLeft(msg, " ")
		}
	} else if m := bsdLine.FindStringSubmatch(line); m != nil {
		if t, err := time.ParseInLocation("Jan _2 15:04:05", m[1], now.Location()); err == nil {
			t = t.AddDate(now.Year(), 0, 0)
			if t.After(now.Add(24 * time.Hour)) {
				t = t.AddDate(-1, 0, 0)
			}
			e.Time, e.Host, rest = t.UTC(), m[2], m[3]
		}
	}
	if src, pid, msg, ok := cutTag(rest); ok {
		e.Source, e.PID, rest = src, pid, msg
	}
	e.Message = rest
	return e
}

// cutTag splits a program tag, "sshd[1234]: " or "kernel: ", off a message.
func cutTag(s string) (src, pid, msg string, ok bool) {
	i := strings.IndexAny(s, "[]: \t")
	if i <= 0 {
		return "", "", "", false
	}
	src, s = s[:i], s[i:]
	if s[0] == '[' {
		j := strings.IndexByte(s, ']')
		if j < 2 {
			return "", "", "", false
		}
		pid = s[1:j]
		for _, r := range pid {
			if r < '0' || r > '9' {
				return "", "", "", false
			}
		}
		s = s[j+1:]
	}
	if s == "" || s[0] != ':' {
		return "", "", "", false
	}
	return src, pid, strings.TrimPrefix(s[1:], " "), true
}
