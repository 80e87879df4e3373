// Package updates finds and installs missing updates on this machine
// (issue 19): one Source per update source — the Windows Update Agent,
// winget and Chocolatey on Windows; softwareupdate and Homebrew on macOS;
// apt, dnf or zypper on Linux — and the OS's pending-restart state.
// Parsing lives in portable functions tested on captured outputs; the
// per-OS files only run the tools or call the APIs.
package updates

import (
	"context"
	"errors"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Source is one update source on this machine.
type Source interface {
	// Name is the source's core.Source… constant.
	Name() string
	// Scan lists the missing updates, each with Key, Source, ID, Title and
	// Classification set. An error wrapping errors.ErrUnsupported means
	// the source is not here (no winget); any other error is a failed
	// scan, never an empty list.
	Scan(ctx context.Context) ([]core.Update, error)
	// Install installs us (all of this source, in the order given; the
	// source may reorder what must go first) and returns one Result per
	// update, in the order installed. It calls progress, if not nil, after
	// each one. An error (ErrBusy, ErrMetered, ErrDiskFull, a cancelled
	// ctx) means it stopped before the updates without a Result.
	Install(ctx context.Context, us []core.Update, progress func(Result)) ([]Result, error)
}

// Result is the outcome of installing one update: Code is the source's
// own ("0x80070643", "exit 100"), Message its meaning in English and
// German; Output a tail of what the tool printed.
type Result struct {
	Key          string
	OK           bool
	Code         string
	Message      core.Text
	RebootNeeded bool
	Output       string
}

// Errors that stop an install before it starts; the agent retries inside
// the window and does not count them as the update's failures.
var (
	// ErrBusy: another installer holds the lock (apt/dpkg lock, msiexec,
	// another Windows Update installation).
	ErrBusy = errors.New("another installation is running")
	// ErrMetered: the connection is metered and the policy does not allow
	// downloads over it.
	ErrMetered = errors.New("the network connection is metered")
	// ErrDiskFull: not enough free space to download or install.
	ErrDiskFull = errors.New("not enough free disk space")
)

// Options configure the sources: ConsoleUser runs Homebrew as the user who
// owns it (macOS refuses brew as root).
type Options struct {
	ConsoleUser string
}
