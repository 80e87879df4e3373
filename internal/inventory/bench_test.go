package inventory

import (
	"context"
	"testing"
)

// BenchmarkCollect is one full collection of this machine's inventory;
// docs/benchmarks.md has its CPU time and peak RSS in the agent binary.
func BenchmarkCollect(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		Collect(ctx)
	}
}
