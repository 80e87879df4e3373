package updates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/wacht-rmm/wacht/internal/core"
)

// runFunc runs a program with an argument array (never a shell) and
// returns what it printed on stdout and stderr together and its exit code;
// err only when it could not run or ctx ended.
type runFunc func(ctx context.Context, exe string, args ...string) (out []byte, exit uint32, err error)

// Winget arguments. As SYSTEM the msstore source is not usable, so both
// scan and install name the winget source (DESIGN.md).
var (
	wingetScanArgs = []string{"upgrade", "--source", "winget", "--include-unknown",
		"--accept-source-agreements", "--disable-interactivity"}
)

func wingetInstallArgs(id string) []string {
	return []string{"upgrade", "--id", id, "--exact", "--silent", "--accept-package-agreements",
		"--accept-source-agreements", "--source", "winget", "--disable-interactivity"}
}

// wingetRow is one row of winget's upgrade table.
type wingetRow struct {
	Name, ID, Version, Available, Source string
}

var (
	ansiSeq    = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)
	dashLine   = regexp.MustCompile(`^-{10,}$`)
	spinnerRow = regexp.MustCompile(`^\s*[-\\|/]\s*$`)
	// progress bars: block characters and "1.00 MB / 2.00 MB" counters.
	progressRow = regexp.MustCompile(`^\s*[█▒░▓]+`)
)

// wingetLines splits winget's output into what a terminal would show:
// VT escape sequences removed, each line what follows its last carriage
// return (the spinner and progress bars overwrite themselves), spinner
// and progress lines dropped.
func wingetLines(out []byte) []string {
	out = bytes.TrimPrefix(out, []byte("\xef\xbb\xbf"))
	text := ansiSeq.ReplaceAllString(strings.ToValidUTF8(string(out), "\uFFFD"), "")
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, "\r")
		if i := strings.LastIndex(l, "\r"); i >= 0 {
			l = l[i+1:]
		}
		l = strings.TrimRight(l, " \t")
		if l != "" && (spinnerRow.MatchString(l) || progressRow.MatchString(l)) {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// cells is a line as display cells: East Asian wide characters take two
// columns in winget's layout, every other character one.
type cells struct {
	runes []rune
	col   []int // col[i] is the display column where runes[i] starts
}

func toCells(s string) cells {
	c := cells{runes: []rune(s)}
	c.col = make([]int, len(c.runes)+1)
	n := 0
	for i, r := range c.runes {
		c.col[i] = n
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	c.col[len(c.runes)] = n
	return c
}

// slice returns the runes from display column from (inclusive) to to
// (exclusive; -1 for the end), and whether both ends fall on a rune start.
func (c cells) slice(from, to int) (string, bool) {
	i := slices.Index(c.col, from)
	aligned := i >= 0 || from >= c.col[len(c.runes)]
	if i < 0 {
		i, _ = slices.BinarySearch(c.col, from)
	}
	j := len(c.runes)
	if to >= 0 {
		if k := slices.Index(c.col, to); k >= 0 {
			j = k
		} else if to < c.col[len(c.runes)] {
			aligned = false
			j, _ = slices.BinarySearch(c.col, to)
		}
	}
	if i > j {
		return "", false
	}
	return string(c.runes[i:j]), aligned
}

// header finds the column starts of a header line: each word preceded
// by spaces (the header words are single words in every language winget
// ships: Name Id Version Available Source, Name ID Version Verfügbar Quelle).
func header(line string) []int {
	c := toCells(line)
	var starts []int
	for i, r := range c.runes {
		if r != ' ' && (i == 0 || c.runes[i-1] == ' ') {
			starts = append(starts, c.col[i])
		}
	}
	return starts
}

// parseWingetUpgrade reads the tables of `winget upgrade`: every table
// (the "require explicit targeting" one of newer winget too) with Name,
// Id, Version, Available and, unless a source was named, Source, found by
// the dashes under its header, columns by the header's offsets (any
// language); a row whose cells do not line up (a name with characters
// winget measured differently) is split from the right instead. found
// says whether a table was there at all.
func parseWingetUpgrade(out []byte) (rows []wingetRow, found bool, err error) {
	lines := wingetLines(out)
	for i := 1; i < len(lines); i++ {
		if !dashLine.MatchString(lines[i]) {
			continue
		}
		starts := header(lines[i-1])
		if len(starts) < 4 || len(starts) > 5 {
			return nil, true, fmt.Errorf("winget's table header %q has %d columns, not 4 or 5", lines[i-1], len(starts))
		}
		found = true
		for _, l := range lines[i+1:] {
			if l == "" || dashLine.MatchString(l) {
				break
			}
			r, ok := wingetRowAt(l, starts)
			if !ok {
				r, ok = wingetRowFromRight(l, len(starts))
			}
			if !ok {
				break // the footer: "6 upgrades available." and the like
			}
			rows = append(rows, r)
		}
	}
	return rows, found, nil
}

// validRow checks a row's cells: an Id of the winget source
// ("Publisher.Package": a dot, no spaces), versions with a digit (or
// "Unknown"), a one-word source. Footer lines fail it.
func validRow(r wingetRow, withSource bool) bool {
	hasDigit := func(s string) bool { return strings.ContainsAny(s, "0123456789") }
	return r.Name != "" && strings.Contains(r.ID, ".") && !strings.ContainsAny(r.ID, " \t") &&
		(hasDigit(r.Version) || strings.EqualFold(r.Version, "unknown")) &&
		hasDigit(r.Available) && !strings.Contains(r.Available, " ") &&
		(!withSource || r.Source != "" && !strings.Contains(r.Source, " "))
}

func wingetRowAt(l string, starts []int) (wingetRow, bool) {
	c := toCells(l)
	cell := func(k int) (string, bool) {
		to := -1
		if k+1 < len(starts) {
			to = starts[k+1]
		}
		s, aligned := c.slice(starts[k], to)
		// The cell must begin after a space: otherwise the row is shifted.
		if k > 0 {
			if i := slices.Index(c.col, starts[k]); i > 0 && c.runes[i-1] != ' ' {
				aligned = false
			}
		}
		return strings.TrimSpace(s), aligned
	}
	var vals [5]string
	for k := range starts {
		v, ok := cell(k)
		if !ok {
			return wingetRow{}, false
		}
		vals[k] = v
	}
	r := wingetRow{Name: vals[0], ID: vals[1], Version: vals[2], Available: vals[3], Source: vals[4]}
	return r, validRow(r, len(starts) == 5)
}

// wingetRowFromRight splits a row by whitespace from the right: Source
// (if there), Available, Version (with its "<" or ">" prefix), Id; the
// rest is the name.
func wingetRowFromRight(l string, ncols int) (wingetRow, bool) {
	f := strings.Fields(l)
	var r wingetRow
	take := func() string {
		if len(f) == 0 {
			return ""
		}
		s := f[len(f)-1]
		f = f[:len(f)-1]
		return s
	}
	if ncols == 5 {
		r.Source = take()
	}
	r.Available = take()
	r.Version = take()
	if len(f) > 0 && (f[len(f)-1] == "<" || f[len(f)-1] == ">") {
		r.Version = take() + " " + r.Version
	}
	r.ID = take()
	r.Name = strings.Join(f, " ")
	return r, validRow(r, ncols == 5)
}

// wingetUpdates turns rows into updates: one per package ID (winget lists
// a package twice when two installs match it).
func wingetUpdates(rows []wingetRow) []core.Update {
	var out []core.Update
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[strings.ToLower(r.ID)] {
			continue
		}
		seen[strings.ToLower(r.ID)] = true
		u := core.Update{
			Source:         core.SourceWinget,
			ID:             r.ID,
			Version:        r.Available,
			Installed:      r.Version,
			Title:          r.Name,
			Classification: core.ClassApplication,
		}
		if strings.EqualFold(u.Installed, "unknown") {
			u.Installed = ""
		}
		u.Key = core.UpdateKey(u.Source, u.ID, u.Version)
		out = append(out, u)
	}
	return out
}

// wingetNothing are the exit codes with which winget says there is
// nothing to upgrade.
var wingetNothing = []uint32{0x8A150014, 0x8A15002B}

// wingetNone matches what winget prints when nothing is installed that a
// source knows an upgrade for (English and German).
var wingetNone = regexp.MustCompile(`(?i)^(No installed package found matching input criteria\.|No available upgrade found\.|Es wurde kein installiertes Paket gefunden, das den Eingabekriterien entspricht\.|Kein verfügbares Upgrade gefunden\.)$`)

// wingetScanResult reads a scan: the updates, or an error saying why
// there is no list (never an empty list for output it does not
// understand).
func wingetScanResult(out []byte, exit uint32) ([]core.Update, error) {
	rows, found, err := parseWingetUpgrade(out)
	if err != nil {
		return nil, err
	}
	if exit != 0 && !slices.Contains(wingetNothing, exit) {
		return nil, wingetError("winget upgrade", exit, out)
	}
	if found {
		return wingetUpdates(rows), nil
	}
	if slices.Contains(wingetNothing, exit) {
		return []core.Update{}, nil
	}
	for _, l := range wingetLines(out) {
		if wingetNone.MatchString(strings.TrimSpace(l)) {
			return []core.Update{}, nil
		}
	}
	return nil, &TextError{Code: "no-table", Text: core.Text{
		EN: "winget printed no upgrade table: " + tail(out, 300),
		DE: "winget hat keine Upgrade-Tabelle ausgegeben: " + tail(out, 300)}}
}

// wingetCodes are winget's own exit codes (APPINSTALLER_CLI_ERROR_*,
// src/AppInstallerSharedLib/Public/AppInstallerErrors.h) an upgrade
// commonly ends with, in English and German.
var wingetCodes = map[uint32]wuCode{
	0x8A150001: {"INTERNAL_ERROR", "winget internal error", "interner Fehler von winget", nil},
	0x8A150002: {"INVALID_CL_ARGUMENTS", "invalid command line arguments", "ungültige Befehlszeilenargumente", nil},
	0x8A150003: {"COMMAND_FAILED", "the command failed", "der Befehl ist fehlgeschlagen", nil},
	0x8A150008: {"DOWNLOAD_FAILED", "downloading the installer failed", "der Download des Installationsprogramms ist fehlgeschlagen", nil},
	0x8A15000F: {"SOURCE_DATA_MISSING", "data the source needs is missing (update the source: winget source update)", "Daten der Quelle fehlen (Quelle aktualisieren: winget source update)", nil},
	0x8A150010: {"NO_APPLICABLE_INSTALLER", "no installer of the package fits this system", "kein Installationsprogramm des Pakets passt zu diesem System", nil},
	0x8A150011: {"INSTALLER_HASH_MISMATCH", "the installer's hash does not match the manifest", "der Hash des Installationsprogramms passt nicht zum Manifest", nil},
	0x8A150014: {"NO_APPLICATIONS_FOUND", "no package found", "kein Paket gefunden", nil},
	0x8A150016: {"MULTIPLE_APPLICATIONS_FOUND", "several packages match", "mehrere Pakete passen", nil},
	0x8A150019: {"COMMAND_REQUIRES_ADMIN", "the command needs administrator rights", "der Befehl braucht Administratorrechte", nil},
	0x8A15002B: {"UPDATE_NOT_APPLICABLE", "no applicable upgrade found", "kein anwendbares Upgrade gefunden", nil},
	0x8A15002D: {"INSTALLER_SECURITY_CHECK_FAILED", "the installer failed the security check", "das Installationsprogramm hat die Sicherheitsprüfung nicht bestanden", nil},
	0x8A15002E: {"DOWNLOAD_SIZE_MISMATCH", "the download's size does not match", "die Größe des Downloads stimmt nicht", nil},
	0x8A15003A: {"BLOCKED_BY_POLICY", "group policy blocks the operation", "eine Gruppenrichtlinie blockiert den Vorgang", nil},
	0x8A150041: {"PACKAGE_AGREEMENTS_NOT_ACCEPTED", "the package agreements were not accepted", "die Paketvereinbarungen wurden nicht akzeptiert", nil},
	0x8A150045: {"SOURCE_OPEN_FAILED", "the source could not be opened (no connection to the winget source?)", "die Quelle konnte nicht geöffnet werden (keine Verbindung zur winget-Quelle?)", nil},
	0x8A150046: {"SOURCE_AGREEMENTS_NOT_ACCEPTED", "the source agreements were not accepted", "die Quellvereinbarungen wurden nicht akzeptiert", nil},
	0x8A150049: {"MSI_INSTALL_FAILED", "the MSI installation failed", "die MSI-Installation ist fehlgeschlagen", nil},
	0x8A15004B: {"FAILED_TO_OPEN_ALL_SOURCES", "no source could be opened", "keine Quelle konnte geöffnet werden", nil},
	0x8A15004F: {"UPGRADE_VERSION_NOT_NEWER", "the upgrade is not newer than the installed version", "das Upgrade ist nicht neuer als die installierte Version", nil},
	0x8A150050: {"UPGRADE_VERSION_UNKNOWN", "the installed version is unknown, so winget does not upgrade it", "die installierte Version ist unbekannt, daher aktualisiert winget sie nicht", nil},
	0x8A150056: {"INSTALLER_PROHIBITS_ELEVATION", "the installer refuses to run with administrator rights", "das Installationsprogramm verweigert die Ausführung mit Administratorrechten", nil},
	0x8A150061: {"PACKAGE_ALREADY_INSTALLED", "a version of the package is already installed", "eine Version des Pakets ist bereits installiert", nil},
	0x8A150101: {"INSTALL_PACKAGE_IN_USE", "the application is running; close it and try again", "die Anwendung läuft; schließen und erneut versuchen", nil},
	0x8A150102: {"INSTALL_INSTALL_IN_PROGRESS", "another installation is running", "eine andere Installation läuft", ErrBusy},
	0x8A150103: {"INSTALL_FILE_IN_USE", "a file is in use; close the application and try again", "eine Datei wird verwendet; Anwendung schließen und erneut versuchen", nil},
	0x8A150104: {"INSTALL_MISSING_DEPENDENCY", "a dependency is missing", "eine Abhängigkeit fehlt", nil},
	0x8A150105: {"INSTALL_DISK_FULL", "there is not enough free disk space", "es ist nicht genug freier Speicherplatz vorhanden", ErrDiskFull},
	0x8A150106: {"INSTALL_INSUFFICIENT_MEMORY", "not enough memory", "nicht genug Arbeitsspeicher", nil},
	0x8A150107: {"INSTALL_NO_NETWORK", "the installer needs a network connection", "das Installationsprogramm braucht eine Netzwerkverbindung", nil},
	0x8A150108: {"INSTALL_CONTACT_SUPPORT", "the installer failed (the vendor's support is needed)", "das Installationsprogramm ist fehlgeschlagen (Hersteller-Support nötig)", nil},
	0x8A150109: {"INSTALL_REBOOT_REQUIRED_TO_FINISH", "installed; a restart finishes it", "installiert; ein Neustart schließt die Installation ab", nil},
	0x8A15010A: {"INSTALL_REBOOT_REQUIRED_TO_INSTALL", "a restart is needed before it can install", "vor der Installation ist ein Neustart nötig", nil},
	0x8A15010B: {"INSTALL_REBOOT_INITIATED", "the installer started a restart", "das Installationsprogramm hat einen Neustart ausgelöst", nil},
	0x8A15010C: {"INSTALL_CANCELLED_BY_USER", "the installation was cancelled", "die Installation wurde abgebrochen", nil},
	0x8A15010D: {"INSTALL_ALREADY_INSTALLED", "another version is already installed", "eine andere Version ist bereits installiert", nil},
	0x8A15010E: {"INSTALL_DOWNGRADE", "a higher version is already installed", "eine höhere Version ist bereits installiert", nil},
	0x8A15010F: {"INSTALL_BLOCKED_BY_POLICY", "organization policy blocks the installation", "eine Richtlinie der Organisation blockiert die Installation", nil},
	0x8A150110: {"INSTALL_DEPENDENCIES", "installing the package's dependencies failed", "die Installation der Abhängigkeiten ist fehlgeschlagen", nil},
	0x8A150111: {"INSTALL_PACKAGE_IN_USE_BY_APPLICATION", "another application uses the package", "eine andere Anwendung verwendet das Paket", nil},
	0x8A150112: {"INSTALL_INVALID_PARAMETER", "the installer rejected a parameter", "das Installationsprogramm hat einen Parameter abgelehnt", nil},
	0x8A150113: {"INSTALL_SYSTEM_NOT_SUPPORTED", "the package does not support this system", "das Paket unterstützt dieses System nicht", nil},
	0xC0000135: {"STATUS_DLL_NOT_FOUND", "winget could not start: a DLL is missing (the VCLibs runtime winget needs as SYSTEM)", "winget konnte nicht starten: eine DLL fehlt (die VCLibs-Laufzeit, die winget als SYSTEM braucht)", nil},
}

// WingetText words a winget exit code.
func WingetText(exit uint32) core.Text {
	if c, ok := wingetCodes[exit]; ok {
		return core.Text{
			EN: fmt.Sprintf("0x%08X APPINSTALLER_CLI_ERROR_%s: %s", exit, c.name, c.en),
			DE: fmt.Sprintf("0x%08X APPINSTALLER_CLI_ERROR_%s: %s", exit, c.name, c.de),
		}
	}
	if exit&0xFFFF0000 == 0x8A150000 {
		return core.Text{EN: fmt.Sprintf("0x%08X: winget error", exit), DE: fmt.Sprintf("0x%08X: winget-Fehler", exit)}
	}
	if exit < 0x10000 {
		return core.Text{EN: fmt.Sprintf("exit code %d", exit), DE: fmt.Sprintf("Exit-Code %d", exit)}
	}
	return WUText(exit)
}

func wingetCode(exit uint32) string {
	if exit < 0x10000 {
		return strconv.FormatUint(uint64(exit), 10)
	}
	return fmt.Sprintf("0x%08X", exit)
}

func wingetError(op string, exit uint32, out []byte) *TextError {
	t := WingetText(exit)
	if c, ok := wingetCodes[exit]; ok && c.name == "STATUS_DLL_NOT_FOUND" {
		t.EN = strings.Replace(t.EN, "APPINSTALLER_CLI_ERROR_", "", 1)
		t.DE = strings.Replace(t.DE, "APPINSTALLER_CLI_ERROR_", "", 1)
	}
	te := &TextError{Code: wingetCode(exit), Is: wingetCodes[exit].is, Text: core.Text{EN: op + ": " + t.EN, DE: op + ": " + t.DE}}
	if s := tail(out, 200); s != "" {
		te.Text.EN += " — " + s
		te.Text.DE += " — " + s
	}
	return te
}

// tail returns the last n bytes of what a tool printed, on one line, cut
// at a character boundary.
func tail(out []byte, n int) string {
	s := strings.Join(strings.Fields(strings.Join(wingetLines(out), " ")), " ")
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return "…" + s
}

// wingetInstallResult reads one package's upgrade.
func wingetInstallResult(u core.Update, out []byte, exit uint32) Result {
	r := Result{Key: u.Key, Code: wingetCode(exit), Output: tail(out, 2000)}
	switch exit {
	case 0:
		r.OK = true
		r.Message = core.Text{EN: "installed", DE: "installiert"}
		for _, l := range wingetLines(out) {
			if strings.Contains(l, "Restart your PC to finish installation") || strings.Contains(l, "Starten Sie Ihren PC neu, um die Installation abzuschließen") {
				r.RebootNeeded = true
				r.Message = core.Text{EN: "installed; a restart finishes it", DE: "installiert; ein Neustart schließt die Installation ab"}
			}
		}
		r.Code = ""
	case 0x8A150109: // installed, reboot to finish
		r.OK, r.RebootNeeded = true, true
		r.Message = WingetText(exit)
	case 0x8A15010B: // the installer restarts the machine
		r.OK, r.RebootNeeded = true, true
		r.Message = WingetText(exit)
	default:
		r.Message = WingetText(exit)
	}
	return r
}

// pickWinget picks the newest winget.exe among the App Installer package
// folders ("…\WindowsApps\Microsoft.DesktopAppInstaller_1.22.11132.0_x64__8wekyb3d8bbwe\winget.exe"):
// as SYSTEM winget is not on PATH and its alias does not work.
func pickWinget(paths []string) string {
	best, bestV := "", []int(nil)
	for _, p := range paths {
		dir := filepath.Base(filepath.Dir(strings.ReplaceAll(p, `\`, "/")))
		parts := strings.Split(dir, "_")
		if len(parts) < 2 || !strings.EqualFold(parts[0], "Microsoft.DesktopAppInstaller") {
			continue
		}
		v, ok := parseDotted(parts[1])
		if !ok {
			continue
		}
		if best == "" || slices.Compare(v, bestV) > 0 {
			best, bestV = p, v
		}
	}
	return best
}

func parseDotted(s string) ([]int, bool) {
	var v []int
	for _, f := range strings.Split(s, ".") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, false
		}
		v = append(v, n)
	}
	return v, len(v) > 0
}

// wingetSource is winget as a Source: find locates winget.exe (an
// ErrUnsupported error when it is not installed), run runs it.
type wingetSource struct {
	find func() (string, error)
	run  runFunc
	// busy reports whether another installation runs (Windows
	// Installer's _MSIExecute mutex); nil: never.
	busy func() bool
}

// installerBusy is the error for an install that waits for another
// installation (ErrBusy: the agent retries in the window).
func installerBusy() error {
	return &TextError{Code: "busy", Is: ErrBusy, Text: core.Text{
		EN: "another installation is running (Windows Installer is busy)",
		DE: "eine andere Installation läuft (Windows Installer ist beschäftigt)"}}
}

func (wingetSource) Name() string { return core.SourceWinget }

func (s wingetSource) Scan(ctx context.Context) ([]core.Update, error) {
	exe, err := s.find()
	if err != nil {
		return nil, err
	}
	out, exit, err := s.run(ctx, exe, wingetScanArgs...)
	if err != nil {
		return nil, fmt.Errorf("running winget upgrade: %w", err)
	}
	return wingetScanResult(out, exit)
}

func (s wingetSource) Install(ctx context.Context, us []core.Update, progress func(Result)) ([]Result, error) {
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
		var r Result
		if strings.HasSuffix(u.ID, "…") {
			r = Result{Key: u.Key, Code: "truncated-id", Message: core.Text{
				EN: "winget truncated this package's ID in its table; update winget (App Installer) so that it prints whole IDs",
				DE: "winget hat die ID dieses Pakets in seiner Tabelle gekürzt; winget (App Installer) aktualisieren, damit es ganze IDs ausgibt"}}
		} else {
			out, exit, err := s.run(ctx, exe, wingetInstallArgs(u.ID)...)
			if err != nil {
				return rs, fmt.Errorf("running winget upgrade --id %s: %w", u.ID, err)
			}
			if len(rs) == 0 && exit == 0x8A150102 { // another installation runs: stop before any result
				return nil, wingetError("winget upgrade", exit, out)
			}
			r = wingetInstallResult(u, out, exit)
		}
		rs = append(rs, r)
		if progress != nil {
			progress(r)
		}
	}
	return rs, nil
}

// errNotInstalled says a tool is not on this machine.
func errNotInstalled(tool string) error {
	return &TextError{Code: "not-installed", Is: errors.ErrUnsupported, Text: core.Text{
		EN: tool + " is not installed", DE: tool + " ist nicht installiert"}}
}
