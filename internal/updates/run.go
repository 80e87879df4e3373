package updates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// pmCmd is one run of a package manager: an argument array (never a
// shell string), extra environment, and the account to run as ("" the
// agent's own).
type pmCmd struct {
	argv []string
	env  []string
	user string
}

func (c pmCmd) String() string { return strings.Join(c.argv, " ") }

// pmOut is what a finished program printed and its exit status.
type pmOut struct {
	stdout, stderr string
	exit           int
}

// combined is stdout then stderr, for messages and Result.Output.
func (o pmOut) combined() string {
	if o.stderr == "" {
		return o.stdout
	}
	if o.stdout == "" || strings.HasSuffix(o.stdout, "\n") {
		return o.stdout + o.stderr
	}
	return o.stdout + "\n" + o.stderr
}

// pmRunner starts a pmCmd and waits for it. Its error means the program
// did not run to its end (not found, not startable, ctx done); an exit
// status other than 0 is in pmOut.exit with a nil error.
type pmRunner func(ctx context.Context, c pmCmd) (pmOut, error)

// maxCapture bounds what is kept of one stream: far more than any listing
// of updates, and a runaway tool cannot fill the agent's memory.
const maxCapture = 16 << 20

// baseEnv is the environment of every tool: a fixed PATH and the C locale,
// so that the parsers read English.
var baseEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LC_ALL=C"}

// pmExec is the real pmRunner.
func pmExec(ctx context.Context, c pmCmd) (pmOut, error) {
	if len(c.argv) == 0 {
		return pmOut{}, errors.New("no command")
	}
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Env = append(append([]string{}, baseEnv...), c.env...)
	cmd.Stdin = nil
	gentle(cmd)
	cmd.WaitDelay = 30 * time.Second
	if c.user != "" {
		env, err := runAs(cmd, c.user)
		if err != nil {
			return pmOut{}, err
		}
		cmd.Env = append(cmd.Env, env...)
	}
	var stdout, stderr capBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := pmOut{stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		return out, fmt.Errorf("%s: %w", c, ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		out.exit = ee.ExitCode()
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("%s: %w", c, err)
	}
	return out, nil
}

// capBuffer keeps the first maxCapture bytes written to it.
type capBuffer struct{ bytes.Buffer }

func (b *capBuffer) Write(p []byte) (int, error) {
	if room := maxCapture - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

// outputTail is the last protocol.MaxPackageOutput bytes of s, cut at a
// character's start.
func outputTail(s string) string {
	if len(s) <= protocol.MaxPackageOutput {
		return s
	}
	s = s[len(s)-protocol.MaxPackageOutput:]
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return "[… output cut by Wacht]\n" + s
}

// fileExists reports whether a regular file is at path.
func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// firstExisting returns the first of paths that exists, "" if none.
func firstExisting(paths ...string) string {
	for _, p := range paths {
		if fileExists(p) {
			return p
		}
	}
	return ""
}

// bitext builds a core.Text from a format pair with the same arguments.
func bitext(en, de string, args ...any) core.Text {
	return core.Text{EN: fmt.Sprintf(en, args...), DE: fmt.Sprintf(de, args...)}
}

// ToolError is a failed scan or install with its meaning in English and
// German; it wraps ErrBusy, ErrDiskFull or errors.ErrUnsupported where one
// applies.
type ToolError struct {
	Text core.Text
	Err  error
}

func (e *ToolError) Error() string { return e.Text.EN }

// Localized returns the bilingual message.
func (e *ToolError) Localized() core.Text { return e.Text }

func (e *ToolError) Unwrap() error { return e.Err }

// toolErr wraps sentinel (may be nil) with a bilingual message.
func toolErr(sentinel error, en, de string, args ...any) error {
	return &ToolError{Text: bitext(en, de, args...), Err: sentinel}
}

// NoSourcesError is what to report when Sources returns none: no update
// source this agent knows is on this machine.
func NoSourcesError() error {
	return toolErr(errors.ErrUnsupported, "No update source that Wacht supports was found on this %s machine.",
		"Auf diesem %s-Gerät wurde keine von Wacht unterstützte Update-Quelle gefunden.", runtime.GOOS)
}

// firstLineWith returns the first line of s that starts with one of the
// prefixes (trimmed), else "".
func firstLineWith(s string, prefixes ...string) string {
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(line)
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				return line
			}
		}
	}
	return ""
}

// lastLinesOf is the last n non-empty lines of s joined by " | ", for a
// message when nothing better is known.
func lastLinesOf(s string, n int) string {
	var lines []string
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	r := strings.Join(lines, " | ")
	if len(r) > 400 {
		r = r[:400] + "…"
	}
	return r
}

// sortedStrings sorts s in place and returns it.
func sortedStrings(s []string) []string {
	slices.Sort(s)
	return s
}
