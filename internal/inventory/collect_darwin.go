package inventory

import (
	"context"

	"github.com/wacht-rmm/wacht/internal/core"
)

// collectOS reads this OS's inventory. TODO(issue 18): the darwin collectors.
func collectOS(ctx context.Context, c *collector) {
	c.part(ctx, core.PartCPU, c.readCPU)
	c.part(ctx, core.PartMemory, c.readMemoryTotal)
	c.part(ctx, core.PartNetwork, c.readNICs)
	c.part(ctx, core.PartVolumes, c.readVolumes)
	c.part(ctx, core.PartOS, c.readHost)
}
