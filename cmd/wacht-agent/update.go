package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kardianos/service"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/release"
)

// releaseKey is the --release-key flag: a release public key set locally
// (the content of a .pub file from `wacht release keygen`, its base64, or
// the path of that file); "" returns to the server's keys.
type releaseKey struct {
	set bool
	key ed25519.PublicKey
}

func (r *releaseKey) String() string {
	if r.key == nil {
		return ""
	}
	return release.Fingerprint(r.key)
}

func (r *releaseKey) Set(v string) error {
	r.set, r.key = true, nil
	if v == "" {
		return nil
	}
	k, err := release.ParsePublicKey([]byte(v))
	if err != nil {
		if _, serr := os.Stat(v); serr == nil {
			k, err = release.LoadPublicKey(v)
		}
	}
	r.key = k
	return err
}

func releaseKeyFlag(fs *flag.FlagSet) *releaseKey {
	r := &releaseKey{}
	fs.Var(r, "release-key", `release public key (file or base64) that must sign agent updates; the server cannot replace it; "" uses the server's`)
	return r
}

// cmdUpdateWatchdog is the hidden `update-watchdog` command the agent
// starts from its previous binary after staging an update.
func cmdUpdateWatchdog(args []string, stdout, stderr io.Writer) error {
	fl := newFlags("update-watchdog", stderr)
	data := fl.String("data", agent.DefaultDataDir(), "data folder")
	if err := parse(fl, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := agent.WatchdogOptions{DataDir: *data, Log: newLogger(stderr)}
	if s, err := service.New(&program{}, serviceConfig(*data)); err == nil {
		o.Service = serviceControl{s}
	}
	return agent.RunWatchdog(ctx, o)
}

// serviceControl restarts the agent through its service manager
// (systemctl, the SCM, launchctl).
type serviceControl struct{ s service.Service }

func (c serviceControl) Restart(agent.UpdateState) error { return c.s.Restart() }
func (c serviceControl) Start(agent.UpdateState) error   { return c.s.Start() }

func (c serviceControl) Stop(agent.UpdateState) error {
	err := c.s.Stop()
	// Wait until it is down: the executable is replaced next.
	for range 300 {
		if st, serr := c.s.Status(); serr == nil && st != service.StatusRunning {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err == nil {
		err = errors.New("the service did not stop within 30 s")
	}
	return fmt.Errorf("stopping the service: %w", err)
}

// Alive reports whether the agent's process runs. Under systemd it asks
// for the unit's ActiveState: kardianos/service counts "activating" as
// running, and a unit with Restart= waits in "activating" (auto-restart)
// between two starts of a build that keeps exiting, so the watchdog would
// never see that build crash.
func (c serviceControl) Alive(agent.UpdateState) bool {
	if c.s.Platform() == "linux-systemd" {
		out, err := exec.Command("systemctl", "show", "--property=ActiveState", "--value", serviceName+".service").Output()
		return err == nil && strings.TrimSpace(string(out)) == "active"
	}
	st, err := c.s.Status()
	return err == nil && st == service.StatusRunning
}

// printUpdate shows the release key and the last self-update.
func printUpdate(w io.Writer, data string, cfg agent.Config) {
	switch {
	case len(cfg.ReleaseKeys) == 0:
		fmt.Fprintln(w, "Release key: none (pinned from the server at the next connection)")
	case cfg.LocalReleaseKey:
		fmt.Fprintf(w, "Release key: %.16s (set locally)\n", release.Fingerprint(cfg.ReleaseKeys[0]))
	default:
		fmt.Fprintf(w, "Release key: %.16s (the server's)\n", release.Fingerprint(cfg.ReleaseKeys[0]))
	}
	st, err := agent.ReadUpdateState(data)
	if err != nil {
		fmt.Fprintf(w, "Update:     %v\n", err)
		return
	}
	if st.Phase == "" {
		return
	}
	line := fmt.Sprintf("Update:     %s → %s: %s", st.From, st.To, strings.ReplaceAll(st.Phase, "_", " "))
	if st.Phase == agent.PhaseTrial {
		line += " until " + st.Deadline.Local().Format(time.DateTime)
	}
	if st.Report != nil && st.Report.Message.EN != "" {
		line += " (" + st.Report.Message.EN + ")"
	}
	fmt.Fprintln(w, line)
}
