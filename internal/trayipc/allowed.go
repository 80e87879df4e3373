package trayipc

import (
	"fmt"
	"regexp"
	"runtime"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Allowed refuses the accounts of services and daemons: only people who
// log on run a tray. root (uid 0) and Windows administrators are allowed
// (an admin at the console). The error is an *Error with CodeRefused.
func Allowed(p Peer) error {
	if e := allowed(runtime.GOOS, p); e != nil {
		return e
	}
	return nil
}

// windowsUser matches the SIDs of people: local and domain accounts
// (S-1-5-21-…) and Microsoft Entra ID accounts (S-1-12-1-…). Everything
// else is refused: LocalSystem S-1-5-18, LocalService -19, NetworkService
// -20, anonymous S-1-5-7, service and virtual accounts (S-1-5-80-…,
// S-1-5-82-…, S-1-5-90-…, S-1-5-96-…).
var windowsUser = regexp.MustCompile(`^S-1-(5-21|12-1)(-[0-9]+)+$`)

func allowed(goos string, p Peer) *Error {
	if goos == "windows" {
		if windowsUser.MatchString(p.UID) {
			return nil
		}
		return refusal(p.User)
	}
	uid, err := strconv.ParseUint(p.UID, 10, 32)
	if err != nil || systemUID(goos, uint32(uid)) {
		return refusal(p.User)
	}
	return nil
}

// systemUID reports whether uid belongs to the system on goos.
func systemUID(goos string, uid uint32) bool {
	switch {
	case uid == 0:
		return false
	case goos == "darwin":
		// Below 500 are the system's _accounts; nobody (-2) and the other
		// negative IDs appear as ≥ 2^31.
		return uid < 500 || uid >= 1<<31
	default:
		// Linux: system users (below 1000), systemd's DynamicUser= range,
		// nobody, and the 16- and 32-bit "-1".
		return uid < 1000 || (uid >= 61184 && uid <= 65519) ||
			uid == 65534 || uid == 65535 || uid >= 1<<32-2
	}
}

// refusal is the CodeRefused error for a system account.
func refusal(account string) *Error {
	return &Error{Code: CodeRefused, Message: core.Text{
		EN: fmt.Sprintf("The agent answers only users who are logged on; %s is a system account.", account),
		DE: fmt.Sprintf("Der Agent antwortet nur angemeldeten Benutzern; %s ist ein Systemkonto.", account),
	}}
}

var errUnknownPeer = &Error{Code: CodeRefused, Message: core.Text{
	EN: "The agent could not tell which user is connecting.",
	DE: "Der Agent konnte nicht feststellen, welcher Benutzer sich verbindet.",
}}
