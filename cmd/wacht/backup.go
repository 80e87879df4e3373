package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/wacht-rmm/wacht/internal/backup"
	"github.com/wacht-rmm/wacht/internal/server"
	"github.com/wacht-rmm/wacht/internal/store"
)

// backupCmd writes the data folder and a snapshot of the database into one
// archive while the server runs (docs/operations.md).
func backupCmd(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("backup", stderr)
	out := fs.String("out", "", "archive `file` to write (tar.gz, 0600: it holds the server's keys)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("wacht backup: --out is missing")
	}
	m, err := backup.Create(context.Background(), backup.Options{DataDir: a.data, DBURL: a.db, Out: *out, Version: version})
	if err != nil {
		return fmt.Errorf("wacht backup: %w", err)
	}
	fmt.Fprintf(stdout, "Backup written to %s: %d files, database schema %s.\n", *out, len(m.Files), m.Schema)
	fmt.Fprintln(stdout, "It holds secret.key and action.key: keep it as safe as the server itself.")
	if m.Engine == store.Postgres {
		fmt.Fprintln(stdout, "The PostgreSQL database is not in it: back it up with pg_dump as well, e.g.\n  pg_dump --format=custom --file wacht.dump \"$WACHT_DB_URL\"")
	}
	return nil
}

// restoreCmd restores an archive of backupCmd into a data folder and
// audits the restore in the restored database.
func restoreCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wacht restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "archive `file` written by wacht backup")
	data := fs.String("data", server.DefaultDataDir, "data `folder` to restore into (empty or new)")
	force := fs.Bool("force", false, "restore into a folder that is not empty, replacing the files the archive holds")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("wacht restore: --in is missing")
	}
	m, err := backup.Restore(context.Background(), backup.RestoreOptions{In: *in, DataDir: *data, Force: *force})
	if err != nil {
		return fmt.Errorf("wacht restore: %w", err)
	}
	fmt.Fprintf(stdout, "Restored %d files of the backup of %s (wacht %s, database schema %s) into %s.\n",
		len(m.Files), m.CreatedAt.Local().Format(time.RFC3339), m.Version, m.Schema, *data)
	if m.Engine == store.Postgres {
		fmt.Fprintf(stdout, "The database is not in the archive: restore its pg_dump into an empty database, e.g.\n"+
			"  pg_restore --no-owner --dbname \"$WACHT_DB_URL\" wacht.dump\nthen start: wacht serve --data %s --db \"$WACHT_DB_URL\"\n", *data)
		return nil
	}
	archive, err := filepath.Abs(*in)
	if err != nil {
		archive = *in
	}
	a := adminFlags{data: *data}
	// Opening the store applies the migrations a newer wacht brings, as
	// `wacht serve` would.
	if err := a.withStore(func(ctx context.Context, st *store.DB) error {
		return server.RecordRestore(ctx, st, archive, m.Version, m.CreatedAt, time.Now())
	}); err != nil {
		return fmt.Errorf("wacht restore: the files are restored, but: %w", err)
	}
	fmt.Fprintf(stdout, "Start the server: wacht serve --data %s\n", *data)
	return nil
}
