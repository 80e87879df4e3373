//go:build unix

package agent

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

func isLocked(err error) bool   { return errors.Is(err, unix.ETXTBSY) || errors.Is(err, unix.EBUSY) }
func isDiskFull(err error) bool { return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) }

// listDrives: Unix has one root; files-list needs a path.
func listDrives() (protocol.FilesList, error) {
	return protocol.FilesList{}, Errorf(protocol.CodeBadArgs, "files-list needs a path.", "files-list braucht einen Pfad.")
}
