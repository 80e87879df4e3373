package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func linuxTestdata(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "linux", p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseEDID(t *testing.T) {
	for file, want := range map[string]core.Monitor{
		"lcd.dell-U2415.bin":         {Manufacturer: "DEL", Model: "DELL U2415", Serial: "7MT019AI34EU"}, // 0xFF descriptor
		"EV2785.bin":                 {Manufacturer: "ENC", Model: "EV2785", Serial: "68056070"},         // numeric serial only
		"lcd.dell-inspiron-6400.bin": {Manufacturer: "LPL", Model: "XD570"},                              // panel: 0xFE text, no serial
		"lcd.lenovo-w500.bin":        {Manufacturer: "LEN", Model: "LTN154U2-L05"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "linux", "edid", file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseEDID(b)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", file, got, err, want)
		}
	}
	good, _ := os.ReadFile("testdata/linux/edid/lcd.dell-U2415.bin")
	for name, b := range map[string][]byte{
		"short":      good[:100],
		"bad header": append([]byte{1}, good[1:]...),
		"empty":      nil,
	} {
		if _, err := ParseEDID(b); err == nil {
			t.Errorf("%s EDID parsed", name)
		}
	}
}

func TestParseDmidecodeMemory(t *testing.T) {
	// A Lenovo ThinkPad: two populated SO-DIMMs.
	got := parseDmidecodeMemory(linuxTestdata(t, "dmidecode/lenovo-thinkpad"))
	if want := (core.MemoryModule{Slot: "ChannelA-DIMM0", SizeBytes: 4 << 30, SpeedMTs: 1333, Type: "DDR3", Manufacturer: "Samsung", Serial: "B52A5D9F"}); len(got) != 2 || got[0] != want {
		t.Errorf("thinkpad: %+v", got)
	}
	// A Dell R640 server: the empty slots are left out.
	r640 := linuxTestdata(t, "dmidecode/dell-r640")
	got = parseDmidecodeMemory(r640)
	if n, empty := strings.Count(r640, "Memory Device\n"), strings.Count(r640, "No Module Installed"); len(got) != n-empty || len(got) == 0 {
		t.Errorf("r640: %d modules of %d devices with %d empty", len(got), n, empty)
	}
	// A Hyper-V VM: serial "None" is empty, not a gap; no speed.
	got = parseDmidecodeMemory(linuxTestdata(t, "dmidecode/windows-hyperV-2019"))
	if len(got) == 0 {
		t.Fatal("no modules in the Hyper-V table")
	}
	for _, m := range got {
		if m.Serial != "" || m.SizeBytes == 0 {
			t.Errorf("hyper-v module %+v", m)
		}
	}
	// VMware: one 2 GB module, three empty slots; "Not Specified" serial.
	got = parseDmidecodeMemory(linuxTestdata(t, "dmidecode/vmware"))
	if len(got) == 0 || got[0] != (core.MemoryModule{Slot: "RAM slot #0", SizeBytes: 2 << 30, Type: "DRAM"}) {
		t.Errorf("vmware: %+v", got)
	}
}

func TestDmidecodeFields(t *testing.T) {
	for in, want := range map[string]uint64{"16 GB": 16 << 30, "8192 MB": 8 << 30, "No Module Installed": 0, "Unknown": 0, "1 TB": 1 << 40, "x GB": 0} {
		if got := dmiSize(in); got != want {
			t.Errorf("dmiSize(%q) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]string{"05/25/2018": "2018-05-25", "06/25/20": "2020-06-25", "2018-05-25": "", "": "", "aa/bb/cccc": ""} {
		if got := dmiDate(in); got != want {
			t.Errorf("dmiDate(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{" To be filled by O.E.M. ": "", "None": "", "PF1ABCDE": "PF1ABCDE"} {
		if got := cleanDMI(in); got != want {
			t.Errorf("cleanDMI(%q) = %q", in, got)
		}
	}
}

func TestParseOSRelease(t *testing.T) {
	for file, want := range map[string][2]string{
		"debian12": {"Debian GNU/Linux 12 (bookworm)", "12"},
		"debian13": {"Debian GNU/Linux 13 (trixie)", "13"},
		"ubuntu24": {"Ubuntu 24.04.3 LTS", "24.04"},
		"rhel9":    {"Red Hat Enterprise Linux 9.6 (Plow)", "9.6"},
	} {
		r := parseOSRelease(linuxTestdata(t, "os-release/"+file))
		if got := [2]string{r["PRETTY_NAME"], r["VERSION_ID"]}; got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
	if r := parseOSRelease(`NAME='Single quoted'` + "\n" + `X="a \"b\" \$c"`); r["NAME"] != "Single quoted" || r["X"] != `a "b" $c` {
		t.Errorf("quoting: %q", r)
	}
}

func TestParseRoutes(t *testing.T) {
	// Captured on this project's build VM: one default route over eth0.
	if got := parseProcNetRoute(linuxTestdata(t, "proc-net-route.vm")); !reflect.DeepEqual(got, map[string][]string{"eth0": {"192.0.2.1"}}) {
		t.Errorf("IPv4: %v", got)
	}
	if got := parseIPv6Route(linuxTestdata(t, "proc-net-ipv6_route.vm")); !reflect.DeepEqual(got, map[string][]string{"eth0": {"fd00::1"}}) {
		t.Errorf("IPv6: %v", got)
	}
	if got := parseProcNetRoute("Iface\tDestination\neth0 garbage\n"); len(got) != 0 {
		t.Errorf("garbage: %v", got)
	}
}

func TestParseResolvConf(t *testing.T) {
	if s, stub := parseResolvConf("# generated\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n"); !stub || len(s) != 1 {
		t.Errorf("stub: %v %v", s, stub)
	}
	if s, stub := parseResolvConf("nameserver 192.0.2.53\nnameserver 2001:db8::53\n"); stub || !reflect.DeepEqual(s, []string{"192.0.2.53", "2001:db8::53"}) {
		t.Errorf("servers: %v %v", s, stub)
	}
}

func TestParseLocalUsers(t *testing.T) {
	passwd := "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
		"anna:x:1000:1000:Anna,,,:/home/anna:/bin/bash\nben:x:1001:10:Ben:/home/ben:/bin/zsh\n" +
		"svc:x:1002:1002::/home/svc:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\nbroken:line\n"
	group := "root:x:0:\nwheel:x:10:\nsudo:x:27:anna\nanna:x:1000:\n"
	shadow := "root:*:19000:0:99999:7:::\nanna:$y$j9T$x:19000:0:99999:7:::\nben:!$y$j9T$x:19000:0:99999:7::1:\n"
	want := []core.LocalUser{{Name: "root", Admin: true}, {Name: "anna", Admin: true}, {Name: "ben", Admin: true, Disabled: true}}
	if got := parseLocalUsers(passwd, group, shadow, 20000); !reflect.DeepEqual(got, want) {
		t.Errorf("users %+v, want %+v", got, want)
	}
}

func TestBatteryFromUevent(t *testing.T) {
	// A ThinkPad reports energy in µWh.
	got := batteryFromUevent("BAT0", parseUevent(linuxTestdata(t, "power_supply/thinkpad-BAT0.uevent")))
	want := core.Battery{Name: "BAT0", DesignMWh: 47520, FullChargeMWh: 47390, HealthPercent: 100, Chemistry: "Li-ion", Manufacturer: "LGC", SerialOrModel: "LNV-45N1"}
	if got != want {
		t.Errorf("thinkpad: %+v\nwant %+v", got, want)
	}
	// A Dell XPS 15 9530 reports charge in µAh: times 11.4 V design.
	got = batteryFromUevent("BAT0", parseUevent(linuxTestdata(t, "power_supply/xps9530-BAT0.uevent")))
	want = core.Battery{Name: "BAT0", DesignMWh: 84280, FullChargeMWh: 73404, HealthPercent: 87, CycleCount: 99, Chemistry: "Li-poly", Manufacturer: "SMP", SerialOrModel: "DELL 70N2F34"}
	if got != want {
		t.Errorf("xps: %+v\nwant %+v", got, want)
	}
}

func TestDiskBus(t *testing.T) {
	for p, want := range map[string]string{
		"/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda":                                    "virtio",
		"/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1":                      "nvme",
		"/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda":             "sata",
		"/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host4/target4:0:0/4:0:0:0/block/sdb": "usb",
		"/sys/devices/pci0000:00/0000:00:10.0/host2/target2:0:0/2:0:0:0/block/sdc":                  "scsi",
	} {
		if got := diskBus(p); got != want {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
}

func TestParseDirectory(t *testing.T) {
	sssd := "[sssd]\nservices = nss, pam\ndomains = corp.example.com\n\n[domain/corp.example.com]\nid_provider = ad\n"
	if d := parseSSSDDomains(sssd); !reflect.DeepEqual(d, []string{"corp.example.com"}) {
		t.Errorf("sssd: %v", d)
	}
	if d := parseSSSDDomains("[domain/x]\ndomains = y\n"); d != nil {
		t.Errorf("sssd outside [sssd]: %v", d)
	}
	if r := parseSambaRealm("[global]\n   security = ADS\n   realm = CORP.EXAMPLE.COM\n[homes]\nrealm = X\n"); r != "CORP.EXAMPLE.COM" {
		t.Errorf("samba: %q", r)
	}
	if r := parseSambaRealm("[global]\nsecurity = user\nrealm = X\n"); r != "" {
		t.Errorf("samba standalone: %q", r)
	}
}

func TestParseLspciMM(t *testing.T) {
	v, d := parseLspciMM(`00:02.0 "VGA compatible controller" "Intel Corporation" "HD Graphics 620" -r02 "Lenovo" "ThinkPad T470"` + "\n")
	if v != "Intel Corporation" || d != "HD Graphics 620" {
		t.Errorf("lspci: %q %q", v, d)
	}
	if v, d := parseLspciMM(""); v != "" || d != "" {
		t.Errorf("empty lspci: %q %q", v, d)
	}
}

func TestParseDpkgPrograms(t *testing.T) {
	out := linuxTestdata(t, "packaging/dpkg-debian12")
	got := parseDpkgPrograms(out)
	if len(got) != strings.Count(out, "\n") {
		t.Fatalf("%d programs of %d lines", len(got), strings.Count(out, "\n"))
	}
	if want := (core.Program{Name: "adduser", Version: "3.134", Publisher: "Debian Adduser Developers", SizeBytes: 686 << 10, Source: core.SourceDpkg, ID: "adduser:all"}); got[0] != want {
		t.Errorf("first: %+v", got[0])
	}
	// Broken lines cost themselves only: a removed package keeping its
	// configuration, a line with a field missing, binary garbage.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	broken := strings.Join([]string{
		strings.Replace(lines[1], "install ok installed", "deinstall ok config-files", 1),
		strings.Join(strings.Split(lines[2], "\t")[:4], "\t"),
		"\x00\xff\xfe garbage\t\t",
		lines[3] + "\textra",
	}, "\n") + "\n" + strings.Join(lines[4:], "\n")
	if got := parseDpkgPrograms(broken); len(got) != len(lines)-4 {
		t.Errorf("with broken lines: %d programs, want %d", len(got), len(lines)-4)
	}
}

func TestParseRpmSnapFlatpak(t *testing.T) {
	rpm := parseRpmPrograms(linuxTestdata(t, "packaging/rpm"))
	if len(rpm) != 10 {
		t.Fatalf("rpm: %d programs", len(rpm))
	}
	if want := (core.Program{Name: "libpciaccess0", Version: "0.12.1-1.mga1", Publisher: "Mageia.Org", InstallDate: "2011-07-19", SizeBytes: 38452, Source: core.SourceRPM, ID: "libpciaccess0.i586"}); rpm[0] != want {
		t.Errorf("rpm first: %+v", rpm[0])
	}
	if got := parseRpmPrograms("gpg-pubkey\t(none)\t8483c65d-5ccc5b19\t1700000000\t0\t(none)\tkey\tPublic Keys\nbash\tx86_64\t5.2.26-3.fc40\t1700000000\t8223417\t(none)\tThe GNU\tBourne shell\tUnspecified\nbroken\n"); len(got) != 1 || got[0].Publisher != "" || got[0].InstallDate != "2023-11-14" {
		t.Errorf("rpm keys, no vendor, a tab in the summary: %+v", got)
	}
	snap := parseSnapList(linuxTestdata(t, "packaging/snap"))
	want := []core.Program{
		{Name: "core18", Version: "20191030", Publisher: "canonical", Source: core.SourceSnap, ID: "core18"},
		{Name: "kde-frameworks-5-core18", Version: "5.61.0", Publisher: "kde", Source: core.SourceSnap, ID: "kde-frameworks-5-core18"},
		{Name: "kdenlive", Version: "19.08.2", Publisher: "kde", Source: core.SourceSnap, ID: "kdenlive"},
		{Name: "scrcpy", Version: "v1.10", Publisher: "sisco311", Source: core.SourceSnap, ID: "scrcpy"},
		{Name: "snapd", Version: "2.42", Publisher: "canonical", Source: core.SourceSnap, ID: "snapd"},
	}
	if !reflect.DeepEqual(snap, want) {
		t.Errorf("snap: %+v", snap)
	}
	flat := parseFlatpakList(linuxTestdata(t, "packaging/flatpak"))
	if len(flat) != strings.Count(linuxTestdata(t, "packaging/flatpak"), "\n") {
		t.Errorf("flatpak: %d programs", len(flat))
	}
	if want := (core.Program{Name: "VSCodium", Version: "stable", Source: core.SourceFlatpak, ID: "com.vscodium.codium/stable/system"}); flat[0] != want {
		t.Errorf("flatpak first: %+v", flat[0])
	}
	if got := parseFlatpakList("org.gimp.GIMP\tstable\tsystem\tGNU Image Manipulation Program\t2.10.38\n"); len(got) != 1 || got[0].Version != "2.10.38" {
		t.Errorf("flatpak with version column: %+v", got)
	}
}
