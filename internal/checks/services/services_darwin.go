//go:build darwin

package services

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

var defaultExclude []string

// launchdDirs hold the system-wide daemons; per-user agents are not
// services a technician watches.
var launchdDirs = []string{"/Library/LaunchDaemons", "/System/Library/LaunchDaemons"}

func newManager(context.Context) (manager, error) { return launchd{}, nil }

type launchd struct{}

func (launchd) Close() error { return nil }

func (launchd) List(ctx context.Context) ([]service, error) {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "/bin/launchctl", "list").Output()
	if err != nil {
		return nil, fmt.Errorf("launchctl list: %w", err)
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
			b, err := exec.CommandContext(cctx, "/usr/bin/plutil", "-convert", "json", "-o", "-", f).Output()
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
	if out, err := exec.CommandContext(ctx, "/bin/launchctl", "kickstart", "-k", "system/"+label).CombinedOutput(); err != nil {
		return fmt.Errorf("launchctl kickstart %s: %w: %s", label, err, lastLine(string(out)))
	}
	return nil
}
