package agent

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// osRebooter restarts this machine with the OS's shutdown command and
// tells its users with a plain OS notification until the tray app (its
// own issue) can ask them: wall on Linux, msg.exe on Windows, osascript on
// macOS. Programs are started with argument arrays.
type osRebooter struct{}

// bilingual puts both languages into one notification.
func bilingual(t core.Text) string { return t.EN + "\n\n" + t.DE }

// notifyCommands are the programs that show msg to the logged-on users on
// goos; each one that is present runs.
func notifyCommands(goos, msg string) [][]string {
	switch goos {
	case "windows":
		return [][]string{{"msg.exe", "*", "/TIME:3600", msg}}
	case "darwin":
		// The text is an argument of the script, never part of its code.
		// Run as root it shows in the console user's session only if
		// macOS lets it; the tray app replaces it.
		return [][]string{{"osascript", "-e", "on run argv", "-e", `display notification (item 1 of argv) with title "Wacht"`, "-e", "end run", msg}}
	case "linux", "freebsd", "openbsd", "netbsd":
		return [][]string{{"wall", msg}}
	}
	return nil
}

// rebootCommand restarts the machine in a minute on goos, telling msg.
func rebootCommand(goos, msg string) []string {
	switch goos {
	case "windows":
		// shutdown.exe takes at most 512 characters of comment.
		return []string{"shutdown.exe", "/r", "/t", "60", "/c", truncate(msg, 500), "/d", "p:2:17"}
	case "linux", "darwin", "freebsd", "openbsd", "netbsd":
		return []string{"shutdown", "-r", "+1", msg}
	}
	return nil
}

func (osRebooter) notify(ctx context.Context, msg core.Text) error {
	cmds := notifyCommands(runtime.GOOS, bilingual(msg))
	if cmds == nil {
		return fmt.Errorf("notifying users on %s: %w", runtime.GOOS, errors.ErrUnsupported)
	}
	var errs []error
	ran := 0
	for _, c := range cmds {
		path, err := exec.LookPath(c[0])
		if err != nil {
			continue
		}
		ran++
		if err := runShort(ctx, path, c[1:]); err != nil {
			errs = append(errs, err)
		}
	}
	if ran == 0 {
		return fmt.Errorf("no notification program (%s) on this machine: %w", cmds[0][0], errors.ErrUnsupported)
	}
	return errors.Join(errs...)
}

func (osRebooter) reboot(ctx context.Context, msg core.Text) error {
	c := rebootCommand(runtime.GOOS, bilingual(msg))
	if c == nil {
		return fmt.Errorf("restarting on %s: %w", runtime.GOOS, errors.ErrUnsupported)
	}
	path, err := exec.LookPath(c[0])
	if err != nil {
		return fmt.Errorf("restarting: %w", err)
	}
	return runShort(ctx, path, c[1:])
}

// runShort runs a short-lived program and returns its failure with what
// it printed.
func runShort(ctx context.Context, path string, args []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", path, err, truncate(strings.TrimSpace(string(out)), 500))
	}
	return nil
}
