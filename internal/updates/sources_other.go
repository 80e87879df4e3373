//go:build !linux && !darwin && !windows

package updates

// Sources: Wacht knows no update source on this OS; report
// NoSourcesError.
func Sources(Options) []Source { return nil }
