// Package check is the contract every agent check implements, the registry
// checks add themselves to in init(), and the Reporter they report through.
package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Check runs once and reports one or more results (one per instance, e.g.
// per disk volume). A returned error means the check could not run; the
// runner reports it as StatusError, or StatusUnsupported for
// errors.ErrUnsupported.
type Check interface {
	Run(ctx context.Context, r Reporter) error
}

// Initer is implemented by checks that validate their configuration.
type Initer interface {
	Init() error
}

// Reporter receives results. Name and Key identify the check instance.
type Reporter interface {
	Report(Result)
}

// Result is what a check reports; the runner adds ID, check name and time.
type Result struct {
	Key     string
	Status  core.Status
	Value   *float64
	Unit    string
	Message core.Text
	// Data is optional structured findings for the server
	// (protocol.EncodeEvents, EncodeLogins); see core.Result.Data.
	Data json.RawMessage
}

// Factory builds a check from its JSON parameters (nil for defaults).
// A check that cannot run without parameters (a website URL, a host to
// ping) returns ErrNotConfigured for nil params, so that the agent's default
// set leaves it out instead of reporting an error.
type Factory func(params json.RawMessage) (Check, error)

// ErrNotConfigured is returned by a Factory that needs parameters.
var ErrNotConfigured = errors.New("check needs parameters")

// DecodeParams decodes params strictly (an unknown field or anything after
// the value is an error) into v. Without params (none or null) it returns
// ErrNotConfigured and leaves v alone, for checks that need them or fall
// back to defaults.
func DecodeParams(params json.RawMessage, v any) error {
	if len(params) == 0 || string(params) == "null" {
		return ErrNotConfigured
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("parsing parameters: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("parsing parameters: data after the JSON value")
	}
	return nil
}

// Localized is an error that carries its message in English and German:
// policy validation shows a parameter error's words in the user's language,
// and a check words a refused run with them.
type Localized interface {
	error
	Localized() core.Text
}

// TextError is a Localized parameter error.
type TextError struct{ Msg core.Text }

func (e *TextError) Error() string { return e.Msg.EN }

// Localized returns the message in both languages.
func (e *TextError) Localized() core.Text { return e.Msg }

var (
	mu       sync.RWMutex
	registry = map[string]registered{}
)

type registered struct {
	spec *Spec
	f    Factory
}

// Register makes a check available under its declaration's name (see
// Spec; package checkspec holds them). It panics on a duplicate name, like
// database/sql.Register.
func Register(spec *Spec, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[spec.Name]; dup {
		panic("check: Register called twice for " + spec.Name)
	}
	registry[spec.Name] = registered{spec, f}
}

// New builds the named check and runs its Init.
func New(name string, params json.RawMessage) (Check, error) {
	mu.RLock()
	r, ok := registry[name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown check %q", name)
	}
	c, err := r.f(params)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", name, err)
	}
	if in, ok := c.(Initer); ok {
		if err := in.Init(); err != nil {
			return nil, fmt.Errorf("check %s: %w", name, err)
		}
	}
	return c, nil
}

// Lookup returns the declaration of a registered check.
func Lookup(name string) (*Spec, bool) {
	mu.RLock()
	defer mu.RUnlock()
	r, ok := registry[name]
	return r.spec, ok
}

// Names lists the registered checks, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Thresholds are the warning and failure limits most numeric checks share.
// A value at or above Fail fails, at or above Warn warns.
type Thresholds struct {
	Warn float64 `json:"warn"`
	Fail float64 `json:"fail"`
}

// Validate checks that the thresholds are a sane percentage pair.
func (t Thresholds) Validate() error {
	if t.Warn < 0 || t.Fail < 0 || t.Warn > 100 || t.Fail > 100 {
		return fmt.Errorf("thresholds must be between 0 and 100 (warn %v, fail %v)", t.Warn, t.Fail)
	}
	if t.Warn > t.Fail {
		return fmt.Errorf("warning threshold %v is above failure threshold %v", t.Warn, t.Fail)
	}
	return nil
}

// Status classifies v against the thresholds.
func (t Thresholds) Status(v float64) core.Status {
	switch {
	case v >= t.Fail:
		return core.StatusFailure
	case v >= t.Warn:
		return core.StatusWarning
	default:
		return core.StatusOK
	}
}

// Float returns a pointer to v, for Result.Value.
func Float(v float64) *float64 { return &v }

// Timeout bounds one check run when its configuration gives none.
const Timeout = 60 * time.Second
