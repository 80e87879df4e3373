package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Script checks (issue 16, check type protocol.CheckScript) run a library
// script with the Nagios plugin convention: exit code 0 ok, 1 warning,
// 2 failure, anything else error; the first line of output is the message
// and its perfdata ("|label=42MB;…") the value. They live here, not in
// internal/checks, because they need the agent's script runner, its lock
// mode and its local lock. They bypass the script journal: a check that
// runs again is harmless, and one file per run would fill the journal.

type scriptCheck struct {
	a *Agent
	p protocol.ScriptCheckParams
}

// newScriptCheck builds a script check from its policy parameters; a is
// the agent whose runner runs it.
func newScriptCheck(a *Agent, name string, params json.RawMessage) (check.Check, error) {
	if a == nil {
		return nil, errors.New("script checks run only in the agent")
	}
	var p protocol.ScriptCheckParams
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, fmt.Errorf("script check %s: parameters: %w", name, err)
	}
	sa := p.Script
	sa.RunID = "x" // each run gets its own
	if err := sa.Validate(); err != nil {
		return nil, fmt.Errorf("script check %s: %w", name, err)
	}
	return &scriptCheck{a: a, p: p}, nil
}

func (c *scriptCheck) Run(ctx context.Context, rep check.Reporter) error {
	sa := c.p.Script
	sa.RunID = "c-" + strconv.FormatInt(time.Now().UnixNano(), 36) // WACHT_RUN_ID, not journaled
	limit := scriptTimeout(sa)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < limit {
		limit = time.Until(dl).Round(time.Second) // the check's timeout comes first
	}
	err := c.a.scriptAllowed(sa)
	var res protocol.ScriptResult
	if err == nil {
		res, err = c.a.scripts().runUnjournaled(ctx, sa)
	}
	rep.Report(scriptCheckResult(res, err, limit))
	return nil
}

// scriptCheckResult maps a script check's run to its result.
func scriptCheckResult(res protocol.ScriptResult, err error, limit time.Duration) check.Result {
	if err != nil {
		why := core.Text{EN: err.Error(), DE: err.Error()}
		var ae *protocol.ActionError
		if errors.As(err, &ae) {
			why = ae.Message
		}
		return check.Result{Status: core.StatusError,
			Message: core.Text{EN: "The script check could not run: " + why.EN, DE: "Die Skriptprüfung konnte nicht laufen: " + why.DE}}
	}
	if res.TimedOut {
		return check.Result{Status: core.StatusError, Message: core.Text{
			EN: fmt.Sprintf("The script did not finish within %s and was stopped.", limit),
			DE: fmt.Sprintf("Das Skript wurde nicht innerhalb von %s fertig und wurde beendet.", limit)}}
	}
	line := firstLine(res.Stdout)
	if res.ExitCode == -1 { // could not start; the reason is in its error output
		line = firstLine(res.Stderr)
		return check.Result{Status: core.StatusError,
			Message: core.Text{EN: "The script check could not run: " + line, DE: "Die Skriptprüfung konnte nicht laufen: " + line}}
	}
	msg, value, unit := parsePerfdata(line)
	r := check.Result{Value: value, Unit: unit, Message: core.Text{EN: msg, DE: msg}}
	switch res.ExitCode {
	case 0:
		r.Status = core.StatusOK
	case 1:
		r.Status = core.StatusWarning
	case 2:
		r.Status = core.StatusFailure
	default:
		r.Status = core.StatusError
		r.Message = core.Text{
			EN: fmt.Sprintf("The script ended with exit code %d (expected 0 ok, 1 warning, 2 failure)", res.ExitCode),
			DE: fmt.Sprintf("Das Skript endete mit Exitcode %d (erwartet: 0 OK, 1 Warnung, 2 Fehler)", res.ExitCode)}
		if msg != "" {
			r.Message.EN, r.Message.DE = r.Message.EN+": "+msg, r.Message.DE+": "+msg
		}
		return r
	}
	if msg == "" {
		r.Message = core.Text{EN: fmt.Sprintf("Exit code %d, no output", res.ExitCode), DE: fmt.Sprintf("Exitcode %d, keine Ausgabe", res.ExitCode)}
	}
	return r
}

// perfValue is a perfdata value with its unit of measurement: a number
// (decimal point or comma, optional exponent) and letters or % after it.
var perfValue = regexp.MustCompile(`^([-+]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][-+]?[0-9]+)?)([A-Za-z%µ°/]{0,16})$`)

// perfUnit is a unit given as the field after the value ("|x=42;MB").
var perfUnit = regexp.MustCompile(`^[A-Za-z%µ°/]{1,16}$`)

// parsePerfdata splits a plugin's output line at "|": the text before is
// the message, the first perfdata item after it ("label=value[UOM];warn;
// crit;min;max", the label optionally in single quotes) the value and its
// unit; a unit may also be the field after the value ("|label=42;MB").
// Malformed perfdata gives no value; the message never carries it.
func parsePerfdata(line string) (msg string, value *float64, unit string) {
	msg, perf, ok := strings.Cut(line, "|")
	msg = strings.TrimSpace(msg)
	perf = strings.TrimSpace(perf)
	if !ok || perf == "" {
		return msg, nil, ""
	}
	var item string
	if strings.HasPrefix(perf, "'") {
		end := strings.Index(perf[1:], "'=")
		if end < 0 {
			return msg, nil, ""
		}
		item = perf[end+3:]
	} else {
		label, rest, ok := strings.Cut(perf, "=")
		if !ok || strings.ContainsAny(label, " \t") {
			return msg, nil, ""
		}
		item = rest
	}
	if i := strings.IndexAny(item, " \t"); i >= 0 {
		item = item[:i] // the next item
	}
	fields := strings.Split(item, ";")
	m := perfValue.FindStringSubmatch(fields[0])
	if m == nil {
		return msg, nil, "" // "U" (unknown) or malformed
	}
	v, err := strconv.ParseFloat(strings.Replace(m[1], ",", ".", 1), 64)
	if err != nil {
		return msg, nil, ""
	}
	unit = m[2]
	if unit == "" && len(fields) > 1 && perfUnit.MatchString(fields[1]) {
		unit = fields[1]
	}
	return msg, &v, unit
}
