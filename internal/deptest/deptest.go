// Package deptest guards what a binary or package links. A test lists the
// packages that must not be linked, each with the reason; Check fails naming
// the reason and the import chain when one is linked on any platform asked
// for, and fails on a stale ban: a banned path that matches no package in the
// module or its module graph guards nothing and hides a typo or a move.
// ModuleList renders the module lists committed under deps/.
//
// Everything is read from `go list` with cgo off, as the release builds are.
package deptest

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Rules say what Package may link.
type Rules struct {
	// Package is checked as `go list` names it: "." for the test's own
	// package, or an import path.
	Package string
	// Platforms are "GOOS/GOARCH" pairs to check it for.
	Platforms []string
	// Banned maps an import path to the reason it must not be linked. A path
	// ending in "/..." bans that package and every package below it.
	Banned map[string]string
	// Want lists packages that must be linked: proof that the listing is
	// real, and a place to pin what the package is for.
	Want []string
}

// Check fails t for every banned package that r.Package links on one of
// r.Platforms, for every wanted package it does not link, and for every
// banned path that matches no package (see CheckExist).
func Check(t testing.TB, r Rules) {
	t.Helper()
	if len(r.Platforms) == 0 || len(r.Banned) == 0 {
		t.Fatal("deptest: Rules need platforms and bans")
	}
	CheckExist(t, r.Banned)
	for _, p := range r.Platforms {
		g, err := List(r.Package, p)
		if err != nil {
			t.Fatal(err)
		}
		root := strings.Join(g.roots, " ")
		for _, ban := range slices.Sorted(maps.Keys(r.Banned)) {
			hits := g.matching(ban)
			if len(hits) == 0 {
				continue
			}
			// Show the banned package nearest to the root: the import to cut.
			var chain []string
			for _, h := range hits {
				if c := g.chain(h); chain == nil || len(c) < len(chain) {
					chain = c
				}
			}
			more := ""
			if len(hits) > 1 {
				more = fmt.Sprintf(" (and %d more of %s)", len(hits)-1, ban)
			}
			t.Errorf("%s: %s links %s%s, banned: %s\n\timport chain: %s",
				p, root, chain[len(chain)-1], more, r.Banned[ban], strings.Join(chain, " → "))
		}
		for _, w := range r.Want {
			if !g.Links(w) {
				t.Errorf("%s: %s does not link %s, which it must", p, root, w)
			}
		}
	}
}

// CheckExist fails t for every path in banned (a key as in Rules.Banned)
// that matches no package in the module or its module graph. Check does it
// for its own bans; a test calls it for bans it enforces only sometimes.
func CheckExist(t testing.TB, banned map[string]string) {
	t.Helper()
	paths := slices.Sorted(maps.Keys(banned))
	// -find resolves the paths without loading their imports; -e lists a
	// missing package with an empty Dir instead of failing. A pattern skips
	// packages built for other platforms only, so the root of a "/..." ban
	// is asked for by name as well.
	args := []string{"-e", "-find", "-f", "{{if .Dir}}{{.ImportPath}}{{end}}"}
	for _, p := range paths {
		args = append(args, p)
		if root, ok := strings.CutSuffix(p, "/..."); ok {
			args = append(args, root)
		}
	}
	out, err := goList(nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	found := Graph{imports: map[string][]string{}}
	for _, p := range strings.Fields(out) {
		found.imports[p] = nil
	}
	for _, p := range paths {
		if !found.Links(p) {
			t.Errorf("stale ban %s (%s): no such package in the module or its dependencies; update or delete the ban", p, banned[p])
		}
	}
}

// Graph is the import graph of a package and everything it links.
type Graph struct {
	roots   []string            // the packages listed, not only depended on
	imports map[string][]string // package → its imports
}

// List returns the packages pkg links on platform ("GOOS/GOARCH"), the
// standard library included.
func List(pkg, platform string) (*Graph, error) {
	goos, goarch, ok := strings.Cut(platform, "/")
	if !ok {
		return nil, fmt.Errorf("deptest: platform %q is not GOOS/GOARCH", platform)
	}
	env := []string{"GOOS=" + goos, "GOARCH=" + goarch, "CGO_ENABLED=0"}
	out, err := goList(env, "-deps", "-f", "{{.ImportPath}} {{not .DepOnly}} {{join .Imports \" \"}}", pkg)
	if err != nil {
		return nil, err
	}
	g := &Graph{imports: map[string][]string{}}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		g.imports[f[0]] = f[2:]
		if f[1] == "true" {
			g.roots = append(g.roots, f[0])
		}
	}
	if len(g.roots) == 0 {
		return nil, fmt.Errorf("deptest: go list %s for %s listed no package", pkg, platform)
	}
	return g, nil
}

// Links reports whether g holds a package that path (a key as in
// Rules.Banned) names.
func (g *Graph) Links(path string) bool { return len(g.matching(path)) > 0 }

// matching returns the packages of g that path (a key as in Rules.Banned)
// names, sorted.
func (g *Graph) matching(path string) []string {
	prefix, tree := strings.CutSuffix(path, "/...")
	var out []string
	for p := range g.imports {
		if p == prefix || tree && strings.HasPrefix(p, prefix+"/") {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// chain returns a shortest import chain from a root of g to pkg.
func (g *Graph) chain(pkg string) []string {
	from := map[string]string{}
	queue := slices.Clone(g.roots)
	for _, r := range g.roots {
		from[r] = ""
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == pkg {
			var c []string
			for ; p != ""; p = from[p] {
				c = append(c, p)
			}
			slices.Reverse(c)
			return c
		}
		for _, imp := range g.imports[p] {
			if _, seen := from[imp]; !seen {
				from[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	return []string{pkg}
}

// goList runs `go list` with the extra environment and returns its output.
func goList(env []string, args ...string) (string, error) {
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list %s (%s): %v\n%s", strings.Join(args, " "), strings.Join(env, " "), err, stderr.Bytes())
	}
	return string(out), nil
}

// ModuleList renders the modules that pkg (an import path) links on each
// of platforms, one "path version" line per module, sorted; a module not
// linked on every platform names where it is, by GOOS when it is linked on
// every platform of that GOOS in the list. The main module is left out.
func ModuleList(pkg string, platforms []string) (string, error) {
	where := map[string][]string{} // "path version" → platforms
	for _, p := range platforms {
		goos, goarch, ok := strings.Cut(p, "/")
		if !ok {
			return "", fmt.Errorf("deptest: platform %q is not GOOS/GOARCH", p)
		}
		env := []string{"GOOS=" + goos, "GOARCH=" + goarch, "CGO_ENABLED=0"}
		out, err := goList(env, "-deps", "-f",
			`{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{with .Replace}} => {{.Path}} {{.Version}}{{end}}{{end}}{{end}}`, pkg)
		if err != nil {
			return "", err
		}
		for _, m := range slices.Compact(slices.Sorted(strings.Lines(out))) {
			if m = strings.TrimSpace(m); m != "" {
				where[m] = append(where[m], p)
			}
		}
	}
	var b strings.Builder
	for _, m := range slices.Sorted(maps.Keys(where)) {
		b.WriteString(m)
		if on := where[m]; len(on) < len(platforms) {
			b.WriteString(" (" + strings.Join(byGOOS(on, platforms), ", ") + ")")
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// byGOOS shortens on, a subset of all, to a GOOS where on holds every
// platform of all with that GOOS.
func byGOOS(on, all []string) []string {
	count := func(list []string, goos string) int {
		n := 0
		for _, p := range list {
			if strings.HasPrefix(p, goos+"/") {
				n++
			}
		}
		return n
	}
	var out []string
	for _, p := range on {
		goos, _, _ := strings.Cut(p, "/")
		switch {
		case count(on, goos) < count(all, goos):
			out = append(out, p)
		case !slices.Contains(out, goos):
			out = append(out, goos)
		}
	}
	slices.Sort(out)
	return out
}
