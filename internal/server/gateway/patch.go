package gateway

import (
	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// patchReport stores an agent's patch report (issue 19) and acks it only
// after commit. A malformed report is answered with PatchRejected and its
// reason and logged; the session goes on (the agent drops the report). A
// report the store could not take closes the session without an ack, like
// a results batch: the agent resends it after reconnecting. After a
// report the device's policy is pushed again if it changed: the
// technicians' decisions it carries cover only the updates the device
// misses, so a newly missing update with a decision changes it.
func (s *session) patchReport(env protocol.Envelope) bool {
	var r protocol.PatchReport
	err := protocol.DecodeData(env, &r)
	if err == nil {
		err = r.Validate()
	}
	if err != nil {
		s.log.Warn("rejecting malformed patch report", "id", env.ID, "err", err)
		return s.send(s.ctx, protocol.TypePatchAck, env.ID, protocol.PatchAck{Status: protocol.PatchRejected, Reason: err.Error()}) == nil
	}
	cr := core.PatchReport{ScannedAt: r.ScannedAt, Sources: r.Sources, Missing: r.Missing, Attempts: r.Attempts, Reboot: r.Reboot}
	if err := s.g.opts.Store.SavePatchReport(s.ctx, s.deviceID, cr, s.g.opts.Now()); err != nil {
		s.log.Error("storing the patch report", "id", env.ID, "err", err)
		s.close(websocket.StatusTryAgainLater, "could not store patch report")
		return false
	}
	s.log.Debug("patch report stored", "id", env.ID, "missing", len(r.Missing), "attempts", len(r.Attempts))
	if err := s.send(s.ctx, protocol.TypePatchAck, env.ID, protocol.PatchAck{Status: protocol.PatchStored}); err != nil {
		return false
	}
	// Right after the ack, before the next frame is read: the policy that
	// follows a report reflects it. Sends only a changed revision.
	s.pushPolicy()
	return true
}
