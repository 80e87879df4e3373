package inventory

import (
	"bufio"
	"encoding/hex"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Parsers of the text files Linux keeps its facts in (os-release, route
// tables, resolv.conf, passwd, power_supply uevent…). They are portable
// so that they are tested on every OS against files captured on real
// machines.

// parseOSRelease reads os-release(5): KEY=value lines, values optionally
// quoted with shell quoting.
func parseOSRelease(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if n := len(v); n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n-1] == v[0] {
			q := v[0]
			v = v[1 : n-1]
			if q == '"' {
				v = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`").Replace(v)
			}
		}
		out[k] = v
	}
	return out
}

// parseProcNetRoute returns the default gateways per interface from
// /proc/net/route (addresses are little-endian hex).
func parseProcNetRoute(s string) map[string][]string {
	out := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[0] == "Iface" {
			continue
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || f[1] != "00000000" || f[7] != "00000000" || flags&0x3 != 0x3 { // RTF_UP|RTF_GATEWAY
			continue
		}
		b, err := hex.DecodeString(f[2])
		if err != nil || len(b) != 4 {
			continue
		}
		ip := netip.AddrFrom4([4]byte{b[3], b[2], b[1], b[0]})
		out[f[0]] = appendAddr(out[f[0]], ip.String())
	}
	return out
}

// parseIPv6Route returns the default gateways per interface from
// /proc/net/ipv6_route (destination, prefix, source, prefix, next hop,
// metric, references, use, flags, interface).
func parseIPv6Route(s string) map[string][]string {
	out := map[string][]string{}
	zero := strings.Repeat("0", 32)
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 10 || f[0] != zero || f[1] != "00" || f[4] == zero {
			continue
		}
		flags, err := strconv.ParseUint(f[8], 16, 32)
		if err != nil || flags&0x3 != 0x3 || flags&0x200 != 0 { // up, gateway, not reject
			continue
		}
		b, err := hex.DecodeString(f[4])
		if err != nil || len(b) != 16 {
			continue
		}
		out[f[9]] = appendAddr(out[f[9]], netip.AddrFrom16([16]byte(b)).String())
	}
	return out
}

func appendAddr(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// systemdStub is systemd-resolved's local stub resolver, which says
// nothing about the DNS servers the machine really uses.
const systemdStub = "127.0.0.53"

// parseResolvConf returns the nameservers of a resolv.conf and whether
// the only one is systemd-resolved's stub.
func parseResolvConf(s string) (servers []string, stubOnly bool) {
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			servers = appendAddr(servers, f[1])
		}
	}
	return servers, len(servers) == 1 && servers[0] == systemdStub
}

// sudoGroups are the groups whose members may become root with sudo
// (Debian: sudo, admin before Ubuntu 12.04; Red Hat, SUSE, Arch: wheel).
var sudoGroups = []string{"sudo", "wheel", "admin"}

// parseLocalUsers reads passwd(5) and group(5) and returns the people's
// accounts: root and UIDs from 1000 (not nobody) with a login shell.
// Admin is membership of an admin group, as a listed member or by the
// primary group. Disabled is an account whose expiry date in shadow(5)
// (days since 1970) is before today, as `usermod -L -e 1` leaves it; a
// locked password alone still lets keys in. shadow may be "" (not root).
func parseLocalUsers(passwd, group, shadow string, today int64) []core.LocalUser {
	expired := map[string]bool{}
	for _, line := range strings.Split(shadow, "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) < 8 {
			continue
		}
		if day, err := strconv.ParseInt(f[7], 10, 64); err == nil && day < today {
			expired[f[0]] = true
		}
	}
	adminGIDs := map[string]bool{}
	members := map[string]bool{}
	for _, line := range strings.Split(group, "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) != 4 || !slices.Contains(sudoGroups, f[0]) {
			continue
		}
		adminGIDs[f[2]] = true
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				members[m] = true
			}
		}
	}
	users := []core.LocalUser{}
	for _, line := range strings.Split(passwd, "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) != 7 {
			continue
		}
		uid, err := strconv.Atoi(f[2])
		if err != nil || (uid != 0 && (uid < 1000 || uid == 65534)) {
			continue
		}
		shell := f[6]
		if shell == "" || strings.HasSuffix(shell, "/nologin") || strings.HasSuffix(shell, "/false") {
			continue
		}
		users = append(users, core.LocalUser{Name: f[0], Admin: uid == 0 || members[f[0]] || adminGIDs[f[3]], Disabled: expired[f[0]]})
	}
	return users
}

// parseUevent reads a sysfs uevent file (KEY=value lines).
func parseUevent(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			out[k] = v
		}
	}
	return out
}

// batteryFromUevent reads a power_supply battery's uevent. Capacities
// are in µWh (energy_*), or in µAh (charge_*) to multiply by the design
// minimum voltage in µV.
func batteryFromUevent(name string, u map[string]string) core.Battery {
	num := func(k string) uint64 {
		v, _ := strconv.ParseUint(u["POWER_SUPPLY_"+k], 10, 64)
		return v
	}
	b := core.Battery{
		Name:          name,
		Chemistry:     cleanDMI(u["POWER_SUPPLY_TECHNOLOGY"]),
		Manufacturer:  cleanDMI(u["POWER_SUPPLY_MANUFACTURER"]),
		SerialOrModel: cleanDMI(u["POWER_SUPPLY_MODEL_NAME"]),
		CycleCount:    int(num("CYCLE_COUNT")),
	}
	if design := num("ENERGY_FULL_DESIGN"); design > 0 {
		b.DesignMWh = int(design / 1000)
		b.FullChargeMWh = int(num("ENERGY_FULL") / 1000)
	} else if v := num("VOLTAGE_MIN_DESIGN"); v > 0 {
		b.DesignMWh = int(num("CHARGE_FULL_DESIGN") * v / 1e9)
		b.FullChargeMWh = int(num("CHARGE_FULL") * v / 1e9)
	}
	b.HealthPercent = core.BatteryHealth(b.DesignMWh, b.FullChargeMWh)
	return b
}

// diskBus names the bus of a block device from its resolved sysfs path
// (/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda).
func diskBus(devPath string) string {
	for _, b := range []struct{ marker, bus string }{
		{"/nvme/", "nvme"}, {"/usb", "usb"}, {"/ata", "sata"}, {"/virtio", "virtio"},
		{"/mmc_host/", "mmc"}, {"/target", "scsi"},
	} {
		if strings.Contains(devPath, b.marker) {
			return b.bus
		}
	}
	return ""
}

// parseSSSDDomains returns the domains of sssd.conf's [sssd] section.
func parseSSSDDomains(s string) []string {
	section := ""
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.ToLower(strings.TrimSpace(line[1 : len(line)-1]))
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if section != "sssd" || !ok || strings.TrimSpace(k) != "domains" {
			continue
		}
		var out []string
		for _, d := range strings.Split(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				out = append(out, d)
			}
		}
		return out
	}
	return nil
}

// parseSambaRealm returns the realm of an smb.conf joined to Active
// Directory with winbind ("security = ads").
func parseSambaRealm(s string) string {
	section, security, realm := "", "", ""
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section = strings.ToLower(strings.Trim(line, "[] "))
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if section != "global" || !ok || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "security":
			security = strings.ToLower(strings.TrimSpace(v))
		case "realm":
			realm = strings.TrimSpace(v)
		}
	}
	if security != "ads" {
		return ""
	}
	return realm
}

// parseLspciMM reads the first device of `lspci -mm` output: slot,
// class, vendor, device, then options, each quoted.
func parseLspciMM(out string) (vendor, device string) {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	var fields []string
	for {
		i := strings.IndexByte(line, '"')
		if i < 0 {
			break
		}
		j := strings.IndexByte(line[i+1:], '"')
		if j < 0 {
			break
		}
		fields = append(fields, line[i+1:i+1+j])
		line = line[i+j+2:]
	}
	if len(fields) < 3 {
		return "", ""
	}
	return fields[1], fields[2]
}

// pciGPUVendors names the GPU vendors by PCI vendor ID when lspci is not
// there to name the device.
var pciGPUVendors = map[string]string{
	"0x8086": "Intel", "0x1002": "AMD", "0x1022": "AMD", "0x10de": "NVIDIA",
	"0x1af4": "Red Hat (virtio)", "0x1234": "QEMU", "0x15ad": "VMware", "0x80ee": "VirtualBox",
	"0x1414": "Microsoft", "0x1a03": "ASPEED", "0x102b": "Matrox", "0x5143": "Qualcomm",
}
