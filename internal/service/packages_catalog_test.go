package service

import (
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestCatalogValid: every catalog entry passes the validation every
// package passes, has a unique key and identity, and cites its vendor's
// document in both languages; an upload asks for its file.
func TestCatalogValid(t *testing.T) {
	keys, ids := map[string]bool{}, map[string]bool{}
	for _, e := range Catalog() {
		p, err := CatalogPackage(e)
		if err != nil {
			t.Errorf("%s: %v", e.Key, err)
			continue
		}
		id := p.Name + "|" + p.Version + "|" + p.OS + "|" + p.Arch
		if keys[e.Key] || ids[id] {
			t.Errorf("%s: key or identity %s twice", e.Key, id)
		}
		keys[e.Key], ids[id] = true, true
		if !strings.HasPrefix(e.Source.URL, "https://") || e.Source.Title == "" || e.Source.Note.EN == "" || e.Source.Note.DE == "" {
			t.Errorf("%s: source %+v", e.Key, e.Source)
		}
		if e.Source.Verify && !strings.Contains(e.Source.Note.EN, "Verify before use") {
			t.Errorf("%s: unverified switches not said in the note", e.Key)
		}
		// Nothing to upload means a command, not an upload without a file.
		if nothing := strings.Contains(e.Source.Note.EN, "Nothing to upload"); nothing != (p.Kind == core.PkgCommand) {
			t.Errorf("%s: kind %s, note %q", e.Key, p.Kind, e.Source.Note.EN)
		}
		for _, pp := range p.Params {
			if pp.Secret && (pp.Value != "" || pp.Set) {
				t.Errorf("%s: a secret with a value in the catalog: %+v", e.Key, pp)
			}
		}
	}
	for _, want := range []string{"rustdesk", "meshcentral-agent", "teamviewer-host", "anydesk", "defender-configure", "eset-management-agent",
		"bitdefender-gravityzone", "sophos-endpoint", "acronis-cyber-protect", "veeam-agent", "7zip", "notepad-plus-plus", "chrome-msi",
		"firefox-msi", "libreoffice", "vlc", "acrobat-reader"} {
		if !keys[want] {
			t.Errorf("catalog has no %s", want)
		}
	}
	// A secret without a value is still refused for the administrators'
	// own packages.
	in := Catalog()[0].Input
	if _, _, err := normalizePackage(in, nil, false); err == nil {
		t.Errorf("an own package with an unset secret passed")
	}
}
