package alert

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// PolicyAlertAfter returns an Options.AlertAfter that reads each check's
// alert_after parameter from the device's effective policy, which params
// returns as check name → parameters. A device's values are cached for ttl;
// a lookup error means 1 (alert at the first failure) rather than silence.
func PolicyAlertAfter(params func(ctx context.Context, deviceID int64) (map[string]json.RawMessage, error), ttl time.Duration) func(context.Context, int64, string) int {
	type entry struct {
		at     time.Time
		values map[string]int
	}
	var mu sync.Mutex
	cache := map[int64]entry{}
	return func(ctx context.Context, deviceID int64, check string) int {
		mu.Lock()
		e, ok := cache[deviceID]
		mu.Unlock()
		if !ok || time.Since(e.at) > ttl {
			ps, err := params(ctx, deviceID)
			if err != nil {
				return 1
			}
			e = entry{at: time.Now(), values: map[string]int{}}
			for name, raw := range ps {
				e.values[name] = protocol.AlertAfter(raw)
			}
			mu.Lock()
			cache[deviceID] = e
			mu.Unlock()
		}
		if v, ok := e.values[check]; ok {
			return v
		}
		return 1
	}
}
