package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/wacht-rmm/wacht/internal/netguard"
	"github.com/wacht-rmm/wacht/internal/server"
	"github.com/wacht-rmm/wacht/internal/store"
)

// serverChecksCmd shows or changes the address ranges that website checks
// run by the server may reach besides public addresses.
func serverChecksCmd(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("server-checks", stderr)
	allow := fs.String("allow", "", "replace the allowed `ranges`: CIDR prefixes or addresses, comma-separated (\"\" allows none)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "allow" })
	return a.withStore(func(ctx context.Context, st *store.DB) error {
		var ps []netip.Prefix
		var err error
		if set {
			ps, err = server.SetServerCheckAllow(ctx, st, *allow, time.Now())
		} else {
			var g *netguard.Guard
			if g, err = netguard.Load(ctx, st); err == nil {
				ps = g.Allow
			}
		}
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			fmt.Fprintln(stdout, "allowed ranges: none (public addresses only)")
			return nil
		}
		fmt.Fprintln(stdout, "allowed ranges:", netguard.FormatAllow(ps))
		return nil
	})
}
