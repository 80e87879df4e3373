package inventory

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Portable parsers of macOS tools' text output and of the property lists
// that describe installed software.

// parseFileVault reads `fdesetup status`: "FileVault is On." or "FileVault
// is Off.", followed while the disk converts by "Encryption in progress:
// Percent completed = 42.0" (or "Decryption in progress…"). It returns
// "on", "off" or "partial".
func parseFileVault(out string) (string, error) {
	state := ""
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "FileVault is On"):
			state = "on"
		case strings.HasPrefix(line, "FileVault is Off"):
			state = "off"
		case strings.HasPrefix(line, "Encryption in progress"), strings.HasPrefix(line, "Decryption in progress"):
			return "partial", nil
		}
	}
	if state == "" {
		return "", fmt.Errorf("fdesetup status printed no FileVault state: %q", headLine(out))
	}
	return state, nil
}

// parseADDomain reads `dsconfigad -show`, which prints "Active Directory
// Domain = corp.example.com" among other settings when the Mac is bound
// and nothing when it is not.
func parseADDomain(out string) string {
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "Active Directory Domain" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// parseDsclUsers reads `dscl . -list /Users UniqueID` ("name  uid" lines)
// and returns the people's accounts: UID 500 and up, without the
// underscore-prefixed service accounts.
func parseDsclUsers(out string) ([]string, error) {
	var users []string
	parsed := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("dscl: unexpected line %q", sc.Text())
		}
		uid, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("dscl: unexpected line %q", sc.Text())
		}
		parsed++
		if uid >= 500 && !strings.HasPrefix(f[0], "_") {
			users = append(users, f[0])
		}
	}
	if parsed == 0 {
		return nil, errors.New("dscl listed no accounts")
	}
	return users, nil
}

// parseDsclMembers reads `dscl . -read /Groups/admin GroupMembership`:
// "GroupMembership: root alice", or the attribute name on a line of its
// own and the values indented below it when they are long. A group
// without members prints "No such key: GroupMembership".
func parseDsclMembers(out string) []string {
	var members []string
	in := false
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "GroupMembership:"); ok {
			in = true
			members = append(members, strings.Fields(rest)...)
			continue
		}
		if in && strings.HasPrefix(line, " ") {
			members = append(members, strings.Fields(line)...)
			continue
		}
		in = false
	}
	return members
}

// dsclLocalUsers joins the account list with the admin group's members.
func dsclLocalUsers(names, admins []string) []core.LocalUser {
	isAdmin := map[string]bool{}
	for _, a := range admins {
		isAdmin[a] = true
	}
	out := []core.LocalUser{}
	for _, n := range names {
		out = append(out, core.LocalUser{Name: n, Admin: isAdmin[n]})
	}
	return out
}

// bundleProgram describes an app bundle from its Info.plist. The name is
// what Finder shows (CFBundleDisplayName, CFBundleName, else the folder
// name); the version is the marketing version (CFBundleShortVersionString,
// else the build number CFBundleVersion).
func bundleProgram(bundle string, info any) (core.Program, error) {
	d, ok := info.(map[string]any)
	if !ok {
		return core.Program{}, fmt.Errorf("%s: Info.plist is a %T, not a dictionary", bundle, info)
	}
	p := core.Program{
		Name:    plistString(d, "CFBundleDisplayName", "CFBundleName"),
		Version: plistString(d, "CFBundleShortVersionString", "CFBundleVersion"),
		ID:      plistString(d, "CFBundleIdentifier"),
		Source:  core.SourceApp,
	}
	if p.Name == "" {
		p.Name = strings.TrimSuffix(filepath.Base(bundle), ".app")
	}
	if p.ID == "" {
		p.ID = bundle
	}
	return p, nil
}

// receiptProgram describes a pkg receipt (/var/db/receipts/ID.plist:
// PackageIdentifier, PackageVersion, InstallDate). Receipts of macOS's own
// components (com.apple.pkg.*) are not programs a technician looks for;
// ok is false for them.
func receiptProgram(receipt any) (p core.Program, ok bool, err error) {
	d, isDict := receipt.(map[string]any)
	if !isDict {
		return core.Program{}, false, fmt.Errorf("receipt is a %T, not a dictionary", receipt)
	}
	id := plistString(d, "PackageIdentifier")
	if id == "" {
		return core.Program{}, false, errors.New("receipt without PackageIdentifier")
	}
	if strings.HasPrefix(id, "com.apple.pkg.") {
		return core.Program{}, false, nil
	}
	p = core.Program{Name: id, Version: plistString(d, "PackageVersion"), Source: core.SourcePkg, ID: id}
	if t, ok := d["InstallDate"].(time.Time); ok {
		p.InstallDate = t.UTC().Format(time.DateOnly)
	}
	return p, true, nil
}

// scanSoftware lists the app bundles in roots (and one folder level down,
// where vendors group their apps: "/Applications/Microsoft Office/…app")
// and the pkg receipts in receipts. The first root must be readable; the
// others may be absent. A bundle or receipt that cannot be read is left
// out: a broken bundle is not an installed program.
func scanSoftware(ctx context.Context, roots []string, receipts string) ([]core.Program, error) {
	progs := []core.Program{}
	for i, root := range roots {
		es, err := os.ReadDir(root)
		if err != nil {
			if i > 0 && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("listing %s: %w", root, err)
		}
		for _, e := range es {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			p := filepath.Join(root, e.Name())
			switch {
			case strings.HasSuffix(e.Name(), ".app"):
				progs = appendBundle(progs, p)
			case e.IsDir() && !slices.Contains(roots, p):
				inner, _ := filepath.Glob(filepath.Join(p, "*.app"))
				for _, app := range inner {
					progs = appendBundle(progs, app)
				}
			}
		}
	}
	files, err := os.ReadDir(receipts)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", receipts, err)
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !strings.HasSuffix(f.Name(), ".plist") {
			continue // the .bom file beside each receipt
		}
		b, err := os.ReadFile(filepath.Join(receipts, f.Name()))
		if err != nil {
			continue
		}
		v, err := parsePlist(b)
		if err != nil {
			continue
		}
		if p, ok, err := receiptProgram(v); err == nil && ok {
			progs = append(progs, p)
		}
	}
	return progs, nil
}

// appendBundle adds the app bundle at dir when its Info.plist reads.
func appendBundle(progs []core.Program, dir string) []core.Program {
	b, err := os.ReadFile(filepath.Join(dir, "Contents", "Info.plist"))
	if err != nil {
		return progs
	}
	v, err := parsePlist(b)
	if err != nil {
		return progs
	}
	p, err := bundleProgram(dir, v)
	if err != nil {
		return progs
	}
	return append(progs, p)
}

// headLine returns s's first line, for error messages.
func headLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
