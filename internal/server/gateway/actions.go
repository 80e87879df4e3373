package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Do runs the action typ with args (encoded as JSON; nil for none) on the
// device and decodes its result into reply (nil: ignored). The request is
// signed for the device by the node that holds its session, and is relayed
// there like Command. A refusal or failure on the agent is an
// *protocol.ActionError with its code (protocol.CodeDisabledLocally: the
// device's local lock) and English and German message; core.ErrOffline
// means the device is not connected. Like Command, a ctx without deadline
// gets the gateway's command timeout: pass a longer one for actions that
// take longer (exec with a long timeout_seconds).
func (h *Hub) Do(ctx context.Context, deviceID int64, typ string, args, reply any) error {
	var raw json.RawMessage
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("encoding arguments of %s: %w", typ, err)
		}
		raw = b
	}
	res, err := h.Command(ctx, deviceID, protocol.Command{Name: typ, Args: raw})
	if err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		return err
	}
	if reply != nil && len(res.Output) > 0 {
		if err := json.Unmarshal(res.Output, reply); err != nil {
			return fmt.Errorf("decoding the result of %s from device %d: %w", typ, deviceID, err)
		}
	}
	return nil
}

// Disabled returns the capabilities locked on the device (protocol.Lock…),
// as its agent reported them when its session on this node began;
// connected is false when this node holds no session of the device.
func (h *Hub) Disabled(deviceID int64) (locks []string, connected bool) {
	s := h.session(deviceID)
	if s == nil {
		return nil, false
	}
	return slices.Clone(s.disabled), true
}

// ScriptSigner returns the public key the device's agent requires on
// every script (lock mode), as it reported it when its session on this
// node began; nil without lock mode or without a session here.
func (h *Hub) ScriptSigner(deviceID int64) []byte {
	s := h.session(deviceID)
	if s == nil {
		return nil
	}
	return slices.Clone(s.scriptSigner)
}

// Stream is an open stream to an agent, connected to this node or relayed
// through another one (the same flow-controlled *mux.Stream either way):
// Read what the agent sends, Write to it, Close or CloseWithError to end
// it. Meta is what the stream type told at opening (a file's size…).
type Stream struct {
	*mux.Stream
	Meta json.RawMessage
}

// OpenStream opens a stream of type typ with args on the device, relayed
// from the node that holds the agent's session when that is another one
// (the stream then behaves the same; an ended connection between the nodes
// is a *mux.CloseError with mux.CodeConnectionLost). ctx bounds the
// opening only; the stream lasts until either side closes it or the
// connection ends (then Read and Write return a *mux.CloseError with
// mux.CodeConnectionLost). Refusals are *protocol.ActionError as for Do.
func (h *Hub) OpenStream(ctx context.Context, deviceID int64, typ string, args any) (*Stream, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.commandTimeout)
		defer cancel()
	}
	var raw json.RawMessage
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("encoding arguments of %s: %w", typ, err)
		}
		raw = b
	}
	if h.node != nil && h.session(deviceID) == nil {
		return h.node.openStream(ctx, deviceID, typ, raw)
	}
	return h.localStream(ctx, deviceID, typ, raw)
}

// localStream is OpenStream for an agent connected to this server, signed
// here like localCommand; ctx has a deadline and bounds the opening.
func (h *Hub) localStream(ctx context.Context, deviceID int64, typ string, args json.RawMessage) (*Stream, error) {
	signed, err := h.signer.SignAction(protocol.TypeStreamOpen, deviceID, typ, args, protocol.ActionTTL)
	if err != nil {
		return nil, fmt.Errorf("signing stream %s to device %d: %w", typ, deviceID, err)
	}
	return h.signedStream(ctx, deviceID, typ, signed)
}

// signedStream opens a signed stream to the device's agent connected to
// this server; ctx has a deadline and bounds the opening.
func (h *Hub) signedStream(ctx context.Context, deviceID int64, typ string, signed actionkey.SignedAction) (*Stream, error) {
	s := h.session(deviceID)
	if s == nil {
		return nil, fmt.Errorf("stream %s to device %d: %w", typ, deviceID, core.ErrOffline)
	}
	select {
	case <-s.welcomed:
	case <-s.done:
		return nil, fmt.Errorf("stream %s to device %d: %w", typ, deviceID, core.ErrOffline)
	case <-ctx.Done():
		return nil, fmt.Errorf("stream %s to device %d: %w", typ, deviceID, ctx.Err())
	}
	// Registered before the opening, with no credit until the agent's
	// answer grants some, so that no data the agent sends is lost.
	window := mux.WindowFor(typ)
	st, err := s.mux.Open(s.channels.Add(1), window, 0)
	if err != nil {
		return nil, fmt.Errorf("stream %s to device %d: %w", typ, deviceID, core.ErrOffline)
	}
	res, err := h.request(ctx, s, protocol.TypeStreamOpen, typ, protocol.StreamOpen{
		Channel: st.ID(), Window: window, SignedAction: signed,
	})
	refused := err == nil && !res.OK
	if err == nil {
		err = res.Err()
	}
	var opened protocol.StreamOpened
	if err == nil {
		if err = json.Unmarshal(res.Output, &opened); err == nil && opened.Window <= 0 {
			err = errors.New("no window")
		}
		if err != nil {
			err = fmt.Errorf("stream %s to device %d: bad answer: %w", typ, deviceID, err)
		}
	}
	if err != nil {
		if refused {
			st.Discard()
			return nil, err
		}
		// No usable answer: should the agent open the stream after all, it
		// learns that it is closed.
		st.CloseWithError(protocol.CodeFailed, core.Text{EN: "The server gave up opening the stream.", DE: "Der Server hat das Öffnen des Datenstroms abgebrochen."})
		return nil, err
	}
	s.mux.Window(protocol.StreamWindow{Channel: st.ID(), Bytes: opened.Window})
	return &Stream{Stream: st, Meta: opened.Meta}, nil
}

// Buffered is the number of stream bytes this node received and holds
// unread, from its agents and, for relayed streams, from other nodes: at
// most a window (mux.WindowFor) per stream and leg, however slowly
// the streams' readers read.
func (h *Hub) Buffered() int {
	h.mu.Lock()
	var ms []*mux.Mux
	for _, s := range h.sessions {
		if s.mux != nil {
			ms = append(ms, s.mux)
		}
	}
	h.mu.Unlock()
	if n := h.node; n != nil {
		n.relayMu.Lock()
		for m := range n.relays {
			ms = append(ms, m)
		}
		n.relayMu.Unlock()
	}
	total := 0
	for _, m := range ms {
		total += m.Buffered()
	}
	return total
}

// request sends a message of type typ to the session and waits for its
// answer (a TypeCommandResult with the same ID). A connection lost before
// it is core.ErrOffline.
func (h *Hub) request(ctx context.Context, s *session, typ, name string, data any) (protocol.CommandResult, error) {
	id := uuid.NewString()
	p := &pendingCommand{deviceID: s.deviceID, reply: make(chan protocol.CommandResult, 1)}
	h.mu.Lock()
	h.pending[id] = p
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.pending, id)
		h.mu.Unlock()
	}()
	if err := s.send(ctx, typ, id, data); err != nil {
		if s.isDone() {
			return protocol.CommandResult{}, fmt.Errorf("%s %s to device %d: %w", typ, name, s.deviceID, core.ErrOffline)
		}
		return protocol.CommandResult{}, fmt.Errorf("sending %s %s to device %d: %w", typ, name, s.deviceID, err)
	}
	select {
	case res := <-p.reply:
		return res, nil
	case <-s.done:
		return protocol.CommandResult{}, fmt.Errorf("%s %s to device %d: connection lost: %w", typ, name, s.deviceID, core.ErrOffline)
	case <-ctx.Done():
		return protocol.CommandResult{}, fmt.Errorf("%s %s to device %d: %w", typ, name, s.deviceID, ctx.Err())
	}
}
