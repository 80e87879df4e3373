package patch

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Title patterns of exclusions use path.Match's syntax — * any text, ?
// one character, [abc] [a-z] [^abc] a class, \ escapes — but match whole
// update titles case-insensitively, and * and ? match "/" too (Windows
// Update titles contain "x64/ARM64"). They are compiled to regular
// expressions once and cached, so that matching is linear in the title's
// length whatever the pattern.

var errBadPattern = errors.New("syntax error in pattern")

// glob is a compiled pattern: a pattern of literal text and * only is
// matched by substring search on the lower-cased title (simple, parts
// lower-cased, split at *), any other by its regular expression.
type glob struct {
	simple bool
	parts  []string
	re     *regexp.Regexp
}

// match reports whether the title (and its lower-cased form) matches.
func (g *glob) match(title, lower string) bool {
	if !g.simple {
		return g.re.MatchString(title)
	}
	ps := g.parts
	if len(ps) == 1 {
		return lower == ps[0]
	}
	if !strings.HasPrefix(lower, ps[0]) {
		return false
	}
	rest := lower[len(ps[0]):]
	for _, p := range ps[1 : len(ps)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return strings.HasSuffix(rest, ps[len(ps)-1])
}

// globCache maps a pattern to its *glob or its error.
var (
	globCache sync.Map
	globCount int
	globMu    sync.Mutex
)

const maxGlobCache = 4096

// compileGlob returns pattern's regular expression (after trimming
// spaces), or errBadPattern.
func compileGlob(pattern string) (*glob, error) {
	pattern = strings.TrimSpace(pattern)
	if v, ok := globCache.Load(pattern); ok {
		if g, ok := v.(*glob); ok {
			return g, nil
		}
		return nil, v.(error)
	}
	var g *glob
	re, err := globToRegexp(pattern)
	var v any = err
	if err == nil {
		g = &glob{re: re}
		if !strings.ContainsAny(pattern, `?[\`) {
			g.simple, g.parts = true, strings.Split(strings.ToLower(pattern), "*")
		}
		v = g
	}
	globMu.Lock()
	if globCount < maxGlobCache {
		globCount++
		globCache.Store(pattern, v)
	}
	globMu.Unlock()
	return g, err
}

func globToRegexp(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`(?is)\A`)
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '*':
			if i == 0 || rs[i-1] != '*' || i > 1 && rs[i-2] == '\\' {
				b.WriteString(`.*`)
			}
		case '?':
			b.WriteString(`.`)
		case '\\':
			if i+1 >= len(rs) {
				return nil, errBadPattern
			}
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case '[':
			j, class, err := globClass(rs, i+1)
			if err != nil {
				return nil, err
			}
			b.WriteString(class)
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`\z`)
	return regexp.Compile(b.String())
}

// globClass translates the class starting after "[" at rs[i]; it returns
// the index of the closing "]" and the regexp class.
func globClass(rs []rune, i int) (int, string, error) {
	var b strings.Builder
	negated := i < len(rs) && rs[i] == '^'
	if negated {
		i++
	}
	n, ranges := 0, 0
	for ; i < len(rs); i++ {
		if rs[i] == ']' && n > 0 {
			switch {
			case ranges > 0 && negated:
				return i, `[^` + b.String() + `]`, nil
			case ranges > 0:
				return i, `[` + b.String() + `]`, nil
			case negated: // only empty ranges: any character
				return i, `.`, nil
			}
			return i, `[^\x{0}-\x{10ffff}]`, nil // only empty ranges: nothing
		}
		lo, next, err := classChar(rs, i)
		if err != nil {
			return 0, "", err
		}
		i = next
		hi := lo
		if i+1 < len(rs) && rs[i+1] == '-' {
			if hi, next, err = classChar(rs, i+2); err != nil {
				return 0, "", err
			}
			i = next
		}
		n++
		if hi < lo {
			continue // as in path.Match, an inverted range is valid and matches nothing
		}
		fmt.Fprintf(&b, `\x{%x}`, lo)
		if hi != lo {
			fmt.Fprintf(&b, `-\x{%x}`, hi)
		}
		ranges++
	}
	return 0, "", errBadPattern
}

// classChar reads one (possibly escaped) character of a class at rs[i]:
// the character and the index of its last rune.
func classChar(rs []rune, i int) (rune, int, error) {
	if i >= len(rs) {
		return 0, 0, errBadPattern
	}
	switch rs[i] {
	case '\\':
		if i+1 >= len(rs) {
			return 0, 0, errBadPattern
		}
		return rs[i+1], i + 1, nil
	case '-', ']':
		return 0, 0, errBadPattern
	}
	return rs[i], i, nil
}

// matchTitle reports whether pattern matches title (lower: its
// lower-cased form); an invalid pattern matches nothing.
func matchTitle(pattern, title, lower string) bool {
	g, err := compileGlob(pattern)
	return err == nil && g.match(title, lower)
}
