//go:build unix

package trayipc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Listen creates the socket at addr, readable and writable by everyone
// (0666: who is connecting comes from the peer check). Its directory is
// created 0755 if missing; it must be a real directory owned by this
// process's user (not a symlink someone planted), and is made 0755 so
// the users' trays reach the socket. A stale socket is removed; a socket
// another agent listens on is not.
func Listen(addr string) (*Listener, error) {
	if err := socketDir(filepath.Dir(addr)); err != nil {
		return nil, err
	}
	if err := removeStale(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for trays: %w", err)
	}
	if err := os.Chmod(addr, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("opening the tray socket to users: %w", err)
	}
	return &Listener{ln: ln, addr: addr}, nil
}

func socketDir(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating the tray socket's directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("checking the tray socket's directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("the tray socket's directory %s is not a directory (%s)", dir, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("the tray socket's directory %s is not owned by this user (uid %d)", dir, os.Geteuid())
	}
	if fi.Mode().Perm() != 0o755 {
		if err := os.Chmod(dir, 0o755); err != nil {
			return fmt.Errorf("opening the tray socket's directory to users: %w", err)
		}
	}
	return nil
}

// removeStale removes a socket left by an agent that ended without
// closing it.
func removeStale(addr string) error {
	fi, err := os.Lstat(addr)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking the tray socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket (%s)", addr, fi.Mode().Type())
	}
	if c, err := net.Dial("unix", addr); err == nil {
		c.Close()
		return fmt.Errorf("another agent is listening on %s", addr)
	}
	if err := os.Remove(addr); err != nil {
		return fmt.Errorf("removing the stale tray socket: %w", err)
	}
	return nil
}

func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", addr)
}

// readPeer asks the kernel who holds the other end of c.
func readPeer(c net.Conn) (Peer, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{}, fmt.Errorf("not a Unix socket: %T", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, fmt.Errorf("reading the peer's credentials: %w", err)
	}
	var (
		uid  uint32
		pid  int
		cerr error
	)
	if err := raw.Control(func(fd uintptr) { uid, pid, cerr = peerCred(int(fd)) }); err != nil {
		return Peer{}, fmt.Errorf("reading the peer's credentials: %w", err)
	}
	if cerr != nil {
		return Peer{}, fmt.Errorf("reading the peer's credentials: %w", cerr)
	}
	p := Peer{UID: strconv.FormatUint(uint64(uid), 10), PID: pid}
	p.User = "uid " + p.UID
	if u, err := user.LookupId(p.UID); err == nil {
		p.User = u.Username
	}
	return p, nil
}
