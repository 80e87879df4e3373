package inventory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
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

func init() { check.AllowBuiltin(systemProfiler, ioregBin, fdesetupBin, dsconfigadBin, dsclBin) }

// Where macOS keeps what the collector reads directly.
const (
	receiptsDir   = "/var/db/receipts"
	setupDoneFile = "/var/db/.AppleSetupDone" // written when Setup Assistant finishes
	consoleDevice = "/dev/console"            // owned by the user at the screen
)

// collectOS reads macOS's inventory. One system_profiler call describes
// most hardware; ioreg adds the battery's capacities, fdesetup FileVault,
// dscl and dsconfigad the accounts and the directory. Software is read
// from the app bundles' Info.plist and the pkg receipts directly, XML or
// binary, without a process per bundle. macOS has no activation and no
// hotfixes: those stay empty, without a gap.
func collectOS(ctx context.Context, c *collector) {
	spCtx, cancel := context.WithTimeout(ctx, partTimeout)
	sp, spErr := readSystemProfiler(spCtx)
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
			vols, err := spReadVolumes(sp)
			if err == nil {
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
	c.part(ctx, core.PartBattery, func(ctx context.Context) error { return c.readBattery(ctx, sp, spErr) })
	c.part(ctx, core.PartSecurity, c.readSecurity)
	c.part(ctx, core.PartOS, func(ctx context.Context) error {
		c.inv.System.InstallDate = fileDate(setupDoneFile)
		osErr := fromSP(func(r spReport) error { return spReadOS(r, &c.inv.System) })(ctx)
		return errors.Join(osErr, c.readHost(ctx))
	})
	c.part(ctx, core.PartDomain, c.readDomain)
	c.part(ctx, core.PartUsers, c.readUsers)
	c.part(ctx, core.PartSoftware, c.readSoftware)
}

// darwinRun starts an allowed tool and returns its standard output; a
// failure names the call and what the tool said.
func darwinRun(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd, err := check.Command(ctx, name, args...)
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		call := strings.Join(append([]string{filepath.Base(name)}, args...), " ")
		if msg := headLine(stderr.String()); msg != "" {
			return nil, fmt.Errorf("%s: %w: %s", call, err, msg)
		}
		return nil, fmt.Errorf("%s: %w", call, err)
	}
	return out, nil
}

// readSystemProfiler asks system_profiler for every data type the
// inventory uses, in one call. The detail level is full: "mini" leaves out
// whatever identifies the machine, which is the serial numbers the
// inventory is for; none of these data types is slow at full detail (the
// slow one, SPApplicationsDataType, is not asked for).
func readSystemProfiler(ctx context.Context) (spReport, error) {
	out, err := darwinRun(ctx, systemProfiler, append([]string{"-json", "-detailLevel", "full"}, spDataTypes...)...)
	if err != nil {
		return nil, err
	}
	return parseSystemProfiler(out)
}

// readBattery reads the battery's capacities from ioreg and its condition
// from system_profiler; either alone is enough.
func (c *collector) readBattery(ctx context.Context, sp spReport, spErr error) error {
	var spBat []core.Battery
	if spErr == nil {
		spBat, spErr = spReadBattery(sp)
	}
	out, ioErr := darwinRun(ctx, ioregBin, "-r", "-c", "AppleSmartBattery", "-a")
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

// readSecurity fills FileVault on the boot volume. A Mac has no TPM (the
// Secure Enclave is not one), so TPM.Present stays false; the secure boot
// policy is readable only in recoveryOS (bputil) or through privileged
// NVRAM, so it stays unknown and says so.
func (c *collector) readSecurity(ctx context.Context) error {
	errSecureBoot := errors.New("secure boot: the boot security policy can be read only in recoveryOS (bputil); not known")
	out, err := darwinRun(ctx, fdesetupBin, "status")
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

// readDomain reads the Active Directory binding; an unbound Mac prints
// nothing and has no directory.
func (c *collector) readDomain(ctx context.Context) error {
	out, err := darwinRun(ctx, dsconfigadBin, "-show")
	if err != nil {
		return err
	}
	if d := parseADDomain(string(out)); d != "" {
		c.inv.System.JoinType, c.inv.System.Domain = "domain", d
	}
	return nil
}

// readUsers lists the local people's accounts, the admin group's members
// and the user at the console.
func (c *collector) readUsers(ctx context.Context) error {
	out, err := darwinRun(ctx, dsclBin, ".", "-list", "/Users", "UniqueID")
	if err != nil {
		return err
	}
	names, err := parseDsclUsers(string(out))
	if err != nil {
		return err
	}
	// A group without members makes dscl fail ("No such key").
	members, _ := darwinRun(ctx, dsclBin, ".", "-read", "/Groups/admin", "GroupMembership")
	c.inv.System.Users = dsclLocalUsers(names, parseDsclMembers(string(members)))
	c.inv.System.LoggedOn = []string{}
	fi, err := os.Stat(consoleDevice)
	if err != nil {
		return fmt.Errorf("reading the console user: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 { // root: the login window
		u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10))
		if err != nil {
			return fmt.Errorf("looking up the console user %d: %w", st.Uid, err)
		}
		c.inv.System.LoggedOn = []string{u.Username}
	}
	return nil
}

// appRoots are the folders whose app bundles count as installed software:
// the system-wide ones and each user's ~/Applications (added at run time).
// macOS's own apps in /System/Applications are left out.
var appRoots = []string{"/Applications", "/Applications/Utilities"}

// readSoftware lists app bundles and third-party pkg receipts.
func (c *collector) readSoftware(ctx context.Context) error {
	homes, _ := filepath.Glob("/Users/*/Applications")
	progs, err := scanSoftware(ctx, append(slices.Clone(appRoots), homes...), receiptsDir)
	if err != nil {
		return err
	}
	c.inv.Software = progs
	return nil
}

// fileDate returns a file's modification date, or "" when it is absent.
func fileDate(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fi.ModTime().Format(time.DateOnly)
}
