//go:build windows

package main

import "os"

// alive reports whether a process with this ID exists; on Windows
// FindProcess opens the process and fails for one that is gone.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
