//go:build darwin

package svcmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The programs the manager starts.
func init() { check.AllowBuiltin(launchctl, plutil) }

// launchdDirs hold the system-wide daemons; per-user agents are not
// services a technician watches.
var launchdDirs = []string{"/Library/LaunchDaemons", "/System/Library/LaunchDaemons"}

// New reads launchd's system domain.
func New(context.Context) (Manager, error) { return launchd{}, nil }

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
	if err != nil {
		return out, callErr(filepath.Base(name)+" "+args[0], fmt.Errorf("%w: %s", err, lastLine(string(out))))
	}
	return out, nil
}

type launchd struct{}

func (launchd) Kind() string { return "launchd" }

func (launchd) Close() error { return nil }

func (launchd) List(ctx context.Context) ([]Service, error) {
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

func (l launchd) Get(ctx context.Context, label string) (Service, error) {
	if err := checkName(label); err != nil {
		return Service{}, err
	}
	all, err := l.List(ctx)
	if err != nil {
		return Service{}, err
	}
	for _, s := range all {
		if s.Name == label {
			return s, nil
		}
	}
	return Service{}, fmt.Errorf("%w: %s", ErrNotFound, label)
}

func (l launchd) Start(ctx context.Context, label string) error {
	if _, err := l.Get(ctx, label); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	_, err := output(ctx, true, launchctl, "kickstart", "system/"+label)
	return err
}

// Restart kills and starts the job in one step, which also works for a
// KeepAlive job that a stop would only see restarted.
func (l launchd) Restart(ctx context.Context, label string) error {
	if _, err := l.Get(ctx, label); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	_, err := output(ctx, true, launchctl, "kickstart", "-k", "system/"+label)
	return err
}

// Stop sends the job SIGTERM and waits until it has no process; launchd
// restarts a KeepAlive job, which then reports as not stopping.
func (l launchd) Stop(ctx context.Context, label string) error {
	if _, err := l.Get(ctx, label); err != nil {
		return err
	}
	if _, err := output(ctx, true, launchctl, "kill", "SIGTERM", "system/"+label); err != nil {
		return err
	}
	deadline := time.Now().Add(StopTimeout)
	for {
		s, err := l.Get(ctx, label)
		if err != nil || !s.Running {
			return err
		}
		if time.Now().After(deadline) {
			return stopTimeout(label, StopTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// SetStartType enables (automatic) or disables a job in the system domain;
// when an enabled job runs is its own definition's choice, so "manual"
// cannot be set.
func (l launchd) SetStartType(ctx context.Context, label, startType string) error {
	if err := checkStartType(startType); err != nil {
		return err
	}
	if _, err := l.Get(ctx, label); err != nil {
		return err
	}
	verb := "enable"
	switch startType {
	case protocol.StartManual:
		return fmt.Errorf("launchd has no manual start type: %w", errors.ErrUnsupported)
	case protocol.StartDisabled:
		verb = "disable"
	}
	_, err := output(ctx, true, launchctl, verb, "system/"+label)
	return err
}
