package updates

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

var (
	chocoScanArgs = []string{"outdated", "--limit-output"}
	// chocoName is a Chocolatey package ID: no spaces.
	chocoName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
)

func chocoInstallArgs(name string) []string {
	return []string{"upgrade", name, "-y", "--no-progress", "--limit-output"}
}

// parseChocoOutdated reads `choco outdated --limit-output`: lines
// "name|current|available|pinned". Pinned packages are left out (choco
// upgrade does not upgrade them: someone pinned them on purpose), and so
// are rows whose available version is the installed one (older
// Chocolatey listed those too). Other lines (headers older versions print,
// warnings) are skipped; ok is false when no line was a package row and
// the output was not empty, so that garbage is not read as "nothing
// outdated".
func parseChocoOutdated(out []byte) (us []core.Update, ok bool) {
	sawRow, sawOther := false, false
	for _, l := range wingetLines(out) {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		f := strings.Split(l, "|")
		if len(f) != 4 || !chocoName.MatchString(f[0]) || (f[3] != "true" && f[3] != "false") || f[1] == "" || f[2] == "" {
			sawOther = true
			continue
		}
		sawRow = true
		if f[3] == "true" || f[1] == f[2] {
			continue
		}
		u := core.Update{
			Source:         core.SourceChoco,
			ID:             f[0],
			Version:        f[2],
			Installed:      f[1],
			Title:          f[0],
			Classification: core.ClassApplication,
		}
		u.Key = core.UpdateKey(u.Source, u.ID, u.Version)
		us = append(us, u)
	}
	if us == nil {
		us = []core.Update{}
	}
	return us, sawRow || !sawOther
}

// chocoExit words Chocolatey's exit codes: 0 success; 1641 and 3010
// success with a restart (started or needed); 350 a pending restart
// stopped it; 1604 the installation was suspended; 2 (enhanced exit codes:
// outdated found / nothing to do); 1 and -1 failure.
func chocoExit(exit uint32) (ok, reboot bool, msg core.Text) {
	switch exit {
	case 0:
		return true, false, core.Text{EN: "installed", DE: "installiert"}
	case 1641:
		return true, true, core.Text{EN: "installed; the installer started a restart (1641)", DE: "installiert; das Installationsprogramm hat einen Neustart ausgelöst (1641)"}
	case 3010:
		return true, true, core.Text{EN: "installed; a restart finishes it (3010)", DE: "installiert; ein Neustart schließt die Installation ab (3010)"}
	case 350:
		return false, true, core.Text{EN: "a restart is pending; Chocolatey did not install (350)", DE: "ein Neustart steht aus; Chocolatey hat nicht installiert (350)"}
	case 1604:
		return false, false, core.Text{EN: "the installation was suspended and is incomplete (1604)", DE: "die Installation wurde unterbrochen und ist unvollständig (1604)"}
	}
	code := int32(exit)
	return false, false, core.Text{EN: fmt.Sprintf("Chocolatey failed (exit code %d)", code), DE: fmt.Sprintf("Chocolatey ist fehlgeschlagen (Exit-Code %d)", code)}
}

// chocoSource is Chocolatey as a Source.
type chocoSource struct {
	find func() (string, error)
	run  runFunc
	busy func() bool // as wingetSource's
}

func (chocoSource) Name() string { return core.SourceChoco }

func (s chocoSource) Scan(ctx context.Context) ([]core.Update, error) {
	exe, err := s.find()
	if err != nil {
		return nil, err
	}
	out, exit, err := s.run(ctx, exe, chocoScanArgs...)
	if err != nil {
		return nil, fmt.Errorf("running choco outdated: %w", err)
	}
	// 0, or 2 with enhanced exit codes: outdated packages found.
	if exit != 0 && exit != 2 {
		_, _, m := chocoExit(exit)
		return nil, &TextError{Code: fmt.Sprint(int32(exit)), Text: core.Text{
			EN: "choco outdated: " + m.EN + " — " + tail(out, 300),
			DE: "choco outdated: " + m.DE + " — " + tail(out, 300)}}
	}
	us, ok := parseChocoOutdated(out)
	if !ok {
		return nil, &TextError{Code: "unreadable", Text: core.Text{
			EN: "choco outdated printed no package lines: " + tail(out, 300),
			DE: "choco outdated hat keine Paketzeilen ausgegeben: " + tail(out, 300)}}
	}
	return us, nil
}

func (s chocoSource) Install(ctx context.Context, us []core.Update, progress func(Result)) ([]Result, error) {
	exe, err := s.find()
	if err != nil {
		return nil, err
	}
	if s.busy != nil && s.busy() {
		return nil, installerBusy()
	}
	var rs []Result
	for _, u := range us {
		if err := ctx.Err(); err != nil {
			return rs, err
		}
		if !chocoName.MatchString(u.ID) {
			return rs, fmt.Errorf("%q is not a Chocolatey package name", u.ID)
		}
		out, exit, err := s.run(ctx, exe, chocoInstallArgs(u.ID)...)
		if err != nil {
			return rs, fmt.Errorf("running choco upgrade %s: %w", u.ID, err)
		}
		ok, reboot, msg := chocoExit(exit)
		r := Result{Key: u.Key, OK: ok, RebootNeeded: reboot, Message: msg, Output: tail(out, 2000)}
		if exit != 0 {
			r.Code = fmt.Sprint(int32(exit))
		}
		rs = append(rs, r)
		if progress != nil {
			progress(r)
		}
	}
	return rs, nil
}
