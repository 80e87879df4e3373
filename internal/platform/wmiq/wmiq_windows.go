package wmiq

import (
	"context"
	"errors"
	"fmt"

	"github.com/yusufpapurcu/wmi"

	"github.com/wacht-rmm/wacht/internal/comerr"
)

// The errors of Query and QueryAll word a COM error by comerr.Explain.

// tolerant leaves a property the answer lacks at its zero value (older
// Windows builds lack some) and null values too (a date never set).
var tolerant = &wmi.Client{AllowMissingFields: true, NonePtrZero: true}

// strict fails on a property it cannot read, and still takes nulls.
var strict = &wmi.Client{NonePtrZero: true}

// Query runs query in namespace ("" for root\cimv2) into dst, a pointer
// to a slice of structs, and returns when it is done or ctx ends. A
// property the answer lacks is left at its zero value. The query goes on
// in the background after ctx ended (WMI has no cancel), so dst must not
// be read then. A panic of the decoder on an unexpected value type is
// returned as an error.
func Query(ctx context.Context, namespace, query string, dst any) error {
	return run(ctx, tolerant, namespace, query, dst)
}

// QueryAll is Query for callers that select only properties every
// supported Windows has: a property that cannot be read is an error, so
// that a WMI that answers with instances but no values (Wine's) is not
// taken for empty values.
func QueryAll(ctx context.Context, namespace, query string, dst any) error {
	err := run(ctx, strict, namespace, query, dst)
	if m, ok := errors.AsType[*wmi.ErrFieldMismatch](err); ok {
		return fmt.Errorf("the answer's properties could not be read (%s among them): %w", m.FieldName, err)
	}
	return err
}

func run(ctx context.Context, c *wmi.Client, namespace, query string, dst any) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("decoding %q: %v", query, r)
			}
		}()
		var args []any
		if namespace != "" {
			args = []any{nil, namespace}
		}
		done <- c.Query(query, dst, args...)
	}()
	select {
	case err := <-done:
		if en, _, ok := comerr.Explain(err); ok {
			return &comError{text: en, err: err}
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// comError is a COM error worded by comerr.Explain; go-ole's own text
// for it is often "FormatMessage failed".
type comError struct {
	text string
	err  error
}

func (e *comError) Error() string { return e.text }
func (e *comError) Unwrap() error { return e.err }
