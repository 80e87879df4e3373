// Package logsrc reads the system logs that the eventlog and logins checks
// watch: the systemd journal (journalctl -o json), classic syslog files, the
// macOS unified log (log show --style ndjson) and Windows event XML. Every
// source reads forward from a bookmark so that each entry is seen once
// across agent restarts; parsing is kept in pure functions tested on
// captured outputs, and OS access is limited to running a program or
// reading a file.
package logsrc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Entry is one log record, normalised across sources.
type Entry struct {
	Time     time.Time         `json:"time"`
	Log      string            `json:"log,omitempty"`  // Windows channel, "journal", the file's path, "unified"
	Source   string            `json:"source"`         // program, provider or process
	Unit     string            `json:"unit,omitempty"` // systemd unit, if known
	ID       string            `json:"id,omitempty"`   // Windows event ID; empty elsewhere
	Priority int               `json:"priority"`       // syslog priority 0–7; -1 if unknown
	Message  string            `json:"message"`
	PID      string            `json:"pid,omitempty"`
	Host     string            `json:"host,omitempty"`
	Data     map[string]string `json:"data,omitempty"` // Windows EventData by name
}

// Reader reads the entries logged after a bookmark. bm is the bookmark the
// previous Read returned (nil on the first run, when the reader starts at
// since instead). It returns the entries in log order and the bookmark
// after the last one; a reader with nothing new returns bm unchanged.
type Reader interface {
	Read(ctx context.Context, bm json.RawMessage, since time.Time) ([]Entry, json.RawMessage, error)
}

// Runner runs a program with arguments and returns its standard output; it
// is the seam where tests substitute captured output.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// Rule selects entries: every non-empty field must match. Source is a glob
// (path.Match syntax, case-insensitive) matched against the entry's source
// or its systemd unit, ID an exact event ID, Text a
// regular expression searched in the message (case-insensitive).
type Rule struct {
	Source string `json:"source,omitempty"`
	ID     string `json:"id,omitempty"`
	Text   string `json:"text,omitempty"`

	re *regexp.Regexp
}

// Compile validates the rule and prepares its regular expression.
func (r *Rule) Compile() error {
	if r.Source == "" && r.ID == "" && r.Text == "" {
		return errors.New("empty rule: give source, id or text")
	}
	if _, err := globMatch(r.Source, ""); err != nil {
		return fmt.Errorf("rule source %q: %w", r.Source, err)
	}
	if r.Text != "" {
		re, err := regexp.Compile("(?i)" + r.Text)
		if err != nil {
			return fmt.Errorf("rule text %q: %w", r.Text, err)
		}
		r.re = re
	}
	return nil
}

// Match reports whether e satisfies every field of the rule. Compile must
// have been called.
func (r *Rule) Match(e Entry) bool {
	if r.Source != "" {
		ok, _ := globMatch(r.Source, e.Source)
		if !ok && e.Unit != "" {
			ok, _ = globMatch(r.Source, e.Unit)
		}
		if !ok {
			return false
		}
	}
	if r.ID != "" && r.ID != e.ID {
		return false
	}
	if r.re != nil && !r.re.MatchString(e.Message) {
		return false
	}
	return true
}

func globMatch(pattern, s string) (bool, error) {
	if pattern == "" {
		return true, nil
	}
	return filepath.Match(strings.ToLower(pattern), strings.ToLower(s))
}

// Filter is a set of include and exclude rules. An entry passes if it
// matches any include rule (or there are none) and no exclude rule.
type Filter struct {
	Include []Rule `json:"include,omitempty"`
	Exclude []Rule `json:"exclude,omitempty"`
}

// Compile compiles every rule.
func (f *Filter) Compile() error {
	for i := range f.Include {
		if err := f.Include[i].Compile(); err != nil {
			return fmt.Errorf("include rule %d: %w", i+1, err)
		}
	}
	for i := range f.Exclude {
		if err := f.Exclude[i].Compile(); err != nil {
			return fmt.Errorf("exclude rule %d: %w", i+1, err)
		}
	}
	return nil
}

// Pass reports whether e passes the filter.
func (f *Filter) Pass(e Entry) bool {
	if len(f.Include) > 0 {
		in := false
		for i := range f.Include {
			if f.Include[i].Match(e) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	for i := range f.Exclude {
		if f.Exclude[i].Match(e) {
			return false
		}
	}
	return true
}

// LoadState reads a check's JSON state file into v. A missing file leaves v
// untouched and is not an error (first run).
func LoadState(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading state: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parsing state %s: %w", path, err)
	}
	return nil
}

// SaveState writes v as JSON to path atomically (temporary file, sync,
// rename), so a crash leaves either the old or the new bookmark.
func SaveState(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	defer os.Remove(f.Name()) // no-op after a successful rename
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("writing state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	return nil
}

// Clip shortens s to at most n runes, marking the cut with "…".
func Clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
