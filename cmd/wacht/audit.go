package main

import (
	"context"
	"io"

	"github.com/wacht-rmm/wacht/internal/server"
	"github.com/wacht-rmm/wacht/internal/store"
)

// auditVerify walks the audit log's hash chain; a broken chain is an error
// (exit status 1) naming the first bad entry.
func auditVerify(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("audit verify", stderr)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	return a.withStore(func(ctx context.Context, st *store.DB) error { return server.VerifyAudit(ctx, st, stdout) })
}
