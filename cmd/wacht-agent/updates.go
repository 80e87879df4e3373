package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/updates"
)

// updatesScan is what `wacht-agent updates --json` prints.
type updatesScan struct {
	ScannedAt time.Time                `json:"scanned_at"`
	Sources   []core.PatchSourceStatus `json:"sources"`
	Missing   []core.MissingUpdate     `json:"missing"`
	Reboot    core.RebootState         `json:"reboot"`
}

// cmdUpdates scans this machine's update sources now and prints the
// missing updates, each source's state and the pending restart. A source
// whose scan failed, or no source at all, is exit status 1: never "no
// updates" on a failed scan.
func cmdUpdates(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("updates", stderr)
	asJSON := fs.Bool("json", false, "print the scan as JSON")
	lang := fs.String("lang", "en", "message language: en or de")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return scanAndPrint(ctx, updates.Sources(updates.Options{}), updates.RebootPending, *asJSON, *lang, time.Now(), stdout)
}

// scanAndPrint scans srcs and prints the outcome.
func scanAndPrint(ctx context.Context, srcs []updates.Source, reboot func(context.Context) core.RebootState, asJSON bool, lang string, now time.Time, w io.Writer) error {
	if len(srcs) == 0 {
		return updates.NoSourcesError()
	}
	sts, missing := agent.ScanUpdates(ctx, srcs, nil, nil, 0, now)
	if err := ctx.Err(); err != nil {
		return err
	}
	scan := updatesScan{ScannedAt: now.UTC(), Sources: sts, Missing: missing, Reboot: reboot(ctx)}
	if scan.Missing == nil {
		scan.Missing = []core.MissingUpdate{}
	}
	var err error
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(scan)
	} else {
		err = printUpdates(w, scan, lang)
	}
	if err != nil {
		return err
	}
	var failed []string
	for _, s := range sts {
		if s.Status == core.ScanError {
			failed = append(failed, s.Source)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("the scan of %s failed", strings.Join(failed, ", "))
	}
	return nil
}

// printUpdates writes the scan as tables.
func printUpdates(w io.Writer, s updatesScan, lang string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSTATE\tMISSING\tMESSAGE")
	for _, src := range s.Sources {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", src.Source, src.Status, src.Missing, oneLine(src.Message.In(lang)))
	}
	fmt.Fprintln(tw)
	if len(s.Missing) == 0 {
		fmt.Fprintln(tw, "No missing updates from the sources that were scanned.")
	} else {
		fmt.Fprintln(tw, "KEY\tCLASSIFICATION\tSEVERITY\tKB\tVERSION\tTITLE")
		for _, u := range s.Missing {
			version := u.Version
			if u.Installed != "" {
				version = u.Installed + " → " + u.Version
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Key, u.Classification, cmp.Or(u.Severity, "-"), cmp.Or(u.KB, "-"), cmp.Or(version, "-"), u.Title)
		}
	}
	fmt.Fprintln(tw)
	switch r := s.Reboot; {
	case r.Pending:
		fmt.Fprintf(tw, "Restart: pending (%s)\n", strings.Join(r.Reasons, ", "))
	case r.Error != "":
		fmt.Fprintf(tw, "Restart: unknown (%s)\n", r.Error)
	default:
		fmt.Fprintln(tw, "Restart: not pending")
	}
	return tw.Flush()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
