package web

import (
	"sort"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/langtest"
)

// crossLanguage are catalogue strings that are right in both languages
// although their keys differ per language: product and protocol names,
// and words German uses as they are. Decide per word; keep it short.
var crossLanguage = []string{
	"Wacht",    // the product
	"Agent",    // German IT uses "Agent" as well
	"Server",   // same word, same meaning
	"Name",     // same word
	"Notebook", // German IT term
	"Online", "Offline", "online", "offline",
	"Client", // in "OIDC client" and agent-side names only
}

// userData is what the fixture's users typed, shown as they typed it in
// every language; it is taken out of a page before the check.
var userData = []string{"Stromausfall beim Kunden"}

// visible is a page's visible text without userData.
func visible(body string) string {
	text := langtest.Visible(body)
	for _, s := range userData {
		text = strings.ReplaceAll(text, s, "")
	}
	return text
}

// catalogEntries lists the dashboard's catalogue for langtest.
func catalogEntries() []langtest.Entry {
	keys := make([]string, 0, len(catalog[langEN]))
	for k := range catalog[langEN] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]langtest.Entry, len(keys))
	for i, k := range keys {
		out[i] = langtest.Entry{Key: k, EN: catalog[langEN][k], DE: catalog[langDE][k]}
	}
	return out
}

// TestPagesSpeakOneLanguage renders every dashboard page in German and in
// English and fails on any string of the other language's catalogue: a
// value of two words or more, or one of langtest.Words. The failure names
// the page, the text found and its catalogue key.
func TestPagesSpeakOneLanguage(t *testing.T) {
	f := newTourFixture(t)
	entries := catalogEntries()
	for _, lang := range []string{langDE, langEN} {
		check := langtest.New(lang, entries, crossLanguage)
		out := f.browser(t, lang)
		for _, path := range publicPages {
			if body, ok := out.getPage(t, path); ok {
				for _, h := range check.Find(visible(body)) {
					t.Errorf("%s page %s: %s", lang, path, h)
				}
			}
		}
		b := f.browser(t, lang)
		b.login(f.users[core.RoleAdmin].Email, testPassword)
		pages := f.tourPages(t, lang)
		for _, path := range pages {
			body, ok := b.getPage(t, path)
			if !ok {
				continue
			}
			for _, h := range check.Find(visible(body)) {
				t.Errorf("%s page %s: %s", lang, path, h)
			}
		}
		t.Logf("%s: %d pages checked against %d catalogue strings", lang, len(pages)+len(publicPages), len(entries))
	}
}

// copiedOK are the German values of two words or more that are the same
// as the English ones on purpose: names of products and features.
var copiedOK = []string{"Chat (Slack, Teams, Mattermost)", "Windows Update", "Microsoft Entra ID", "Secure Boot", "SYSTEM / root"}

// TestCatalogNotCopied: no German value of two words or more is a copy of
// the English one (langtest.Copied).
func TestCatalogNotCopied(t *testing.T) {
	for _, e := range langtest.Copied(catalogEntries(), copiedOK) {
		t.Errorf("%s: German is the English %q; translate it (or add it to copiedOK if it is a name)", e.Key, e.EN)
	}
}
