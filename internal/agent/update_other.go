//go:build !unix && !windows

package agent

import (
	"errors"
	"fmt"
	"os/exec"
)

var errUpdateUnsupported = fmt.Errorf("agent self-update: %w on this OS", errors.ErrUnsupported)

func syncDir(string) error                                      { return nil }
func replaceExe(string, string) error                           { return errUpdateUnsupported }
func detach(*exec.Cmd, bool) error                              { return errUpdateUnsupported }
func signalStop(int) error                                      { return errUpdateUnsupported }
func watchdogCommand(string, []string, bool) (*exec.Cmd, error) { return nil, errUpdateUnsupported }
