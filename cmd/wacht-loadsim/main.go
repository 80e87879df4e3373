// Command wacht-loadsim runs many simulated agents against a Wacht server
// for load tests (docs/benchmarks.md). It is a development tool, built by
// `make build` and not shipped; the simulator is internal/loadsim.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/wacht-rmm/wacht/internal/loadsim"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "wacht-loadsim:", err)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wacht-loadsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o loadsim.Options
	fs.StringVar(&o.Server, "server", "", "server `URL` (default: the one in the token)")
	fs.StringVar(&o.Token, "token", "", "enrollment `token` for agents not yet in the cache")
	fs.IntVar(&o.Agents, "agents", 100, "simulated agents in the whole run")
	fs.IntVar(&o.Index, "index", 0, "this process's share of a run split over several processes: agents i with i % of = index")
	fs.IntVar(&o.Of, "of", 1, "number of processes sharing the run")
	fs.DurationVar(&o.Duration, "duration", 0, "how long to produce results; 0 = until interrupted")
	fs.DurationVar(&o.Ramp, "ramp", 0, "spread agent starts over this `duration` (default 30s)")
	fs.DurationVar(&o.Drain, "drain", 0, "at the end, wait this long for every result to be acked (default 1m)")
	fs.StringVar(&o.Cache, "cache", "", "agent cache `file` (enrolled devices and keys); processes of one run may share it (default wacht/loadsim-agents.jsonl in the user cache folder)")
	fs.StringVar(&o.Name, "name", "loadsim", "`prefix` of simulated host names and machine IDs")
	fs.DurationVar(&o.Interval, "interval", 0, "24x7 schedule interval (default 5m)")
	fs.IntVar(&o.Checks, "checks", 0, "results per round (default 15)")
	fs.IntVar(&o.Daily, "daily", 0, "results in the daily batch (default 40; -1 = none)")
	fs.Float64Var(&o.FailRate, "fail-rate", 0, "share of results crossing a threshold (default 0.02)")
	fs.BoolVar(&o.Stagger, "stagger", false, "spread the first rounds over the interval instead of running them at each agent's start")
	fs.BoolVar(&o.Flood, "flood", false, "ingest test: every agent sends full batches back to back")
	fs.IntVar(&o.Batch, "batch", 0, "results per batch at most (default 500)")
	fs.DurationVar(&o.ScriptDuration, "script-duration", 0, "how long a simulated script run takes before it answers exit 0 (default 1s)")
	fs.StringVar(&o.APIToken, "api-token", "", "API `token` (wacht apitoken create) for command round trips")
	fs.Float64Var(&o.CommandRate, "commands", 0, "run-checks commands per second to random agents (needs --api-token)")
	fs.DurationVar(&o.BroadcastAfter, "broadcast-after", 0, "once all agents are connected, wait this long and send run-checks to all (needs --api-token)")
	jsonOut := fs.String("json", "", "also write the summary as JSON to this `file`")
	quiet := fs.Bool("quiet", false, "no live status lines")
	level := fs.String("log-level", "warn", "log `level`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("takes flags only, no arguments: %q", fs.Args())
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	if o.Cache == "" {
		var err error
		if o.Cache, err = defaultCache(); err != nil {
			return err
		}
	}
	if !*quiet {
		o.Live = stderr
	}
	if o.Token == "" {
		o.Token = os.Getenv("WACHT_LOADSIM_TOKEN")
	}
	if o.APIToken == "" {
		o.APIToken = os.Getenv("WACHT_API_TOKEN")
	}
	sim, err := loadsim.New(o)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	fmt.Fprintf(stderr, "wacht-loadsim: %d of %d agents in this process\n", sim.Agents(), o.Agents)
	sum, runErr := sim.Run(ctx)
	sum.Print(stdout)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(sum, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing summary: %w", err)
		}
	}
	return runErr
}

// defaultCache returns the agent cache in the user's cache folder, creating
// the folder: a run started anywhere re-attaches the agents enrolled before.
func defaultCache() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache folder for the agent cache (%w); pass --cache", err)
	}
	dir = filepath.Join(dir, "wacht")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("agent cache folder: %w", err)
	}
	return filepath.Join(dir, "loadsim-agents.jsonl"), nil
}
