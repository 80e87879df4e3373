package patch

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// EOLProduct is software its vendor no longer updates: found in the
// inventory, it is reported as a critical vulnerability whose only fix is
// removing it.
type EOLProduct struct {
	Key    string
	Name   string
	Vendor string
	// Since is the end of the vendor's support.
	Since time.Time
	// Match is a regular expression on inventory program names.
	Match *regexp.Regexp
	// MaxMajor, if not 0, limits the product to versions whose major
	// number is at most this (Adobe AIR: Adobe's builds end at 32, HARMAN's
	// maintained builds start at 33). A program without a readable version
	// counts as end-of-life.
	MaxMajor int
	// WindowsOnly limits the product to Windows programs (QuickTime for
	// Windows; macOS's own QuickTime Player is current).
	WindowsOnly bool
	// URL is the vendor's announcement.
	URL string
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// EndOfLife lists the end-of-life software the service Wacht replaces
// still names.
var EndOfLife = []EOLProduct{
	{Key: "adobe-flash-player", Name: "Adobe Flash Player", Vendor: "Adobe", Since: day(2020, time.December, 31),
		Match: regexp.MustCompile(`(?i)^(Adobe|Macromedia) Flash Player\b`),
		URL:   "https://www.adobe.com/products/flashplayer/end-of-life.html"},
	{Key: "adobe-shockwave-player", Name: "Adobe Shockwave Player", Vendor: "Adobe", Since: day(2019, time.April, 9),
		Match: regexp.MustCompile(`(?i)^(Adobe|Macromedia) Shockwave( Player)?\b`),
		URL:   "https://helpx.adobe.com/shockwave/shockwave-end-of-life-faq.html"},
	{Key: "adobe-air", Name: "Adobe AIR (Adobe builds up to 32)", Vendor: "Adobe", Since: day(2020, time.December, 31),
		Match: regexp.MustCompile(`(?i)^Adobe AIR$`), MaxMajor: 32,
		URL: "https://airsdk.harman.com/faq"},
	{Key: "quicktime-windows", Name: "Apple QuickTime for Windows", Vendor: "Apple", Since: day(2016, time.January, 1),
		Match: regexp.MustCompile(`(?i)^QuickTime( 7)?( \d[\d.]*)?$`), WindowsOnly: true,
		URL: "https://support.apple.com/en-us/102476"},
	{Key: "skype", Name: "Skype", Vendor: "Microsoft", Since: day(2025, time.May, 5),
		Match: regexp.MustCompile(`(?i)^(Skype(™|\(TM\))?( version)?( \d[\d.]*)?|Microsoft\.SkypeApp)$`),
		URL:   "https://support.microsoft.com/en-us/skype/skype-is-retiring-in-may-2025-what-you-need-to-know-2a7d2501-427f-485e-8be0-2068a9f90472"},
}

// windowsSources are the inventory sources of Windows programs.
var windowsSources = map[string]bool{core.SourceRegistry64: true, core.SourceRegistry32: true, core.SourceUser: true, core.SourceMSIX: true}

// matchEOL returns the end-of-life product program p is, if any.
func matchEOL(p core.Program) (EOLProduct, bool) {
	name := strings.TrimSpace(p.Name)
	for _, e := range EndOfLife {
		if !e.Match.MatchString(name) || e.WindowsOnly && !windowsSources[p.Source] {
			continue
		}
		if e.MaxMajor > 0 {
			if major, ok := majorVersion(p.Version); ok && major > e.MaxMajor {
				continue
			}
		}
		return e, true
	}
	return EOLProduct{}, false
}

// majorVersion reads the leading number of a version ("32.0.0.116" → 32).
func majorVersion(v string) (int, bool) {
	v = strings.TrimSpace(v)
	i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(v)
	}
	n, err := strconv.Atoi(v[:i])
	return n, err == nil
}

// EOLAdvice is what a technician reads about an end-of-life product.
func EOLAdvice(e EOLProduct) core.Text {
	since := e.Since.Format("2006-01-02")
	return core.Text{
		EN: fmt.Sprintf("%s is no longer supported by %s (since %s) and gets no security updates: remove it", e.Name, e.Vendor, since),
		DE: fmt.Sprintf("%s wird von %s nicht mehr unterstützt (seit %s) und erhält keine Sicherheitsupdates: entfernen Sie es", e.Name, e.Vendor, since),
	}
}

// FindEOL returns one update per inventory program that is end-of-life
// software: Source core.SourceEOL, Classification core.ClassEOL, Severity
// critical, ID "<product key>:<program ID>" (the program's name if it has
// no ID) so that a removal can target that program, Installed its
// version, Title the program's name with the advice, Product the key.
// Programs are reported once each, in their order.
func FindEOL(programs []core.Program) []core.Update {
	var out []core.Update
	seen := map[string]bool{}
	for _, p := range programs {
		e, ok := matchEOL(p)
		if !ok {
			continue
		}
		target := p.ID
		if target == "" {
			target = strings.TrimSpace(p.Name)
		}
		id := e.Key + ":" + target
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, core.Update{
			Key: core.UpdateKey(core.SourceEOL, id, ""), Source: core.SourceEOL, ID: id,
			Installed:      p.Version,
			Title:          strings.TrimSpace(p.Name) + ": no longer supported by the vendor, remove it",
			Classification: core.ClassEOL, Severity: core.SeverityCritical,
			URL: e.URL, Product: e.Key,
		})
	}
	return out
}

// LookupEOL returns the end-of-life product of key.
func LookupEOL(key string) (EOLProduct, bool) {
	for _, e := range EndOfLife {
		if e.Key == key {
			return e, true
		}
	}
	return EOLProduct{}, false
}
