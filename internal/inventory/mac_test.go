package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// fakeMac answers the collector's calls with captured outputs.
type fakeMac struct {
	out     map[string]string // "tool args…" → standard output
	fail    map[string]error  // "tool args…" → error
	console string
	progs   []core.Program
	progErr error
}

func (f *fakeMac) run(_ context.Context, name string, args ...string) ([]byte, error) {
	if !slices.Contains(macTools, name) {
		return nil, errors.New("not a registered tool: " + name)
	}
	call := strings.Join(append([]string{name}, args...), " ")
	if err := f.fail[call]; err != nil {
		return nil, err
	}
	out, ok := f.out[call]
	if !ok {
		return nil, errors.New("unexpected call: " + call)
	}
	return []byte(out), nil
}

func (f *fakeMac) consoleUser() (string, error)                     { return f.console, nil }
func (f *fakeMac) setupDate() string                                { return "2022-03-14" }
func (f *fakeMac) software(context.Context) ([]core.Program, error) { return f.progs, f.progErr }

const spCall = systemProfiler + " -json -detailLevel full SPHardwareDataType SPMemoryDataType SPStorageDataType SPNVMeDataType SPSerialATADataType SPDisplaysDataType SPPowerDataType SPSoftwareDataType"

// spJoined is one report made of several captures (of different Macs: the
// orchestration, not the machine, is under test), as one call prints it.
func spJoined(t *testing.T, files ...string) string {
	t.Helper()
	all := map[string]json.RawMessage{"SPMemoryDataType": json.RawMessage("[]"), "SPSerialATADataType": json.RawMessage("[]")}
	for _, f := range files {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(darwinFixture(t, f), &m); err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			all[k] = v
		}
	}
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newFakeMac(t *testing.T) *fakeMac {
	return &fakeMac{
		out: map[string]string{
			spCall: spJoined(t, "sp_hw_sw_intel_mbp16.json", "sp_storage_1tb_usb.json", "runner26_nvme.json",
				"sp_displays_m1pro.json", "sp_power_excerpt_83pct.json"),
			ioregBin + " -r -c AppleSmartBattery -a":           string(darwinFixture(t, "ioreg_battery_intel_excerpt.plist")),
			fdesetupBin + " status":                            "FileVault is On.\n",
			dsconfigadBin + " -show":                           "",
			dsclBin + " . -list /Users UniqueID":               "_amavisd                 83\nalice                    501\nroot                     0\nbob                      502\n",
			dsclBin + " . -read /Groups/admin GroupMembership": "GroupMembership: root alice\n",
		},
		fail:    map[string]error{},
		console: "alice",
		progs:   []core.Program{{Name: "Airpods Connection To Mac", Version: "1.0", Source: core.SourceApp, ID: "airpods.ben-ami.amit"}},
	}
}

func collectFake(mac macOS) core.Inventory {
	c := &collector{}
	collectMac(context.Background(), c, mac)
	return c.inv
}

func gapParts(inv core.Inventory) []string {
	var parts []string
	for _, g := range inv.Missing {
		parts = append(parts, g.Part)
	}
	slices.Sort(parts)
	return slices.Compact(parts)
}

func TestCollectMac(t *testing.T) {
	inv := collectFake(newFakeMac(t))
	if got := gapParts(inv); !reflect.DeepEqual(got, []string{core.PartSecurity}) {
		t.Errorf("gaps = %+v", inv.Missing)
	}
	hw := inv.Hardware
	if hw.Model != "MacBook Pro (MacBookPro16,1)" || hw.Serial != "C02FD3J4MD6T" || hw.CPU.Threads != 16 || hw.Memory.TotalBytes != 32*spGiB {
		t.Errorf("hardware = %+v", hw)
	}
	if hw.TPM.Present || hw.SecureBoot != "" {
		t.Errorf("TPM %+v, secure boot %q", hw.TPM, hw.SecureBoot)
	}
	var encrypted []string
	for _, v := range hw.Volumes {
		if v.Encryption == "filevault" && v.EncryptionState == "on" {
			encrypted = append(encrypted, v.Mount)
		}
	}
	if !reflect.DeepEqual(encrypted, []string{"/System/Volumes/Data", "/"}) {
		t.Errorf("FileVault volumes = %q in %+v", encrypted, hw.Volumes)
	}
	// ioreg's capacities (3424 of 5088 mAh) with system_profiler's
	// condition and cycle count.
	if !reflect.DeepEqual(hw.Batteries, []core.Battery{{HealthPercent: 67, CycleCount: 88, ConditionNotes: "Good"}}) {
		t.Errorf("batteries = %+v", hw.Batteries)
	}
	// No NVMe item: the disk comes from the volumes' physical drive.
	if len(hw.GPUs) != 1 || len(hw.Monitors) != 3 ||
		!reflect.DeepEqual(hw.Disks, []core.Disk{{Name: "APPLE SSD AP1024Z", Model: "APPLE SSD AP1024Z", Kind: core.DiskSSD, Bus: "apple fabric"}}) {
		t.Errorf("gpus %+v monitors %+v disks %+v", hw.GPUs, hw.Monitors, hw.Disks)
	}
	s := inv.System
	if s.OSName != "macOS 12.3" || s.Build != "21E230" || s.InstallDate != "2022-03-14" || s.JoinType != "" || s.Activation != "" {
		t.Errorf("system = %+v", s)
	}
	if !reflect.DeepEqual(s.Users, []core.LocalUser{{Name: "alice", Admin: true}, {Name: "bob"}}) || !reflect.DeepEqual(s.LoggedOn, []string{"alice"}) {
		t.Errorf("users %+v, logged on %q", s.Users, s.LoggedOn)
	}
	if len(inv.Software) != 1 || len(inv.Hotfixes) != 0 {
		t.Errorf("software %+v, hotfixes %+v", inv.Software, inv.Hotfixes)
	}
}

func TestCollectMacFailures(t *testing.T) {
	mac := newFakeMac(t)
	mac.fail[spCall] = errors.New("system_profiler: signal: killed")
	mac.fail[fdesetupBin+" status"] = errors.New("fdesetup status: exit status 1")
	mac.fail[dsclBin+" . -list /Users UniqueID"] = errors.New("dscl: exit status 1")
	mac.out[dsconfigadBin+" -show"] = "Active Directory Forest          = corp.example.com\nActive Directory Domain          = corp.example.com\n"
	mac.console = ""
	mac.progErr = errors.New("listing /Applications: permission denied")
	inv := collectFake(mac)
	// CPU and volumes fall back to sysctl and the mount table; the battery
	// stands on ioreg alone.
	want := []string{core.PartDisks, core.PartGPUs, core.PartIdentity, core.PartMemory, core.PartMonitors,
		core.PartSecurity, core.PartSoftware, core.PartOS, core.PartUsers}
	slices.Sort(want)
	if got := gapParts(inv); !reflect.DeepEqual(got, want) {
		t.Errorf("gaps = %q, want %q", got, want)
	}
	for _, g := range inv.Missing {
		if g.Part == core.PartSecurity && (!strings.Contains(g.Error, "fdesetup status") || !strings.Contains(g.Error, "bputil")) {
			t.Errorf("security gap = %q", g.Error)
		}
		if g.Part == core.PartIdentity && !strings.Contains(g.Error, "killed") {
			t.Errorf("identity gap = %q", g.Error)
		}
	}
	if inv.System.JoinType != "domain" || inv.System.Domain != "corp.example.com" {
		t.Errorf("domain = %q %q", inv.System.JoinType, inv.System.Domain)
	}
	if !reflect.DeepEqual(inv.Hardware.Batteries, []core.Battery{{HealthPercent: 67}}) {
		t.Errorf("batteries = %+v", inv.Hardware.Batteries)
	}

	// Neither ioreg nor system_profiler: the battery is a gap, not "none".
	mac = newFakeMac(t)
	mac.fail[spCall] = errors.New("system_profiler: exit status 1")
	mac.fail[ioregBin+" -r -c AppleSmartBattery -a"] = errors.New("ioreg: exit status 1")
	if got := gapParts(collectFake(mac)); !slices.Contains(got, core.PartBattery) {
		t.Errorf("gaps = %q, want the battery among them", got)
	}
	// A desktop: ioreg finds no AppleSmartBattery, system_profiler none.
	mac = newFakeMac(t)
	mac.out[ioregBin+" -r -c AppleSmartBattery -a"] = ""
	mac.out[spCall] = spJoined(t, "runner26_hardware.json", "runner26_storage.json", "runner26_nvme.json", "runner26_power.json",
		"runner15intel_displays.json", "sp_hw_sw_intel_mbp16.json")
	inv = collectFake(mac)
	if inv.Hardware.Batteries == nil || len(inv.Hardware.Batteries) != 0 || slices.Contains(gapParts(inv), core.PartBattery) {
		t.Errorf("desktop batteries = %#v, gaps %q", inv.Hardware.Batteries, gapParts(inv))
	}
}
