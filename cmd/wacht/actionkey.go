package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/server"
	"github.com/wacht-rmm/wacht/internal/store"
)

// actionKeyRotate replaces the action key and keeps the old one for the
// grace period, in which agents learn the new one (docs/cluster.md).
func actionKeyRotate(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("actionkey rotate", stderr)
	grace := fs.Duration("grace", actionkey.DefaultGrace, "how long agents still accept the old key (`duration`)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	return a.withStore(func(ctx context.Context, st *store.DB) error {
		r, err := server.RotateActionKey(ctx, st, a.data, *grace, time.Now())
		if r.NewFingerprint != "" {
			fmt.Fprintf(stdout, "New action key %.16s; the old key %.16s stays valid until %s.\n",
				r.NewFingerprint, r.OldFingerprint, r.GraceUntil.Local().Format(time.RFC3339))
			fmt.Fprintf(stdout, "Copy %s and %s to every other server node; servers pick the new key up within a minute.\n",
				filepath.Join(a.data, actionkey.File), filepath.Join(a.data, actionkey.File+actionkey.RetiredSuffix))
		}
		return err
	})
}

// actionKeyStatus shows the action keys and the devices whose agents have
// not confirmed the current one.
func actionKeyStatus(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("actionkey status", stderr)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	return a.withStore(func(ctx context.Context, st *store.DB) error {
		return server.ActionKeyStatus(ctx, st, a.data, stdout, time.Now())
	})
}
