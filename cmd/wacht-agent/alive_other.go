//go:build !unix && !windows

package main

// alive cannot be probed here; the state file is taken at its word.
func alive(int) bool { return true }
