//go:build race

package mux

// raceEnabled: sync.Pool drops items at random under the race detector.
const raceEnabled = true
