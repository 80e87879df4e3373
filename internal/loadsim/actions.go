package loadsim

import (
	"crypto/ed25519"
	"encoding/json"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// scriptRun is a script run in a simulated agent's journal: running until
// done, then its result, which a repeated request gets again.
type scriptRun struct {
	done bool
	res  protocol.ScriptResult
}

// pin takes the action key from the welcome if enrollment did not pin
// one (trust on first use over the authenticated session, as the real
// agent does for older enrollments) and sets the clock the signatures are
// checked against to the server's.
func (a *simAgent) pin(w protocol.Welcome) {
	if !w.Time.IsZero() {
		a.skew.Store(int64(time.Until(w.Time)))
	}
	if len(a.actionKey) == 0 && len(w.ActionKey) == ed25519.PublicKeySize {
		a.actionKey = w.ActionKey
	}
	if a.verify.Load() == nil && len(a.actionKey) > 0 {
		a.verify.Store(actionkey.NewVerifier(a.actionKey, a.device.Load(), func() time.Time {
			return time.Now().Add(time.Duration(a.skew.Load()))
		}))
	}
}

// command answers a signed action as the real agent does: it verifies the
// signature (pinned key, device, type, expiry, replay, argument digest)
// and refuses what fails; run-checks produces one round of results and
// script simulates a run.
func (a *simAgent) command(ws *websocket.Conn, env protocol.Envelope) error {
	var sa actionkey.SignedAction
	err := protocol.DecodeData(env, &sa)
	name := ""
	if err == nil {
		v := a.verify.Load()
		if v == nil {
			err = actionkey.ErrNoKey
		} else {
			_, name, err = v.VerifyAction(sa, protocol.TypeCommand)
		}
	}
	if err != nil {
		a.s.countError("action_refused")
		a.s.o.Log.Warn("refusing an action", "agent", a.idx, "err", err)
		return send(ws, protocol.TypeCommandResult, env.ID, agent.Reply(nil, agent.Refusal(err)))
	}
	a.s.commands.Add(1)
	switch name {
	case protocol.CommandRunChecks:
		n := a.s.o.Checks
		a.enqueue(makeResults(schedule, n, a.s.o.FailRate, nowMS()))
		return send(ws, protocol.TypeCommandResult, env.ID, agent.Reply(protocol.RunChecksStarted{Checks: n, At: time.Now().UTC().Truncate(time.Millisecond)}, nil))
	case protocol.ActionScript:
		return a.script(ws, env.ID, sa.Args)
	}
	return send(ws, protocol.TypeCommandResult, env.ID, agent.Reply(nil, agent.Errorf(protocol.CodeUnknownAction,
		"This agent does not know the action %q.", "Dieser Agent kennt die Aktion %q nicht.", name)))
}

// script simulates a run: after ScriptDuration it answers exit 0 with the
// run ID on stdout. A run ID it has seen is not run again: while it runs
// the answer is "running", afterwards its recorded result marked as a
// duplicate, as the real agent's journal answers.
func (a *simAgent) script(ws *websocket.Conn, id string, raw json.RawMessage) error {
	var args protocol.ScriptArgs
	err := json.Unmarshal(raw, &args)
	if err == nil {
		err = args.Validate()
	}
	if err != nil {
		return send(ws, protocol.TypeCommandResult, id, agent.Reply(nil, agent.Errorf(protocol.CodeMalformed,
			"Bad script arguments: %v", "Fehlerhafte Skript-Argumente: %v", err)))
	}
	a.mu.Lock()
	r := a.runs[args.RunID]
	if r == nil {
		if a.runs == nil {
			a.runs = map[string]*scriptRun{}
		}
		a.runs[args.RunID] = &scriptRun{}
	}
	var res protocol.ScriptResult
	if r != nil && r.done {
		res = r.res
	}
	a.mu.Unlock()
	switch {
	case r != nil && !r.done:
		return send(ws, protocol.TypeCommandResult, id, agent.Reply(nil, agent.Errorf(protocol.CodeRunning,
			"Run %s is still running.", "Lauf %s läuft noch.", args.RunID)))
	case r != nil:
		a.s.scriptDups.Add(1)
		res.Duplicate = true
		return send(ws, protocol.TypeCommandResult, id, agent.Reply(res, nil))
	}
	// The run belongs to the agent, not to the session: it finishes and
	// is journaled even if the session ends meanwhile.
	go func() {
		d := a.s.o.ScriptDuration
		time.Sleep(d)
		res := protocol.ScriptResult{Stdout: "loadsim ran " + args.RunID + "\n", DurationMS: d.Milliseconds()}
		a.mu.Lock()
		a.runs[args.RunID] = &scriptRun{done: true, res: res}
		a.mu.Unlock()
		a.s.scripts.Add(1)
		if err := send(ws, protocol.TypeCommandResult, id, agent.Reply(res, nil)); err != nil {
			a.s.o.Log.Debug("answering a script run", "agent", a.idx, "err", err)
		}
	}()
	return nil
}
