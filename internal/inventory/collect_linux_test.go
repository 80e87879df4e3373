package inventory

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// laptopTree writes a ThinkPad-like file system below a temporary root:
// DMI, UEFI with Secure Boot on, TPM 2.0, an NVMe disk holding LUKS with
// LVM on it, a USB stick, an Intel GPU with a laptop panel and a Dell
// monitor, a battery (and a mouse's, which is not the system's), the
// systemd-resolved stub, sssd joined to a domain, two users, dpkg and a
// snap whose daemon is down.
func laptopTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	edid := func(name string) string { return linuxTestdata(t, "edid/"+name) }
	nvme := "sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0"
	usb := "sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host4/target4:0:0/4:0:0:0"
	gpu := "sys/devices/pci0000:00/0000:00:02.0"
	files := map[string]string{
		"sys/class/dmi/id/sys_vendor":          "LENOVO\n",
		"sys/class/dmi/id/product_name":        "1298A8G\n",
		"sys/class/dmi/id/product_serial":      "LR9NKZ7\n",
		"sys/class/dmi/id/bios_vendor":         "LENOVO\n",
		"sys/class/dmi/id/bios_version":        "8NET32WW (1.16 )\n",
		"sys/class/dmi/id/bios_date":           "12/01/2011\n",
		strings.TrimPrefix(secureBootVar, "/"): "\x06\x00\x00\x00\x01",
		"sys/class/tpm/tpm0/tpm_version_major": "2\n",

		nvme + "/model":                     "SAMSUNG MZVLB512HAJQ-000L7              \n",
		nvme + "/serial":                    "S3TNNX0K123456      \n",
		nvme + "/nvme0n1/size":              "1000215216\n",
		nvme + "/nvme0n1/dev":               "259:0\n",
		nvme + "/nvme0n1/queue/rotational":  "0\n",
		usb + "/model":                      "Ultra           \n",
		usb + "/block/sda/size":             "60063744\n",
		usb + "/block/sda/dev":              "8:0\n",
		usb + "/block/sda/queue/rotational": "1\n",
		"run/udev/data/b8:0":                "S:disk/by-id/usb-SanDisk_Ultra_4C530001-0:0\nE:ID_MODEL=Ultra\nE:ID_SERIAL_SHORT=4C530001\n",
		"sys/block/loop0/size":              "8\n",
		"sys/block/dm-0/dm/uuid":            "CRYPT-LUKS2-4e6f8a0e2e5c4f7e9d1b0a3c5e7f9a1b-nvme0n1p3_crypt\n",
		"sys/block/dm-0/dm/name":            "nvme0n1p3_crypt\n",
		"sys/block/dm-0/size":               "998166528\n",
		"sys/block/dm-1/dm/uuid":            "LVM-abcdef\n",
		"sys/block/dm-1/dm/name":            "vg-root\n",
		"sys/block/dm-1/slaves/dm-0/uuid":   "",

		gpu + "/vendor":                        "0x8086\n",
		gpu + "/device":                        "0x5916\n",
		"sys/class/drm/card0-eDP-1/status":     "connected\n",
		"sys/class/drm/card0-eDP-1/edid":       edid("lcd.lenovo-w500.bin"),
		"sys/class/drm/card0-HDMI-A-1/status":  "connected\n",
		"sys/class/drm/card0-HDMI-A-1/edid":    edid("lcd.dell-U2415.bin"),
		"sys/class/drm/card0-DP-1/status":      "disconnected\n",
		"sys/class/drm/card0-DP-1/edid":        "",
		"sys/class/power_supply/BAT0/type":     "Battery\n",
		"sys/class/power_supply/BAT0/uevent":   linuxTestdata(t, "power_supply/thinkpad-BAT0.uevent"),
		"sys/class/power_supply/AC/type":       "Mains\n",
		"sys/class/power_supply/hidpp_0/type":  "Battery\n",
		"sys/class/power_supply/hidpp_0/scope": "Device\n",
		"sys/class/net/eth0/speed":             "1000\n",
		"sys/class/net/wlan0/speed":            "-1\n",
		"proc/net/route":                       linuxTestdata(t, "proc-net-route.vm"),
		"proc/net/ipv6_route":                  linuxTestdata(t, "proc-net-ipv6_route.vm"),
		"proc/sys/kernel/osrelease":            "6.8.0-45-generic\n",
		"etc/resolv.conf":                      "nameserver 127.0.0.53\noptions edns0 trust-ad\n",
		"run/systemd/resolve/resolv.conf":      "nameserver 192.0.2.53\n",
		"etc/os-release":                       linuxTestdata(t, "os-release/ubuntu24"),
		"var/log/installer/syslog":             "",
		"etc/passwd":                           "root:x:0:0:root:/root:/bin/bash\nanna:x:1000:1000:Anna:/home/anna:/bin/bash\n",
		"etc/group":                            "sudo:x:27:anna\n",
		"etc/sssd/sssd.conf":                   "[sssd]\ndomains = corp.example.com\n",
		"usr/bin/dpkg-query":                   "",
		"usr/bin/snap":                         "",
		"usr/sbin/dmidecode":                   "",
		"var/lib/dpkg/info/adduser.list":       "/usr/sbin/adduser\n",
	}
	for p, s := range files {
		writeTreeFile(t, filepath.Join(root, p), s)
	}
	links := map[string]string{
		"sys/block/nvme0n1":              "../" + strings.TrimPrefix(nvme, "sys/") + "/nvme0n1",
		nvme + "/nvme0n1/device":         "..",
		"sys/block/sda":                  "../" + strings.TrimPrefix(usb, "sys/") + "/block/sda",
		usb + "/block/sda/device":        "../..",
		"sys/class/drm/card0/device":     "../../../devices/pci0000:00/0000:00:02.0",
		gpu + "/driver":                  "../../../bus/pci/drivers/i915",
		"sys/block/dm-1/slaves/dm-0/dm":  "../../../dm-0/dm",
		"sys/class/drm/renderD128/dummy": "",
	}
	for l, target := range links {
		p := filepath.Join(root, l)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target == "" {
			continue
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	installed := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	for _, p := range []string{"var/log/installer", "var/lib/dpkg/info/adduser.list"} {
		if err := os.Chtimes(filepath.Join(root, p), installed, installed); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func writeTreeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeRun answers for the programs of the laptop tree.
func fakeRun(t *testing.T) func(ctx context.Context, path string, args ...string) (string, error) {
	return func(_ context.Context, path string, args ...string) (string, error) {
		switch path {
		case dmidecodeBin:
			return linuxTestdata(t, "dmidecode/lenovo-thinkpad"), nil
		case dpkgQueryBin:
			return linuxTestdata(t, "packaging/dpkg-debian12"), nil
		case snapBin:
			return "", errors.New("snap: exit status 1: error: cannot communicate with server: connection refused")
		}
		return "", fmt.Errorf("unexpected program %s %q", path, args)
	}
}

func TestCollectLaptopTree(t *testing.T) {
	ctx := context.Background()
	h := &linuxHost{root: laptopTree(t), run: fakeRun(t), euid: 0}
	var hw core.Hardware
	if err := h.readIdentity(ctx, &hw); err != nil {
		t.Fatal(err)
	}
	if hw.Manufacturer != "LENOVO" || hw.Model != "1298A8G" || hw.Serial != "LR9NKZ7" ||
		hw.Firmware != (core.Firmware{Vendor: "LENOVO", Version: "8NET32WW (1.16 )", Date: "2011-12-01", UEFI: true}) {
		t.Errorf("identity: %+v", hw)
	}
	if err := h.readMemoryModules(ctx, &hw.Memory); err != nil || len(hw.Memory.Modules) != 2 {
		t.Errorf("modules: %+v, %v", hw.Memory.Modules, err)
	}
	noTable := &linuxHost{root: h.root, euid: 0, run: func(context.Context, string, ...string) (string, error) {
		return "# dmidecode 3.3\nScanning /dev/mem for entry point.\n# No SMBIOS nor DMI entry point found, sorry.\n", nil
	}}
	if err := noTable.readMemoryModules(ctx, &core.Memory{}); err == nil || !strings.Contains(err.Error(), "no SMBIOS table") {
		t.Errorf("dmidecode without a table: %v", err)
	}
	if err := h.readDisks(&hw); err != nil {
		t.Fatal(err)
	}
	wantDisks := []core.Disk{
		{Name: "nvme0n1", Model: "SAMSUNG MZVLB512HAJQ-000L7", Serial: "S3TNNX0K123456", SizeBytes: 1000215216 * 512, Kind: core.DiskNVMe, Bus: "nvme"},
		{Name: "sda", Model: "Ultra", Serial: "4C530001", SizeBytes: 60063744 * 512, Kind: core.DiskHDD, Bus: "usb"},
	}
	if !reflect.DeepEqual(hw.Disks, wantDisks) {
		t.Errorf("disks:\n%+v\nwant\n%+v", hw.Disks, wantDisks)
	}
	vols := []core.Volume{{Mount: "/", Device: "/dev/mapper/vg-root"}, {Mount: "/boot", Device: "/dev/nvme0n1p2"}, {Mount: "/secret", Device: "/dev/dm-0"}}
	if err := h.markLUKS(vols); err != nil {
		t.Fatal(err)
	}
	if vols[0].Encryption != "luks" || vols[0].EncryptionState != "on" || vols[1].Encryption != "" || vols[2].EncryptionState != "on" {
		t.Errorf("LUKS: %+v", vols)
	}
	nics := []core.NIC{{Name: "eth0", Up: true, Addresses: []string{"192.0.2.2/24"}}, {Name: "wlan0"}}
	if err := h.addNetwork(nics); err != nil {
		t.Fatal(err)
	}
	wantNICs := []core.NIC{
		{Name: "eth0", Up: true, Addresses: []string{"192.0.2.2/24"}, SpeedMbps: 1000, Gateways: []string{"192.0.2.1", "fd00::1"}, DNS: []string{"192.0.2.53"}},
		{Name: "wlan0"},
	}
	if !reflect.DeepEqual(nics, wantNICs) {
		t.Errorf("network:\n%+v\nwant\n%+v", nics, wantNICs)
	}
	if err := h.readGPUs(ctx, &hw); err != nil || !reflect.DeepEqual(hw.GPUs, []core.GPU{{Name: "Intel GPU [8086:5916]", Vendor: "Intel", Driver: "i915"}}) {
		t.Errorf("GPUs: %+v, %v", hw.GPUs, err)
	}
	if err := h.readMonitors(&hw); err != nil || !reflect.DeepEqual(hw.Monitors, []core.Monitor{
		{Manufacturer: "DEL", Model: "DELL U2415", Serial: "7MT019AI34EU"}, {Manufacturer: "LEN", Model: "LTN154U2-L05"},
	}) {
		t.Errorf("monitors: %+v, %v", hw.Monitors, err)
	}
	if err := h.readBatteries(&hw); err != nil || len(hw.Batteries) != 1 || hw.Batteries[0].HealthPercent != 100 || hw.Batteries[0].Name != "BAT0" {
		t.Errorf("batteries: %+v, %v", hw.Batteries, err)
	}
	if err := h.readSecurity(&hw); err != nil || hw.TPM != (core.TPM{Present: true, Version: "2.0"}) || hw.SecureBoot != "on" {
		t.Errorf("security: %+v %q, %v", hw.TPM, hw.SecureBoot, err)
	}
	var sys core.SystemInfo
	if err := h.readOSRelease(&sys); err != nil || sys.OSName != "Ubuntu 24.04.3 LTS" || sys.Version != "24.04" || sys.Build != "6.8.0-45-generic" || sys.InstallDate != "2024-05-02" {
		t.Errorf("OS: %+v, %v", sys, err)
	}
	if err := h.readDomain(&sys); err != nil || sys.JoinType != "domain" || sys.Domain != "corp.example.com" {
		t.Errorf("domain: %q %q, %v", sys.JoinType, sys.Domain, err)
	}
	if err := h.readUsers(ctx, &sys); err != nil || !reflect.DeepEqual(sys.Users, []core.LocalUser{{Name: "root", Admin: true}, {Name: "anna", Admin: true}}) {
		t.Errorf("users: %+v, %v", sys.Users, err)
	}
	// snap's daemon is down: its error is reported, dpkg's programs stay.
	progs, err := h.readSoftware(ctx)
	if err == nil || !strings.Contains(err.Error(), "cannot communicate") || len(progs) != 60 {
		t.Errorf("software: %d programs, %v", len(progs), err)
	}
	if progs[0].Name != "adduser" || progs[0].InstallDate != "2024-05-02" {
		t.Errorf("dpkg install date: %+v", progs[0])
	}
}

func TestReadSecurityVariants(t *testing.T) {
	for name, c := range map[string]struct {
		files      map[string]string
		tpm        core.TPM
		secureBoot string
	}{
		"BIOS, no TPM":              {nil, core.TPM{}, ""},
		"UEFI without the variable": {map[string]string{"sys/firmware/efi/efivars/other": ""}, core.TPM{}, "off"},
		"Secure Boot off, TPM 1.2 on an old kernel": {map[string]string{
			strings.TrimPrefix(secureBootVar, "/"): "\x06\x00\x00\x00\x00", "sys/class/tpm/tpm0/device/caps": "TCG version: 1.2\n",
		}, core.TPM{Present: true, Version: "1.2"}, "off"},
	} {
		root := t.TempDir()
		for p, s := range c.files {
			writeTreeFile(t, filepath.Join(root, p), s)
		}
		var hw core.Hardware
		if err := (&linuxHost{root: root}).readSecurity(&hw); err != nil || hw.TPM != c.tpm || hw.SecureBoot != c.secureBoot {
			t.Errorf("%s: TPM %+v, Secure Boot %q, %v", name, hw.TPM, hw.SecureBoot, err)
		}
	}
	root := t.TempDir()
	writeTreeFile(t, filepath.Join(root, secureBootVar), "\x06\x00")
	if err := (&linuxHost{root: root}).readSecurity(&core.Hardware{}); err == nil {
		t.Error("a short SecureBoot variable was read")
	}
}

func TestIdentityWithoutDMI(t *testing.T) {
	root := t.TempDir()
	h := &linuxHost{root: root}
	var hw core.Hardware
	if err := h.readIdentity(context.Background(), &hw); err == nil || !strings.Contains(err.Error(), "no DMI table") {
		t.Errorf("a machine without DMI and device tree: %v", err)
	}
	// A Raspberry Pi's device tree.
	writeTreeFile(t, filepath.Join(root, "sys/firmware/devicetree/base/model"), "Raspberry Pi 4 Model B Rev 1.4\x00")
	writeTreeFile(t, filepath.Join(root, "sys/firmware/devicetree/base/serial-number"), "10000000a1b2c3d4\x00")
	if err := h.readIdentity(context.Background(), &hw); err != nil || hw.Model != "Raspberry Pi 4 Model B Rev 1.4" || hw.Serial != "10000000a1b2c3d4" {
		t.Errorf("device tree: %+v, %v", hw, err)
	}
}

// TestCollectLinuxGaps runs the whole Linux collection on the laptop
// tree without root: each part that cannot be read says why, and the
// rest is there.
func TestCollectLinuxGaps(t *testing.T) {
	root := laptopTree(t)
	if err := os.Remove(filepath.Join(root, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	collectLinux(context.Background(), c, &linuxHost{root: root, run: fakeRun(t), euid: 1000})
	gaps := map[string]string{}
	for _, g := range c.inv.Missing {
		gaps[g.Part] = g.Error
	}
	for part, want := range map[string]string{
		core.PartMemory:   "dmidecode needs root",
		core.PartUsers:    "reading local users",
		core.PartSoftware: "cannot communicate with server",
	} {
		if !strings.Contains(gaps[part], want) {
			t.Errorf("gap %s = %q, want it to say %q", part, gaps[part], want)
		}
	}
	if len(gaps) != 3 {
		t.Errorf("gaps: %v", gaps)
	}
	if c.inv.Hardware.Memory.TotalBytes == 0 || len(c.inv.Software) != 60 || len(c.inv.Hardware.Monitors) != 2 || c.inv.Hardware.Serial != "LR9NKZ7" {
		t.Errorf("partial inventory lost parts: memory %d, %d programs, %d monitors, serial %q",
			c.inv.Hardware.Memory.TotalBytes, len(c.inv.Software), len(c.inv.Hardware.Monitors), c.inv.Hardware.Serial)
	}
	// os-release named the OS, so gopsutil's platform lookup (which
	// starts lsb_release) did not run over it.
	if s := c.inv.System; s.OSName != "Ubuntu 24.04.3 LTS" || s.Version != "24.04" || s.Build != "6.8.0-45-generic" || s.Hostname == "" || s.LastBoot.IsZero() {
		t.Errorf("system: %+v", s)
	}
	if c.inv.Hotfixes != nil || c.inv.System.Activation != "" {
		t.Error("hotfixes or activation on Linux")
	}
}

// TestCollectManyPrograms: 5,000 packages from dpkg with broken lines
// among them (a field missing, binary garbage) are all kept, as one
// normalized inventory without a software gap.
func TestCollectManyPrograms(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "pkg%04d\tamd64\t1.%d-1\tinstall ok installed\t%d\tDebian Team <team@example.org>\n", i, i, i)
		if i == 2500 {
			b.WriteString("broken\tline\n\xff\xfe\x00\t\t\t\t\t\n")
		}
	}
	h := &linuxHost{root: laptopTree(t), euid: 0, run: func(_ context.Context, path string, _ ...string) (string, error) {
		switch path {
		case dpkgQueryBin:
			return b.String(), nil
		case dmidecodeBin:
			return "", nil
		}
		return "", errors.New("not installed")
	}}
	if err := os.Remove(filepath.Join(h.root, "usr/bin/snap")); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	collectLinux(context.Background(), c, h)
	inv := protocol.NormalizeInventory(c.inv)
	if len(inv.Software) != 5000 {
		t.Errorf("%d programs, want 5000", len(inv.Software))
	}
	for _, g := range inv.Missing {
		if g.Part == core.PartSoftware {
			t.Errorf("software gap: %s", g.Error)
		}
	}
}

// TestCollectLinuxReal collects this machine's inventory and compares
// it with what the OS tells by other means.
func TestCollectLinuxReal(t *testing.T) {
	inv := Collect(context.Background())
	for _, g := range inv.Missing {
		if g.Part == "" || strings.TrimSpace(g.Error) == "" {
			t.Errorf("gap without a reason: %+v", g)
		}
	}
	meminfo, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	var kib uint64
	for _, line := range strings.Split(string(meminfo), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kib, _ = strconv.ParseUint(f[1], 10, 64)
		}
	}
	if kib == 0 || inv.Hardware.Memory.TotalBytes != kib*1024 {
		t.Errorf("memory %d bytes, /proc/meminfo MemTotal %d kB", inv.Hardware.Memory.TotalBytes, kib)
	}
	cpuinfo, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	threads := 0
	sc := bufio.NewScanner(strings.NewReader(string(cpuinfo)))
	for sc.Scan() {
		if k, _, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "processor" {
			threads++
		}
	}
	if inv.Hardware.CPU.Threads != threads {
		t.Errorf("CPU threads %d, /proc/cpuinfo %d", inv.Hardware.CPU.Threads, threads)
	}
	if inv.System.OSName == "" || inv.System.Build == "" || len(inv.Hardware.Volumes) == 0 {
		t.Errorf("system %+v, volumes %+v", inv.System, inv.Hardware.Volumes)
	}
	if _, err := os.Stat(dpkgQueryBin); err != nil {
		return // not a Debian machine: nothing to compare the software with
	}
	out, err := exec.Command(dpkgQueryBin, "-W", "-f=${Package}:${Architecture}\t${Version}\t${db:Status-Status}\n").Output()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]core.Program{}
	for _, p := range inv.Software {
		if p.Source == core.SourceDpkg {
			byID[p.ID] = p
		}
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	installed := 0
	for i, line := range lines {
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[2] != "installed" {
			continue
		}
		installed++
		if i%25 != 0 { // a sample
			continue
		}
		if p, ok := byID[f[0]]; !ok || p.Version != f[1] {
			t.Errorf("dpkg-query says %s %s, inventory %+v", f[0], f[1], p)
		}
	}
	if len(byID) != installed {
		t.Errorf("%d dpkg programs in the inventory, dpkg-query lists %d installed", len(byID), installed)
	}
	if !slices.IsSortedFunc(inv.Software, func(a, b core.Program) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) }) {
		t.Error("software is not normalized")
	}
	// Programs, what the program check reads, is the same software part.
	progs, err := Programs(context.Background())
	if err != nil {
		t.Fatalf("Programs: %v", err)
	}
	if !slices.Equal(progs, inv.Software) {
		t.Errorf("Programs lists %d programs, Collect %d: not the same list", len(progs), len(inv.Software))
	}
}
