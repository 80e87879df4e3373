package patch

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
)

// FuzzValidate: Validate never panics, accepts what Defaults fills in,
// and what it accepts can be resolved: Defaults keeps it valid, and its
// windows and approval decisions can be computed.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"enabled":true,"scan_at":"11:00","auto_approve":[{"classification":"security"},{"min_severity":"important"}]}`,
		`{"exclusions":{"kbs":["KB5034441","x"],"titles":["*Preview*","[","\\"]}}`,
		`{"schedule":{"weekdays":[0,6,7],"at":"03:00","window_minutes":1440,"max_lateness_hours":336}}`,
		`{"reboot":{"mode":"never","force_after_days":3},"thresholds":{"critical_days":-1},"max_failures":99}`,
		`{"disabled_sources":["winget","eol"],"schedule":{"maintenance":true}}`,
	} {
		f.Add([]byte(s))
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		var p core.PatchPolicy
		if json.Unmarshal(b, &p) != nil {
			return
		}
		if err := Validate(p); err != nil {
			if !strings.Contains(err.Error(), ":") {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		d := Defaults(p)
		if err := Validate(d); err != nil {
			t.Fatalf("Defaults made a valid policy invalid: %v\n%+v", err, d)
		}
		w, ok := OpenWindow(d.Schedule, nil, time.Time{}, now, loc)
		if ok && !w.End.After(w.Start) {
			t.Fatalf("empty window %v", w)
		}
		if n := NextWindow(d.Schedule, nil, now, loc); d.Schedule.At != "" && !n.Start.After(now) {
			t.Fatalf("next window %v not after %v", n.Start, now)
		}
		u := core.Update{Key: "k", KB: "KB5034441", ID: "pkg", Title: "Security Update for Windows (KB5034441)", Classification: core.ClassSecurity}
		if s := Approve(d, nil, u); s == "" {
			t.Fatal("no approval state")
		}
	})
}

// FuzzExcluded: a title pattern is valid exactly when path.Match accepts
// its syntax; on titles and patterns without "/" it matches as path.Match
// does (case-insensitively); a title, escaped, excludes itself.
func FuzzExcluded(f *testing.F) {
	for _, s := range [][2]string{{"*Preview*", "2024-01 Cumulative Update Preview for Windows 11"}, {"[", "x"}, {"?", "a"},
		{"Feature update to Windows 11, version 2?H2", "Feature update to Windows 11, version 24H2"}, {"\\*", "*"},
		{"[a\\-z]", "-"}, {"[x-0]", "x"}, {"[^x-0]", "a"}, {"[x-0a]", "a"}, {"[0-A]", "`"}, {"[0-a]", "B"}, {"[^a-c]x", "dx"}, {"*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, title string) {
		// Validate bounds patterns, protocol.PatchReport.Validate titles;
		// matching is linear in each.
		if !utf8.ValidString(pattern) || !utf8.ValidString(title) || len(pattern) > MaxExclusionLen || len(title) > 1024 {
			return
		}
		e := core.PatchExclusions{Titles: []string{pattern}}
		u := core.Update{Title: title}
		got := Excluded(e, u)
		p := strings.TrimSpace(pattern)
		_, pathErr := path.Match(p, "")
		_, err := compileGlob(p)
		if (err == nil) != (pathErr == nil) {
			t.Fatalf("pattern %q: our syntax check %v, path.Match %v", p, err, pathErr)
		}
		// Lower-casing a class changes it ("[0-A]" holds no "`", "[0-a]"
		// does; "[0-a]" holds "B", which lower-cases out of it), so
		// patterns with upper case or a range in a class do not compare.
		classCase := strings.Contains(p, "[") && (strings.ToLower(p) != p || strings.Contains(p, "-"))
		if err == nil && !classCase && !strings.Contains(p+title, "/") {
			want, _ := path.Match(strings.ToLower(p), strings.ToLower(title))
			// Only titles whose case folds back the same way compare.
			roundTrip, lower := strings.ToLower(strings.ToUpper(title)), strings.ToLower(title)
			if got != want && roundTrip == lower {
				t.Fatalf("Excluded(%q, %q) = %v, path.Match says %v", pattern, title, got, want)
			}
		}
		lit := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`).Replace(title)
		if strings.TrimSpace(lit) == lit && !Excluded(core.PatchExclusions{Titles: []string{lit}}, u) {
			t.Fatalf("the escaped title %q does not exclude itself", lit)
		}
	})
}

// BenchmarkApprove: one device's 40 missing updates against a policy with
// the default rules and 20 exclusions of each kind, and 40 decisions.
func BenchmarkApprove(b *testing.B) {
	p := Defaults(core.PatchPolicy{})
	decisions := map[string]bool{}
	for i := range 20 {
		p.Exclusions.KBs = append(p.Exclusions.KBs, fmt.Sprintf("KB50%05d", i))
		p.Exclusions.Packages = append(p.Exclusions.Packages, fmt.Sprintf("package-%d", i))
		p.Exclusions.Titles = append(p.Exclusions.Titles, fmt.Sprintf("*Preview %d*", i))
	}
	classes := []string{core.ClassSecurity, core.ClassCritical, core.ClassUpdate, core.ClassFeature, core.ClassDefinition}
	us := make([]core.Update, 40)
	for i := range us {
		us[i] = core.Update{Key: fmt.Sprintf("windows-update:%d@1", i), Source: core.SourceWindowsUpdate, ID: fmt.Sprintf("id-%d", i),
			KB: fmt.Sprintf("KB51%05d", i), Title: fmt.Sprintf("2026-%02d Cumulative Update for Windows 11 Version 24H2 for x64-based Systems (KB51%05d)", i%12+1, i),
			Classification: classes[i%len(classes)], Severity: Severities[i%len(Severities)]}
		decisions[fmt.Sprintf("windows-update:%d@1", i*2)] = i%2 == 0
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, u := range us {
			Approve(p, decisions, u)
		}
	}
}
