// Package antivirus is the "antivirus" check, meant to run daily: it finds
// the antivirus products of the machine (Windows Security Center or
// Microsoft Defender on Windows Server; on macOS XProtect, Defender for
// Endpoint, Sophos, ESET, Bitdefender and, as "installed, status not
// readable" warnings, other known products; ClamAV and Defender for
// Endpoint on Linux) and fails when none is active, real-time protection
// is off, or signatures are older than a threshold. "No supported product
// found" is its own failure, never a pass. On macOS XProtect is the
// baseline: with a third-party product installed, that product decides
// the verdict (see macav.go for what is readable without private APIs).
// It reports one result (key "antivirus") naming product, version and
// signature age; the value is the signature age in days.
//
// Parameters (all optional; the defaults need no configuration):
//
//	{"max_signature_age_days": 3, "xprotect_max_age_days": 60, "clamav_database": "/var/lib/clamav"}
//
// XProtect has its own limit because Apple ships its signatures every few
// weeks, not daily.
package antivirus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Name is the check's registered name.
const Name = "antivirus"

// Key is the key of the check's single result.
const Key = "antivirus"

func init() {
	check.Register(checkspec.Antivirus, func(raw json.RawMessage) (check.Check, error) {
		return newCheck(raw, osSource{})
	})
	check.AllowBuiltin(osTools...)
}

// product is what the check knows about one antivirus product.
type product struct {
	Name       string
	Version    string // product or engine version
	Active     bool   // enabled with real-time protection
	Inactive   string // why it is not active, when known
	UpToDate   *bool  // the product's own verdict, when it gives one
	SigVersion string
	SigTime    time.Time // when signatures were built or installed; zero if unknown
	LastScan   time.Time
	// MaxAge overrides the signature age limit for products that update
	// on a slower cadence by design (XProtect).
	MaxAge time.Duration
	// Warnings are problems that do not make it inactive (freshclam not
	// running, product not healthy).
	Warnings []string
	// Baseline marks protection the OS always has (XProtect): when another
	// product is installed, the verdict is about that product, because it
	// is the one the service provider deployed and must know to work.
	Baseline bool
}

// source lists the antivirus products of this machine.
type source interface {
	Products(ctx context.Context, p params) ([]product, error)
}

type params struct {
	MaxSignatureAgeDays float64 `json:"max_signature_age_days"`
	// XProtect is updated by Apple every few weeks, not daily.
	XProtectMaxAgeDays float64 `json:"xprotect_max_age_days"`
	ClamAVDatabase     string  `json:"clamav_database"` // default: the distribution's folder
}

type avCheck struct {
	p   params
	src source
	now func() time.Time
}

func newCheck(raw json.RawMessage, src source) (*avCheck, error) {
	c := &avCheck{p: params{MaxSignatureAgeDays: 3, XProtectMaxAgeDays: 60}, src: src, now: time.Now}
	if err := checkspec.Antivirus.Decode(raw, &c.p); err != nil && !errors.Is(err, check.ErrNotConfigured) {
		return nil, err // without parameters the defaults stand
	}
	return c, nil
}

// Init validates the parameters.
func (c *avCheck) Init() error {
	if c.p.MaxSignatureAgeDays <= 0 || c.p.XProtectMaxAgeDays <= 0 {
		return fmt.Errorf("signature age limits must be positive (max_signature_age_days %v, xprotect_max_age_days %v)",
			c.p.MaxSignatureAgeDays, c.p.XProtectMaxAgeDays)
	}
	return nil
}

// Run lists the products and reports the verdict.
func (c *avCheck) Run(ctx context.Context, r check.Reporter) error {
	ps, err := c.src.Products(ctx, c.p)
	if err != nil {
		return err
	}
	r.Report(evaluate(ps, days(c.p.MaxSignatureAgeDays), c.now()))
	return nil
}

func days(d float64) time.Duration { return time.Duration(d * 24 * float64(time.Hour)) }

// problems lists why a product does not protect (fatal) and what else is
// wrong (warnings).
func problems(p product, maxAge time.Duration, now time.Time) (fatal, warn []string, fatalDE, warnDE []string) {
	if p.MaxAge > 0 {
		maxAge = p.MaxAge
	}
	if !p.Active {
		why, whyDE := "real-time protection is off", "Echtzeitschutz ist aus"
		if p.Inactive != "" {
			why, whyDE = why+" ("+p.Inactive+")", whyDE+" ("+warningDE(p.Inactive)+")"
		}
		fatal, fatalDE = append(fatal, why), append(fatalDE, whyDE)
	}
	if !p.SigTime.IsZero() && now.Sub(p.SigTime) > maxAge {
		aEN, aDE := msg.Num(now.Sub(p.SigTime).Hours()/24, 1)
		lEN, lDE := msg.Num(maxAge.Hours()/24, 0)
		fatal = append(fatal, fmt.Sprintf("signatures are %s days old (limit %s)", aEN, lEN))
		fatalDE = append(fatalDE, fmt.Sprintf("Signaturen sind %s Tage alt (Grenze %s)", aDE, lDE))
	} else if p.UpToDate != nil && !*p.UpToDate {
		fatal = append(fatal, "signatures are out of date")
		fatalDE = append(fatalDE, "Signaturen sind veraltet")
	}
	for _, w := range p.Warnings {
		warn = append(warn, w)
		warnDE = append(warnDE, warningDE(w))
	}
	return fatal, warn, fatalDE, warnDE
}

// warningsDE translates the fixed warning and inactivity texts the sources
// produce; product-specific modes without an entry stay as the product
// names them.
var warningsDE = map[string]string{
	"off":                               "aus",
	"snoozed":                           "zurückgestellt",
	"expired":                           "abgelaufen",
	"service disabled":                  "Dienst deaktiviert",
	"antivirus disabled":                "Virenschutz deaktiviert",
	"real-time protection disabled":     "Echtzeitschutz deaktiviert",
	"clamd is not running":              "clamd läuft nicht",
	"passive mode":                      "passiver Modus",
	"Passive Mode":                      "passiver Modus",
	"freshclam is not running":          "freshclam läuft nicht",
	"product reports it is not healthy": "Produkt meldet sich als nicht fehlerfrei",
	"product is not licensed":           "Produkt ist nicht lizenziert",
	sigAgeUnknown:                       "Alter der Signaturen unbekannt",
	statusUnreadable:                    "installiert, Status nicht lesbar",
	daemonStopped:                       "Schutzdienst läuft nicht",
}

func warningDE(w string) string {
	if de, ok := warningsDE[w]; ok {
		return de
	}
	return w
}

// describe names a product with version and signature age.
func describe(p product, now time.Time) (en, de string) {
	en, de = p.Name, p.Name
	if p.Version != "" {
		en += " " + p.Version
		de += " " + p.Version
	}
	var dEN, dDE []string
	if p.SigVersion != "" {
		dEN = append(dEN, "signatures "+p.SigVersion)
		dDE = append(dDE, "Signaturen "+p.SigVersion)
	}
	if !p.SigTime.IsZero() {
		aEN, aDE := msg.Num(now.Sub(p.SigTime).Hours()/24, 1)
		dEN = append(dEN, fmt.Sprintf("signature age %s days", aEN))
		dDE = append(dDE, fmt.Sprintf("Signaturalter %s Tage", aDE))
	}
	if !p.LastScan.IsZero() {
		dEN = append(dEN, "last scan "+p.LastScan.Local().Format("2006-01-02"))
		dDE = append(dDE, "letzter Scan "+p.LastScan.Local().Format("02.01.2006"))
	}
	if len(dEN) > 0 {
		en += " (" + strings.Join(dEN, ", ") + ")"
		de += " (" + strings.Join(dDE, ", ") + ")"
	}
	return en, de
}

// evaluate is the verdict: OK when at least one product is active with
// fresh signatures; warning when the best product has only warnings;
// failure otherwise, including when no product was found.
func evaluate(ps []product, maxAge time.Duration, now time.Time) check.Result {
	res := check.Result{Key: Key}
	if len(ps) == 0 {
		res.Status = core.StatusFailure
		res.Message = core.Text{
			EN: "No supported antivirus product found",
			DE: "Kein unterstütztes Antivirenprogramm gefunden",
		}
		return res
	}
	type scored struct {
		p                     product
		fatal, warn, fDE, wDE []string
	}
	var all []scored
	for _, p := range ps {
		f, w, fde, wde := problems(p, maxAge, now)
		all = append(all, scored{p, f, w, fde, wde})
	}
	// Best first: installed products before the OS baseline, then no
	// fatal problem, then fewest warnings.
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].p.Baseline != all[j].p.Baseline {
			return !all[i].p.Baseline
		}
		if (len(all[i].fatal) == 0) != (len(all[j].fatal) == 0) {
			return len(all[i].fatal) == 0
		}
		return len(all[i].warn) < len(all[j].warn)
	})
	best := all[0]
	if !best.p.SigTime.IsZero() {
		res.Value, res.Unit = check.Float(now.Sub(best.p.SigTime).Hours()/24), "d"
	}
	var en, de []string
	for i, s := range all {
		dEN, dDE := describe(s.p, now)
		issues, issuesDE := append(append([]string{}, s.fatal...), s.warn...), append(append([]string{}, s.fDE...), s.wDE...)
		if i > 0 && len(best.fatal) == 0 && len(s.fatal) > 0 {
			// A second product that stepped aside (Defender when a
			// third-party antivirus is active) is expected; name it only.
			issues, issuesDE = []string{"inactive"}, []string{"inaktiv"}
		}
		if len(issues) > 0 {
			dEN += ": " + strings.Join(issues, ", ")
			dDE += ": " + strings.Join(issuesDE, ", ")
		}
		en, de = append(en, dEN), append(de, dDE)
	}
	switch {
	case len(best.fatal) > 0:
		res.Status = core.StatusFailure
		res.Message = core.Text{EN: "No active, up-to-date antivirus: " + strings.Join(en, "; "), DE: "Kein aktives, aktuelles Antivirenprogramm: " + strings.Join(de, "; ")}
	case len(best.warn) > 0:
		res.Status = core.StatusWarning
		res.Message = core.Text{EN: "Antivirus active with warnings: " + strings.Join(en, "; "), DE: "Antivirenprogramm aktiv mit Warnungen: " + strings.Join(de, "; ")}
	default:
		res.Status = core.StatusOK
		res.Message = core.Text{EN: "Antivirus active: " + strings.Join(en, "; "), DE: "Antivirenprogramm aktiv: " + strings.Join(de, "; ")}
	}
	return res
}
