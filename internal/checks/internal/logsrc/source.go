package logsrc

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
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

// tools are the programs the log readers start (journalctl, macOS log):
// built into the agent's allowlist.
var tools = []string{"/usr/bin/journalctl", "/bin/journalctl", "/usr/bin/log"}

func init() { check.AllowBuiltin(tools...) }

// Exec returns a Runner that starts programs the agent's allowlist allows
// (check.Command) with an argument array (never a shell) and a timeout;
// the error carries the start of standard error.
func Exec(timeout time.Duration) Runner {
	return func(ctx context.Context, name string, args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd, err := check.Command(ctx, name, args...)
		if err != nil {
			return nil, msg.Program(name, err, "")
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			why := strings.TrimSpace(stderr.String())
			if len(why) > 300 {
				why = why[:300]
			}
			return nil, msg.Program(name, err, why)
		}
		return out, nil
	}
}
