package trayipc

import (
	"context"
	"fmt"
	"net"
	"runtime"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// DefaultAddress is where the agent listens for trays.
func DefaultAddress() string { return `\\.\pipe\wacht-agent-tray` }

// Listen creates the named pipe addr with pipeSDDL. go-winio creates the
// first instance with FILE_CREATE (what FILE_FLAG_FIRST_PIPE_INSTANCE
// does: it fails if anyone already holds the name) and keeps it for the
// listener's lifetime, rejects remote clients, and makes a new instance
// for every connection, so many trays (one per Remote Desktop user) are
// served at once.
func Listen(addr string) (*Listener, error) {
	ln, err := winio.ListenPipe(addr, &winio.PipeConfig{SecurityDescriptor: pipeSDDL})
	if err != nil {
		return nil, fmt.Errorf("listening for trays on %s: %w", addr, err)
	}
	return &Listener{ln: ln, addr: addr}, nil
}

// dial opens the pipe with userAccess at identification level: the agent
// can read the tray's token but never act as its user. The pipe must be
// owned by SYSTEM or the Administrators: a pipe some user created while
// the agent was not running is refused.
func dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := winio.DialPipeAccessImpLevel(ctx, addr, userAccess, winio.PipeImpLevelIdentification)
	if err != nil {
		return nil, err
	}
	if err := checkOwner(handle(c)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func handle(c net.Conn) windows.Handle {
	if f, ok := c.(interface{ Fd() uintptr }); ok {
		return windows.Handle(f.Fd())
	}
	return windows.InvalidHandle
}

func checkOwner(h windows.Handle) error {
	sd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the pipe's owner: %w", err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("reading the pipe's owner: %w", err)
	}
	if !owner.IsWellKnown(windows.WinLocalSystemSid) && !owner.IsWellKnown(windows.WinBuiltinAdministratorsSid) {
		return fmt.Errorf("the pipe belongs to %s, not to the agent", owner)
	}
	return nil
}

var procImpersonateNamedPipeClient = windows.NewLazySystemDLL("advapi32.dll").NewProc("ImpersonateNamedPipeClient")

// readPeer reads the client's token by impersonating it on a locked OS
// thread (after a line was read: Windows requires that).
func readPeer(c net.Conn) (Peer, error) {
	h := handle(c)
	if h == windows.InvalidHandle {
		return Peer{}, fmt.Errorf("not a named pipe: %T", c)
	}
	type result struct {
		sid *windows.SID
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread is unlocked only once it is itself again; if
		// RevertToSelf fails, the goroutine ends locked and Go discards
		// the thread with the user's token.
		runtime.LockOSThread()
		sid, err := clientSID(h)
		if rerr := windows.RevertToSelf(); rerr != nil {
			ch <- result{err: fmt.Errorf("reverting to self: %w", rerr)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{sid, err}
	}()
	r := <-ch
	if r.err != nil {
		return Peer{}, r.err
	}
	p := Peer{UID: r.sid.String(), User: r.sid.String()}
	if account, domain, _, err := r.sid.LookupAccount(""); err == nil {
		p.User = domain + `\` + account
	}
	var pid uint32
	if windows.GetNamedPipeClientProcessId(h, &pid) == nil {
		p.PID = int(pid)
	}
	return p, nil
}

// clientSID impersonates the pipe client on the calling (locked) thread
// and returns its user's SID; the caller reverts.
func clientSID(h windows.Handle) (*windows.SID, error) {
	if r, _, err := procImpersonateNamedPipeClient.Call(uintptr(h)); r == 0 {
		return nil, fmt.Errorf("impersonating the tray: %w", err)
	}
	var tok windows.Token
	// openAsSelf: the tray allowed identification only, so the access
	// check runs as the agent.
	if err := windows.OpenThreadToken(windows.CurrentThread(), windows.TOKEN_QUERY, true, &tok); err != nil {
		return nil, fmt.Errorf("reading the tray's token: %w", err)
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("reading the tray's user: %w", err)
	}
	sid, err := u.User.Sid.Copy()
	if err != nil {
		return nil, fmt.Errorf("copying the tray's SID: %w", err)
	}
	return sid, nil
}
