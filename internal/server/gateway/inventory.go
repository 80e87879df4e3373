package gateway

import (
	"errors"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/invchange"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// inventory applies an agent's inventory report to the stored inventory,
// records what changed and acks with the new digest only after commit. A
// report that does not apply (the server forgot the inventory, its
// database was restored, another report came first) is answered with a
// request for the whole inventory.
func (s *session) inventory(env protocol.Envelope) bool {
	var r protocol.InventoryReport
	err := protocol.DecodeData(env, &r)
	if err == nil {
		err = r.Validate()
	}
	if err != nil {
		s.log.Warn("closing agent connection: malformed inventory report", "id", env.ID, "err", err)
		s.close(websocket.StatusUnsupportedData, "malformed inventory report")
		return false
	}
	st := s.g.opts.Store
	stored, err := st.GetInventory(s.ctx, s.deviceID)
	var base *core.Inventory
	switch {
	case err == nil:
		// The agent's digest does not cover the address the server saw.
		stored.Inventory.System.PublicIP = ""
		base = &stored.Inventory
	case errors.Is(err, core.ErrNotFound):
	default:
		return s.inventoryFailed(env.ID, "reading the stored inventory", err)
	}
	inv, err := protocol.ApplyInventory(base, r)
	if err != nil {
		return s.resendInventory(env.ID, err)
	}
	now := s.g.opts.Now()
	changes := invchange.Diff(base, inv, now)
	inv.System.PublicIP = s.remote
	err = st.SaveInventory(s.ctx, core.StoredInventory{DeviceID: s.deviceID, Digest: r.Digest, ReceivedAt: now, Inventory: inv},
		stored.Digest, changes)
	if errors.Is(err, core.ErrConflict) {
		return s.resendInventory(env.ID, err)
	}
	if err != nil {
		return s.inventoryFailed(env.ID, "storing the inventory", err)
	}
	s.log.Debug("inventory stored", "id", env.ID, "full", r.Full != nil, "programs", len(inv.Software), "changes", len(changes))
	return s.send(s.ctx, protocol.TypeInventoryAck, env.ID, protocol.InventoryAck{Status: protocol.InventoryStored, Digest: r.Digest}) == nil
}

// resendInventory asks the agent for its whole inventory.
func (s *session) resendInventory(id string, why error) bool {
	s.log.Info("asking for the whole inventory", "id", id, "reason", why)
	return s.send(s.ctx, protocol.TypeInventoryAck, id, protocol.InventoryAck{Status: protocol.InventoryResend, Reason: why.Error()}) == nil
}

// inventoryFailed closes the session without an ack, like a results batch
// that could not be stored: the agent keeps its report and tries again.
func (s *session) inventoryFailed(id, what string, err error) bool {
	s.log.Error(what, "id", id, "err", err)
	s.close(websocket.StatusTryAgainLater, "could not store inventory")
	return false
}
