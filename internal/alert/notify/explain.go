package notify

import (
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Explanation words a kind of delivery failure for the user: an error
// whose text contains one of Words (case-insensitive) means Text.
type Explanation struct {
	Words []string
	Text  core.Text
}

// Explain says in English and German what a channel's error (its text,
// as the outbox keeps it) means, by the first explanation in table that
// matches; other says it for an error none matches. The raw error stays
// the detail.
func Explain(raw string, table []Explanation, other core.Text) core.Text {
	low := strings.ToLower(raw)
	for _, e := range table {
		for _, w := range e.Words {
			if strings.Contains(low, w) {
				return e.Text
			}
		}
	}
	return other
}
