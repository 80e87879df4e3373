package wmiq

import (
	"context"
	"fmt"

	"github.com/yusufpapurcu/wmi"
)

// client tolerates properties older Windows builds lack and null values
// (a date never set).
var client = &wmi.Client{AllowMissingFields: true, NonePtrZero: true}

// Query runs query in namespace ("" for root\cimv2) into dst, a pointer
// to a slice of structs, and returns when it is done or ctx ends. The
// query goes on in the background after ctx ended (WMI has no cancel), so
// dst must not be read then. A panic of the decoder on an unexpected
// value type is returned as an error.
func Query(ctx context.Context, namespace, query string, dst any) error {
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
		done <- client.Query(query, dst, args...)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
