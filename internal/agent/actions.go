package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Action handles one action type the server may ask of the agent. Exactly
// one of Do (a request with a reply) and Open (a stream) is set.
type Action struct {
	// Lock is the capability (protocol.Lock…) whose local lock disables
	// this action; "" means it cannot be disabled locally.
	Lock string
	// Code marks an action that lets the server choose what code the
	// device runs (a command, a shell, writing or moving files): lock mode
	// (a script signer) refuses it, since the only code a locked device
	// runs is what the signer signed.
	Code bool
	// Do runs the action; its result becomes the reply's output. An
	// *protocol.ActionError keeps its code; other errors reply CodeFailed.
	// ctx ends with the session.
	Do func(ctx context.Context, a *Agent, args json.RawMessage) (any, error)
	// After, if set, runs once the OK reply was sent (uninstall).
	After func(a *Agent)
	// Open prepares a stream (opens the file…): its error is the refusal,
	// meta goes to the server in the OK reply, and run then serves the
	// stream until it returns; the stream is closed after it, with the
	// error's reason if any. run is called whenever Open succeeded, with
	// an ended context if the reply could not be sent, so that it
	// releases what Open took. ctx ends with the session.
	Open func(ctx context.Context, a *Agent, args json.RawMessage) (run StreamFunc, meta any, err error)
}

// StreamFunc serves an opened stream.
type StreamFunc func(ctx context.Context, s *mux.Stream) error

var (
	actionsMu sync.RWMutex
	actions   = map[string]Action{}
)

// RegisterAction makes an action type available to the server. It panics
// on a duplicate, an unknown lock or a handler without exactly one of Do
// and Open, like check.Register.
func RegisterAction(name string, h Action) {
	actionsMu.Lock()
	defer actionsMu.Unlock()
	switch {
	case name == "":
		panic("agent: RegisterAction without a name")
	case actions[name].Do != nil || actions[name].Open != nil:
		panic("agent: action registered twice: " + name)
	case (h.Do == nil) == (h.Open == nil):
		panic("agent: action " + name + " needs exactly one of Do and Open")
	case h.Lock != "" && !slices.Contains(protocol.Locks, h.Lock):
		panic("agent: action " + name + " has an unknown lock " + h.Lock)
	}
	actions[name] = h
}

func lookupAction(name string) (Action, bool) {
	actionsMu.RLock()
	defer actionsMu.RUnlock()
	h, ok := actions[name]
	return h, ok
}

func init() {
	RegisterAction(protocol.CommandRunChecks, Action{
		Do: func(_ context.Context, a *Agent, _ json.RawMessage) (any, error) {
			// The answer says the run started and how many checks it
			// has: the run takes as long as its slowest check (the cpu
			// check's window alone is 10 s), and its results arrive as
			// usual. The run belongs to the agent, not to this
			// connection: it is spooled even if the session drops
			// meanwhile, and stopping the agent waits for it. The desired
			// software state is checked too, in the background.
			a.checkSoftware()
			n := len(a.plan.checks())
			at := time.Now().UTC().Truncate(time.Millisecond) // as results are stored
			a.cmds.Go(func() { a.runChecks(a.root) })
			return protocol.RunChecksStarted{Checks: n, At: at}, nil
		},
	})
	// Reading the inventory changes nothing on the device, so no local
	// lock disables it. The reply is immediate; the inventory follows as
	// a TypeInventory message from the inventory loop.
	RegisterAction(protocol.ActionInventoryRefresh, Action{
		Do: func(_ context.Context, a *Agent, args json.RawMessage) (any, error) {
			var r protocol.InventoryRefreshArgs
			if len(args) > 0 {
				if err := decodeArgs(protocol.ActionInventoryRefresh, args, &r); err != nil {
					return nil, err
				}
			}
			a.inv.request(r.Full)
			return nil, nil
		},
	})
	RegisterAction(protocol.CommandUninstall, Action{
		Do:    func(context.Context, *Agent, json.RawMessage) (any, error) { return nil, nil },
		After: func(a *Agent) { a.retire() }, // answer first: the uninstall stops this process
	})
}

// maxStreams bounds the streams open at once on one agent.
const maxStreams = 32

// Errorf builds an *protocol.ActionError; handlers return it for refusals
// with their own code.
func Errorf(code string, en, de string, args ...any) error {
	return &protocol.ActionError{Code: code, Message: core.Text{EN: fmt.Sprintf(en, args...), DE: fmt.Sprintf(de, args...)}}
}

// Refusal turns a signature check's error into the reply's code and text
// (the simulated agents of internal/loadsim answer with it too).
func Refusal(err error) error {
	codes := []struct {
		err    error
		code   string
		en, de string
	}{
		{actionkey.ErrUnsigned, protocol.CodeUnsigned, "The request is not signed.", "Die Anfrage ist nicht signiert."},
		{actionkey.ErrNoKey, protocol.CodeNoKey, "This agent has no pinned action key.", "Dieser Agent hat keinen festgelegten Aktionsschlüssel."},
		{actionkey.ErrBadSignature, protocol.CodeBadSignature, "The signature is not the server's.", "Die Signatur stammt nicht vom Server."},
		{actionkey.ErrOtherDevice, protocol.CodeOtherDevice, "The request is signed for another device.", "Die Anfrage ist für ein anderes Gerät signiert."},
		{actionkey.ErrWrongType, protocol.CodeMalformed, "The request is signed for another kind of message.", "Die Anfrage ist für eine andere Nachrichtenart signiert."},
		{actionkey.ErrExpired, protocol.CodeExpired, "The request has expired.", "Die Anfrage ist abgelaufen."},
		{actionkey.ErrNotYetValid, protocol.CodeNotYetValid, "The request was issued in the future.", "Die Anfrage wurde in der Zukunft ausgestellt."},
		{actionkey.ErrReplayed, protocol.CodeReplayed, "The request was replayed.", "Die Anfrage wurde wiederholt eingespielt."},
		{actionkey.ErrArgsMismatch, protocol.CodeArgsMismatch, "The arguments are not the signed ones.", "Die Argumente sind nicht die signierten."},
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return &protocol.ActionError{Code: c.code, Message: core.Text{EN: "Refused: " + c.en + " (" + err.Error() + ")", DE: "Abgelehnt: " + c.de + " (" + err.Error() + ")"}}
		}
	}
	return &protocol.ActionError{Code: protocol.CodeMalformed, Message: core.Text{EN: "Refused: malformed request (" + err.Error() + ")", DE: "Abgelehnt: fehlerhafte Anfrage (" + err.Error() + ")"}}
}

// authorize verifies a signed request of kind and finds its handler, or
// says why not. The context it returns tells the handler which key signed.
func (a *Agent) authorize(ctx context.Context, sa actionkey.SignedAction, kind string) (context.Context, string, Action, error) {
	hdr, name, err := a.verify.Load().VerifyAction(sa, kind)
	if err != nil {
		return ctx, name, Action{}, Refusal(err)
	}
	ctx = context.WithValue(ctx, signedByKey{}, hdr.SignedBy)
	h, ok := lookupAction(name)
	switch {
	case !ok:
		return ctx, name, h, Errorf(protocol.CodeUnknownAction, "This agent does not know the action %q.", "Dieser Agent kennt die Aktion %q nicht.", name)
	case (kind == protocol.TypeStreamOpen) != (h.Open != nil):
		return ctx, name, h, Errorf(protocol.CodeUnknownAction, "%q is not a %s on this agent.", "%q ist auf diesem Agenten kein %s.", name, kind)
	}
	return ctx, name, h, a.allows(name, h)
}

// allows says why this device refuses action name (h) whoever asks for it:
// its local lock, or lock mode for an action that runs the server's code.
// The signed path and the policy's desired software state both ask it.
func (a *Agent) allows(name string, h Action) error {
	switch {
	case h.Lock != "" && slices.Contains(a.cfg.Disable, h.Lock):
		return Errorf(protocol.CodeDisabledLocally,
			"%q is disabled on this device (local lock %q).", "%q ist auf diesem Gerät gesperrt (lokale Sperre %q).", name, h.Lock)
	case h.Code && len(a.cfg.ScriptSigner) > 0:
		return Errorf(protocol.CodeScriptSigner,
			"Refused: this device is in lock mode and runs only scripts its script signer signed, so %q is off.",
			"Abgelehnt: dieses Gerät ist im Sperrmodus und führt nur Skripte aus, die sein Skript-Signierer signiert hat; %q ist daher aus.", name)
	}
	return nil
}

// signedByKey keys the actionkey.Trusted that signed the request in the
// context a handler gets.
type signedByKey struct{}

// signedBy is the trusted key that signed the request ctx belongs to.
func signedBy(ctx context.Context) actionkey.Trusted {
	t, _ := ctx.Value(signedByKey{}).(actionkey.Trusted)
	return t
}

// Reply builds the answer to a request from a handler's outcome.
func Reply(out any, err error) protocol.CommandResult {
	if err != nil {
		var ae *protocol.ActionError
		if errors.As(err, &ae) {
			return protocol.Failed(ae.Code, ae.Message)
		}
		return protocol.Failed(protocol.CodeFailed, core.Text{EN: err.Error(), DE: err.Error()})
	}
	res := protocol.CommandResult{OK: true}
	if out != nil {
		b, err := json.Marshal(out)
		if err != nil {
			return protocol.Failed(protocol.CodeFailed, core.Text{EN: "encoding the result: " + err.Error(), DE: "Kodieren des Ergebnisses: " + err.Error()})
		}
		res.Output = b
	}
	return res
}

// handleAction runs a signed action and answers with its ID.
func (a *Agent) handleAction(ctx context.Context, c conn, env protocol.Envelope) {
	var sa actionkey.SignedAction
	name, h, err := "", Action{}, protocol.DecodeData(env, &sa)
	if err == nil {
		ctx, name, h, err = a.authorize(ctx, sa, protocol.TypeCommand)
	} else {
		err = Refusal(err)
	}
	var out any
	if err == nil {
		out, err = h.Do(ctx, a, sa.Args)
	}
	if err != nil {
		a.log.Warn("action refused or failed", "action", name, "err", err)
	}
	sendErr := c.send(protocol.TypeCommandResult, env.ID, Reply(out, err))
	if sendErr != nil {
		a.log.Warn("answering action", "action", name, "err", sendErr)
	}
	if err == nil && h.After != nil {
		h.After(a)
	}
}

// openStream verifies a stream opening, opens the stream and serves it.
func (a *Agent) openStream(ctx context.Context, c conn, m *mux.Mux, env protocol.Envelope) {
	var so protocol.StreamOpen
	name, h, err := "", Action{}, protocol.DecodeData(env, &so)
	if err == nil && (so.Channel == 0 || so.Window <= 0) {
		err = errors.New("no channel or window")
	}
	if err == nil {
		ctx, name, h, err = a.authorize(ctx, so.SignedAction, protocol.TypeStreamOpen)
	} else {
		err = Refusal(err)
	}
	if err == nil && m.Len() >= maxStreams {
		err = Errorf(protocol.CodeBusy, "This agent has %d streams open already.", "Dieser Agent hat bereits %d offene Datenströme.", maxStreams)
	}
	var s *mux.Stream
	if err == nil {
		s, err = m.Open(so.Channel, mux.WindowFor(name), so.Window)
	}
	var run StreamFunc
	var meta any
	if err == nil {
		if run, meta, err = h.Open(ctx, a, so.Args); err != nil {
			s.Discard()
		}
	}
	if err != nil {
		a.log.Warn("stream refused", "stream", name, "err", err)
		if sendErr := c.send(protocol.TypeCommandResult, env.ID, Reply(nil, err)); sendErr != nil {
			a.log.Warn("answering stream opening", "stream", name, "err", sendErr)
		}
		return
	}
	var mb json.RawMessage
	if meta != nil {
		mb, _ = json.Marshal(meta)
	}
	if err := c.send(protocol.TypeCommandResult, env.ID, Reply(protocol.StreamOpened{Window: mux.WindowFor(name), Meta: mb}, nil)); err != nil {
		// run still releases what Open took (a shell, a temporary file),
		// with the stream closed and its context ended.
		s.CloseWithError(mux.CodeConnectionLost, core.Text{})
		ended, cancel := context.WithCancel(ctx)
		cancel()
		run(ended, s)
		return
	}
	// The stream's context ends with the session or when the server closes
	// the stream (a blocked Write or Read returns then as well).
	a.streams.Add(1)
	defer a.streams.Add(-1)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.Done():
			cancel()
		case <-sctx.Done():
		}
	}()
	if err := run(sctx, s); err != nil {
		a.log.Info("stream ended with an error", "stream", name, "err", err)
		msg := core.Text{EN: err.Error(), DE: err.Error()}
		code := protocol.CodeFailed
		var ae *protocol.ActionError
		if errors.As(err, &ae) {
			code, msg = ae.Code, ae.Message
		}
		s.CloseWithError(code, msg)
		return
	}
	s.Close()
}
