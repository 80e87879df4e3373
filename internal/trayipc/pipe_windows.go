package trayipc

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// DefaultAddress is where the agent listens for trays.
func DefaultAddress() string { return `\\.\pipe\wacht-agent-tray` }

// Listen creates the named pipe addr with pipeSDDL, its first instance
// with FILE_FLAG_FIRST_PIPE_INSTANCE: that fails if anyone already holds
// the name. There is always one instance waiting for the next client, so
// many trays (one per Remote Desktop user) are served at once. Remote
// clients are rejected.
func Listen(addr string) (*Listener, error) {
	sd, err := windows.SecurityDescriptorFromString(pipeSDDL)
	if err != nil {
		return nil, fmt.Errorf("tray pipe ACL: %w", err)
	}
	closing, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("listening for trays: %w", err)
	}
	pl := &pipeListener{addr: addr, closing: closing,
		sa: &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}}
	if pl.next, err = pl.instance(true); err != nil {
		windows.CloseHandle(closing)
		return nil, fmt.Errorf("listening for trays on %s: %w", addr, err)
	}
	return &Listener{ln: pl, addr: addr}, nil
}

// pipeListener is a net.Listener on a named pipe. (go-winio's keeps its
// first instance idle, which Wine 8 hands to the first client, so trays
// under Wine hung; Go's os.NewFile does the overlapped I/O.)
type pipeListener struct {
	addr    string
	sa      *windows.SecurityAttributes
	closing windows.Handle // event, set by Close

	mu        sync.Mutex
	next      windows.Handle // the instance for the next client
	accepting bool
	closed    bool
}

func (l *pipeListener) instance(first bool) (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString(l.addr)
	if err != nil {
		return windows.InvalidHandle, err
	}
	flags := uint32(windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_OVERLAPPED)
	if first {
		flags |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE
	}
	return windows.CreateNamedPipe(name, flags,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		windows.PIPE_UNLIMITED_INSTANCES, 64<<10, 64<<10, 0, l.sa)
}

// Accept waits for a client on the waiting instance and puts a new one in
// its place.
func (l *pipeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.closed || l.accepting {
		l.mu.Unlock()
		return nil, net.ErrClosed
	}
	h := l.next
	l.accepting = true
	l.mu.Unlock()

	err := connectPipe(h, l.closing)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accepting = false
	if l.closed {
		windows.CloseHandle(h)
		windows.CloseHandle(l.closing)
		return nil, net.ErrClosed
	}
	if err != nil {
		return nil, fmt.Errorf("waiting for a tray: %w", err)
	}
	if l.next, err = l.instance(false); err != nil {
		l.closed = true // no instance left to wait on
		windows.CloseHandle(h)
		return nil, fmt.Errorf("creating a pipe instance: %w", err)
	}
	f := os.NewFile(uintptr(h), l.addr)
	return &pipeConn{File: f}, nil
}

// connectPipe waits until a client connects to h or closing is set.
func connectPipe(h, closing windows.Handle) error {
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(ev)
	o := windows.Overlapped{HEvent: ev}
	switch err := windows.ConnectNamedPipe(h, &o); err {
	case nil, windows.ERROR_PIPE_CONNECTED:
		return nil
	case windows.ERROR_IO_PENDING:
	default:
		return err
	}
	i, err := windows.WaitForMultipleObjects([]windows.Handle{ev, closing}, false, windows.INFINITE)
	if err != nil || i != windows.WAIT_OBJECT_0 {
		windows.CancelIoEx(h, &o)
	}
	var n uint32
	return windows.GetOverlappedResult(h, &o, &n, true)
}

func (l *pipeListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return net.ErrClosed
	}
	l.closed = true
	windows.SetEvent(l.closing)
	if !l.accepting { // else Accept closes them
		windows.CloseHandle(l.next)
		windows.CloseHandle(l.closing)
	}
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.addr) }

type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

// pipeConn is one end of a pipe instance as a net.Conn.
type pipeConn struct{ *os.File }

func (c *pipeConn) LocalAddr() net.Addr  { return pipeAddr(c.Name()) }
func (c *pipeConn) RemoteAddr() net.Addr { return pipeAddr(c.Name()) }

// dial opens the pipe with userAccess at identification level: the agent
// can read the tray's token but never act as its user. The pipe must be
// owned by SYSTEM, the Administrators or the caller itself: a pipe another
// user created while the agent was not running is refused. While every
// instance is busy (between two clients) it tries again until ctx ends.
func dial(ctx context.Context, addr string) (net.Conn, error) {
	name, err := windows.UTF16PtrFromString(addr)
	if err != nil {
		return nil, err
	}
	for {
		h, err := windows.CreateFile(name, userAccess, 0, nil, windows.OPEN_EXISTING,
			windows.FILE_FLAG_OVERLAPPED|windows.SECURITY_SQOS_PRESENT|windows.SECURITY_IDENTIFICATION, 0)
		if err == windows.ERROR_PIPE_BUSY {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(10 * time.Millisecond):
				continue
			}
		}
		if err != nil {
			return nil, err
		}
		if err := checkOwner(h); err != nil {
			windows.CloseHandle(h)
			return nil, err
		}
		return &pipeConn{File: os.NewFile(uintptr(h), addr)}, nil
	}
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
	if owner.IsWellKnown(windows.WinLocalSystemSid) || owner.IsWellKnown(windows.WinBuiltinAdministratorsSid) {
		return nil
	}
	if mine, err := defaultOwner(); err == nil && owner.Equals(mine) {
		return nil
	}
	return fmt.Errorf("the pipe belongs to %s, not to the agent", owner)
}

// defaultOwner is the owner of the objects this process creates (the
// user, or the Administrators for an elevated administrator).
func defaultOwner() (*windows.SID, error) {
	b := make([]byte, 128) // a TOKEN_OWNER: a pointer and a SID (≤ 68 bytes)
	var n uint32
	if err := windows.GetTokenInformation(windows.GetCurrentProcessToken(), windows.TokenOwner, &b[0], uint32(len(b)), &n); err != nil {
		return nil, err
	}
	// Copied: the SID lies in b, which may live on this stack frame.
	return (*struct{ Owner *windows.SID })(unsafe.Pointer(&b[0])).Owner.Copy()
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
