//go:build linux

package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
)

// term is a terminal stream seen from the server: it collects the output.
type term struct {
	t    *testing.T
	s    *gateway.Stream
	meta protocol.TerminalOpened
	mu   sync.Mutex
	cond *sync.Cond
	out  strings.Builder
	err  error // why the output ended
}

func openTerm(t *testing.T, l *live, args protocol.TerminalArgs) *term {
	t.Helper()
	s, err := l.hub.OpenStream(ctxT(t), l.deviceID, protocol.StreamTerminal, args)
	if err != nil {
		t.Fatal(err)
	}
	tm := &term{t: t, s: s}
	tm.cond = sync.NewCond(&tm.mu)
	if err := json.Unmarshal(s.Meta, &tm.meta); err != nil || tm.meta.PID <= 0 {
		t.Fatalf("meta %s: %v", s.Meta, err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := s.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			if err != nil {
				tm.err = err
			}
			tm.cond.Broadcast()
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { s.Close() })
	return tm
}

func (tm *term) send(keys string) {
	tm.t.Helper()
	if _, err := tm.s.Write(protocol.AppendTermInput(nil, []byte(keys))); err != nil {
		tm.t.Fatal(err)
	}
}

// waitFor waits until the output matches re (from the start of the
// session) and returns the match; the stream's end fails the test.
func (tm *term) waitFor(re string) []string {
	tm.t.Helper()
	rx := regexp.MustCompile(re)
	done := make(chan struct{})
	defer close(done)
	go func() { // hang guard, not a timing assertion
		select {
		case <-done:
		case <-ctxT(tm.t).Done():
			tm.mu.Lock()
			tm.err = errors.New("timed out")
			tm.cond.Broadcast()
			tm.mu.Unlock()
		}
	}()
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for {
		if m := rx.FindStringSubmatch(tm.out.String()); m != nil {
			return m
		}
		if tm.err != nil {
			tm.t.Fatalf("waiting for %q: %v; output so far:\n%q", re, tm.err, tm.out.String())
		}
		tm.cond.Wait()
	}
}

// ended waits for the output's end and returns why.
func (tm *term) ended() error {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for tm.err == nil {
		tm.cond.Wait()
	}
	return tm.err
}

// gone reports whether pid has exited (a zombie waiting for a parent that
// does not reap counts as gone).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

// TestTerminal: a real shell on a PTY through a real gateway: German
// characters and AltGr symbols echo and print intact, a resize reaches the
// terminal, and closing the stream kills the shell and the jobs it started.
func TestTerminal(t *testing.T) {
	shells := []string{"sh"}
	if _, err := exec.LookPath("bash"); err == nil {
		shells = append(shells, "bash")
	}
	// The shells start as login shells: keep this machine's own profile
	// (pyenv hooks…) out of the test.
	t.Setenv("HOME", t.TempDir())
	l := startLive(t, liveOpts{})
	for _, shell := range shells {
		t.Run(shell, func(t *testing.T) {
			tm := openTerm(t, l, protocol.TerminalArgs{Shell: shell, Rows: 30, Cols: 100})
			if tm.meta.Shell != shell {
				t.Errorf("meta shell %q", tm.meta.Shell)
			}
			// The first keys only once the shell reads them.
			tm.send("echo 'RE''ADY'\r")
			tm.waitFor("READY\r\n")
			// Typed as a German keyboard sends it: the echo shows it as typed.
			tm.send(`echo Grüße @ \ |`)
			tm.waitFor(regexp.QuoteMeta(`echo Grüße @ \ |`))
			tm.send("\x15") // Ctrl-U: erase the incomplete line
			tm.send("echo 'Gr''üße @ \\ | { } [ ] ~'\r")
			tm.waitFor(regexp.QuoteMeta("Grüße @ \\ | { } [ ] ~\r\n"))

			tm.send("stty size\r")
			tm.waitFor(`30 100\r\n`)
			if _, err := tm.s.Write(protocol.AppendTermResize(nil, 40, 132)); err != nil {
				t.Fatal(err)
			}
			tm.send("stty size\r")
			tm.waitFor(`40 132\r\n`)

			// A job in its own process group (bash's job control) and the
			// shell itself die with the stream.
			tm.send("sleep 1000 & echo BG=$!\r")
			bg, _ := strconv.Atoi(tm.waitFor(`BG=(\d+)\r\n`)[1])
			if gone(bg) || gone(tm.meta.PID) {
				t.Fatalf("shell %d or job %d not running", tm.meta.PID, bg)
			}
			tm.s.Close()
			waitLive(t, "shell and job killed", func() bool { return gone(tm.meta.PID) && gone(bg) })
		})
	}
	waitLive(t, "terminals released", func() bool { return l.terminals.Load() == 0 && l.streams.Load() == 0 })
}

// TestTerminalEnds: the shell's exit, a dropped connection and the idle
// timeout end the session and leave no shell behind; a fifth terminal is
// refused.
func TestTerminalEnds(t *testing.T) {
	l := startLive(t, liveOpts{})

	tm := openTerm(t, l, protocol.TerminalArgs{Shell: "sh"})
	tm.send("exit 0\r")
	if err := tm.ended(); err != io.EOF {
		t.Errorf("after exit: %v, want EOF", err)
	}

	idle := openTerm(t, l, protocol.TerminalArgs{Shell: "sh", IdleSeconds: 1})
	var ce *mux.CloseError
	if err := idle.ended(); !errors.As(err, &ce) || ce.Code != protocol.CodeIdleTimeout || ce.Message.DE == "" {
		t.Errorf("idle: %v", err)
	}
	waitLive(t, "idle shell killed", func() bool { return gone(idle.meta.PID) })

	var open []*term
	for range protocol.MaxTerminals {
		open = append(open, openTerm(t, l, protocol.TerminalArgs{Shell: "sh"}))
	}
	_, err := l.hub.OpenStream(ctxT(t), l.deviceID, protocol.StreamTerminal, protocol.TerminalArgs{})
	wantCode(t, "fifth terminal", err, protocol.CodeBusy)

	l.hub.Disconnect(l.deviceID, "test")
	for _, tm := range open {
		waitLive(t, "shell killed after the drop", func() bool { return gone(tm.meta.PID) })
	}
	waitLive(t, "terminals released", func() bool { return l.terminals.Load() == 0 })
}

func TestTerminalArgv(t *testing.T) {
	has := func(string) bool { return true }
	hasNot := func(string) bool { return false }
	for _, tc := range []struct {
		goos, shell string
		found       func(string) bool
		want        string
	}{
		{"linux", "", has, "bash -l"},
		{"linux", "", hasNot, "sh -l"},
		{"darwin", "", has, "zsh -l"},
		{"windows", "", has, "powershell -NoLogo"},
		{"windows", "cmd", has, "cmd"},
	} {
		argv, err := terminalArgv(tc.goos, tc.shell, tc.found)
		if err != nil || strings.Join(argv, " ") != tc.want {
			t.Errorf("%s %q: %q %v", tc.goos, tc.shell, argv, err)
		}
	}
	_, err := terminalArgv("linux", "bash -c id", has)
	wantCode(t, "unknown shell", err, protocol.CodeBadArgs)
}

// BenchmarkTerminalEcho measures a keystroke's round trip through the
// gateway: typed on the server, echoed by the PTY, read back on the
// server. Reports p50 and p99.
func BenchmarkTerminalEcho(b *testing.B) {
	l := startLive(b, liveOpts{})
	terminalEcho(b, l.hub, l.deviceID)
}

// terminalEcho runs BenchmarkTerminalEcho's loop through hub.
func terminalEcho(b *testing.B, hub *gateway.Hub, deviceID int64) {
	s, err := hub.OpenStream(ctxT(b), deviceID, protocol.StreamTerminal, protocol.TerminalArgs{Shell: "sh"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	buf := make([]byte, 4096)
	readUntil := func(want byte) {
		for {
			n, err := s.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			if n > 0 && buf[n-1] == want {
				return
			}
		}
	}
	// Wait for the shell, then keep the line short: one key and its erase.
	s.Write(protocol.AppendTermInput(nil, []byte("echo ready\r")))
	readUntil(' ') // the prompt "# " (or "$ ")
	var rtts []time.Duration
	for b.Loop() {
		start := time.Now()
		s.Write(protocol.AppendTermInput(nil, []byte("x")))
		readUntil('x')
		rtts = append(rtts, time.Since(start))
		s.Write(protocol.AppendTermInput(nil, []byte{0x7f})) // backspace
		readUntil('\b')
	}
	slices.Sort(rtts)
	b.ReportMetric(float64(rtts[len(rtts)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(rtts[len(rtts)*99/100].Microseconds()), "p99-µs")
}
