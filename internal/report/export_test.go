package report

import (
	"sort"
	"strings"

	"github.com/wacht-rmm/wacht/internal/langtest"
)

// PDFText renders m's PDF and returns every string the renderer wrote
// into it, one a line.
func PDFText(m Monthly) (string, error) {
	var b strings.Builder
	_, err := renderPDF(m, nil, func(s string) { b.WriteString(s + "\n") })
	return b.String(), err
}

// Catalog lists the reports' strings for langtest.
func Catalog() []langtest.Entry {
	out := make([]langtest.Entry, 0, len(words))
	for k, w := range words {
		out = append(out, langtest.Entry{Key: k, EN: w[0], DE: w[1]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
