//go:build !linux && !windows && !darwin

package inventory

import (
	"context"
	"errors"

	"github.com/wacht-rmm/wacht/internal/core"
)

// collectOS reads what gopsutil tells on other systems; the rest is
// unsupported.
func collectOS(ctx context.Context, c *collector) {
	c.part(ctx, core.PartCPU, c.readCPU)
	c.part(ctx, core.PartMemory, c.readMemoryTotal)
	c.part(ctx, core.PartNetwork, c.readNICs)
	c.part(ctx, core.PartVolumes, c.readVolumes)
	c.part(ctx, core.PartOS, c.readHost)
	for _, p := range []string{core.PartIdentity, core.PartDisks, core.PartGPUs, core.PartMonitors, core.PartBattery,
		core.PartSecurity, core.PartActivation, core.PartDomain, core.PartUsers, core.PartSoftware, core.PartHotfixes} {
		c.gap(p, errors.ErrUnsupported)
	}
}

// readPrograms: no software reader here.
func readPrograms(context.Context) ([]core.Program, error) { return nil, errors.ErrUnsupported }
