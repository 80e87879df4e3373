package check

import (
	"encoding/json"
	"fmt"
	"time"
)

// Span is the value of a Duration parameter,
// written as a Go duration string ("24h", "15m") or a number of seconds.
type Span time.Duration

// UnmarshalJSON accepts "15m" or 900.
func (d *Span) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Span(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration %s: want a string like \"15m\" or seconds", b)
	}
	*d = Span(secs * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration string.
func (d Span) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }
