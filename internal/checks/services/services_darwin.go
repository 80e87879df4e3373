//go:build darwin

package services

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
)

var defaultExclude []string

// osTools are the programs the check starts here.
var osTools = []string{launchctl, plutil}

// launchdDirs hold the system-wide daemons; per-user agents are not
// services a technician watches.
var launchdDirs = []string{"/Library/LaunchDaemons", "/System/Library/LaunchDaemons"}

func newManager(context.Context) (manager, error) { return launchd{}, nil }

const (
	launchctl = "/bin/launchctl"
	plutil    = "/usr/bin/plutil"
)

// output runs a program the allowlist allows and returns its output.
func output(ctx context.Context, combined bool, name string, args ...string) ([]byte, error) {
	cmd, err := check.Command(ctx, name, args...)
	if err != nil {
		return nil, err
	}
	var out []byte
	if combined {
		out, err = cmd.CombinedOutput()
	} else {
		out, err = cmd.Output()
	}
	return out, msg.Program(name, err, "")
}

type launchd struct{}

func (launchd) Close() error { return nil }

func (launchd) List(ctx context.Context) ([]service, error) {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := output(cctx, false, launchctl, "list")
	if err != nil {
		return nil, err
	}
	jobs, err := parseLaunchctlList(string(out))
	if err != nil {
		return nil, err
	}
	var defs []plistJob
	for _, d := range launchdDirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.plist"))
		for _, f := range files {
			if _, err := os.Stat(f); err != nil {
				continue
			}
			b, err := output(cctx, false, plutil, "-convert", "json", "-o", "-", f)
			if err != nil {
				continue // binary data plutil cannot express in JSON
			}
			if j, err := parsePlistJSON(b); err == nil && j.Label != "" {
				defs = append(defs, j)
			}
		}
	}
	return launchdServices(jobs, defs), nil
}

func (launchd) Start(ctx context.Context, label string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if out, err := output(ctx, true, launchctl, "kickstart", "-k", "system/"+label); err != nil {
		return fmt.Errorf("launchctl kickstart %s: %w: %s", label, err, lastLine(string(out)))
	}
	return nil
}
