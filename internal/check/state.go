package check

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

var (
	stateMu  sync.RWMutex
	stateDir string
)

// ErrNoStateDir is returned by StateDir before SetStateDir was called.
var ErrNoStateDir = errors.New("check state directory not set")

// SetStateDir sets the folder where checks keep state that must survive
// agent restarts (history samples, restart counters). The agent calls it once
// at startup; `wacht-agent check --once` uses a temporary folder.
func SetStateDir(dir string) {
	stateMu.Lock()
	defer stateMu.Unlock()
	stateDir = dir
}

// StateDir returns the state folder, creating it (mode 0700) if needed.
// Checks should keep their files under a name of their own in it.
func StateDir() (string, error) {
	stateMu.RLock()
	dir := stateDir
	stateMu.RUnlock()
	if dir == "" {
		return "", ErrNoStateDir
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create check state directory: %w", err)
	}
	return dir, nil
}
