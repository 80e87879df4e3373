//go:build !linux

package main

import (
	"errors"
	"fmt"
	"os"
)

// The benchmarks read /proc; elsewhere there is nothing to measure with.
func main() {
	fmt.Fprintln(os.Stderr, "bench:", fmt.Errorf("runs on Linux only: %w", errors.ErrUnsupported))
	os.Exit(1)
}
