package main

import (
	"context"
	"io"

	"github.com/wacht-rmm/wacht/internal/server"
)

// auditVerify walks the audit log's hash chain; a broken chain is an error
// (exit status 1) naming the first bad entry.
func auditVerify(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("audit verify", stderr)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	ctx := context.Background()
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return server.VerifyAudit(ctx, st, stdout)
}
