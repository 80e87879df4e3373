package web

import "unicode/utf8"

// moreCatalog holds the labels of a collapsed long message; init merges it
// into catalog.
var moreCatalog = map[string]map[string]string{
	langEN: {"more.more": "more", "more.less": "less"},
	langDE: {"more.more": "mehr", "more.less": "weniger"},
}

func init() {
	for lang, m := range moreCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}

// longMessage is how many characters a table cell's message may have
// before it is shown collapsed to two lines with a "more" toggle: about
// two lines of the message column.
const longMessage = 140

// moreText is a message for the "message" template: Long ones collapse.
type moreText struct {
	Text       string
	Long       bool
	More, Less string
}

// More prepares a message for a table cell: long ones are collapsed to
// two lines behind a <details> toggle, which works with the keyboard and
// without script.
func (l Lang) More(text string) moreText {
	return moreText{Text: text, Long: utf8.RuneCountInString(text) > longMessage, More: l.T("more.more"), Less: l.T("more.less")}
}
