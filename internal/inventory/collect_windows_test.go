package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/uninstallreg"
)

// These tests run on Windows and in the Wine lane (test/e2e): the real
// registry and WMI, no fakes.

// testKey is one uninstall key the test writes.
type testKey struct {
	root   registry.Key
	access uint32
	name   string
	values map[string]any // string, uint32, or []uint16 (raw UTF-16 without NUL)
}

var regSetValueExW = windows.NewLazySystemDLL("advapi32.dll").NewProc("RegSetValueExW")

// setRawString writes a REG_SZ of exact UTF-16 code units, which Go's
// string-based API cannot (an unpaired surrogate is no Go string).
func setRawString(k registry.Key, name string, units []uint16) error {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	data := append(append([]uint16{}, units...), 0)
	r, _, _ := regSetValueExW.Call(uintptr(k), uintptr(unsafe.Pointer(p)), 0, uintptr(registry.SZ),
		uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)*2))
	if r != 0 {
		return windows.Errno(r)
	}
	return nil
}

func (tk testKey) write(t *testing.T) {
	t.Helper()
	k, _, err := registry.CreateKey(tk.root, uninstallreg.Key+`\`+tk.name, registry.ALL_ACCESS|tk.access)
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		t.Skip("writing the machine's uninstall key needs an administrator")
	}
	if err != nil {
		t.Fatalf("creating %s: %v", tk.name, err)
	}
	defer k.Close()
	t.Cleanup(func() {
		parent, err := registry.OpenKey(tk.root, uninstallreg.Key, registry.ALL_ACCESS|tk.access)
		if err == nil {
			err = registry.DeleteKey(parent, tk.name)
			parent.Close()
		}
		if err != nil {
			t.Errorf("deleting %s: %v", tk.name, err)
		}
	})
	for name, v := range tk.values {
		switch v := v.(type) {
		case string:
			err = k.SetStringValue(name, v)
		case uint32:
			err = k.SetDWordValue(name, v)
		case []uint16:
			err = setRawString(k, name, v)
		}
		if err != nil {
			t.Fatalf("%s\\%s: %v", tk.name, name, err)
		}
	}
}

// TestUninstallRegistryReal writes uninstall keys in the 64-bit and the
// 32-bit view of HKLM and in HKCU — a normal one, a garbage version, a
// name with an unpaired UTF-16 surrogate, a system component — and reads
// them back through the collector's software part.
func TestUninstallRegistryReal(t *testing.T) {
	broken := append(utf16.Encode([]rune("Wacht Broken ")), 0xD800, 'X')
	for _, k := range []testKey{
		{registry.LOCAL_MACHINE, registry.WOW64_64KEY, "WachtTestNormal", map[string]any{"DisplayName": "Wacht Normal", "DisplayVersion": "1.2.3",
			"Publisher": "Wacht Test", "InstallDate": "20240131", "EstimatedSize": uint32(2048)}},
		{registry.LOCAL_MACHINE, registry.WOW64_32KEY, "WachtTestGarbage", map[string]any{"DisplayName": "Wacht Garbage",
			"DisplayVersion": "v.?? (build x)", "InstallDate": "31.01.2024"}},
		{registry.CURRENT_USER, 0, "WachtTestSurrogate", map[string]any{"DisplayName": broken, "DisplayVersion": "9"}},
		{registry.LOCAL_MACHINE, registry.WOW64_64KEY, "WachtTestHidden", map[string]any{"DisplayName": "Wacht Hidden", "SystemComponent": uint32(1)}},
	} {
		k.write(t)
	}
	progs, err := Programs(context.Background())
	if err != nil {
		t.Logf("software part reported: %v", err) // Store packages may be missing; the registry must not be
	}
	got := map[string]core.Program{}
	for _, p := range progs {
		if strings.HasPrefix(p.ID, "WachtTest") {
			got[p.ID] = p
		}
	}
	want := map[string]core.Program{
		"WachtTestNormal": {Name: "Wacht Normal", Version: "1.2.3", Publisher: "Wacht Test", InstallDate: "2024-01-31", SizeBytes: 2 << 20,
			Source: core.SourceRegistry64, ID: "WachtTestNormal"},
		"WachtTestGarbage":   {Name: "Wacht Garbage", Version: "v.?? (build x)", Source: core.SourceRegistry32, ID: "WachtTestGarbage"},
		"WachtTestSurrogate": {Name: "Wacht Broken \uFFFDX", Version: "9", Source: core.SourceUser, ID: "WachtTestSurrogate"},
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: got %+v\nwant %+v", id, got[id], w)
		}
	}
	if p, ok := got["WachtTestHidden"]; ok {
		t.Errorf("a system component listed: %+v", p)
	}
	t.Logf("%d programs read, the test's: %+v", len(progs), got)
}

// TestCollectWindowsReal runs the whole collection: every list has
// content or its part a gap (batteries excepted: a machine without one
// has none), and the OS is named. One program is written to HKCU first,
// so that a fresh Wine prefix has software to find.
func TestCollectWindowsReal(t *testing.T) {
	testKey{registry.CURRENT_USER, 0, "WachtTestCollect", map[string]any{"DisplayName": "Wacht Collect", "DisplayVersion": "1"}}.write(t)
	inv := Collect(context.Background())
	gaps := map[string]string{}
	for _, g := range inv.Missing {
		gaps[g.Part] = g.Error
		t.Logf("gap %s: %s", g.Part, g.Error)
	}
	if inv.System.OSName == "" && gaps[core.PartOS] == "" {
		t.Error("no OS name and no gap for it")
	}
	h, s := inv.Hardware, inv.System
	for part, n := range map[string]int{
		core.PartMemory: len(h.Memory.Modules), core.PartDisks: len(h.Disks), core.PartVolumes: len(h.Volumes), core.PartNetwork: len(h.NICs),
		core.PartGPUs: len(h.GPUs), core.PartMonitors: len(h.Monitors), core.PartUsers: len(s.Users), core.PartSoftware: len(inv.Software),
		core.PartHotfixes: len(inv.Hotfixes),
	} {
		if n == 0 && gaps[part] == "" {
			t.Errorf("%s: an empty list without a gap", part)
		}
	}
	for part, v := range map[string]string{core.PartIdentity: h.Manufacturer + h.Model, core.PartCPU: h.CPU.Model, core.PartDomain: s.JoinType,
		core.PartActivation: s.Activation} {
		if v == "" && gaps[part] == "" {
			t.Errorf("%s: empty without a gap", part)
		}
	}
	b, _ := json.MarshalIndent(struct {
		Hardware core.Hardware
		System   core.SystemInfo
		Programs int
		Hotfixes int
	}{h, s, len(inv.Software), len(inv.Hotfixes)}, "", "  ")
	t.Logf("inventory:\n%s", b)
}
