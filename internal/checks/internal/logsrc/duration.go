package logsrc

import "github.com/wacht-rmm/wacht/internal/check"

// Duration is check.Span, the value of a time span parameter.
type Duration = check.Span
