// Package checktest holds helpers for the tests of checks.
package checktest

import (
	"slices"
	"sync"

	"github.com/wacht-rmm/wacht/internal/check"
)

var (
	mu  sync.Mutex
	acc check.Allowlist // everything allowed so far
)

// Allow adds programs and paths to the agent's local allowlist for the
// rest of the test binary, as a local administrator would in agent.json:
// tests that start their own tools or read their own temporary files call
// it with those. Entries are only ever added, so parallel tests do not
// take each other's away.
func Allow(executables, paths []string) {
	mu.Lock()
	defer mu.Unlock()
	acc.Executables = append(slices.Clone(acc.Executables), executables...)
	acc.Paths = append(slices.Clone(acc.Paths), paths...)
	check.SetAllowlist(acc)
}
