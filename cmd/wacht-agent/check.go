package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	once := fs.Bool("once", false, "run every check once and print the results")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	lang := fs.String("lang", "en", "message language: en or de")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !*once {
		return usageError{fmt.Errorf("only --once is supported")}
	}
	// Checks with history (data growth, restart limits) get a throwaway
	// state folder: a one-off run must not disturb the service's state.
	stateDir, err := os.MkdirTemp("", "wacht-check-")
	if err != nil {
		return fmt.Errorf("create check state folder: %w", err)
	}
	defer os.RemoveAll(stateDir)
	check.SetStateDir(stateDir)
	checks, err := agent.DefaultChecks()
	if err != nil {
		fmt.Fprintln(stderr, "warning:", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &agent.Runner{Checks: checks}
	results := r.RunAll(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	return printTable(stdout, results, *lang)
}

// printTable prints results as a table a technician can read at a glance.
func printTable(w io.Writer, results []core.Result, lang string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tKEY\tSTATUS\tVALUE\tMESSAGE")
	for _, r := range results {
		val := ""
		if r.Value != nil {
			val = strconv.FormatFloat(*r.Value, 'f', 1, 64)
			if lang == "de" {
				val = strings.Replace(val, ".", ",", 1)
			}
			if r.Unit != "" {
				val += " " + r.Unit
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Check, r.Key, strings.ToUpper(r.Status.String()), val, r.Message.In(lang))
	}
	return tw.Flush()
}
