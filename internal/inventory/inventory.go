// Package inventory collects this machine's hardware, system and software
// inventory for the agent (issue 18). Parsing is portable and tested on
// outputs captured from real systems (testdata/README.md names their
// origin); OS access sits in collect_<os>.go. A part that cannot be read —
// a missing tool, no root, a WMI query that times out, an OS without the
// thing — is recorded as a gap with the call and its reason, and the rest
// of the inventory is still returned: a partial inventory, never a failed
// whole, and never an empty list that looks like "nothing installed".
package inventory

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// partTimeout bounds one part's OS calls, so that a hanging WMI query or
// package manager costs that part only.
const partTimeout = 60 * time.Second

// Collect gathers this machine's inventory, normalized.
func Collect(ctx context.Context) core.Inventory {
	c := &collector{inv: core.Inventory{CollectedAt: time.Now().UTC()}}
	collectOS(ctx, c)
	return protocol.NormalizeInventory(c.inv)
}

// Programs reads the software part alone — the same reader Collect uses —
// for checks that watch installed programs. The list is normalized as in
// Collect. A non-nil error means the list may be incomplete (a package
// manager or registry view failed, or more than protocol.MaxPrograms were
// found); the programs that were read are still returned. An OS without a
// software reader returns errors.ErrUnsupported.
func Programs(ctx context.Context) ([]core.Program, error) {
	ctx, cancel := context.WithTimeout(ctx, partTimeout)
	defer cancel()
	progs, err := readPrograms(ctx)
	inv := protocol.NormalizeInventory(core.Inventory{Software: progs})
	errs := []error{err}
	for _, g := range inv.Missing {
		errs = append(errs, errors.New(g.Error))
	}
	return inv.Software, errors.Join(errs...)
}

// collector accumulates an inventory and its gaps.
type collector struct {
	inv core.Inventory
}

// gap records that part could not be read; a nil err records nothing.
func (c *collector) gap(part string, err error) {
	if err == nil {
		return
	}
	if errors.Is(err, errors.ErrUnsupported) {
		err = fmt.Errorf("%w on %s", err, runtime.GOOS)
	}
	c.inv.Missing = append(c.inv.Missing, core.InventoryGap{Part: part, Error: err.Error()})
}

// part runs read with its own deadline and records its failure as a gap.
func (c *collector) part(ctx context.Context, name string, read func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(ctx, partTimeout)
	defer cancel()
	c.gap(name, read(ctx))
}
