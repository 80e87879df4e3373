package inventory

import (
	"bytes"
	"context"
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

func init() { check.AllowBuiltin(macTools...) }

// Where macOS keeps what the collector reads directly.
const (
	receiptsDir   = "/var/db/receipts"
	setupDoneFile = "/var/db/.AppleSetupDone" // written when Setup Assistant finishes
	consoleDevice = "/dev/console"            // owned by the user at the screen
)

// appRoots are the folders whose app bundles count as installed software:
// the system-wide ones and each user's ~/Applications (added at run time).
// macOS's own apps in /System/Applications are left out.
var appRoots = []string{"/Applications", "/Applications/Utilities"}

// collectOS reads macOS's inventory (mac.go).
func collectOS(ctx context.Context, c *collector) { collectMac(ctx, c, thisMac{}) }

// readPrograms is the software part alone (Programs).
func readPrograms(ctx context.Context) ([]core.Program, error) { return thisMac{}.software(ctx) }

// thisMac is the running Mac.
type thisMac struct{}

// run starts an allowed tool; a failure names the call and what the tool
// said.
func (thisMac) run(ctx context.Context, name string, args ...string) ([]byte, error) {
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

// consoleUser is the owner of /dev/console; root owns it at the login
// window.
func (thisMac) consoleUser() (string, error) {
	fi, err := os.Stat(consoleDevice)
	if err != nil {
		return "", fmt.Errorf("reading the console user: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return "", nil
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10))
	if err != nil {
		return "", fmt.Errorf("looking up the console user %d: %w", st.Uid, err)
	}
	return u.Username, nil
}

// setupDate is the modification date of the file Setup Assistant leaves.
func (thisMac) setupDate() string {
	fi, err := os.Stat(setupDoneFile)
	if err != nil {
		return ""
	}
	return fi.ModTime().Format(time.DateOnly)
}

// software lists app bundles and third-party pkg receipts.
func (thisMac) software(ctx context.Context) ([]core.Program, error) {
	homes, _ := filepath.Glob("/Users/*/Applications")
	return scanSoftware(ctx, append(slices.Clone(appRoots), homes...), receiptsDir)
}
