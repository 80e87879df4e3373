//go:build !unix && !windows

package agent

import "os/exec"

func prepareShell(*exec.Cmd, []string) {}

func consoleText(b []byte) string { return string(b) }
