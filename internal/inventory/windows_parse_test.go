package inventory

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/uninstallreg"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The Windows parsers, tested on Linux with outputs captured from real
// systems (testdata/README.md, "Windows").

func windowsData(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "windows", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// regKey is one key of a .reg export with its values typed as the
// registry gives them to the reader: string or uint64.
type regKey struct {
	path   string
	values map[string]any
}

// parseRegExport reads a regedit export: UTF-16LE with a BOM (or UTF-8),
// "name"="text", dword:, hex(b): (QWORD) and hex(2): (REG_EXPAND_SZ in
// UTF-16LE bytes), lines continued with a trailing backslash.
func parseRegExport(t *testing.T, b []byte) []regKey {
	t.Helper()
	text := string(b)
	if bytes.HasPrefix(b, []byte{0xff, 0xfe}) {
		u := make([]uint16, (len(b)-2)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(b[2+2*i:])
		}
		text = string(utf16.Decode(u))
	}
	if !strings.HasPrefix(text, "Windows Registry Editor Version 5.00") {
		t.Fatalf("not a regedit export: %.40q", text)
	}
	var keys []regKey
	var pending string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := pending + strings.TrimRight(sc.Text(), "\r")
		if strings.HasSuffix(line, `\`) && !strings.HasSuffix(line, `"`) {
			pending = strings.TrimSuffix(line, `\`)
			continue
		}
		pending = ""
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			keys = append(keys, regKey{path: line[1 : len(line)-1], values: map[string]any{}})
		case strings.HasPrefix(line, `"`) && len(keys) > 0:
			name, value, ok := cutRegName(line)
			if !ok {
				t.Fatalf("bad value line %q", line)
			}
			if v, ok := regValue(t, value); ok {
				keys[len(keys)-1].values[name] = v
			}
		}
	}
	return keys
}

// cutRegName splits `"name"=value`, unescaping the name.
func cutRegName(line string) (string, string, bool) {
	var name strings.Builder
	for i := 1; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
			if i < len(line) {
				name.WriteByte(line[i])
			}
		case '"':
			rest := line[i+1:]
			if !strings.HasPrefix(rest, "=") {
				return "", "", false
			}
			return name.String(), rest[1:], true
		default:
			name.WriteByte(line[i])
		}
	}
	return "", "", false
}

func regValue(t *testing.T, v string) (any, bool) {
	switch {
	case strings.HasPrefix(v, `"`):
		s, err := strconv.Unquote(v)
		if err != nil {
			// regedit escapes only \ and ", which Unquote reads; a raw
			// unpaired surrogate came through as U+FFFD already.
			s = strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(strings.Trim(v, `"`))
		}
		return s, true
	case strings.HasPrefix(v, "dword:"):
		n, err := strconv.ParseUint(strings.TrimPrefix(v, "dword:"), 16, 32)
		if err != nil {
			t.Fatalf("bad dword %q", v)
		}
		return n, true
	case strings.HasPrefix(v, "hex(b):"), strings.HasPrefix(v, "hex(2):"):
		var raw []byte
		for _, h := range strings.Split(v[7:], ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(h), 16, 8)
			if err != nil {
				t.Fatalf("bad hex %q", v)
			}
			raw = append(raw, byte(n))
		}
		if strings.HasPrefix(v, "hex(b):") {
			return binary.LittleEndian.Uint64(append(raw, make([]byte, 8)...)), true
		}
		u := make([]uint16, len(raw)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(raw[2*i:])
		}
		return strings.TrimRight(string(utf16.Decode(u)), "\x00"), true
	}
	return nil, false // binary and other types: no uninstall value we read
}

// entriesOf turns an export's uninstall keys into entries, the view taken
// from the key's path.
func entriesOf(keys []regKey) []uninstallreg.Entry {
	var out []uninstallreg.Entry
	for _, k := range keys {
		parent, name, ok := strings.Cut(k.path, `\Uninstall\`)
		if !ok || strings.Contains(name, `\`) {
			continue
		}
		view := uninstallreg.View64
		switch {
		case strings.HasPrefix(parent, "HKEY_USERS") || strings.HasPrefix(parent, "HKEY_CURRENT_USER"):
			view = uninstallreg.ViewUser
		case strings.Contains(strings.ToUpper(parent), `\WOW6432NODE\`):
			view = uninstallreg.View32
		}
		out = append(out, uninstallreg.FromValues(view, "", name, k.values))
	}
	return out
}

func programsOf(es []uninstallreg.Entry) []core.Program {
	var out []core.Program
	for _, e := range es {
		if p, ok := programFromEntry(e); ok {
			out = append(out, p)
		}
	}
	return out
}

func TestUninstallRegExport(t *testing.T) {
	keys := parseRegExport(t, windowsData(t, "uninstall-export.reg"))
	if len(keys) != 2 {
		t.Fatalf("%d keys: %+v", len(keys), keys)
	}
	got := programsOf(entriesOf(keys))
	want := []core.Program{{Name: "System.Data.SQLite v1.0.94.0 (Release)", Version: "1.0.94.0", Publisher: "System.Data.SQLite Team",
		InstallDate: "2014-12-09", SizeBytes: 0xf60 * 1024, Source: core.SourceRegistry64, ID: "{02E43EC2-6B1C-45B5-9E48-941C3E1B204A}_is1"}}
	if len(got) != 1 || got[0] != want[0] {
		t.Errorf("got %+v\nwant %+v (the Office update, a ParentKeyName entry, is no program)", got, want)
	}
}

func TestProgramFromEntry(t *testing.T) {
	base := uninstallreg.Entry{Key: "k", View: uninstallreg.View32, DisplayName: "7-Zip 23.01", DisplayVersion: "23.01"}
	for _, c := range []struct {
		name string
		edit func(*uninstallreg.Entry)
		ok   bool
		want func(core.Program) bool
	}{
		{"plain", func(*uninstallreg.Entry) {}, true, func(p core.Program) bool { return p.Source == core.SourceRegistry32 && p.Version == "23.01" }},
		{"garbage version kept", func(e *uninstallreg.Entry) { e.DisplayVersion = "v.?? (build x)" }, true,
			func(p core.Program) bool { return p.Version == "v.?? (build x)" }},
		{"garbage date dropped", func(e *uninstallreg.Entry) { e.InstallDate = "20231345" }, true, func(p core.Program) bool { return p.InstallDate == "" }},
		{"locale date dropped", func(e *uninstallreg.Entry) { e.InstallDate = "05.01.2023" }, true, func(p core.Program) bool { return p.InstallDate == "" }},
		{"user hive", func(e *uninstallreg.Entry) { e.View = uninstallreg.ViewUser }, true, func(p core.Program) bool { return p.Source == core.SourceUser }},
		{"absurd size bounded", func(e *uninstallreg.Entry) { e.EstimatedSizeKiB = 1 << 62 }, true, func(p core.Program) bool { return p.SizeBytes == 1<<53 }},
		{"system component", func(e *uninstallreg.Entry) { e.SystemComponent = true }, false, nil},
		{"update", func(e *uninstallreg.Entry) { e.ParentKeyName = "Office16.PROPLUS" }, false, nil},
		{"no name", func(e *uninstallreg.Entry) { e.DisplayName = "" }, false, nil},
	} {
		e := base
		c.edit(&e)
		p, ok := programFromEntry(e)
		if ok != c.ok || (ok && !c.want(p)) {
			t.Errorf("%s: got %+v, %v", c.name, p, ok)
		}
	}
}

// TestUnpairedSurrogate: a name that is no valid UTF-16 (a lone high
// surrogate, as a broken installer writes it) becomes U+FFFD on the way
// (Go's UTF-16 decoding, which the registry package uses too) and the
// inventory stays valid JSON with a stable digest.
func TestUnpairedSurrogate(t *testing.T) {
	head := "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Broken]\r\n\"DisplayName\"=\"Tool "
	units := append(utf16.Encode([]rune(head)), 0xD800)
	units = append(units, utf16.Encode([]rune("X\"\r\n\"DisplayVersion\"=\"1\"\r\n"))...)
	b := []byte{0xff, 0xfe}
	for _, u := range units {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	ps := programsOf(entriesOf(parseRegExport(t, b)))
	if len(ps) != 1 || ps[0].Name != "Tool \uFFFDX" || ps[0].Source != core.SourceUser {
		t.Fatalf("got %+v", ps)
	}
	inv := protocol.NormalizeInventory(core.Inventory{Software: ps})
	j, err := json.Marshal(inv)
	if err != nil || !utf8.Valid(j) {
		t.Fatalf("JSON: %v", err)
	}
	if protocol.InventoryDigest(inv) != protocol.InventoryDigest(protocol.NormalizeInventory(inv)) {
		t.Error("the digest changed on a second normalization")
	}
}

func TestCompactDate(t *testing.T) {
	for in, want := range map[string]string{"20141209": "2014-12-09", "20230229": "", "2014129": "", "": "", "2014-12-09": "", "abcdefgh": ""} {
		if got := compactDate(in); got != want {
			t.Errorf("compactDate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPackageFullNames(t *testing.T) {
	names := strings.Fields(string(windowsData(t, "appx-packagefullnames.txt")))
	if len(names) != 6 {
		t.Fatalf("%d names", len(names))
	}
	for _, n := range names {
		p, ok := parsePackageFullName(n)
		if !ok || p.PublisherID == "" || !strings.HasPrefix(n, p.Name+"_"+p.Version+"_"+p.Arch+"_") {
			t.Errorf("%s: %+v, %v", n, p, ok)
		}
		if _, ok := programFromPackage(n, ""); !ok {
			t.Errorf("%s: no program", n)
		}
	}
	p, _ := parsePackageFullName("Microsoft.Win32WebViewHost_10.0.18362.449_neutral_neutral_cw5n1h2txyewy")
	if p != (appxPackage{Name: "Microsoft.Win32WebViewHost", Version: "10.0.18362.449", Arch: "neutral", ResourceID: "neutral", PublisherID: "cw5n1h2txyewy"}) {
		t.Errorf("got %+v", p)
	}
	for _, bad := range []string{"", "Microsoft.WindowsStore", "a_b_c_d", "Name_1.x.0.0_x64__pub", "Name_1.0.0.0_x64__pub_extra", "_1.0_x64__pub"} {
		if _, ok := parsePackageFullName(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestProgramFromPackage(t *testing.T) {
	const calc = "Microsoft.WindowsCalculator_11.2210.0.0_x64__8wekyb3d8bbwe"
	p, ok := programFromPackage(calc, "ms-resource:AppStoreName")
	want := core.Program{Name: "Microsoft.WindowsCalculator", Version: "11.2210.0.0", Source: core.SourceMSIX, ID: calc}
	if !ok || p != want {
		t.Errorf("got %+v, want %+v", p, want)
	}
	if p, _ := programFromPackage(calc, "Windows Calculator"); p.Name != "Windows Calculator" {
		t.Errorf("display name not used: %+v", p)
	}
	if _, ok := programFromPackage("Microsoft.WindowsStore_12107.1001.15.0_neutral_split.scale-100_8wekyb3d8bbwe", ""); ok {
		t.Error("a bundle's resource package listed as a program")
	}
}

func TestParseDsreg(t *testing.T) {
	d, ok := parseDsreg(string(windowsData(t, "dsregcmd-entra.txt")))
	if !ok || !d.AzureAdJoined || d.DomainJoined || d.TenantName != "Default Directory" {
		t.Fatalf("entra: %+v, %v", d, ok)
	}
	if k, n := joinType(false, "WORKGROUP", "WORKGROUP", d); k != "entra" || n != "Default Directory" {
		t.Errorf("entra join = %q %q", k, n)
	}
	d, ok = parseDsreg(string(windowsData(t, "dsregcmd-hybrid.txt")))
	if !ok || !d.AzureAdJoined || !d.DomainJoined || d.DomainName != "HYBRIDADFS" {
		t.Fatalf("hybrid: %+v, %v", d, ok)
	}
	if k, n := joinType(true, "hybridadfs.contoso.com", "", d); k != "hybrid" || n != "hybridadfs.contoso.com" {
		t.Errorf("hybrid join = %q %q", k, n)
	}
	if _, ok := parseDsreg("The system cannot find the file specified.\r\n"); ok {
		t.Error("an error message parsed as a status")
	}
	none := dsregState{}
	if k, n := joinType(true, "corp.example", "", none); k != "domain" || n != "corp.example" {
		t.Errorf("domain = %q %q", k, n)
	}
	if k, n := joinType(false, "WORKGROUP", "WORKGROUP", none); k != "workgroup" || n != "WORKGROUP" {
		t.Errorf("workgroup = %q %q", k, n)
	}
}

// formatList reads PowerShell's Format-List output: "Name : Value" lines,
// instances separated by blank lines.
func formatList(b []byte) []map[string]string {
	var out []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r ")
		name, value, ok := strings.Cut(line, " : ")
		if !ok {
			name, ok = strings.CutSuffix(line, " :")
		}
		if !ok || strings.HasPrefix(line, "PS ") {
			if len(cur) > 0 && strings.TrimSpace(line) == "" {
				out, cur = append(out, cur), map[string]string{}
			}
			continue
		}
		cur[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func atoi(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

func TestMemoryModulesReal(t *testing.T) {
	var ms []win32PhysicalMemory
	for _, r := range formatList(windowsData(t, "win32_physicalmemory-hp-omen.txt")) {
		ms = append(ms, win32PhysicalMemory{DeviceLocator: r["DeviceLocator"], Manufacturer: r["Manufacturer"], SerialNumber: r["SerialNumber"],
			Capacity: atoi(t, r["Capacity"]), Speed: uint32(atoi(t, r["Speed"])), ConfiguredClockSpeed: uint32(atoi(t, r["ConfiguredClockSpeed"])),
			SMBIOSMemoryType: uint32(atoi(t, r["SMBIOSMemoryType"]))})
	}
	got := memoryModules(ms)
	want := []core.MemoryModule{
		{Slot: "Bottom - Slot 1 (left)", SizeBytes: 8 << 30, SpeedMTs: 2933, Type: "DDR4", Manufacturer: "Samsung", Serial: "15B6AB35"},
		{Slot: "Bottom - Slot 2 (right)", SizeBytes: 8 << 30, SpeedMTs: 2933, Type: "DDR4", Manufacturer: "Samsung", Serial: "15B696BE"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// Windows 7 has no ConfiguredClockSpeed: the rated speed stands in.
	if m := memoryModules([]win32PhysicalMemory{{Speed: 1600, SMBIOSMemoryType: 0x18}}); m[0].SpeedMTs != 1600 || m[0].Type != "DDR3" {
		t.Errorf("without a configured speed: %+v", m)
	}
}

func TestTPMVersionReal(t *testing.T) {
	rows := formatList(windowsData(t, "win32_tpm-osd.txt"))
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	if v := tpmVersion(rows[0]["SpecVersion"]); v != "2.0" {
		t.Errorf("SpecVersion %q → %q", rows[0]["SpecVersion"], v)
	}
	if v := tpmVersion("1.2, 2, 3"); v != "1.2" {
		t.Errorf("TPM 1.2 → %q", v)
	}
}

func TestLocalUsersReal(t *testing.T) {
	var accounts []win32Account
	for _, r := range formatList(windowsData(t, "win32_useraccount-fr.txt")) {
		accounts = append(accounts, win32Account{Name: r["Name"], SID: r["SID"], Disabled: r["Disabled"] == "True"})
	}
	if len(accounts) != 5 {
		t.Fatalf("%d accounts", len(accounts))
	}
	// The administrators group (S-1-5-32-544) of that machine holds the
	// built-in Administrateur (…-500) and the user Max (…-1001).
	admins := []win32Account{{Name: "Administrateur", SID: "S-1-5-21-1981045671-1720016489-871860308-500"},
		{Name: "Max", SID: "S-1-5-21-1981045671-1720016489-871860308-1001"}, {Name: "Domain Admins", SID: "S-1-5-21-1-2-3-512"}}
	got := localUsers(accounts, admins)
	var names []string
	for _, u := range got {
		names = append(names, u.Name+map[bool]string{true: "*", false: ""}[u.Admin])
	}
	if strings.Join(names, " ") != "Administrateur* DefaultAccount Invité Max* WDAGUtilityAccount" {
		t.Errorf("got %v", names)
	}
}

func TestOSInfo(t *testing.T) {
	var s core.SystemInfo
	boot := time.Date(2020, 10, 8, 9, 5, 5, 0, time.FixedZone("CEST", 2*3600))
	osInfo(&s, win32OperatingSystem{Caption: "Microsoft Windows 10 Famille", Version: "10.0.18363", BuildNumber: "18363",
		InstallDate: time.Date(2020, 9, 11, 7, 58, 42, 0, time.FixedZone("CEST", 2*3600)), LastBootUpTime: boot}, "", "Core", 1139)
	want := core.SystemInfo{OSName: "Windows 10 Famille", Edition: "Core", Version: "10.0.18363", Build: "18363.1139",
		InstallDate: "2020-09-11", LastBoot: time.Date(2020, 10, 8, 7, 5, 0, 0, time.UTC)}
	if s.OSName != want.OSName || s.Edition != want.Edition || s.Version != want.Version || s.Build != want.Build ||
		s.InstallDate != want.InstallDate || !s.LastBoot.Equal(want.LastBoot) {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	osInfo(&s, win32OperatingSystem{Caption: "Microsoft Windows 11 Pro", Version: "10.0.22631", BuildNumber: "22631"}, "23H2", "Professional", 3880)
	if s.Version != "23H2" || s.Build != "22631.3880" || s.OSName != "Windows 11 Pro" {
		t.Errorf("23H2: %+v", s)
	}
}

func TestQFEDate(t *testing.T) {
	for in, want := range map[string]string{
		"11/21/2020": "2020-11-21", "7/9/2019": "2019-07-09", // wmic qfe (Get-WmicHotfix example)
		// A FILETIME in hex, as older systems store it: 2011-08-10 (the
		// value is 129574080000000000 ticks of 100 ns since 1601).
		"01cc56f0727f8000": "2011-08-10",
		"20240109":         "2024-01-09",
		"":                 "", "13/45/2020": "", "0000000000000000": "", "garbage!": "",
	} {
		if got := qfeDate(in); got != want {
			t.Errorf("qfeDate(%q) = %q, want %q", in, got, want)
		}
	}
	hs := hotfixes([]win32QuickFixEngineering{{HotFixID: "KB4586878", Description: "Update", InstalledOn: "11/21/2020"},
		{HotFixID: "File 1"}, {HotFixID: " KB4503308 ", Description: "Security Update", InstalledOn: "7/9/2019"}})
	if len(hs) != 2 || hs[0] != (core.Hotfix{ID: "KB4586878", Description: "Update", InstalledOn: "2020-11-21"}) || hs[1].ID != "KB4503308" {
		t.Errorf("hotfixes: %+v", hs)
	}
}

func TestPhysicalDisks(t *testing.T) {
	got := physicalDisks([]msftPhysicalDisk{
		{DeviceId: "0", FriendlyName: "KXG60ZNV512G KIOXIA", SerialNumber: "0000_0000_0000_0001_8CE3_8E05_0024_69A0.", Size: 512110190592, MediaType: 4, BusType: 17},
		{DeviceId: "1", FriendlyName: "ST2000DM008-2FR102", SerialNumber: "ZFL1ABCD", Size: 2000398934016, MediaType: 3, BusType: 11},
		{DeviceId: "2", FriendlyName: "SanDisk Ultra", Size: 32010928128, MediaType: 0, BusType: 7},
	})
	if got[0].Name != `\\.\PHYSICALDRIVE0` || got[0].Kind != core.DiskNVMe || got[0].Bus != "nvme" || got[0].Serial == "" {
		t.Errorf("nvme: %+v", got[0])
	}
	if got[1].Kind != core.DiskHDD || got[1].Bus != "sata" || got[2].Kind != "" || got[2].Bus != "usb" {
		t.Errorf("hdd/usb: %+v %+v", got[1], got[2])
	}
	dd := diskDrives([]win32DiskDrive{{DeviceID: `\\.\PHYSICALDRIVE0`, Model: "QEMU HARDDISK", SerialNumber: "  ", InterfaceType: "IDE", Size: 1}})
	if dd[0].Bus != "ide" || dd[0].Serial != "" || dd[0].Kind != "" {
		t.Errorf("disk drive: %+v", dd)
	}
}

func TestApplyBitLocker(t *testing.T) {
	vols := []core.Volume{{Mount: "C:"}, {Mount: "D:"}, {Mount: "E:"}, {Mount: "F:"}}
	applyBitLocker(vols, []win32EncryptableVolume{{DriveLetter: "C:", ConversionStatus: 1, ProtectionStatus: 1},
		{DriveLetter: "d:", ConversionStatus: 0}, {DriveLetter: "E:", ConversionStatus: 2}})
	got := []string{}
	for _, v := range vols {
		got = append(got, v.Encryption+"/"+v.EncryptionState)
	}
	if strings.Join(got, " ") != "bitlocker/on /off bitlocker/partial /" {
		t.Errorf("got %v", got)
	}
}

func TestNICs(t *testing.T) {
	got := nics([]win32NetworkAdapterConfiguration{{Index: 1, Description: "Intel(R) Ethernet Connection (7) I219-V", MACAddress: "00:1A:2B:3C:4D:5E",
		IPAddress: []string{"192.168.1.23", "fe80::1c2b:3a4d:5e6f:7a8b", "2001:db8::23"}, IPSubnet: []string{"255.255.255.0", "64", "64"},
		DefaultIPGateway: []string{"192.168.1.1"}, DNSServerSearchOrder: []string{"192.168.1.1", "9.9.9.9"}}},
		[]win32NetworkAdapter{{Index: 1, NetConnectionID: "Ethernet", Speed: 1_000_000_000, NetConnectionStatus: 2}})
	want := core.NIC{Name: "Ethernet", MAC: "00:1a:2b:3c:4d:5e", Addresses: []string{"192.168.1.23/24", "2001:db8::23/64"}, SpeedMbps: 1000,
		Gateways: []string{"192.168.1.1"}, DNS: []string{"192.168.1.1", "9.9.9.9"}, Up: true}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal([]core.NIC{want})
	if string(gj) != string(wj) {
		t.Errorf("got %s\nwant %s", gj, wj)
	}
	if prefixLen("255.0.255.0") != -1 && prefixLen("x") != -1 {
		t.Error("a bad mask gave a prefix")
	}
}

func TestMonitorsAndGPUs(t *testing.T) {
	chars := func(s string, n int) []int32 {
		out := make([]int32, n)
		for i, r := range s {
			out[i] = r
		}
		return out
	}
	m := monitors([]wmiMonitorID{{ManufacturerName: chars("DEL", 16), UserFriendlyName: chars("DELL U2719D", 13), SerialNumberID: chars("0", 16)}})
	if m[0] != (core.Monitor{Manufacturer: "DEL", Model: "DELL U2719D"}) {
		t.Errorf("monitor: %+v", m)
	}
	g := gpus([]win32VideoController{{Name: "NVIDIA GeForce RTX 2060", AdapterCompatibility: "NVIDIA", DriverVersion: "27.21.14.5671", AdapterRAM: 4293918720}})
	if g[0].Name != "NVIDIA GeForce RTX 2060" || g[0].Driver != "27.21.14.5671" || g[0].MemoryBytes != 4293918720 {
		t.Errorf("gpu: %+v", g)
	}
}

func TestBatteries(t *testing.T) {
	b := batteries([]batteryStaticData{{InstanceName: `ACPI\PNP0C0A\1_0`, DeviceName: "5B10W13930", ManufactureName: "SMP", DesignedCapacity: 57000}},
		[]batteryFullChargedCapacity{{InstanceName: `ACPI\PNP0C0A\1_0`, FullChargedCapacity: 45600}}, nil)
	if len(b) != 1 || b[0].HealthPercent != 80 || b[0].CycleCount != 0 || b[0].Name != "5B10W13930" {
		t.Errorf("got %+v", b)
	}
}

func TestActivation(t *testing.T) {
	for _, c := range []struct {
		ps   []softwareLicensingProduct
		want string
	}{{nil, "unlicensed"}, {[]softwareLicensingProduct{{1}}, "licensed"}, {[]softwareLicensingProduct{{5}}, "notification"},
		{[]softwareLicensingProduct{{2}, {1}}, "licensed"}, {[]softwareLicensingProduct{{6}}, "grace"}, {[]softwareLicensingProduct{{9}}, "unlicensed"}} {
		if got := activation(c.ps); got != c.want {
			t.Errorf("%v → %q, want %q", c.ps, got, c.want)
		}
	}
}

func TestIdentity(t *testing.T) {
	var h core.Hardware
	identity(&h, win32ComputerSystem{Manufacturer: "HP", Model: "OMEN Laptop 15-ek0xxx"},
		win32BIOS{Manufacturer: "AMI", SMBIOSBIOSVersion: "F.05", SerialNumber: "To be filled by O.E.M.", ReleaseDate: time.Date(2020, 7, 27, 0, 0, 0, 0, time.UTC)})
	if h.Model != "OMEN Laptop 15-ek0xxx" || h.Serial != "" || h.Firmware != (core.Firmware{Vendor: "AMI", Version: "F.05", Date: "2020-07-27"}) {
		t.Errorf("got %+v", h)
	}
	if c := cpuInfo([]win32Processor{{Name: "Intel(R) Core(TM) i7-10750H CPU @ 2.60GHz  ", NumberOfCores: 6, NumberOfLogicalProcessors: 12}}); c != (core.CPUInfo{
		Model: "Intel(R) Core(TM) i7-10750H CPU @ 2.60GHz", Sockets: 1, Cores: 6, Threads: 12}) {
		t.Errorf("cpu: %+v", c)
	}
}
