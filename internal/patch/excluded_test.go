package patch

import (
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestExcluded(t *testing.T) {
	net := core.Update{ID: "id", KB: "KB5034441",
		Title: "2024-01 Cumulative Update Preview for .NET Framework 3.5 and 4.8.1 for Windows 11, version 22H2 for x64 (KB5034441)"}
	arm := core.Update{ID: "id2", Title: "2025-02 Cumulative Update for Windows 11 Version 24H2 for x64/ARM64-based Systems (KB5051987)"}
	apt := core.Update{ID: "linux-image-amd64", Title: "linux-image-amd64"}
	tests := []struct {
		name string
		e    core.PatchExclusions
		u    core.Update
		want bool
	}{
		{"kb", core.PatchExclusions{KBs: []string{"KB5034441"}}, net, true},
		{"kb lower", core.PatchExclusions{KBs: []string{"kb5034441"}}, net, true},
		{"kb digits", core.PatchExclusions{KBs: []string{" 5034441 "}}, net, true},
		{"other kb", core.PatchExclusions{KBs: []string{"KB503444"}}, net, false},
		{"kb on an update without one", core.PatchExclusions{KBs: []string{"KB5034441"}}, apt, false},
		{"package", core.PatchExclusions{Packages: []string{"Linux-Image-AMD64"}}, apt, true},
		{"package is not a prefix", core.PatchExclusions{Packages: []string{"linux-image"}}, apt, false},
		{"title", core.PatchExclusions{Titles: []string{"*preview*"}}, net, true},
		{"title across /", core.PatchExclusions{Titles: []string{"*Cumulative Update for Windows 11*"}}, arm, true},
		{"title ?", core.PatchExclusions{Titles: []string{"*Version 2?H2*"}}, arm, true},
		{"title class", core.PatchExclusions{Titles: []string{"202[4-5]-0[12] *"}}, arm, true},
		{"title negated class", core.PatchExclusions{Titles: []string{"202[^5]-*"}}, arm, false},
		{"title whole", core.PatchExclusions{Titles: []string{"cumulative update"}}, arm, false},
		{"title escaped star", core.PatchExclusions{Titles: []string{`2025-02 \*`}}, arm, false},
		{"invalid pattern matches nothing", core.PatchExclusions{Titles: []string{"[", "*"}}, arm, true},
		{"invalid pattern alone", core.PatchExclusions{Titles: []string{"["}}, arm, false},
		{"nothing", core.PatchExclusions{}, net, false},
	}
	for _, tt := range tests {
		if got := Excluded(tt.e, tt.u); got != tt.want {
			t.Errorf("%s: Excluded = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestExcludedConcurrent: the pattern cache is safe for concurrent use
// (run with -race).
func TestExcludedConcurrent(t *testing.T) {
	e := core.PatchExclusions{Titles: []string{"*preview*", "202[45]-*", "Feature update*"}}
	u := core.Update{Title: "2025-01 Cumulative Update Preview for Windows 11"}
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 200 {
				ok = ok && Excluded(e, u)
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("Excluded differed under concurrency")
		}
	}
}
