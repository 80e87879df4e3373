package updates

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Brew is Homebrew on macOS, run as the user who owns it: brew refuses to
// run as root. Scan updates Homebrew's formulae (brew update) and lists
// the outdated formulae and casks (brew outdated --json=v2); pinned
// formulae are left out (brew upgrade does not touch them). Every update
// is core.ClassApplication. Install runs brew upgrade NAME… and confirms
// with a new outdated listing.
type Brew struct {
	run  pmRunner
	Bin  string
	User string // the account brew runs as; "" fails the scan
}

func (b *Brew) Name() string { return core.SourceBrew }

// brewEnv keeps brew from updating itself on every command, asking, or
// sending analytics.
var brewEnv = []string{"HOMEBREW_NO_AUTO_UPDATE=1", "NONINTERACTIVE=1", "HOMEBREW_NO_ANALYTICS=1", "HOMEBREW_NO_ENV_HINTS=1"}

func (b *Brew) brew(ctx context.Context, args ...string) (pmOut, error) {
	if b.User == "" {
		return pmOut{}, toolErr(nil, "Homebrew refuses to run as root, and no console user or owner of Homebrew was found to run it as.",
			"Homebrew läuft nicht als root, und es wurde kein angemeldeter Benutzer oder Eigentümer von Homebrew gefunden, als der es laufen könnte.")
	}
	out, err := b.run(ctx, pmCmd{argv: append([]string{b.Bin}, args...), env: brewEnv, user: b.User})
	if err != nil {
		return out, fmt.Errorf("brew %s as %s: %w", args[0], b.User, err)
	}
	return out, nil
}

// Scan lists the outdated formulae and casks.
func (b *Brew) Scan(ctx context.Context) ([]core.Update, error) {
	up, err := b.brew(ctx, "update", "--quiet")
	if err != nil {
		return nil, err
	}
	if up.exit != 0 {
		return nil, toolErr(nil, "brew update failed (exit %d): %s", "brew update ist fehlgeschlagen (Exit %d): %s", up.exit, lastLinesOf(up.combined(), 2))
	}
	return b.outdated(ctx)
}

func (b *Brew) outdated(ctx context.Context) ([]core.Update, error) {
	out, err := b.brew(ctx, "outdated", "--json=v2")
	if err != nil {
		return nil, err
	}
	if out.exit != 0 {
		return nil, toolErr(nil, "brew outdated failed (exit %d): %s", "brew outdated ist fehlgeschlagen (Exit %d): %s", out.exit, lastLinesOf(out.combined(), 2))
	}
	return ParseBrewOutdated(out.stdout)
}

type brewItem struct {
	Name              string   `json:"name"`
	InstalledVersions []string `json:"installed_versions"`
	CurrentVersion    string   `json:"current_version"`
	Pinned            bool     `json:"pinned"`
}

// ParseBrewOutdated reads brew outdated --json=v2. Anything before the
// JSON (a warning brew printed on stdout) is skipped.
func ParseBrewOutdated(out string) ([]core.Update, error) {
	if i := strings.Index(out, "{"); i > 0 {
		out = out[i:]
	}
	var v struct {
		Formulae []brewItem `json:"formulae"`
		Casks    []brewItem `json:"casks"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, toolErr(nil, "brew's JSON could not be read: %v", "Das JSON von brew ließ sich nicht lesen: %v", err)
	}
	var us []core.Update
	add := func(items []brewItem, cask bool) {
		for _, it := range items {
			if it.Pinned || it.Name == "" {
				continue
			}
			u := core.Update{Source: core.SourceBrew, ID: it.Name, Version: it.CurrentVersion, Title: it.Name, Classification: core.ClassApplication,
				Key: core.UpdateKey(core.SourceBrew, it.Name, it.CurrentVersion)}
			if cask {
				u.Title += " (cask)"
			}
			if n := len(it.InstalledVersions); n > 0 {
				u.Installed = it.InstalledVersions[n-1]
			}
			if !slices.ContainsFunc(us, func(x core.Update) bool { return x.Key == u.Key }) {
				us = append(us, u)
			}
		}
	}
	add(v.Formulae, false)
	add(v.Casks, true)
	return us, nil
}

// Install upgrades us with brew upgrade NAME… as the user.
func (b *Brew) Install(ctx context.Context, us []core.Update, progress func(Result)) ([]Result, error) {
	c := confirmer{
		tool: "brew",
		upgrade: func(ctx context.Context, us []core.Update) (pmOut, error) {
			args := []string{"upgrade"}
			for _, u := range us {
				args = append(args, u.ID)
			}
			return b.brew(ctx, args...)
		},
		state: func(ctx context.Context, us []core.Update) (map[string]string, error) {
			listed, err := b.outdated(ctx)
			if err != nil {
				return nil, err
			}
			st := map[string]string{}
			for _, u := range us {
				st[u.Key] = "up to date"
				for _, l := range listed {
					if l.ID == u.ID {
						st[u.Key] = "outdated (" + l.Installed + ")"
					}
				}
			}
			return st, nil
		},
		done: func(_ core.Update, state string) bool { return state == "up to date" },
		stop: func(o pmOut) error {
			all := o.combined()
			if line := matchLine(all, []string{"has already locked", "Another active Homebrew", "is already running"}); line != "" {
				return toolErr(ErrBusy, "Another Homebrew process is running (%s).", "Ein anderer Homebrew-Prozess läuft (%s).", line)
			}
			if line := matchLine(all, []string{"No space left on device"}); line != "" {
				return toolErr(ErrDiskFull, "Not enough free disk space (%s).", "Nicht genug freier Speicherplatz (%s).", line)
			}
			return nil
		},
		message: func(o pmOut) core.Text {
			detail := firstLineWith(o.combined(), "Error:")
			if detail == "" {
				detail = lastLinesOf(o.combined(), 2)
			}
			return bitext("brew upgrade failed with exit code %d: %s", "brew upgrade ist mit Exitcode %d fehlgeschlagen: %s", o.exit, detail)
		},
		okExit: func(exit int) bool { return exit == 0 },
	}
	return c.install(ctx, us, progress)
}
