//go:build unix

package agent

import (
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"sync"

	"github.com/creack/pty"
	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"
)

type unixPTY struct {
	cmd    *exec.Cmd
	tty    *os.File // the PTY's controlling side
	exited chan struct{}
	once   sync.Once
}

// startPTY starts argv as the leader of a new session whose controlling
// terminal is a new PTY.
func startPTY(argv []string, rows, cols uint16) (ptyProc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = terminalEnv(os.Environ())
	if home := envValue(cmd.Env, "HOME"); home != "" {
		if st, err := os.Stat(home); err == nil && st.IsDir() {
			cmd.Dir = home
		}
	}
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols}) // Setsid, Setctty
	if err != nil {
		return nil, err
	}
	p := &unixPTY{cmd: cmd, tty: tty, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// terminalEnv is the agent's environment for a shell: a terminal type, a
// UTF-8 locale when none is set (umlauts), and HOME, which a service may
// lack.
func terminalEnv(env []string) []string {
	env = append(env, "TERM=xterm-256color")
	if envValue(env, "LC_ALL") == "" && envValue(env, "LC_CTYPE") == "" && envValue(env, "LANG") == "" {
		if runtime.GOOS == "darwin" {
			env = append(env, "LANG=en_US.UTF-8")
		} else {
			env = append(env, "LANG=C.UTF-8")
		}
	}
	if envValue(env, "HOME") == "" {
		if u, err := user.Current(); err == nil {
			env = append(env, "HOME="+u.HomeDir)
		}
	}
	return env
}

// envValue is the last value of key in env, as exec uses it.
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			v = kv[len(key)+1:]
		}
	}
	return v
}

func (p *unixPTY) Read(b []byte) (int, error)  { return p.tty.Read(b) }
func (p *unixPTY) Write(b []byte) (int, error) { return p.tty.Write(b) }
func (p *unixPTY) PID() int                    { return p.cmd.Process.Pid }
func (p *unixPTY) Exited() <-chan struct{}     { return p.exited }

func (p *unixPTY) Resize(rows, cols uint16) error {
	return pty.Setsize(p.tty, &pty.Winsize{Rows: rows, Cols: cols})
}

func (p *unixPTY) Kill() {
	p.once.Do(func() {
		killSession(p.PID())
		<-p.exited
		p.tty.Close()
	})
}

// killSession kills every process of the session sid, not only the
// shell's process group: an interactive shell puts each job in a group of
// its own. Processes that left the session (setsid, daemons) are not its.
func killSession(sid int) {
	unix.Kill(-sid, unix.SIGKILL)
	// Repeat while new members show up: one may fork while the others
	// die. Killed ones may linger as zombies until their parent reaps them.
	killed := map[int32]bool{}
	for range 10 {
		pids, err := process.Pids()
		if err != nil {
			return
		}
		fresh := false
		for _, pid := range pids {
			if s, err := unix.Getsid(int(pid)); err == nil && s == sid && !killed[pid] {
				unix.Kill(int(pid), unix.SIGKILL)
				killed[pid], fresh = true, true
			}
		}
		if !fresh {
			return
		}
	}
}
