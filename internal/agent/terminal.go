package agent

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// A terminal is a shell on a PTY (ConPTY on Windows) running as the agent's
// user, with no window. The agent sends its output raw; the server sends
// protocol terminal frames (keystrokes, resizes). The shell and every
// process of its session end with the stream, the connection, the idle
// timeout or the shell's own exit: never an orphaned shell.

// ptyProc is a shell running on a pseudo terminal.
type ptyProc interface {
	Read(p []byte) (int, error)  // the terminal's output
	Write(p []byte) (int, error) // keystrokes
	Resize(rows, cols uint16) error
	PID() int
	// Exited is closed when the shell has exited.
	Exited() <-chan struct{}
	// Kill ends the shell and every process of its session (Windows: its
	// job), waits for the shell and releases the terminal. Idempotent.
	Kill()
}

func init() {
	RegisterAction(protocol.StreamTerminal, Action{Lock: protocol.LockTerminal, Code: true, Open: openTerminal})
}

// terminalArgv is the program and arguments of an interactive shell, the
// default per OS when shell is "". found reports whether a program exists.
func terminalArgv(goos, shell string, found func(string) bool) ([]string, error) {
	if shell == "" {
		switch goos {
		case "windows":
			shell = "powershell"
		case "darwin":
			shell = "zsh"
		default:
			shell = "sh"
			if found("bash") {
				shell = "bash"
			}
		}
	}
	switch shell {
	case "bash", "zsh", "sh":
		return []string{shell, "-l"}, nil
	case "powershell", "pwsh":
		return []string{shell, "-NoLogo"}, nil
	case "cmd":
		return []string{"cmd"}, nil
	}
	return nil, Errorf(protocol.CodeBadArgs, "Unknown shell %q (bash, zsh, sh, powershell, pwsh, cmd).", "Unbekannte Shell %q (bash, zsh, sh, powershell, pwsh, cmd).", shell)
}

func openTerminal(_ context.Context, a *Agent, raw json.RawMessage) (StreamFunc, any, error) {
	var args protocol.TerminalArgs
	if err := json.Unmarshal(raw, &args); err != nil || args.IdleSeconds < 0 {
		return nil, nil, Errorf(protocol.CodeBadArgs, "terminal needs valid arguments.", "terminal braucht gültige Argumente.")
	}
	idle := protocol.DefaultTerminalIdle
	if args.IdleSeconds > 0 {
		idle = min(time.Duration(args.IdleSeconds)*time.Second, protocol.MaxTerminalIdle)
	}
	if args.Rows == 0 || args.Cols == 0 {
		args.Rows, args.Cols = 24, 80
	}
	argv, err := terminalArgv(runtime.GOOS, args.Shell, func(p string) bool { _, err := exec.LookPath(p); return err == nil })
	if err != nil {
		return nil, nil, err
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return nil, nil, Errorf(protocol.CodeNotFound, "The shell %s was not found on this device.", "Die Shell %s wurde auf diesem Gerät nicht gefunden.", argv[0])
	}
	if a.terminals.Add(1) > protocol.MaxTerminals {
		a.terminals.Add(-1)
		return nil, nil, Errorf(protocol.CodeBusy, "This device has %d terminals open already.", "Auf diesem Gerät sind bereits %d Terminals offen.", protocol.MaxTerminals)
	}
	p, err := startPTY(argv, args.Rows, args.Cols)
	if err != nil {
		a.terminals.Add(-1)
		if errors.Is(err, errors.ErrUnsupported) {
			return nil, nil, Errorf(protocol.CodeFailed, "Terminals are not supported on this system.", "Terminals werden auf diesem System nicht unterstützt.")
		}
		return nil, nil, Errorf(protocol.CodeFailed, "Starting %s on a terminal failed: %v", "Start von %s in einem Terminal fehlgeschlagen: %v", argv[0], err)
	}
	a.log.Info("terminal opened", "shell", argv[0], "pid", p.PID())
	run := func(ctx context.Context, s *mux.Stream) error {
		defer a.terminals.Add(-1)
		defer p.Kill()
		return serveTerminal(ctx, s, p, idle)
	}
	return run, protocol.TerminalOpened{Shell: argv[0], PID: p.PID()}, nil
}

// serveTerminal copies the shell's output to the stream and the stream's
// frames to the shell until either ends, the stream's context ends or
// nothing happened for idle.
func serveTerminal(ctx context.Context, s *mux.Stream, p ptyProc, idle time.Duration) error {
	var last atomic.Int64 // unix nanoseconds of the last input or output
	touch := func() { last.Store(time.Now().UnixNano()) }
	touch()
	outDone, inErr := make(chan struct{}), make(chan error, 1)
	go func() {
		defer close(outDone)
		buf := make([]byte, protocol.MaxStreamChunk)
		for {
			n, err := p.Read(buf)
			if n > 0 {
				touch()
				if _, werr := s.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		for {
			f, err := protocol.ReadTermFrame(s)
			if err != nil {
				inErr <- err
				return
			}
			touch()
			switch f.Kind {
			case protocol.TermInput:
				_, err = p.Write(f.Data)
			case protocol.TermResize:
				err = p.Resize(f.Rows, f.Cols)
			}
			if err != nil {
				inErr <- err
				return
			}
		}
	}()
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done(): // the server closed the stream or the session ended
			return nil
		case err := <-inErr:
			if errors.Is(err, protocol.ErrMalformed) {
				return Errorf(protocol.CodeMalformed, "Bad terminal frame: %v", "Fehlerhafter Terminal-Rahmen: %v", err)
			}
			return nil
		case <-p.Exited():
			// Deliver what the shell wrote last; a background process
			// that keeps the terminal open gets a short grace, then Kill.
			select {
			case <-outDone:
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
			return nil
		case <-outDone:
			return nil
		case <-timer.C:
			if rest := time.Until(time.Unix(0, last.Load()).Add(idle)); rest > 0 {
				timer.Reset(rest)
				continue
			}
			return Errorf(protocol.CodeIdleTimeout, "The terminal was closed after %v without input or output.",
				"Das Terminal wurde nach %v ohne Ein- oder Ausgabe geschlossen.", idle)
		}
	}
}
