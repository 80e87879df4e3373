package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/host"
	"golang.org/x/sys/unix"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

// The programs the Linux collectors start, when installed.
const (
	dmidecodeBin = "/usr/sbin/dmidecode"
	lspciBin     = "/usr/bin/lspci"
	dpkgQueryBin = "/usr/bin/dpkg-query"
	rpmBin       = "/usr/bin/rpm"
	snapBin      = "/usr/bin/snap"
	flatpakBin   = "/usr/bin/flatpak"
)

func init() { check.AllowBuiltin(dmidecodeBin, lspciBin, dpkgQueryBin, rpmBin, snapBin, flatpakBin) }

// collectOS reads this Linux machine's inventory. Hotfixes and Windows
// activation do not exist here: they stay empty without a gap.
func collectOS(ctx context.Context, c *collector) { collectLinux(ctx, c, thisHost()) }

// readPrograms is the software part alone (Programs).
func readPrograms(ctx context.Context) ([]core.Program, error) { return thisHost().readSoftware(ctx) }

// thisHost is the running machine.
func thisHost() *linuxHost {
	return &linuxHost{root: "/", run: runProgram, euid: os.Geteuid(), loggedOn: loggedOnUsers}
}

// collectLinux fills every part from h, with gopsutil's common readers
// for CPU, memory size, adapters, volumes and host facts.
func collectLinux(ctx context.Context, c *collector, h *linuxHost) {
	hw, sys := &c.inv.Hardware, &c.inv.System
	c.part(ctx, core.PartIdentity, func(ctx context.Context) error { return h.readIdentity(ctx, hw) })
	c.part(ctx, core.PartCPU, c.readCPU)
	c.part(ctx, core.PartMemory, func(ctx context.Context) error {
		if err := c.readMemoryTotal(ctx); err != nil {
			return err
		}
		return h.readMemoryModules(ctx, &hw.Memory)
	})
	c.part(ctx, core.PartDisks, func(context.Context) error { return h.readDisks(hw) })
	c.part(ctx, core.PartVolumes, func(ctx context.Context) error {
		if err := c.readVolumes(ctx); err != nil {
			return err
		}
		return h.markLUKS(hw.Volumes)
	})
	c.part(ctx, core.PartNetwork, func(ctx context.Context) error {
		if err := c.readNICs(ctx); err != nil {
			return err
		}
		return h.addNetwork(hw.NICs)
	})
	c.part(ctx, core.PartGPUs, func(ctx context.Context) error { return h.readGPUs(ctx, hw) })
	c.part(ctx, core.PartMonitors, func(context.Context) error { return h.readMonitors(hw) })
	c.part(ctx, core.PartBattery, func(context.Context) error { return h.readBatteries(hw) })
	c.part(ctx, core.PartSecurity, func(context.Context) error { return h.readSecurity(hw) })
	c.part(ctx, core.PartOS, func(ctx context.Context) error {
		osErr := h.readOSRelease(sys)
		if err := c.readHost(ctx); err != nil {
			return errors.Join(osErr, err) // os-release alone is not a failure: gopsutil names the OS too
		}
		return nil
	})
	c.part(ctx, core.PartDomain, func(context.Context) error { return h.readDomain(sys) })
	c.part(ctx, core.PartUsers, func(ctx context.Context) error { return h.readUsers(ctx, sys) })
	c.part(ctx, core.PartSoftware, func(ctx context.Context) error {
		progs, err := h.readSoftware(ctx)
		c.inv.Software = progs
		return err
	})
}

// linuxHost reads a Linux file system tree below root ("/" in the agent,
// a testdata tree in tests) and starts programs through run.
type linuxHost struct {
	root     string
	run      func(ctx context.Context, path string, args ...string) (string, error)
	euid     int
	loggedOn func(ctx context.Context) ([]string, error) // nil: not asked
}

func (h *linuxHost) path(p string) string { return filepath.Join(h.root, p) }

// read returns a file's content with surrounding space trimmed.
func (h *linuxHost) read(p string) (string, error) {
	b, err := os.ReadFile(h.path(p))
	return strings.TrimSpace(string(b)), err
}

// value is read without the error, for optional sysfs attributes.
func (h *linuxHost) value(p string) string {
	s, _ := h.read(p)
	return s
}

func (h *linuxHost) exists(p string) bool {
	_, err := os.Stat(h.path(p))
	return err == nil
}

// runProgram starts an allowed program with the C locale and returns its
// output; a failure carries the program's error output.
func runProgram(ctx context.Context, path string, args ...string) (string, error) {
	cmd, err := check.Command(ctx, path, args...)
	if err != nil {
		return "", err
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", filepath.Base(path), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// readIdentity reads manufacturer, model, serial and firmware from the
// DMI attributes the kernel exports (product_serial is root's only;
// dmidecode fills in when the kernel has none), or model and serial from
// the device tree of a board without DMI.
func (h *linuxHost) readIdentity(ctx context.Context, hw *core.Hardware) error {
	hw.Firmware.UEFI = h.exists("/sys/firmware/efi")
	const dmi = "/sys/class/dmi/id/"
	if _, err := os.Stat(h.path(dmi)); err != nil {
		// ARM boards without SMBIOS name themselves in the device tree
		// (strings ended by NUL).
		const dt = "/sys/firmware/devicetree/base/"
		if model := strings.TrimRight(h.value(dt+"model"), "\x00"); model != "" {
			hw.Model = model
			hw.Serial = strings.TrimRight(h.value(dt+"serial-number"), "\x00")
			return nil
		}
		return fmt.Errorf("no DMI table from the firmware: %w", err)
	}
	hw.Manufacturer = cleanDMI(h.value(dmi + "sys_vendor"))
	hw.Model = cleanDMI(h.value(dmi + "product_name"))
	hw.Firmware.Vendor = cleanDMI(h.value(dmi + "bios_vendor"))
	hw.Firmware.Version = cleanDMI(h.value(dmi + "bios_version"))
	hw.Firmware.Date = dmiDate(h.value(dmi + "bios_date"))
	serial, err := h.read(dmi + "product_serial")
	if err == nil {
		hw.Serial = cleanDMI(serial)
		return nil
	}
	if h.euid == 0 && h.exists(dmidecodeBin) {
		out, err := h.run(ctx, dmidecodeBin, "-s", "system-serial-number")
		if err != nil {
			return err
		}
		hw.Serial = cleanDMI(out)
	}
	return nil // without root the serial is unknown; the rest is good
}

// readMemoryModules lists the populated memory slots with dmidecode,
// which needs root to read the SMBIOS table.
func (h *linuxHost) readMemoryModules(ctx context.Context, m *core.Memory) error {
	if !h.exists(dmidecodeBin) {
		return fmt.Errorf("memory modules unknown: %s is not installed", dmidecodeBin)
	}
	if h.euid != 0 {
		return fmt.Errorf("memory modules unknown: dmidecode needs root, the agent runs as uid %d", h.euid)
	}
	out, err := h.run(ctx, dmidecodeBin, "-t", "17")
	if err != nil {
		return err
	}
	if strings.Contains(out, "No SMBIOS nor DMI entry point found") { // WSL, some VMs and boards; exit status 0
		return errors.New("memory modules unknown: dmidecode found no SMBIOS table")
	}
	m.Modules = parseDmidecodeMemory(out)
	return nil
}

// skippedBlock are block devices that are not disks: loop devices, RAM
// disks, zram swap, device mapper and MD RAID (their disks are listed),
// optical drives.
var skippedBlock = []string{"loop", "ram", "zram", "dm-", "md", "sr", "nbd", "fd"}

// readDisks lists the physical disks below /sys/block.
func (h *linuxHost) readDisks(hw *core.Hardware) error {
	entries, err := os.ReadDir(h.path("/sys/block"))
	if err != nil {
		return fmt.Errorf("listing /sys/block: %w", err)
	}
	disks := []core.Disk{}
	for _, e := range entries {
		name := e.Name()
		if slices.ContainsFunc(skippedBlock, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		base := "/sys/block/" + name + "/"
		sectors, err := strconv.ParseUint(h.value(base+"size"), 10, 64)
		if err != nil || sectors == 0 {
			continue // a card reader or drive without a medium
		}
		d := core.Disk{Name: name, SizeBytes: sectors * 512, Model: h.value(base + "device/model"), Serial: h.value(base + "device/serial")}
		udev := parseUdevData(h.value("/run/udev/data/b" + h.value(base+"dev")))
		if d.Serial == "" {
			d.Serial = udev["ID_SERIAL_SHORT"]
		}
		if d.Model == "" {
			d.Model = strings.ReplaceAll(udev["ID_MODEL"], "_", " ")
		}
		switch {
		case strings.HasPrefix(name, "nvme"):
			d.Kind = core.DiskNVMe
		case h.value(base+"queue/rotational") == "1":
			d.Kind = core.DiskHDD
		default:
			d.Kind = core.DiskSSD
		}
		if real, err := filepath.EvalSymlinks(h.path(base)); err == nil {
			d.Bus = diskBus(real)
		}
		disks = append(disks, d)
	}
	hw.Disks = disks
	return nil
}

// parseUdevData reads the E: properties of a udev database entry.
func parseUdevData(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if rest, ok := strings.CutPrefix(line, "E:"); ok {
			if k, v, ok := strings.Cut(rest, "="); ok {
				out[k] = v
			}
		}
	}
	return out
}

// markLUKS sets the encryption of volumes on a device-mapper device that
// is, or sits on, a LUKS mapping (LVM on LUKS included).
func (h *linuxHost) markLUKS(vols []core.Volume) error {
	entries, err := filepath.Glob(h.path("/sys/block/dm-*"))
	if err != nil {
		return err
	}
	encrypted := map[string]bool{} // /dev/dm-N and /dev/mapper/NAME
	for _, e := range entries {
		dm := filepath.Base(e)
		if h.luks(dm, 0) {
			encrypted["/dev/"+dm] = true
			if name := h.value("/sys/block/" + dm + "/dm/name"); name != "" {
				encrypted["/dev/mapper/"+name] = true
			}
		}
	}
	for i := range vols {
		if encrypted[vols[i].Device] {
			vols[i].Encryption, vols[i].EncryptionState = "luks", "on"
		}
	}
	return nil
}

// luks says whether the dm device is a LUKS mapping or stacked on one.
func (h *linuxHost) luks(dm string, depth int) bool {
	if strings.HasPrefix(h.value("/sys/block/"+dm+"/dm/uuid"), "CRYPT-LUKS") {
		return true
	}
	if depth > 8 {
		return false
	}
	slaves, _ := os.ReadDir(h.path("/sys/block/" + dm + "/slaves"))
	for _, s := range slaves {
		if strings.HasPrefix(s.Name(), "dm-") && h.luks(s.Name(), depth+1) {
			return true
		}
	}
	return false
}

// addNetwork adds link speed, default gateways and DNS servers to the
// adapters gopsutil listed.
func (h *linuxHost) addNetwork(nics []core.NIC) error {
	route, err := h.read("/proc/net/route")
	if err != nil {
		return fmt.Errorf("reading the IPv4 routes: %w", err)
	}
	gw4 := parseProcNetRoute(route)
	route6, err := h.read("/proc/net/ipv6_route")
	if err != nil && !errors.Is(err, fs.ErrNotExist) { // absent with IPv6 disabled
		return fmt.Errorf("reading the IPv6 routes: %w", err)
	}
	gw6 := parseIPv6Route(route6)
	dns, err := h.dnsServers()
	if err != nil {
		return err
	}
	for i := range nics {
		n := &nics[i]
		if s, err := strconv.Atoi(h.value("/sys/class/net/" + n.Name + "/speed")); err == nil && s > 0 {
			n.SpeedMbps = s // -1 or EINVAL while the link is down
		}
		n.Gateways = append(gw4[n.Name], gw6[n.Name]...)
		if n.Up && len(n.Addresses) > 0 {
			n.DNS = dns
		}
	}
	return nil
}

// dnsServers reads resolv.conf, or systemd-resolved's list of upstream
// servers when resolv.conf names only its stub.
func (h *linuxHost) dnsServers() ([]string, error) {
	s, err := h.read("/etc/resolv.conf")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the DNS servers: %w", err)
	}
	servers, stub := parseResolvConf(s)
	if stub {
		if up, err := h.read("/run/systemd/resolve/resolv.conf"); err == nil {
			if real, _ := parseResolvConf(up); len(real) > 0 {
				return real, nil
			}
		}
	}
	return servers, nil
}

// readGPUs lists the DRM cards' PCI devices, named by lspci when it is
// installed, else by their vendor.
func (h *linuxHost) readGPUs(ctx context.Context, hw *core.Hardware) error {
	cards, err := filepath.Glob(h.path("/sys/class/drm/card*"))
	if err != nil {
		return err
	}
	gpus := []core.GPU{}
	for _, card := range cards {
		name := filepath.Base(card)
		if strings.Contains(name, "-") { // a connector (card0-HDMI-A-1)
			continue
		}
		dev := "/sys/class/drm/" + name + "/device/"
		vendor, device := h.value(dev+"vendor"), h.value(dev+"device")
		if vendor == "" {
			continue // not a PCI device
		}
		g := core.GPU{Vendor: pciGPUVendors[vendor]}
		if drv, err := os.Readlink(h.path(dev + "driver")); err == nil {
			g.Driver = filepath.Base(drv)
		}
		if vram, err := strconv.ParseUint(h.value(dev+"mem_info_vram_total"), 10, 64); err == nil {
			g.MemoryBytes = vram // amdgpu tells
		}
		ids := strings.TrimPrefix(vendor, "0x") + ":" + strings.TrimPrefix(device, "0x")
		if h.exists(lspciBin) {
			out, err := h.run(ctx, lspciBin, "-mm", "-d", ids)
			if err != nil {
				return err
			}
			if v, d := parseLspciMM(out); d != "" {
				g.Vendor, g.Name = v, d
			}
		}
		if g.Name == "" {
			g.Name = strings.TrimSpace(g.Vendor + " GPU [" + ids + "]")
		}
		gpus = append(gpus, g)
	}
	hw.GPUs = gpus
	return nil
}

// readMonitors reads the EDID of every connected DRM connector. A
// corrupt EDID costs that monitor only, unless none could be read.
func (h *linuxHost) readMonitors(hw *core.Hardware) error {
	conns, err := filepath.Glob(h.path("/sys/class/drm/card*-*"))
	if err != nil {
		return err
	}
	mons := []core.Monitor{}
	var errs []error
	for _, c := range conns {
		if s, _ := os.ReadFile(filepath.Join(c, "status")); strings.TrimSpace(string(s)) != "connected" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(c, "edid"))
		if err != nil || len(b) == 0 {
			continue // connected without EDID (some virtual displays)
		}
		m, err := ParseEDID(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(c), err))
			continue
		}
		mons = append(mons, m)
	}
	if len(mons) == 0 && len(errs) > 0 {
		return errors.Join(errs...)
	}
	hw.Monitors = mons
	return nil
}

// readBatteries reads the system's batteries (not those of a mouse:
// scope Device).
func (h *linuxHost) readBatteries(hw *core.Hardware) error {
	supplies, err := os.ReadDir(h.path("/sys/class/power_supply"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("listing power supplies: %w", err)
	}
	bats := []core.Battery{}
	for _, s := range supplies {
		base := "/sys/class/power_supply/" + s.Name() + "/"
		if h.value(base+"type") != "Battery" || h.value(base+"scope") == "Device" {
			continue
		}
		u, err := h.read(base + "uevent")
		if err != nil {
			return fmt.Errorf("reading battery %s: %w", s.Name(), err)
		}
		bats = append(bats, batteryFromUevent(s.Name(), parseUevent(u)))
	}
	hw.Batteries = bats
	return nil
}

// secureBootVar is the UEFI global variable SecureBoot: four attribute
// bytes, then 1 when Secure Boot is on.
const secureBootVar = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

// readSecurity reads TPM presence and version and the Secure Boot state.
func (h *linuxHost) readSecurity(hw *core.Hardware) error {
	if h.exists("/sys/class/tpm/tpm0") {
		hw.TPM.Present = true
		switch h.value("/sys/class/tpm/tpm0/tpm_version_major") {
		case "2":
			hw.TPM.Version = "2.0"
		case "1":
			hw.TPM.Version = "1.2"
		default:
			if h.exists("/sys/class/tpm/tpm0/device/caps") { // kernels before 5.6 tell 1.2 only this way
				hw.TPM.Version = "1.2"
			}
		}
	}
	if !h.exists("/sys/firmware/efi") {
		return nil // BIOS boot: no Secure Boot
	}
	b, err := os.ReadFile(h.path(secureBootVar))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		hw.SecureBoot = "off" // firmware without Secure Boot
	case err != nil:
		return fmt.Errorf("reading the SecureBoot variable: %w", err)
	case len(b) == 5 && b[4] == 1:
		hw.SecureBoot = "on"
	case len(b) == 5:
		hw.SecureBoot = "off"
	default:
		return fmt.Errorf("SecureBoot variable is %d bytes, want 5", len(b))
	}
	return nil
}

// readOSRelease names the distribution, its version and the kernel, and
// the install date where the system tells it.
func (h *linuxHost) readOSRelease(s *core.SystemInfo) error {
	s.Build = h.value("/proc/sys/kernel/osrelease")
	s.InstallDate = h.installDate()
	text, err := h.read("/etc/os-release")
	if errors.Is(err, fs.ErrNotExist) {
		text, err = h.read("/usr/lib/os-release")
	}
	if err != nil {
		return fmt.Errorf("reading os-release: %w", err)
	}
	r := parseOSRelease(text)
	s.OSName = cmp.Or(r["PRETTY_NAME"], strings.TrimSpace(r["NAME"]+" "+r["VERSION"]))
	s.Version = r["VERSION_ID"]
	return nil
}

// installDate is best effort: the Debian installer's log folder, the
// Red Hat installer's kickstart file, else the birth time of the root
// file system's top folder; "" when none tells.
func (h *linuxHost) installDate() string {
	for _, p := range []string{"/var/log/installer", "/root/anaconda-ks.cfg"} {
		if fi, err := os.Stat(h.path(p)); err == nil {
			return fi.ModTime().UTC().Format(time.DateOnly)
		}
	}
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, h.path("/"), 0, unix.STATX_BTIME, &st); err == nil && st.Mask&unix.STATX_BTIME != 0 && st.Btime.Sec > 0 {
		return time.Unix(st.Btime.Sec, 0).UTC().Format(time.DateOnly)
	}
	return ""
}

// readDomain tells an Active Directory or other directory join done with
// sssd (realmd's default) or winbind.
func (h *linuxHost) readDomain(s *core.SystemInfo) error {
	conf, err := h.read("/etc/sssd/sssd.conf")
	switch {
	case err == nil:
		if d := parseSSSDDomains(conf); len(d) > 0 {
			s.JoinType, s.Domain = "domain", d[0]
			return nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("reading sssd.conf: %w", err)
	}
	smb, err := h.read("/etc/samba/smb.conf")
	switch {
	case err == nil:
		if r := parseSambaRealm(smb); r != "" {
			s.JoinType, s.Domain = "domain", r
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("reading smb.conf: %w", err)
	}
	return nil
}

// readUsers lists the local people accounts and who is logged on.
func (h *linuxHost) readUsers(ctx context.Context, s *core.SystemInfo) error {
	passwd, err := h.read("/etc/passwd")
	if err != nil {
		return fmt.Errorf("reading local users: %w", err)
	}
	group, err := h.read("/etc/group")
	if err != nil {
		return fmt.Errorf("reading local groups: %w", err)
	}
	shadow, err := h.read("/etc/shadow")
	if err != nil && !errors.Is(err, fs.ErrPermission) && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading account expiry: %w", err)
	}
	s.Users = parseLocalUsers(passwd, group, shadow, time.Now().Unix()/86400) // without root, Disabled is unknown

	s.LoggedOn = []string{}
	if h.loggedOn != nil {
		on, err := h.loggedOn(ctx)
		if err != nil {
			return err
		}
		s.LoggedOn = on
	}
	return nil
}

// loggedOnUsers reads utmp: each user once, sorted.
func loggedOnUsers(ctx context.Context) ([]string, error) {
	us, err := host.UsersWithContext(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil // no utmp: nobody logged on since boot (containers have none)
	}
	if err != nil {
		return nil, fmt.Errorf("reading logged-on users: %w", err)
	}
	out := []string{}
	for _, u := range us {
		if u.User != "" && !slices.Contains(out, u.User) {
			out = append(out, u.User)
		}
	}
	slices.Sort(out)
	return out, nil
}

// readSoftware asks every installed package manager; one that fails is
// in the error, and the others' programs are still returned.
func (h *linuxHost) readSoftware(ctx context.Context) ([]core.Program, error) {
	progs := []core.Program{}
	var errs []error
	if h.exists(dpkgQueryBin) {
		out, err := h.run(ctx, dpkgQueryBin, "-W", "-f="+dpkgFormat)
		if err != nil {
			errs = append(errs, err)
		} else {
			for _, p := range parseDpkgPrograms(out) {
				p.InstallDate = h.dpkgInstallDate(p.ID)
				progs = append(progs, p)
			}
		}
	}
	for _, m := range []struct {
		bin   string
		args  []string
		parse func(string) []core.Program
	}{
		{rpmBin, []string{"-qa", "--qf", rpmFormat}, parseRpmPrograms},
		{snapBin, []string{"list"}, parseSnapList},
		{flatpakBin, []string{"list", "--columns=" + flatpakColumns}, parseFlatpakList},
	} {
		if !h.exists(m.bin) {
			continue
		}
		out, err := h.run(ctx, m.bin, m.args...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		progs = append(progs, m.parse(out)...)
	}
	return progs, errors.Join(errs...)
}

// dpkgInstallDate is when dpkg last wrote the package's file list, which
// it does on install and upgrade.
func (h *linuxHost) dpkgInstallDate(id string) string {
	name, _, _ := strings.Cut(id, ":")
	for _, f := range []string{id + ".list", name + ".list"} {
		if fi, err := os.Stat(h.path("/var/lib/dpkg/info/" + f)); err == nil {
			return fi.ModTime().UTC().Format(time.DateOnly)
		}
	}
	return ""
}
