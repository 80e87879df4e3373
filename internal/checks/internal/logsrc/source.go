package logsrc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Source is a named Reader; the name keys its bookmark.
type Source struct {
	Name   string
	Reader Reader
}

// Bookmarks holds each source's bookmark by name.
type Bookmarks map[string]json.RawMessage

// ReadAll reads every source from its bookmark and returns all entries and
// the new bookmarks. Nothing is committed: the caller saves the bookmarks
// only after its result is produced, so a crash re-reads rather than loses.
func ReadAll(ctx context.Context, srcs []Source, bms Bookmarks, since time.Time) ([]Entry, Bookmarks, error) {
	nb := Bookmarks{}
	var all []Entry
	for _, s := range srcs {
		es, b, err := s.Reader.Read(ctx, bms[s.Name], since)
		if err != nil {
			return nil, nil, err
		}
		if len(b) > 0 {
			nb[s.Name] = b
		}
		all = append(all, es...)
	}
	return all, nb, nil
}

// Exec returns a Runner that starts programs with an argument array (never
// a shell) and a timeout; the error carries the start of standard error.
func Exec(timeout time.Duration) Runner {
	return func(ctx context.Context, name string, args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			msg := strings.TrimSpace(stderr.String())
			if len(msg) > 300 {
				msg = msg[:300]
			}
			if msg != "" {
				return nil, fmt.Errorf("%s: %w: %s", name, err, msg)
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return out, nil
	}
}
