//go:build linux || darwin

package agent

import (
	"fmt"
	"os"
)

// userTmp holds the folders of scripts run as the logged-on user: /tmp,
// open to every user on Linux and macOS, where a service's $TMPDIR may be
// private to root (macOS gives launchd daemons one in /var/folders).
const userTmp = "/tmp"

// userRunDir makes the folder of a script run as the logged-on user: in
// userTmp (the agent's data folder is closed to users), owned by root and open to traverse but not to list or write
// (0711), so that the user can read the body (0644) and change neither
// it nor the folder. Other local users could read the body by its path,
// as they can read the command line; secrets are never in the body but
// in the environment, which only the user and root can read.
func userRunDir(_ string, _ *scriptUser) (string, error) {
	dir, err := os.MkdirTemp(userTmp, "wacht-script-")
	if err != nil {
		return "", fmt.Errorf("creating a temporary folder: %w", err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("opening the temporary folder to the user: %w", err)
	}
	return dir, nil
}
