// Command wacht-tray is the tray app for the users of a managed PC (issue
// 20): one per logged-on user, started at log-on, talking only to the
// local agent. Everything but the desktop glue is in internal/tray.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/wacht-rmm/wacht/internal/tray"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

// version is set by the build (-X main.version=…).
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wacht-tray", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("agent", envOr("WACHT_TRAY_AGENT", trayipc.DefaultAddress()), "the agent's tray socket or pipe (env WACHT_TRAY_AGENT)")
	lang := fs.String("lang", "", "language: de or en (default: the OS language)")
	status := fs.Bool("status", false, "print the agent's status and the menu as JSON and exit (1: agent not reachable)")
	showVersion := fs.Bool("version", false, "print the version")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintf(stdout, "wacht-tray %s (%s/%s, %s)\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
		return 0
	}
	switch *lang {
	case "":
		*lang = tray.DetectLang()
	case "de", "en":
	default:
		fmt.Fprintf(stderr, "wacht-tray: --lang must be de or en, not %q\n", *lang)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	agent := tray.NewAgent(func(ctx context.Context) (tray.Caller, error) { return trayipc.Dial(ctx, *addr) })
	defer agent.Close()
	seenPath, err := tray.DefaultSeenPath()
	if err != nil {
		log.Warn("no config directory; replies seen are not remembered", "err", err)
	}
	app := &tray.App{Agent: agent, Seen: tray.OpenSeen(seenPath), Lang: *lang, TrayVersion: version, Log: log,
		Open: tray.OpenURL, Screenshot: tray.Screenshot, FindRemote: tray.FindRemote, Start: tray.StartProgram}

	if *status {
		snap := app.Refresh(ctx)
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(snap)
		if !snap.Reachable {
			return 1
		}
		return 0
	}

	app.Pages = &tray.Pages{Agent: agent, Lang: *lang, Contact: tray.OSContact(), Seen: app.Seen, Changed: app.Poke, Log: log,
		Product: func() string { return app.Model().About[0] }}
	if err := app.Pages.Start(); err != nil {
		log.Error("starting", "err", err)
		return 1
	}
	defer app.Pages.Close()
	log.Info("starting", "version", version, "agent", *addr, "lang", *lang)
	if !app.WaitShown(ctx) {
		return 0
	}
	if err := runTray(ctx, app, log); err != nil {
		log.Error("tray", "err", err)
		return 1
	}
	return 0
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
