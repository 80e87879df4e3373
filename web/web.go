// Package webassets embeds the dashboard's templates and static files
// (web/templates, web/static). It lives here because go:embed cannot reach
// parent directories; internal/server/web serves them.
package webassets

import "embed"

// FS holds templates/ and static/. static/vendor/ (htmx) is present only
// after web/build.sh has run.
//
//go:embed templates static
var FS embed.FS
