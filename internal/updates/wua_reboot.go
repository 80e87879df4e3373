package updates

import (
	"fmt"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Where Windows records that it waits for a restart (all under
// HKEY_LOCAL_MACHINE).
const (
	regCBSRebootPending = `SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending`
	regWURebootRequired = `SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired`
	regSessionManager   = `SYSTEM\CurrentControlSet\Control\Session Manager`
	regActiveName       = `SYSTEM\CurrentControlSet\Control\ComputerName\ActiveComputerName`
	regPendingName      = `SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName`
)

// regReader reads HKLM: the registry on Windows, a map in the tests.
// found is false for a key or value that does not exist (not an error).
type regReader interface {
	// key reports whether a key exists and when it was last written.
	key(path string) (found bool, modified time.Time, err error)
	// multi reads a REG_MULTI_SZ value.
	multi(path, name string) (vals []string, found bool, err error)
	// str reads a REG_SZ value.
	str(path, name string) (val string, found bool, err error)
}

// windowsReboot reads the pending-restart markers: component-based
// servicing (RebootPending), Windows Update (RebootRequired), files to
// replace at the next start (PendingFileRenameOperations, …2), and a
// computer rename waiting for the restart. Since is the earliest write
// time of the marker keys. A read that failed while no marker was found
// sets Error: unknown, never "no restart".
func windowsReboot(r regReader) core.RebootState {
	var st core.RebootState
	var errs []string
	since := func(t time.Time) {
		if !t.IsZero() && (st.Since.IsZero() || t.Before(st.Since)) {
			st.Since = t.UTC()
		}
	}
	for _, k := range []struct{ path, reason string }{
		{regCBSRebootPending, "CBS"},
		{regWURebootRequired, "WindowsUpdate"},
	} {
		found, mod, err := r.key(k.path)
		if err != nil {
			errs = append(errs, fmt.Sprintf(`HKLM\%s: %v`, k.path, err))
			continue
		}
		if found {
			st.Pending = true
			st.Reasons = append(st.Reasons, k.reason)
			since(mod)
		}
	}
	for _, name := range []string{"PendingFileRenameOperations", "PendingFileRenameOperations2"} {
		vals, found, err := r.multi(regSessionManager, name)
		if err != nil {
			errs = append(errs, fmt.Sprintf(`HKLM\%s %s: %v`, regSessionManager, name, err))
			continue
		}
		if found && strings.TrimSpace(strings.Join(vals, "")) != "" {
			st.Pending = true
			st.Reasons = append(st.Reasons, name)
		}
	}
	active, okA, errA := r.str(regActiveName, "ComputerName")
	pending, okP, errP := r.str(regPendingName, "ComputerName")
	switch {
	case errA != nil:
		errs = append(errs, fmt.Sprintf(`HKLM\%s: %v`, regActiveName, errA))
	case errP != nil:
		errs = append(errs, fmt.Sprintf(`HKLM\%s: %v`, regPendingName, errP))
	case okA && okP && !strings.EqualFold(strings.TrimSpace(active), strings.TrimSpace(pending)):
		st.Pending = true
		st.Reasons = append(st.Reasons, fmt.Sprintf("ComputerRename (%s → %s)", strings.TrimSpace(active), strings.TrimSpace(pending)))
	}
	if !st.Pending && len(errs) > 0 {
		st.Error = strings.Join(errs, "; ")
	}
	return st
}
