package policy

import (
	"context"
	"fmt"
	"sync"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// FullStore is what a Resolver needs: reading devices and policies, and
// seeding the built-in templates.
type FullStore interface {
	Store
	EnsureBuiltinPolicy(ctx context.Context, p *core.Policy) error
}

// Resolver computes effective policies from the store. On first use it
// seeds (creates or refreshes) the built-in templates, so that they are
// listed with IDs; their content always comes from this package's code.
type Resolver struct {
	st FullStore

	mu  sync.Mutex
	ids map[string]int64 // built-in key → policy ID, once seeded
}

// NewResolver returns a Resolver over st.
func NewResolver(st FullStore) *Resolver { return &Resolver{st: st} }

// Seed creates or refreshes the built-in templates and returns their IDs.
// It runs once per Resolver (again after a failure).
func (r *Resolver) Seed(ctx context.Context) (map[string]int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids != nil {
		return r.ids, nil
	}
	ids := map[string]int64{}
	for _, t := range Templates() {
		if err := r.st.EnsureBuiltinPolicy(ctx, &t); err != nil {
			return nil, fmt.Errorf("seeding template %s: %w", t.Name, err)
		}
		ids[t.Builtin] = t.ID
	}
	r.ids = ids
	return ids, nil
}

// Effective resolves the effective set of a device.
func (r *Resolver) Effective(ctx context.Context, deviceID int64) (core.Device, Effective, error) {
	ids, err := r.Seed(ctx)
	if err != nil {
		return core.Device{}, Effective{}, err
	}
	return EffectiveFor(ctx, r.st, deviceID, ids)
}

// AgentPolicy is the policy message for a device's agent.
func (r *Resolver) AgentPolicy(ctx context.Context, deviceID int64) (protocol.Policy, error) {
	_, e, err := r.Effective(ctx, deviceID)
	if err != nil {
		return protocol.Policy{}, err
	}
	return protocol.Policy{Revision: e.Revision, Checks: e.AgentChecks()}, nil
}
