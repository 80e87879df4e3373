//go:build !unix && !windows

package agent

import "os/exec"

func prepareShell(*exec.Cmd, []string) {}
