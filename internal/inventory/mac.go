package inventory

import (
	"bytes"
	"context"
	"errors"

	"github.com/wacht-rmm/wacht/internal/core"
)

// The macOS tools the collector starts; each runs as root (the agent) with
// an argument array.
const (
	systemProfiler = "/usr/sbin/system_profiler"
	ioregBin       = "/usr/sbin/ioreg"
	fdesetupBin    = "/usr/bin/fdesetup"
	dsconfigadBin  = "/usr/sbin/dsconfigad"
	dsclBin        = "/usr/bin/dscl"
)

// macTools are the programs above, for the allowlist.
var macTools = []string{systemProfiler, ioregBin, fdesetupBin, dsconfigadBin, dsclBin}

// macOS is what the macOS collector asks of the machine; collect_darwin.go
// implements it, tests fake it with captured outputs.
type macOS interface {
	// run starts one of macTools and returns its standard output.
	run(ctx context.Context, name string, args ...string) ([]byte, error)
	// consoleUser is the user at the screen, "" at the login window.
	consoleUser() (string, error)
	// setupDate is when Setup Assistant finished (YYYY-MM-DD), or "".
	setupDate() string
	// software lists app bundles and pkg receipts.
	software(ctx context.Context) ([]core.Program, error)
}

// errSecureBoot is the security part's standing gap on a Mac.
var errSecureBoot = errors.New("secure boot: the boot security policy can be read only in recoveryOS (bputil); not known")

// collectMac reads macOS's inventory. One system_profiler call describes
// most hardware; ioreg adds the battery's capacities, fdesetup FileVault,
// dscl and dsconfigad the accounts and the directory. Software is read
// from the app bundles' Info.plist and the pkg receipts directly, XML or
// binary, without a process per bundle. macOS has no activation and no
// hotfixes: those stay empty, without a gap.
func collectMac(ctx context.Context, c *collector, mac macOS) {
	spCtx, cancel := context.WithTimeout(ctx, partTimeout)
	sp, spErr := readSystemProfiler(spCtx, mac)
	cancel()
	fromSP := func(read func(spReport) error) func(context.Context) error {
		return func(context.Context) error {
			if spErr != nil {
				return spErr
			}
			return read(sp)
		}
	}
	hw := &c.inv.Hardware
	c.part(ctx, core.PartIdentity, fromSP(func(r spReport) error { return spReadIdentity(r, hw) }))
	c.part(ctx, core.PartCPU, func(ctx context.Context) error {
		if spErr == nil {
			if ci, ok, err := spReadCPU(sp); err == nil && ok {
				hw.CPU = ci
				return nil
			}
		}
		return c.readCPU(ctx) // sysctl, where system_profiler says "Unknown"
	})
	c.part(ctx, core.PartMemory, fromSP(func(r spReport) (err error) {
		hw.Memory, err = spReadMemory(r)
		return err
	}))
	c.part(ctx, core.PartNetwork, c.readNICs)
	c.part(ctx, core.PartDisks, fromSP(func(r spReport) (err error) {
		hw.Disks, err = spReadDisks(r)
		return err
	}))
	c.part(ctx, core.PartVolumes, func(ctx context.Context) error {
		if spErr == nil {
			if vols, err := spReadVolumes(sp); err == nil {
				hw.Volumes = vols
				return nil
			}
		}
		return c.readVolumes(ctx) // mounts without labels
	})
	var displayErr error
	if spErr == nil {
		hw.GPUs, hw.Monitors, displayErr = spReadDisplays(sp)
	}
	c.part(ctx, core.PartGPUs, fromSP(func(spReport) error { return displayErr }))
	c.part(ctx, core.PartMonitors, fromSP(func(spReport) error { return displayErr }))
	c.part(ctx, core.PartBattery, func(ctx context.Context) error { return c.readMacBattery(ctx, mac, sp, spErr) })
	c.part(ctx, core.PartSecurity, func(ctx context.Context) error { return c.readFileVault(ctx, mac) })
	c.part(ctx, core.PartOS, func(ctx context.Context) error {
		c.inv.System.InstallDate = mac.setupDate()
		osErr := fromSP(func(r spReport) error { return spReadOS(r, &c.inv.System) })(ctx)
		return errors.Join(osErr, c.readHost(ctx))
	})
	c.part(ctx, core.PartDomain, func(ctx context.Context) error { return c.readADDomain(ctx, mac) })
	c.part(ctx, core.PartUsers, func(ctx context.Context) error { return c.readMacUsers(ctx, mac) })
	c.part(ctx, core.PartSoftware, func(ctx context.Context) (err error) {
		progs, err := mac.software(ctx)
		if err == nil {
			c.inv.Software = progs
		}
		return err
	})
}

// readSystemProfiler asks system_profiler for every data type the
// inventory uses, in one call. The detail level is full: "mini" leaves out
// whatever identifies the machine, which is the serial numbers the
// inventory is for; none of these data types is slow at full detail (the
// slow one, SPApplicationsDataType, is not asked for).
func readSystemProfiler(ctx context.Context, mac macOS) (spReport, error) {
	out, err := mac.run(ctx, systemProfiler, append([]string{"-json", "-detailLevel", "full"}, spDataTypes...)...)
	if err != nil {
		return nil, err
	}
	return parseSystemProfiler(out)
}

// readMacBattery reads the battery's capacities from ioreg and its
// condition from system_profiler; either alone is enough.
func (c *collector) readMacBattery(ctx context.Context, mac macOS, sp spReport, spErr error) error {
	var spBat []core.Battery
	if spErr == nil {
		spBat, spErr = spReadBattery(sp)
	}
	out, ioErr := mac.run(ctx, ioregBin, "-r", "-c", "AppleSmartBattery", "-a")
	var ioBat []core.Battery
	if ioErr == nil {
		if len(bytes.TrimSpace(out)) == 0 {
			ioBat = []core.Battery{} // no AppleSmartBattery: a desktop Mac
		} else {
			ioBat, ioErr = parseIORegBatteries(out)
		}
	}
	if ioErr != nil && spErr != nil {
		return errors.Join(ioErr, spErr)
	}
	c.inv.Hardware.Batteries = mergeBattery(ioBat, spBat)
	if c.inv.Hardware.Batteries == nil {
		c.inv.Hardware.Batteries = []core.Battery{}
	}
	return nil
}

// readFileVault fills FileVault on the boot volume. A Mac has no TPM (the
// Secure Enclave is not one), so TPM.Present stays false; the secure boot
// policy is readable only in recoveryOS (bputil) or through privileged
// NVRAM, so it stays unknown and the part says so.
func (c *collector) readFileVault(ctx context.Context, mac macOS) error {
	out, err := mac.run(ctx, fdesetupBin, "status")
	if err != nil {
		return errors.Join(err, errSecureBoot)
	}
	state, err := parseFileVault(string(out))
	if err != nil {
		return errors.Join(err, errSecureBoot)
	}
	// FileVault encrypts the boot volume group: the sealed system volume
	// and its data volume.
	for i := range c.inv.Hardware.Volumes {
		v := &c.inv.Hardware.Volumes[i]
		if v.Mount == "/" || v.Mount == "/System/Volumes/Data" {
			v.Encryption, v.EncryptionState = "filevault", state
		}
	}
	return errSecureBoot
}

// readADDomain reads the Active Directory binding; an unbound Mac prints
// nothing and has no directory.
func (c *collector) readADDomain(ctx context.Context, mac macOS) error {
	out, err := mac.run(ctx, dsconfigadBin, "-show")
	if err != nil {
		return err
	}
	if d := parseADDomain(string(out)); d != "" {
		c.inv.System.JoinType, c.inv.System.Domain = "domain", d
	}
	return nil
}

// readMacUsers lists the local people's accounts, the admin group's
// members and the user at the console.
func (c *collector) readMacUsers(ctx context.Context, mac macOS) error {
	out, err := mac.run(ctx, dsclBin, ".", "-list", "/Users", "UniqueID")
	if err != nil {
		return err
	}
	names, err := parseDsclUsers(string(out))
	if err != nil {
		return err
	}
	// A group without members makes dscl fail ("No such key").
	members, _ := mac.run(ctx, dsclBin, ".", "-read", "/Groups/admin", "GroupMembership")
	c.inv.System.Users = dsclLocalUsers(names, parseDsclMembers(string(members)))
	who, err := mac.consoleUser()
	if err != nil {
		return err
	}
	c.inv.System.LoggedOn = []string{}
	if who != "" {
		c.inv.System.LoggedOn = []string{who}
	}
	return nil
}
