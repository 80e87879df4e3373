package inventory

import (
	"context"
	"fmt"
	"net"
	"os"
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
// The platform lookup runs only for what the OS collector left empty:
// on Linux without /etc/lsb-release gopsutil starts lsb_release (a
// Python program, outside the agent's allowlist, a quarter second).
func (c *collector) readHost(ctx context.Context) error {
	s := &c.inv.System
	name, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("reading the host name: %w", err)
	}
	s.Hostname = name
	if s.OSName == "" || s.Version == "" {
		platform, _, version, err := host.PlatformInformationWithContext(ctx)
		if err != nil {
			return fmt.Errorf("reading the OS name: %w", err)
		}
		if s.OSName == "" {
			s.OSName = strings.TrimSpace(platform + " " + version)
		}
		if s.Version == "" {
			s.Version = version
		}
	}
	if s.Build == "" {
		kernel, err := host.KernelVersionWithContext(ctx)
		if err != nil {
			return fmt.Errorf("reading the kernel version: %w", err)
		}
		s.Build = kernel
	}
	boot, err := host.BootTimeWithContext(ctx)
	if err != nil {
		return fmt.Errorf("reading the boot time: %w", err)
	}
	if boot > 0 {
		s.LastBoot = time.Unix(int64(boot), 0).UTC().Truncate(time.Minute)
	}
	return nil
}
