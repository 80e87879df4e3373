// Command wacht-agent is the Wacht endpoint agent: it enrolls with a Wacht
// server, runs checks on a schedule and delivers their results over one
// outbound websocket, and installs itself as an OS service.
package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/check"
	_ "github.com/wacht-rmm/wacht/internal/checks/all"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/scriptsign"
)

// version is set with -ldflags "-X main.version=...".
var version = "dev"

const usage = `Usage: wacht-agent <command> [flags]

Commands:
  enroll     --server URL --token T [--data DIR] [--new-device]   register this machine
  run        [--data DIR] [--interval D] [--spool-max-mb N] [--spool-max-age D]
                                                                  run the agent in the foreground
  check      --once [--json] [--lang en|de]                       run all checks locally and print the results
  inventory  [--json]                                             print this machine's inventory as the agent sends it
  updates    [--json] [--lang en|de]                              scan for missing updates now and print them (exit 1 if a scan failed)
  install    --server URL --token T [--data DIR] [--disable LIST] enroll and install as a service; --disable
             [--require-script-signer PUBKEY]                     locks capabilities (terminal,exec,files,…) here;
             [--release-key FILE|BASE64]                          with a signer only scripts it signed run here;
                                                                  a release key the server can never replace
  uninstall  [--purge] [--data DIR]                               remove the service (and with --purge its data)
  status     [--data DIR]                                         show enrollment and connection state
  allowlist  [--data DIR]                                         show the programs and paths checks may start and read
  version                                                         print the version

Run "wacht-agent <command> -h" for a command's flags.
`

func main() {
	agent.Version = version
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func([]string, io.Writer, io.Writer) error{
		"enroll":    cmdEnroll,
		"run":       cmdRun,
		"check":     cmdCheck,
		"inventory": cmdInventory,
		"updates":   cmdUpdates,
		"install":   cmdInstall,
		"uninstall": cmdUninstall,
		"status":    cmdStatus,
		"allowlist": cmdAllowlist,
		// Hidden: run by the agent from its previous binary (self-update).
		"update-watchdog": cmdUpdateWatchdog,
		"version": func([]string, io.Writer, io.Writer) error {
			fmt.Fprintf(stdout, "wacht-agent %s (%s/%s, %s)\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
			return nil
		},
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	f, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "wacht-agent: unknown command %q\n\n%s", name, usage)
		return 2
	}
	if err := f(args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "wacht-agent %s: %v\n", name, err)
			return 2
		}
		fmt.Fprintf(stderr, "wacht-agent %s: %v\n", name, err)
		return 1
	}
	return 0
}

// usageError marks wrong invocations (exit status 2).
type usageError struct{ error }

// newFlags makes a command's flag set; hidden flags are left out of -h.
func newFlags(name string, stderr io.Writer, hidden ...string) *flag.FlagSet {
	fs := flag.NewFlagSet("wacht-agent "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage of wacht-agent %s:\n", name)
		hide := map[string]bool{}
		for _, h := range hidden {
			hide[h] = true
		}
		fs.VisitAll(func(f *flag.Flag) {
			if hide[f.Name] {
				return
			}
			fmt.Fprintf(stderr, "  --%s\t%s", f.Name, f.Usage)
			if f.DefValue != "" && f.DefValue != "false" {
				fmt.Fprintf(stderr, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(stderr)
		})
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}

// parseChecks builds the checks named in a JSON object of name → params.
func parseChecks(s string) ([]agent.NamedCheck, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("--checks: %w", err)
	}
	names := slices.Sorted(maps.Keys(m))
	out := make([]agent.NamedCheck, 0, len(names))
	for _, n := range names {
		c, err := check.New(n, m[n])
		if err != nil {
			return nil, fmt.Errorf("--checks: %w", err)
		}
		out = append(out, agent.NamedCheck{Name: n, Check: c})
	}
	return out, nil
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func cmdEnroll(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("enroll", stderr)
	server := fs.String("server", "", "server URL, overriding the one in the token (e.g. https://wacht.example.com)")
	token := fs.String("token", "", "enrollment token (wacht1_…)")
	data := fs.String("data", agent.DefaultDataDir(), "data folder")
	newDevice := fs.Bool("new-device", false, "enroll as a new device even if this machine was enrolled before")
	locks := disableFlag(fs)
	signer := signerFlag(fs)
	rkey := releaseKeyFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *token == "" {
		return usageError{errors.New("--token is required")}
	}
	return enroll(stdout, *token, *server, *data, *newDevice, locks, signer, rkey)
}

// locks is the --disable flag: capabilities the server may never use on
// this device.
type locks struct {
	set   bool
	names []string
}

func (l *locks) String() string { return strings.Join(l.names, ",") }

func (l *locks) Set(s string) error {
	l.set, l.names = true, nil
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			l.names = append(l.names, n)
		}
	}
	return protocol.ValidLocks(l.names)
}

func disableFlag(fs *flag.FlagSet) *locks {
	l := &locks{}
	fs.Var(l, "disable", "capabilities to lock on this device, comma-separated ("+strings.Join(protocol.Locks, ",")+`); the server cannot change this; "" unlocks all`)
	return l
}

// signer is the --require-script-signer flag: lock mode's public key.
type signer struct {
	set bool
	key ed25519.PublicKey
}

func (s *signer) String() string {
	if s.key == nil {
		return ""
	}
	return scriptsign.EncodePublic(s.key)
}

func (s *signer) Set(v string) error {
	s.set, s.key = true, nil
	if v == "" {
		return nil
	}
	k, err := scriptsign.ParsePublic(v)
	s.key = k
	return err
}

func signerFlag(fs *flag.FlagSet) *signer {
	s := &signer{}
	fs.Var(s, "require-script-signer", `run only scripts signed with this public key (wacht script keygen prints it); the server cannot change this; "" ends lock mode`)
	return s
}

func enroll(stdout io.Writer, token, server, data string, newDevice bool, disable *locks, sign *signer, rkey *releaseKey) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	resp, err := agent.Enroll(ctx, token, server, data, newDevice)
	if err != nil {
		return err
	}
	if disable.set {
		if err := agent.SetDisabled(data, disable.names); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Disabled on this device: %s.\n", cmp.Or(disable.String(), "nothing"))
	}
	if sign.set {
		if err := agent.SetScriptSigner(data, sign.key); err != nil {
			return err
		}
		if sign.key == nil {
			fmt.Fprintln(stdout, "Script lock mode: off.")
		} else {
			fmt.Fprintf(stdout, "Script lock mode: only scripts signed by %s run here.\n", sign)
		}
	}
	if rkey.set {
		if err := agent.SetReleaseKey(data, rkey.key); err != nil {
			return err
		}
		if rkey.key == nil {
			fmt.Fprintln(stdout, "Release key: the server's (pinned at the next connection).")
		} else {
			fmt.Fprintf(stdout, "Release key: %s, set locally; the server cannot replace it.\n", release.Fingerprint(rkey.key)[:16])
		}
	}
	how := "Enrolled as new device"
	if resp.Rekeyed {
		how = "Re-enrolled as device"
	}
	fmt.Fprintf(stdout, "%s %d (client %s, site %s). Configuration saved in %s.\n", how, resp.DeviceID, resp.Client, resp.Site, data)
	return nil
}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr, "trace-results", "checks")
	data := fs.String("data", agent.DefaultDataDir(), "data folder")
	interval := fs.Duration("interval", 0, "run every 24x7 check at this interval instead of its policy's (default: as the policy says)")
	trace := fs.String("trace-results", "", "append the ID of every produced result to this file (for tests)")
	spoolMB := fs.Int("spool-max-mb", int(agent.DefaultSpoolLimits.MaxBytes>>20), "most MiB of unsent results kept on disk")
	spoolAge := fs.Duration("spool-max-age", agent.DefaultSpoolLimits.MaxAge, "oldest unsent result kept on disk")
	checksJSON := fs.String("checks", "", `checks to run with their parameters as JSON, e.g. {"cpu":{"window":"1s"},"disk":null} (default: all)`)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *interval != 0 && *interval < time.Second {
		return usageError{fmt.Errorf("--interval %v is below 1s", *interval)}
	}
	if *spoolMB < 1 || *spoolAge < time.Hour {
		return usageError{errors.New("--spool-max-mb must be at least 1 and --spool-max-age at least 1h")}
	}
	opts := agent.Options{
		DataDir: *data, Interval: *interval, Log: newLogger(stderr),
		SpoolLimits: agent.SpoolLimits{MaxBytes: int64(*spoolMB) << 20, MaxAge: *spoolAge},
		Uninstall:   selfUninstall(*data, stderr),
		Tray:        true,
	}
	if *checksJSON != "" {
		checks, err := parseChecks(*checksJSON)
		if err != nil {
			return usageError{err}
		}
		opts.Checks = checks
	}
	if *trace != "" {
		f, err := os.OpenFile(*trace, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("opening trace file: %w", err)
		}
		defer f.Close()
		opts.Trace = f
	}
	return runAgent(opts)
}

// cmdAllowlist prints what checks may start and read on this device: the
// built-in programs and what agent.json's "allow" adds.
func cmdAllowlist(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("allowlist", stderr)
	data := fs.String("data", agent.DefaultDataDir(), "data folder")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := agent.LoadConfig(*data)
	if err != nil && !errors.Is(err, agent.ErrNotEnrolled) {
		return err
	}
	list := func(title string, entries []string) {
		fmt.Fprintln(stdout, title)
		if len(entries) == 0 {
			fmt.Fprintln(stdout, "  (none)")
		}
		for _, e := range entries {
			fmt.Fprintln(stdout, "  "+e)
		}
	}
	list("Built-in programs:", check.Builtin())
	list(`Programs allowed in agent.json ("allow": {"executables": [...]}):`, cfg.Allow.Executables)
	list(`Paths allowed in agent.json ("allow": {"paths": [...]}):`, cfg.Allow.Paths)
	return nil
}
