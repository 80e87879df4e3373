// Package langtest finds words of the wrong language in rendered pages and
// reports: the dashboard's and the reports' language tests share it. It
// is test support (imported by _test files only).
//
// A page in one language must not contain a string of the other
// language's catalogue: every value of two words or more (literal parts
// between format verbs, each plural form on its own) and a short list of
// single UI words. Strings that are the same in both languages ("OK",
// "Status") are no evidence and are left out.
package langtest

import (
	"fmt"
	"html"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/wacht-rmm/wacht/internal/plural"
)

// Words are single UI words that are English and not German (or the
// reverse): a page of the other language may not show them alone. They
// are matched as whole words, case-sensitively.
var Words = map[string][]string{
	"en": {"Settings", "Save", "Delete", "Cancel", "Edit", "Search", "Close", "Back", "Yes", "No",
		"devices", "Devices", "device", "services", "Services", "stopped", "running", "Time", "Backup",
		"Clients", "Sites", "Site", "Checks", "Alerts", "Users", "Policies", "Scripts", "Packages",
		"never", "none", "unknown", "Warning", "Failure", "Enabled", "Disabled", "enabled", "disabled",
		"Add", "Remove", "Run", "Download", "Upload", "Name", "Description", "Created", "Updated"},
	"de": {"Einstellungen", "Speichern", "Löschen", "Abbrechen", "Bearbeiten", "Suchen", "Schließen",
		"Zurück", "Ja", "Nein", "Geräte", "Gerät", "Dienste", "Dienst", "beendet", "läuft", "Zeit",
		"Datensicherung", "Kunden", "Kunde", "Standorte", "Standort", "Prüfungen", "Prüfung",
		"Benutzer", "Richtlinien", "Skripte", "Pakete", "nie", "keine", "unbekannt", "Warnung",
		"Fehler", "aktiviert", "deaktiviert", "Hinzufügen", "Entfernen", "Ausführen", "Herunterladen",
		"Hochladen", "Beschreibung", "Erstellt", "Aktualisiert"},
}

// Entry is one catalogue string: its key and its value in each language.
type Entry struct {
	Key    string
	EN, DE string
}

// Hit is one string of the wrong language found in a text.
type Hit struct {
	Key     string // catalogue key; "word: keys" for the single-word list
	Phrase  string // what was found
	Context string // the text around it
}

func (h Hit) String() string {
	return fmt.Sprintf("%q (key %s) in …%s…", h.Phrase, h.Key, h.Context)
}

// Checker holds the phrases one language's pages must not show.
type Checker struct {
	lang    string
	phrases []phrase
}

type phrase struct {
	key, text string
	re        *regexp.Regexp
}

// verbRE matches fmt verbs ("%d", "%s", "%[2]d", "%.1f") and "%%".
var verbRE = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// New returns the checker for pages in lang ("de" or "en"): it looks for
// the other language's strings of entries (of two words or more) and its
// single Words, except allow (phrases that are correct in both languages,
// such as product names).
func New(lang string, entries []Entry, allow []string) *Checker {
	c := &Checker{lang: lang}
	allowed := map[string]bool{}
	for _, a := range allow {
		allowed[a] = true
	}
	seen := map[string]bool{}
	add := func(key, text string) {
		text = strings.TrimSpace(text)
		if text == "" || allowed[text] || seen[text] {
			return
		}
		seen[text] = true
		c.phrases = append(c.phrases, phrase{key: key, text: text, re: wordRE(text)})
	}
	for _, e := range entries {
		wrong, right := e.DE, e.EN
		if lang == "de" {
			wrong, right = e.EN, e.DE
		}
		if wrong == right {
			continue
		}
		rightParts := map[string]bool{}
		for _, f := range plural.Forms(right) {
			for _, p := range verbRE.Split(f, -1) {
				rightParts[strings.TrimSpace(p)] = true
			}
		}
		for _, form := range plural.Forms(wrong) {
			for _, part := range verbRE.Split(form, -1) {
				part = strings.Trim(part, " .,:;()–-…“”„\"'")
				if len(strings.Fields(part)) < 2 || rightParts[part] || !hasLetters(part) {
					continue
				}
				add(e.Key, part)
			}
		}
	}
	other := "de"
	if lang == "de" {
		other = "en"
	}
	for _, w := range Words[other] {
		add(wordKeys(lang, entries, w), w)
	}
	sort.Slice(c.phrases, func(i, j int) bool { return c.phrases[i].text < c.phrases[j].text })
	return c
}

// wordKeys names the catalogue keys whose value in the language other
// than lang is the single word w, for the failure message.
func wordKeys(lang string, entries []Entry, w string) string {
	var keys []string
	for _, e := range entries {
		v := e.DE
		if lang == "de" {
			v = e.EN
		}
		if v == w {
			keys = append(keys, e.Key)
		}
	}
	if len(keys) == 0 {
		return "word (langtest.Words)"
	}
	return "word: " + strings.Join(keys, ", ")
}

// wordRE matches text as whole words: not inside a longer word.
func wordRE(text string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^\p{L}\p{N}_-])` + regexp.QuoteMeta(text) + `($|[^\p{L}\p{N}_-])`)
}

func hasLetters(s string) bool {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n >= 2
}

// Find returns every phrase of the wrong language in text (visible text,
// see Visible).
func (c *Checker) Find(text string) []Hit {
	var hits []Hit
	for _, p := range c.phrases {
		if !strings.Contains(text, p.text) { // cheap; the regexp checks word edges
			continue
		}
		loc := p.re.FindStringIndex(text)
		if loc == nil {
			continue
		}
		from, to := max(loc[0]-40, 0), min(loc[1]+40, len(text))
		for from > 0 && !utf8Start(text[from]) {
			from--
		}
		for to < len(text) && !utf8Start(text[to]) {
			to++
		}
		hits = append(hits, Hit{Key: p.key, Phrase: p.text, Context: strings.Join(strings.Fields(text[from:to]), " ")})
	}
	// A single word inside a phrase found is the same finding.
	return slices.DeleteFunc(hits, func(w Hit) bool {
		return isWord(w) && slices.ContainsFunc(hits, func(h Hit) bool {
			return !isWord(h) && wordRE(w.Phrase).MatchString(h.Phrase)
		})
	})
}

func isWord(h Hit) bool { return strings.HasPrefix(h.Key, "word") }

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

var (
	hiddenRE = regexp.MustCompile(`(?is)<(script|style|template|code)\b.*?</(script|style|template|code)>|<!--.*?-->`)
	tagRE    = regexp.MustCompile(`(?s)<[^>]*>`)
	attrRE   = regexp.MustCompile(`(?is)\b(title|placeholder|aria-label|alt|data-confirm)\s*=\s*"([^"]*)"`)
	buttonRE = regexp.MustCompile(`(?is)<input\b[^>]*\btype="(?:submit|button|reset)"[^>]*>`)
	valueRE  = regexp.MustCompile(`(?is)\bvalue="([^"]*)"`)
	optionRE = regexp.MustCompile(`(?is)<option\b[^>]*>`)
)

// Visible is the text a reader of the HTML page sees or hears: the text
// outside tags, scripts, styles and code (identifiers and data such as
// JSON, which belong to no language), plus titles, placeholders, ARIA
// labels, image texts and the values of input buttons. Each piece goes on
// its own line, so a phrase never spans two elements.
func Visible(page string) string {
	page = hiddenRE.ReplaceAllString(page, "\n")
	var b strings.Builder
	for _, m := range attrRE.FindAllStringSubmatch(page, -1) {
		b.WriteString(html.UnescapeString(m[2]) + "\n")
	}
	for _, in := range buttonRE.FindAllString(page, -1) {
		if m := valueRE.FindStringSubmatch(in); m != nil {
			b.WriteString(html.UnescapeString(m[1]) + "\n")
		}
	}
	page = optionRE.ReplaceAllString(page, "\n") // an option's value is not shown
	page = strings.ReplaceAll(page, "<br>", " ")
	b.WriteString(html.UnescapeString(tagRE.ReplaceAllString(page, "\n")))
	return b.String()
}

// Copied returns the entries whose German value of two words or more is
// the English one, except allow (names of products and features): those
// are untranslated, and a page cannot show it, since a string the same in
// both languages is no evidence of either.
func Copied(entries []Entry, allow []string) []Entry {
	var out []Entry
	for _, e := range entries {
		if e.DE == e.EN && words(e.DE) >= 2 && !slices.Contains(allow, e.DE) {
			out = append(out, e)
		}
	}
	return out
}

// words counts the words of s, not its format verbs and symbols.
func words(s string) int {
	n := 0
	for _, f := range strings.Fields(s) {
		if !strings.HasPrefix(f, "%") && strings.IndexFunc(f, unicode.IsLetter) >= 0 {
			n++
		}
	}
	return n
}
