//go:build !windows

package agent

import "os/exec"

// procTree is a no-op where prepareShell's process group already lets the
// timeout end the whole tree (Unix).
type procTree struct{}

func newProcTree(*exec.Cmd) (*procTree, error) { return &procTree{}, nil }

func (*procTree) started(*exec.Cmd) error { return nil }

func (*procTree) close() {}

// oemCodePage: cmd scripts run on Windows only.
func oemCodePage() uint32 { return 0 }
