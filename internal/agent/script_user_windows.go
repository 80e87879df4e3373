package agent

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"
)

// noConsoleSession is what WTSGetActiveConsoleSessionId answers when no
// session is attached to the console.
const noConsoleSession = 0xFFFFFFFF

// loggedOnUser takes the token of the user logged on at the console
// session (WTSQueryUserToken, which needs the SYSTEM account the service
// runs as) and that user's environment (CreateEnvironmentBlock).
func loggedOnUser(osTool) (*scriptUser, error) {
	session := windows.WTSGetActiveConsoleSessionId()
	if session == noConsoleSession {
		return nil, noUser("no session is attached to the console")
	}
	var tok windows.Token
	if err := windows.WTSQueryUserToken(session, &tok); err != nil {
		if errors.Is(err, windows.ERROR_NO_TOKEN) {
			return nil, noUser(fmt.Sprintf("console session %d has no user", session))
		}
		return nil, userUnknown(fmt.Errorf("cannot get the user's token of console session %d: %w", session, err))
	}
	env, err := tok.Environ(false)
	if err != nil {
		tok.Close()
		return nil, userUnknown(fmt.Errorf("cannot build the user's environment: %w", err))
	}
	tu, err := tok.GetTokenUser()
	if err != nil {
		tok.Close()
		return nil, userUnknown(fmt.Errorf("cannot read the token's user: %w", err))
	}
	name, domain, _, err := tu.User.Sid.LookupAccount("")
	if err != nil {
		name = tu.User.Sid.String()
	} else if domain != "" {
		name = domain + `\` + name
	}
	home := ""
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, "USERPROFILE") {
			home = v
		}
	}
	return &scriptUser{name: name, home: home, env: env, sys: sysUser{token: tok, sid: tu.User.Sid.String()}}, nil
}

// sysUser is the console user's token and SID.
type sysUser struct {
	token windows.Token
	sid   string
}

// apply starts cmd with the user's token (CreateProcessAsUser).
func (s sysUser) apply(cmd *exec.Cmd) { cmd.SysProcAttr.Token = syscall.Token(s.token) }

func (s sysUser) close() { s.token.Close() }

// userRunDir makes the run's folder below the agent's own, which users
// cannot list (the folders above are not checked: every user holds the
// bypass-traverse-checking privilege), and lets the user (besides SYSTEM and the administrators)
// read it and what is created in it; nobody else inherits access.
func userRunDir(tmpRoot string, u *scriptUser) (string, error) {
	dir, err := os.MkdirTemp(tmpRoot, "run-")
	if err != nil {
		return "", fmt.Errorf("creating a temporary folder: %w", err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;GRGX;;;" + u.sys.sid + ")")
	if err == nil {
		var dacl *windows.ACL
		if dacl, _, err = sd.DACL(); err == nil {
			err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
				windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("letting the user read the script's folder: %w", err)
	}
	return dir, nil
}
