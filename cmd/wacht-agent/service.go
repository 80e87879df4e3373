package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/kardianos/service"

	"github.com/wacht-rmm/wacht/internal/agent"
)

const serviceName = "wacht-agent"

// agentMemoryLimit is the agent's default soft memory limit. It counts the
// runtime's own memory too (about 6 MB, most of it never touched, so not
// resident), which left an 8 MiB limit no room for the heap: the collector
// then ran at every allocation (TestMemoryLimitLeavesHeapRoom).
const agentMemoryLimit = 12 << 20

// serviceConfig describes the agent's OS service: started at boot,
// restarted on failure, running "wacht-agent run --data DIR".
func serviceConfig(data string) *service.Config {
	return &service.Config{
		Name:        serviceName,
		DisplayName: "Wacht Agent",
		Description: "Wacht remote monitoring agent: runs checks and reports to the Wacht server.",
		Arguments:   []string{"run", "--data", data},
		Option: service.KeyValue{
			"Restart":                "always", // systemd
			"KeepAlive":              true,     // launchd
			"RunAtLoad":              true,
			"LogOutput":              true,
			"OnFailure":              "restart", // Windows
			"OnFailureDelayDuration": "10s",
			"StartType":              "automatic",
			"DelayedAutoStart":       true,
		},
	}
}

// program adapts the agent to the service manager's Start/Stop.
type program struct {
	a      *agent.Agent
	cancel context.CancelFunc
	done   chan error
}

func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan error, 1)
	go func() { p.done <- p.a.Run(ctx) }()
	return nil
}

func (p *program) Stop(service.Service) error {
	p.cancel()
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("agent did not stop within 30s")
	}
}

// runAgent runs the agent until SIGINT/SIGTERM (interactive) or until the
// service manager stops it.
func runAgent(opts agent.Options) error {
	// The agent's live heap is a few MB. A soft memory limit makes the
	// runtime collect before the heap doubles, which keeps the RSS low for
	// a small CPU cost (docs/benchmarks.md, "Agent footprint").
	// GOMEMLIMIT in the environment overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(agentMemoryLimit)
	}
	if !service.Interactive() {
		p := &program{}
		if s, err := service.New(p, serviceConfig(opts.DataDir)); err == nil {
			if runtime.GOOS == "windows" {
				// A Windows service has no stderr: log to the event log.
				if l, err := s.Logger(nil); err == nil {
					opts.Log = slog.New(&serviceHandler{l: l})
				}
			}
			opts.Service = true
			a, err := agent.New(opts)
			if err != nil {
				opts.Log.Error("cannot start the agent", "err", err)
				return err
			}
			p.a = a
			return s.Run()
		}
		// No service manager after all (e.g. a container): run plainly.
	}
	if opts.Args == nil {
		opts.Args = os.Args[1:]
	}
	a, err := agent.New(opts)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts.Log.Info("wacht-agent running", "version", version, "data", opts.DataDir)
	err = a.Run(ctx)
	opts.Log.Info("wacht-agent stopped")
	return err
}

// serviceHandler sends log records to the service manager's log (the
// Windows event log), as one line with its attributes.
type serviceHandler struct {
	l     service.Logger
	attrs []slog.Attr
}

func (h *serviceHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *serviceHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	switch {
	case r.Level >= slog.LevelError:
		return h.l.Error(b.String())
	case r.Level >= slog.LevelWarn:
		return h.l.Warning(b.String())
	default:
		return h.l.Info(b.String())
	}
}

func (h *serviceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &serviceHandler{l: h.l, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

// WithGroup is flattened: the agent does not log groups.
func (h *serviceHandler) WithGroup(string) slog.Handler { return h }

func cmdInstall(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("install", stderr)
	server := fl.String("server", "", "server URL, overriding the one in the token")
	token := fl.String("token", "", "enrollment token (wacht1_…)")
	data := fl.String("data", agent.DefaultDataDir(), "data folder")
	newDevice := fl.Bool("new-device", false, "enroll as a new device even if this machine was enrolled before")
	disable := disableFlag(fl)
	sign := signerFlag(fl)
	rkey := releaseKeyFlag(fl)
	if err := parse(fl, args); err != nil {
		return err
	}
	if *token == "" {
		return usageError{errors.New("--token is required")}
	}
	abs, err := filepath.Abs(*data)
	if err != nil {
		return err
	}
	s, err := service.New(&program{}, serviceConfig(abs))
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	if err := enroll(stdout, *token, *server, abs, *newDevice, disable, sign, rkey); err != nil {
		return err
	}
	registerTray(stdout, stderr)
	if st, err := s.Status(); err == nil && st != service.StatusUnknown {
		// Already installed: restart it so that it uses the new enrollment.
		if err := s.Restart(); err != nil {
			return fmt.Errorf("restarting the installed service: %w", err)
		}
		fmt.Fprintln(stdout, "Service was already installed; restarted it.")
		return nil
	}
	if err := s.Install(); err != nil {
		return fmt.Errorf("installing service: %w", err)
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("starting service: %w", err)
	}
	fmt.Fprintf(stdout, "Installed and started the %s service.\n", serviceName)
	return nil
}

func cmdUninstall(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("uninstall", stderr)
	purge := fl.Bool("purge", false, "also delete the data folder (configuration, key, spool)")
	data := fl.String("data", agent.DefaultDataDir(), "data folder")
	if err := parse(fl, args); err != nil {
		return err
	}
	s, err := service.New(&program{}, serviceConfig(*data))
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	_ = s.Stop() // it may not be running
	if err := s.Uninstall(); err != nil {
		fmt.Fprintf(stderr, "warning: removing service: %v\n", err)
	} else {
		fmt.Fprintf(stdout, "Removed the %s service.\n", serviceName)
	}
	if err := agent.RemoveTrayAutostart(); err != nil {
		fmt.Fprintf(stderr, "warning: %v\n", err)
	}
	if *purge {
		if err := purgeData(*data); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Deleted %s.\n", *data)
	}
	return nil
}

// registerTray makes the tray app next to this binary, if there is one,
// start at every user's next log-on. Monitoring works without it, so a
// failure is a warning.
func registerTray(stdout, stderr io.Writer) {
	exe, err := os.Executable()
	if err == nil {
		var ok bool
		if ok, err = agent.InstallTrayAutostart(exe); ok && err == nil {
			fmt.Fprintln(stdout, "The tray app starts at every user's next log-on.")
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "warning: the tray app is not registered: %v\n", err)
	}
}

// purgeData deletes the data folder, but only one that looks like the
// agent's: a mistyped --data must not delete something else.
func purgeData(dir string) error {
	found := false
	for _, f := range []string{agent.ConfigFile, agent.KeyFile, agent.SpoolFile, agent.StateFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			found = true
		}
	}
	if !found {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("%s does not look like an agent data folder; not deleting it", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("deleting data folder: %w", err)
	}
	return nil
}

func cmdStatus(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("status", stderr)
	data := fl.String("data", agent.DefaultDataDir(), "data folder")
	if err := parse(fl, args); err != nil {
		return err
	}
	cfg, err := agent.LoadConfig(*data)
	if errors.Is(err, agent.ErrNotEnrolled) {
		fmt.Fprintf(stdout, "Enrolled:   no (data folder %s)\n", *data)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Enrolled:   yes\nDevice ID:  %d\nServer:     %s\n", cfg.DeviceID, cfg.ServerURL)
	printUpdate(stdout, *data, cfg)
	st, err := agent.ReadState(*data)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(stdout, "Agent:      has not run yet")
		return nil
	}
	if err != nil {
		return err
	}
	printState(stdout, st)
	return nil
}

func printState(w io.Writer, st agent.State) {
	running := "not running"
	switch {
	case st.Alive():
		running = fmt.Sprintf("running (pid %d)", st.PID)
	case st.Running:
		// The state file says running but the process is gone (a crash
		// or a kill; its PID may belong to another process by now); the
		// connection state below is stale.
		running = fmt.Sprintf("not running (pid %d ended without stopping cleanly)", st.PID)
		st.Connected = false
	}
	conn := "no"
	if st.Connected {
		conn = "yes"
	}
	since := ""
	if !st.Since.IsZero() {
		since = " since " + st.Since.Local().Format(time.DateTime)
	}
	fmt.Fprintf(w, "Agent:      %s\nConnected:  %s%s\nSpool:      %d results waiting\n", running, conn, since, st.SpoolLen)
	if st.Revoked {
		fmt.Fprintln(w, "Revoked:    yes — the server revoked this device; re-enroll it with a new token")
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "Last error: %s\n", st.LastError)
	}
}
