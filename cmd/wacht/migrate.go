package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/wacht-rmm/wacht/internal/server"
	"github.com/wacht-rmm/wacht/internal/store/topostgres"
)

// migrateCmd moves the server's SQLite database into an empty PostgreSQL
// database and prints what it copied.
func migrateCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wacht migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", server.DefaultDataDir, "the server's data `folder` (its SQLite database, secret.key)")
	to := fs.String("to", "", "`URL` of the empty PostgreSQL database to move to (postgres://…)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("wacht migrate: --to postgres://… is required")
	}
	sum, err := topostgres.Run(context.Background(), *data, *to)
	if err != nil && sum.Tables == nil {
		return fmt.Errorf("migrate: %w; no data was written to the target", err)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, t := range sum.Tables {
		fmt.Fprintf(w, "%s\t%d\t\n", t.Name, t.Rows)
	}
	w.Flush()
	fmt.Fprintf(stdout, "Copied %d tables, %d rows in %.1f s. Start the server with: wacht serve --data %s --db <URL>\n",
		len(sum.Tables), sum.Rows, sum.Took.Seconds(), *data)
	return nil
}
