package inventory

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"
	gnet "github.com/shirou/gopsutil/v4/net"

	"github.com/wacht-rmm/wacht/internal/core"
)

// The parts gopsutil reads alike on every OS; collect_<os>.go adds what
// only the OS tells (modules, disks, firmware, users…).

// readCPU fills the CPU model, sockets, cores and threads.
func (c *collector) readCPU(ctx context.Context) error {
	infos, err := cpu.InfoWithContext(ctx)
	if err != nil {
		return fmt.Errorf("reading CPU information: %w", err)
	}
	threads, err := cpu.CountsWithContext(ctx, true)
	if err != nil {
		return fmt.Errorf("counting logical CPUs: %w", err)
	}
	cores, err := cpu.CountsWithContext(ctx, false)
	if err != nil {
		return fmt.Errorf("counting CPU cores: %w", err)
	}
	ci := core.CPUInfo{Cores: cores, Threads: threads}
	sockets := map[string]bool{}
	for _, in := range infos {
		if ci.Model == "" {
			ci.Model = strings.TrimSpace(in.ModelName)
		}
		sockets[in.PhysicalID] = true
	}
	ci.Sockets = len(sockets)
	c.inv.Hardware.CPU = ci
	return nil
}

// readMemoryTotal fills the memory the OS sees.
func (c *collector) readMemoryTotal(ctx context.Context) error {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return fmt.Errorf("reading memory size: %w", err)
	}
	c.inv.Hardware.Memory.TotalBytes = vm.Total
	return nil
}

// readNICs fills the network adapters with hardware addresses (loopback
// and tunnels without one are left out) and their addresses.
func (c *collector) readNICs(ctx context.Context) error {
	ifs, err := gnet.InterfacesWithContext(ctx)
	if err != nil {
		return fmt.Errorf("listing network interfaces: %w", err)
	}
	out := []core.NIC{}
	for _, i := range ifs {
		if i.HardwareAddr == "" || slices.Contains(i.Flags, "loopback") {
			continue
		}
		n := core.NIC{Name: i.Name, MAC: strings.ToLower(i.HardwareAddr), Up: slices.Contains(i.Flags, "up")}
		for _, a := range i.Addrs {
			if ip, _, err := net.ParseCIDR(a.Addr); err == nil && ip.IsLinkLocalUnicast() {
				continue // fe80::… changes nothing a technician looks for
			}
			n.Addresses = append(n.Addresses, a.Addr)
		}
		out = append(out, n)
	}
	c.inv.Hardware.NICs = out
	return nil
}

// readVolumes fills the mounted local file systems with their size.
func (c *collector) readVolumes(ctx context.Context) error {
	parts, err := disk.PartitionsWithContext(ctx, false)
	if err != nil {
		return fmt.Errorf("listing partitions: %w", err)
	}
	out := []core.Volume{}
	for _, p := range parts {
		u, err := disk.UsageWithContext(ctx, p.Mountpoint)
		if err != nil || u.Total == 0 {
			continue // gone meanwhile, or a pseudo file system
		}
		out = append(out, core.Volume{Mount: p.Mountpoint, Device: p.Device, FS: p.Fstype, SizeBytes: u.Total})
	}
	c.inv.Hardware.Volumes = out
	return nil
}

// readHost fills host name, OS name, version and build, and last boot.
func (c *collector) readHost(ctx context.Context) error {
	h, err := host.InfoWithContext(ctx)
	if err != nil {
		return fmt.Errorf("reading host information: %w", err)
	}
	s := &c.inv.System
	s.Hostname = h.Hostname
	if s.OSName == "" {
		s.OSName = strings.TrimSpace(h.Platform + " " + h.PlatformVersion)
	}
	if s.Version == "" {
		s.Version = h.PlatformVersion
	}
	if s.Build == "" {
		s.Build = h.KernelVersion
	}
	if h.BootTime > 0 {
		s.LastBoot = time.Unix(int64(h.BootTime), 0).UTC().Truncate(time.Minute)
	}
	return nil
}
