//go:build !linux && !darwin && !windows

package agent

func renameNoReplace(from, to string) error { return renameIfAbsent(from, to) }
