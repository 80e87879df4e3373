package patch

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// readLines returns the non-empty, non-comment lines of a testdata file.
func readLines(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), " \r"); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var reglookupLine = regexp.MustCompile(`^/WOW6432Node/Microsoft/Windows/CurrentVersion/Uninstall/(.+)/DisplayName,SZ,(.*),$`)

// reglookupPrograms reads reglookup's DisplayName lines as the inventory
// reports uninstall entries: the key name is the ID.
func reglookupPrograms(t *testing.T, name string) []core.Program {
	var out []core.Program
	for _, l := range readLines(t, name) {
		m := reglookupLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("%s: unexpected line %q", name, l)
		}
		out = append(out, core.Program{Name: m[2], ID: m[1], Source: core.SourceRegistry32})
	}
	return out
}

// tablePrograms reads a PowerShell table of DisplayName and
// DisplayVersion by the header's column positions.
func tablePrograms(t *testing.T, name string) []core.Program {
	lines := readLines(t, name)
	col := strings.Index(lines[0], "DisplayVersion")
	var out []core.Program
	for _, l := range lines[2:] {
		out = append(out, core.Program{Name: strings.TrimSpace(l[:col]), Version: strings.TrimSpace(l[col:]), Source: core.SourceRegistry32})
	}
	return out
}

func namePrograms(t *testing.T, name string) []core.Program {
	var out []core.Program
	for _, l := range readLines(t, name) {
		if id, n, ok := strings.Cut(l, "\t"); ok {
			out = append(out, core.Program{Name: n, ID: id, Source: core.SourceRegistry64})
			continue
		}
		out = append(out, core.Program{Name: l, Source: core.SourceRegistry64})
	}
	return out
}

func keys(us []core.Update) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

func TestFindEOLCaptured(t *testing.T) {
	tests := []struct {
		file     string
		programs func(*testing.T, string) []core.Program
		want     []string
	}{
		{"reglookup-horcrux-wow6432-uninstall.txt", reglookupPrograms, []string{"skype:Skype_is1"}},
		{"getitemproperty-wow6432-flash.txt", tablePrograms, []string{"adobe-flash-player:Adobe Flash Player 32 NPAPI"}},
		{"sccm-installed-software-names.txt", namePrograms, []string{"adobe-flash-player:Adobe Flash Player 32 NPAPI"}},
		{"winget-oracle-jre-apps-and-features.txt", namePrograms, nil},
		{"transcribed-displaynames.txt", func(t *testing.T, n string) []core.Program {
			var out []core.Program
			for _, p := range namePrograms(t, n) {
				p.ID = "" // the source id column is not a registry key
				out = append(out, p)
			}
			return out
		}, []string{"adobe-air:Adobe AIR", "adobe-shockwave-player:Adobe Shockwave Player 12.3",
			"adobe-flash-player:Adobe Flash Player 32 NPAPI", "quicktime-windows:QuickTime 7", "adobe-flash-player:Adobe Flash Player 32 ActiveX"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := FindEOL(tt.programs(t, tt.file))
			if strings.Join(keys(got), "|") != strings.Join(tt.want, "|") {
				t.Errorf("FindEOL = %q\nwant %q", keys(got), tt.want)
			}
			for _, u := range got {
				if u.Source != core.SourceEOL || u.Classification != core.ClassEOL || u.Severity != core.SeverityCritical ||
					u.Key != core.UpdateKey(core.SourceEOL, u.ID, "") || u.Product == "" || !strings.Contains(u.Title, "remove it") {
					t.Errorf("update %+v", u)
				}
			}
		})
	}
}

func TestFindEOLVersionsAndPlatforms(t *testing.T) {
	// Constructed inputs (no captured Adobe AIR entry with a version was
	// found): Adobe's last AIR was 32.0.0.116, HARMAN's builds are 33+.
	progs := []core.Program{
		{Name: "Adobe AIR", Version: "32.0.0.116", Source: core.SourceRegistry32, ID: "Adobe AIR"},
		{Name: "Adobe AIR", Version: "51.1.3.1", Source: core.SourceRegistry32, ID: "Adobe AIR"},
		// macOS's own QuickTime Player is current; only QuickTime for Windows is EOL.
		{Name: "QuickTime Player", Version: "10.5", Source: core.SourceApp, ID: "com.apple.QuickTimePlayerX"},
		{Name: "QuickTime 7", Version: "7.79.80.95", Source: core.SourceApp, ID: "/Applications/QuickTime 7.app"},
		{Name: "QuickTime 7", Version: "7.79.80.95", Source: core.SourceRegistry32, ID: "{3D2CBC2C-65D4-4463-87AB-BB07C1C0F1E5}"},
		// Skype for Business is another product.
		{Name: "Skype for Business", Source: core.SourceRegistry64},
		{Name: "Skype", Version: "8.150.0.125", Source: core.SourceApp},
		// The Store package, named by its package name when its display
		// name is a resource reference (internal/inventory appx.go).
		{Name: "Microsoft.SkypeApp", Version: "15.120.3202.0", Source: core.SourceMSIX, ID: "Microsoft.SkypeApp_15.120.3202.0_x64__kzf8qxf38zg5c"},
		// The same program twice (two inventory views) is one update.
		{Name: "Skype", Version: "8.150.0.125", Source: core.SourceApp},
	}
	got := keys(FindEOL(progs))
	want := []string{"adobe-air:Adobe AIR", "quicktime-windows:{3D2CBC2C-65D4-4463-87AB-BB07C1C0F1E5}", "skype:Skype",
		"skype:Microsoft.SkypeApp_15.120.3202.0_x64__kzf8qxf38zg5c"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("FindEOL = %q\nwant %q", got, want)
	}
	if us := FindEOL(progs[:1]); us[0].Installed != "32.0.0.116" {
		t.Errorf("Installed = %q", us[0].Installed)
	}
	if FindEOL(nil) != nil {
		t.Error("no programs, some updates")
	}
}

func TestEOLAdvice(t *testing.T) {
	for _, e := range EndOfLife {
		a := EOLAdvice(e)
		if !strings.Contains(a.EN, e.Name) || !strings.Contains(a.DE, e.Name) || !strings.Contains(a.EN, "remove it") ||
			!strings.Contains(a.DE, "entfernen") || !strings.Contains(a.EN, e.Since.Format("2006-01-02")) {
			t.Errorf("%s: %+v", e.Key, a)
		}
		if got, ok := LookupEOL(e.Key); !ok || got.Key != e.Key {
			t.Errorf("LookupEOL(%s)", e.Key)
		}
	}
}

func TestMatchProductCaptured(t *testing.T) {
	tests := []struct {
		file     string
		programs func(*testing.T, string) []core.Program
		want     map[string]string // program name → product key; others match none
	}{
		{"reglookup-horcrux-wow6432-uninstall.txt", reglookupPrograms, map[string]string{"Google Chrome": "google-chrome"}},
		{"getitemproperty-wow6432-flash.txt", tablePrograms, map[string]string{}},
		{"sccm-installed-software-names.txt", namePrograms, map[string]string{
			"Adobe Acrobat Reader 2017 MUI": "adobe-acrobat-reader", "KeePass 2.39.1": "keepass", "Google Chrome": "google-chrome",
			"7-Zip 18.05 (x64 edition)": "7-zip", "Mozilla Firefox (en-US)": "firefox"}},
		{"winget-oracle-jre-apps-and-features.txt", namePrograms, map[string]string{
			"Java 8 Update 471": "java-oracle", "Java 8 Update 471 (64-bit)": "java-oracle"}},
		{"transcribed-displaynames.txt", namePrograms, map[string]string{
			"Google Chrome": "google-chrome", "7-Zip 15.14 (x64 edition)": "7-zip", "7-Zip 9.20 (x64 edition)": "7-zip",
			"Adobe Acrobat Reader DC": "adobe-acrobat-reader", "Mozilla Firefox 58.0.1 (x64 en-US)": "firefox",
			"Mozilla Firefox 52.5.0 ESR (x64 en-US)": "firefox", "TeamViewer 12": "teamviewer", "VLC media player": "vlc",
			"iTunes": "itunes", "PuTTY release 0.70 (64-bit)": "putty", "WinSCP 5.11.1": "winscp", "Java(TM) 7 Update 80": "java-oracle"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			for _, p := range tt.programs(t, tt.file) {
				got, ok := MatchProduct(p.Name)
				want, wantOK := tt.want[p.Name]
				if ok != wantOK || got.Key != want {
					t.Errorf("MatchProduct(%q) = %q, %v; want %q", p.Name, got.Key, ok, want)
				}
			}
		})
	}
}

func TestCatalog(t *testing.T) {
	want := []string{"adobe-acrobat-reader", "java-oracle", "java-temurin", "google-chrome", "firefox", "thunderbird", "libreoffice",
		"openoffice", "vlc", "winzip", "7-zip", "notepad-plus-plus", "ccleaner", "malwarebytes", "pidgin", "itunes", "zoom",
		"teamviewer", "anydesk", "microsoft-teams", "keepass", "putty", "winscp"}
	seen := map[string]bool{}
	ids := map[string]string{}
	for _, p := range Catalog {
		if seen[p.Key] {
			t.Errorf("product %s twice", p.Key)
		}
		seen[p.Key] = true
		if p.Name == "" || p.Vendor == "" || p.Match == nil || len(p.Winget) == 0 || len(p.Choco) == 0 {
			t.Errorf("%s: incomplete %+v", p.Key, p)
		}
		// No package ID is claimed twice within its package manager.
		for i, l := range [][]string{p.Winget, p.Choco, p.Brew} {
			for _, id := range l {
				k := []string{"winget", "choco", "brew"}[i] + ":" + strings.ToLower(id)
				if other, dup := ids[k]; dup {
					t.Errorf("%s in %s and %s", k, other, p.Key)
				}
				ids[k] = p.Key
			}
		}
	}
	// Names as the vendors' installers write them, typed in for the
	// regular expressions (not captures).
	for _, name := range []string{"Microsoft Teams", "Microsoft Teams classic", "Microsoft Teams (work or school)", "Teams Machine-Wide Installer", "MSTeams",
		"KeePass Password Safe 2.57.1", "Zoom Workplace (64-bit)", "zoom.us", "Eclipse Temurin JRE with Hotspot 21.0.9+10 (x64)", "LibreOffice 24.8.4.2"} {
		if _, ok := MatchProduct(name); !ok {
			t.Errorf("MatchProduct(%q) found nothing", name)
		}
	}
	for _, k := range want {
		if _, ok := Lookup(k); !ok {
			t.Errorf("catalogue misses %s", k)
		}
	}
	// Products that are not the catalogue's (typed in, not captures).
	for _, name := range []string{"KeePassXC", "Zoom Outlook Plugin", "LibreOffice 7.6 Help Pack (German)", "Google Chrome Beta",
		"Skype version 8.41", "QuickTime Player", "Microsoft Teams Meeting Add-in for Microsoft Office"} {
		if p, ok := MatchProduct(name); ok {
			t.Errorf("MatchProduct(%q) = %s", name, p.Key)
		}
	}
}

func TestEnrich(t *testing.T) {
	tests := []struct {
		u    core.Update
		want string
	}{
		{core.Update{Source: core.SourceWinget, ID: "Mozilla.Firefox", Title: "Mozilla Firefox (x64 de)"}, "firefox"},
		{core.Update{Source: core.SourceWinget, ID: "videolan.vlc", Title: "VLC"}, "vlc"},
		{core.Update{Source: core.SourceChoco, ID: "notepadplusplus.install", Title: "notepadplusplus.install"}, "notepad-plus-plus"},
		{core.Update{Source: core.SourceBrew, ID: "google-chrome", Title: "google-chrome"}, "google-chrome"},
		{core.Update{Source: core.SourceWinget, ID: "Some.Other", Title: "7-Zip 24.08 (x64)"}, "7-zip"},
		{core.Update{Source: core.SourceWindowsUpdate, ID: "abc", Title: "Microsoft Teams"}, ""},
		{core.Update{Source: core.SourceApt, ID: "vlc", Title: "vlc"}, "vlc"},
		{core.Update{Source: core.SourceWinget, ID: "Unknown.Thing", Title: "Unknown Thing"}, ""},
		{core.Update{Source: core.SourceWinget, ID: "Mozilla.Firefox", Product: "kept"}, "kept"},
	}
	for _, tt := range tests {
		if got := Enrich(tt.u).Product; got != tt.want {
			t.Errorf("Enrich(%s %s %q) = %q, want %q", tt.u.Source, tt.u.ID, tt.u.Title, got, tt.want)
		}
	}
}
