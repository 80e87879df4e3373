//go:build !unix && !windows

package agent

import "github.com/wacht-rmm/wacht/internal/protocol"

func isLocked(error) bool   { return false }
func isDiskFull(error) bool { return false }

func listDrives() (protocol.FilesList, error) {
	return protocol.FilesList{}, Errorf(protocol.CodeBadArgs, "files-list needs a path.", "files-list braucht einen Pfad.")
}
