package langtest

import (
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	entries := []Entry{
		{Key: "svc.count", EN: "%d of %d service|%d of %d services", DE: "%d von %d Dienst|%d von %d Diensten"},
		{Key: "save", EN: "Save changes", DE: "Änderungen speichern"},
		{Key: "status", EN: "Status", DE: "Status"},
		{Key: "all", EN: "All %d services run", DE: "Alle %d Dienste laufen"},
		{Key: "brand", EN: "Wacht Agent", DE: "Wacht Agent"},
	}
	de := New("de", entries, nil)
	page := Visible(`<html><head><title>Geräte</title><style>.x{}</style><script>var s = "Save changes";</script></head>
<body><p>Status: 4 Dienste</p><button title="Save changes">Speichern</button><input type="submit" value="Delete">
<select><option value="Settings">Einstellungen</option></select></body></html>`)
	var got []string
	for _, h := range de.Find(page) {
		got = append(got, h.Key+"="+h.Phrase)
	}
	if want := "word (langtest.Words)=Delete save=Save changes"; strings.Join(got, " ") != want {
		t.Errorf("German page: got %v, want %s", got, want)
	}
	en := New("en", entries, nil)
	if hits := en.Find(Visible(`<p>2 of 3 services, Wacht Agent</p>`)); len(hits) != 0 {
		t.Errorf("English page: %v", hits)
	}
	if hits := en.Find(Visible(`<p>Alle 3 Dienste laufen</p>`)); len(hits) != 1 || hits[0].Key != "all" {
		t.Errorf("English page with German plural: %v", hits)
	}
	if hits := de.Find("Datensicherungen Geräte-Backup-Plan"); len(hits) != 0 {
		t.Errorf("part of a longer word counted: %v", hits)
	}
}
