package patch

import (
	"regexp"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Product is one third-party product of the curated catalogue: its
// package IDs in winget (the winget-pkgs community repository),
// Chocolatey (the community repository) and Homebrew (formula or cask),
// and Match, a regular expression on the names that programs of the
// inventory carry (Windows' uninstall DisplayName, macOS app names).
type Product struct {
	Key    string
	Name   string
	Vendor string
	Winget []string
	Choco  []string
	Brew   []string
	Match  *regexp.Regexp
}

// Catalog is the curated catalogue of third-party software that patch
// management promises to keep current: what the service Wacht replaces
// names (Adobe Acrobat Reader, Java, Chrome, Firefox, Thunderbird,
// LibreOffice, OpenOffice, VLC, WinZip, 7-Zip, Notepad++, CCleaner,
// Malwarebytes, Pidgin, iTunes) and what technicians ask for most (Zoom,
// TeamViewer, AnyDesk, Microsoft Teams, KeePass, PuTTY, WinSCP).
//
// How the package IDs were checked (2026-12-06, with the project's code
// search; an ID that is wrong only fails to match, it installs nothing):
//
//   - winget: manifests found in microsoft/winget-pkgs for
//     Adobe.Acrobat.Reader.32-bit, Oracle.JavaRuntimeEnvironment,
//     Oracle.JDK.17, Oracle.JDK.21, EclipseAdoptium.Temurin.21.JRE,
//     Mozilla.Firefox.ESR, Apache.OpenOffice, Corel.WinZip,
//     Piriform.CCleaner, Malwarebytes.Malwarebytes, Pidgin.Pidgin,
//     TeamViewer.TeamViewer.Host, DominikReichl.KeePass; the others are
//     the IDs of ChrisTitusTech/winutil's config/applications.json
//     (@086aecf4): 7zip.7zip, Adobe.Acrobat.Reader.64-bit,
//     AnyDesk.AnyDesk, Google.Chrome, Mozilla.Firefox, Apple.iTunes,
//     TheDocumentFoundation.LibreOffice, Notepad++.Notepad++, PuTTY.PuTTY,
//     Microsoft.Teams, TeamViewer.TeamViewer, Mozilla.Thunderbird,
//     VideoLAN.VLC, WinSCP.WinSCP, Zoom.Zoom. Not checked: the Temurin
//     8/11/17 JREs and the Temurin JDKs (the verified 21.JRE's pattern).
//   - Chocolatey: in chocolatey-community/chocolatey-packages (@7b9ddd89):
//     googlechrome, firefox, firefoxesr, thunderbird, libreoffice-fresh,
//     libreoffice-still, vlc, 7zip(.install), notepadplusplus(.install),
//     ccleaner, itunes, putty(.install), winscp(.install), malwarebytes
//     (history), javaruntime (history); a package source in another
//     maintainer's repository: adobereader, teamviewer, anydesk(.install),
//     keepass(.install), zoom, pidgin, microsoft-teams, jre8. Seen only in
//     install scripts, not in a package source: temurin17jre,
//     microsoft-teams-new-bootstrapper, openoffice, winzip,
//     teamviewer.host. Not checked: the other temurin* IDs.
//   - Homebrew: casks found in Homebrew/homebrew-cask for
//     adobe-acrobat-reader, oracle-jdk, temurin, temurin@17, google-chrome,
//     firefox, firefox@esr, thunderbird, libreoffice, openoffice, vlc,
//     malwarebytes, zoom, teamviewer, anydesk, microsoft-teams; formulae in
//     Homebrew/homebrew-core: pidgin, putty. Not found: sevenzip (kept, as
//     7-Zip's own name for its macOS build); not checked: temurin@8/11/21.
var Catalog = []Product{
	{Key: "adobe-acrobat-reader", Name: "Adobe Acrobat Reader", Vendor: "Adobe",
		Winget: []string{"Adobe.Acrobat.Reader.64-bit", "Adobe.Acrobat.Reader.32-bit"},
		Choco:  []string{"adobereader"}, Brew: []string{"adobe-acrobat-reader"},
		Match: regexp.MustCompile(`(?i)^Adobe (Acrobat )?Reader\b`)},
	{Key: "java-oracle", Name: "Oracle Java", Vendor: "Oracle",
		Winget: []string{"Oracle.JavaRuntimeEnvironment", "Oracle.JDK.21", "Oracle.JDK.17"},
		Choco:  []string{"jre8", "javaruntime"}, Brew: []string{"oracle-jdk"},
		Match: regexp.MustCompile(`(?i)^Java(\(TM\))? (\d+ Update \d+|SE (Runtime Environment|Development Kit))\b|^Java \d+ Update \d+`)},
	{Key: "java-temurin", Name: "Eclipse Temurin (Java)", Vendor: "Eclipse Adoptium",
		Winget: []string{"EclipseAdoptium.Temurin.8.JRE", "EclipseAdoptium.Temurin.11.JRE", "EclipseAdoptium.Temurin.17.JRE", "EclipseAdoptium.Temurin.21.JRE",
			"EclipseAdoptium.Temurin.8.JDK", "EclipseAdoptium.Temurin.11.JDK", "EclipseAdoptium.Temurin.17.JDK", "EclipseAdoptium.Temurin.21.JDK"},
		Choco: []string{"temurin8jre", "temurin11jre", "temurin17jre", "temurin21jre", "temurin8", "temurin11", "temurin17", "temurin21"},
		Brew:  []string{"temurin", "temurin@8", "temurin@11", "temurin@17", "temurin@21"},
		Match: regexp.MustCompile(`(?i)^(Eclipse Temurin|AdoptOpenJDK) (JRE|JDK)\b`)},
	{Key: "google-chrome", Name: "Google Chrome", Vendor: "Google",
		Winget: []string{"Google.Chrome"}, Choco: []string{"googlechrome"}, Brew: []string{"google-chrome"},
		Match: regexp.MustCompile(`(?i)^Google Chrome$`)},
	{Key: "firefox", Name: "Mozilla Firefox", Vendor: "Mozilla",
		Winget: []string{"Mozilla.Firefox", "Mozilla.Firefox.ESR"}, Choco: []string{"firefox", "firefoxesr"}, Brew: []string{"firefox", "firefox@esr"},
		Match: regexp.MustCompile(`(?i)^(Mozilla )?Firefox\b`)},
	{Key: "thunderbird", Name: "Mozilla Thunderbird", Vendor: "Mozilla",
		Winget: []string{"Mozilla.Thunderbird"}, Choco: []string{"thunderbird"}, Brew: []string{"thunderbird"},
		Match: regexp.MustCompile(`(?i)^(Mozilla )?Thunderbird\b`)},
	{Key: "libreoffice", Name: "LibreOffice", Vendor: "The Document Foundation",
		Winget: []string{"TheDocumentFoundation.LibreOffice"}, Choco: []string{"libreoffice-fresh", "libreoffice-still"}, Brew: []string{"libreoffice"},
		Match: regexp.MustCompile(`(?i)^LibreOffice( \d[\d.]*)?$`)},
	{Key: "openoffice", Name: "Apache OpenOffice", Vendor: "Apache Software Foundation",
		Winget: []string{"Apache.OpenOffice"}, Choco: []string{"openoffice"}, Brew: []string{"openoffice"},
		Match: regexp.MustCompile(`(?i)^(Apache )?OpenOffice(\.org)?( \d[\d.]*)?$`)},
	{Key: "vlc", Name: "VLC media player", Vendor: "VideoLAN",
		Winget: []string{"VideoLAN.VLC"}, Choco: []string{"vlc"}, Brew: []string{"vlc"},
		Match: regexp.MustCompile(`(?i)^VLC( media player)?$`)},
	{Key: "winzip", Name: "WinZip", Vendor: "Corel",
		Winget: []string{"Corel.WinZip"}, Choco: []string{"winzip"},
		Match: regexp.MustCompile(`(?i)^WinZip\b`)},
	{Key: "7-zip", Name: "7-Zip", Vendor: "Igor Pavlov",
		Winget: []string{"7zip.7zip"}, Choco: []string{"7zip", "7zip.install"}, Brew: []string{"sevenzip"},
		Match: regexp.MustCompile(`(?i)^7-Zip\b`)},
	{Key: "notepad-plus-plus", Name: "Notepad++", Vendor: "Notepad++ Team",
		Winget: []string{"Notepad++.Notepad++"}, Choco: []string{"notepadplusplus", "notepadplusplus.install"},
		Match: regexp.MustCompile(`(?i)^Notepad\+\+`)},
	{Key: "ccleaner", Name: "CCleaner", Vendor: "Piriform",
		Winget: []string{"Piriform.CCleaner"}, Choco: []string{"ccleaner"},
		Match: regexp.MustCompile(`(?i)^CCleaner\b`)},
	{Key: "malwarebytes", Name: "Malwarebytes", Vendor: "Malwarebytes",
		Winget: []string{"Malwarebytes.Malwarebytes"}, Choco: []string{"malwarebytes"}, Brew: []string{"malwarebytes"},
		Match: regexp.MustCompile(`(?i)^Malwarebytes\b`)},
	{Key: "pidgin", Name: "Pidgin", Vendor: "Pidgin",
		Winget: []string{"Pidgin.Pidgin"}, Choco: []string{"pidgin"}, Brew: []string{"pidgin"},
		Match: regexp.MustCompile(`(?i)^Pidgin\b`)},
	{Key: "itunes", Name: "iTunes", Vendor: "Apple",
		Winget: []string{"Apple.iTunes"}, Choco: []string{"itunes"},
		Match: regexp.MustCompile(`(?i)^iTunes$`)},
	{Key: "zoom", Name: "Zoom Workplace", Vendor: "Zoom",
		Winget: []string{"Zoom.Zoom"}, Choco: []string{"zoom"}, Brew: []string{"zoom"},
		Match: regexp.MustCompile(`(?i)^(Zoom( Workplace)?( ?\((32|64)[ -]?bit\))?|zoom\.us)$`)},
	{Key: "teamviewer", Name: "TeamViewer", Vendor: "TeamViewer",
		Winget: []string{"TeamViewer.TeamViewer", "TeamViewer.TeamViewer.Host"}, Choco: []string{"teamviewer", "teamviewer.host"}, Brew: []string{"teamviewer"},
		Match: regexp.MustCompile(`(?i)^TeamViewer\b`)},
	{Key: "anydesk", Name: "AnyDesk", Vendor: "AnyDesk Software",
		Winget: []string{"AnyDesk.AnyDesk"}, Choco: []string{"anydesk", "anydesk.install"}, Brew: []string{"anydesk"},
		Match: regexp.MustCompile(`(?i)^AnyDesk\b`)},
	{Key: "microsoft-teams", Name: "Microsoft Teams", Vendor: "Microsoft",
		Winget: []string{"Microsoft.Teams"}, Choco: []string{"microsoft-teams-new-bootstrapper", "microsoft-teams"}, Brew: []string{"microsoft-teams"},
		Match: regexp.MustCompile(`(?i)^(Microsoft Teams( classic| \(work or school\))?|Teams Machine-Wide Installer|MSTeams)$`)},
	{Key: "keepass", Name: "KeePass Password Safe", Vendor: "Dominik Reichl",
		Winget: []string{"DominikReichl.KeePass"}, Choco: []string{"keepass", "keepass.install"},
		Match: regexp.MustCompile(`(?i)^KeePass( Password Safe\b.*| \d[\d.]*)?$`)},
	{Key: "putty", Name: "PuTTY", Vendor: "Simon Tatham",
		Winget: []string{"PuTTY.PuTTY"}, Choco: []string{"putty", "putty.install"}, Brew: []string{"putty"},
		Match: regexp.MustCompile(`(?i)^PuTTY\b`)},
	{Key: "winscp", Name: "WinSCP", Vendor: "Martin Přikryl",
		Winget: []string{"WinSCP.WinSCP"}, Choco: []string{"winscp", "winscp.install"},
		Match: regexp.MustCompile(`(?i)^WinSCP\b`)},
}

// Lookup returns the catalogue's product of key.
func Lookup(key string) (Product, bool) {
	for _, p := range Catalog {
		if p.Key == key {
			return p, true
		}
	}
	return Product{}, false
}

// MatchProduct returns the product whose Match fits an inventory
// program's name.
func MatchProduct(name string) (Product, bool) {
	name = strings.TrimSpace(name)
	for _, p := range Catalog {
		if p.Match.MatchString(name) {
			return p, true
		}
	}
	return Product{}, false
}

// productByID returns the product that lists id for source (winget and
// Homebrew IDs compare case-insensitively, as the tools do).
func productByID(source, id string) (Product, bool) {
	for _, p := range Catalog {
		var ids []string
		switch source {
		case core.SourceWinget:
			ids = p.Winget
		case core.SourceChoco:
			ids = p.Choco
		case core.SourceBrew:
			ids = p.Brew
		}
		for _, x := range ids {
			if strings.EqualFold(x, id) {
				return p, true
			}
		}
	}
	return Product{}, false
}

// Enrich sets u.Product to the catalogue's product: by package ID for
// winget, Chocolatey and Homebrew updates, else by title for any source
// but the operating system's own (Windows Update, softwareupdate, whose
// titles name no third-party product). A product already set is kept.
func Enrich(u core.Update) core.Update {
	if u.Product != "" {
		return u
	}
	if p, ok := productByID(u.Source, u.ID); ok {
		u.Product = p.Key
		return u
	}
	if u.Source == core.SourceWindowsUpdate || u.Source == core.SourceSoftwareUpd || u.Source == core.SourceEOL {
		return u
	}
	if p, ok := MatchProduct(u.Title); ok {
		u.Product = p.Key
	}
	return u
}
