package service

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netdev"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// Secret check parameters of policies (core.SecretParams,
// core.SecretListParams) are write-only, as on network devices: answers
// leave them out of params and name them in SecretsSet; a save without
// them keeps the stored values unless the check's target moved
// (netdev.Moves), so nobody can read a stored secret or send it to a new
// target without knowing it. The store seals them at rest; agents get them
// through the resolver, which reads the store.

// secretSet reports whether v is a secret parameter's value worth keeping:
// not empty, null, "" or [].
func secretSet(v json.RawMessage) bool {
	switch string(v) {
	case "", "null", `""`, "[]":
		return false
	}
	return true
}

// storedSecrets returns the secret parameter values (raw JSON) of cs by
// check name.
func storedSecrets(cs []core.PolicyCheck) netdev.Secrets {
	out := netdev.Secrets{}
	for _, c := range cs {
		for k, v := range mustObject(c.Params) {
			if core.IsSecretParam(k) && secretSet(v) {
				if out[c.Name] == nil {
					out[c.Name] = map[string]string{}
				}
				out[c.Name][k] = string(v)
			}
		}
	}
	return out
}

// redactChecks returns cs as users see them: secret parameters left out of
// params and named in SecretsSet. Entries without secrets keep their
// params byte for byte.
func redactChecks(cs []core.PolicyCheck) []core.PolicyCheck {
	if cs == nil {
		return nil
	}
	out := make([]core.PolicyCheck, len(cs))
	for i, c := range cs {
		c.SecretsSet = nil
		if m := mustObject(c.Params); m != nil {
			removed := false
			for k, v := range m {
				if core.IsSecretParam(k) {
					delete(m, k)
					removed = true
					if secretSet(v) {
						c.SecretsSet = append(c.SecretsSet, k)
					}
				}
			}
			if removed {
				slices.Sort(c.SecretsSet)
				c.Params, _ = json.Marshal(m) // re-encoding decoded JSON cannot fail
			}
		}
		out[i] = c
	}
	return out
}

// mustObject decodes a JSON object, nil for anything else.
func mustObject(raw json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// redactPolicy is p as users see it.
func redactPolicy(p core.Policy) core.Policy {
	p.Checks = redactChecks(p.Checks)
	return p
}

// keepSecrets returns checks (as an administrator sent them) with the
// secret parameters they leave out taken from old, the checks stored
// before. A check whose type changed drops its stored secrets; one whose
// URL or host (and port) changed must send each of them again, otherwise
// the error names the fields.
func keepSecrets(checks, old []core.PolicyCheck) ([]core.PolicyCheck, error) {
	stored := storedSecrets(old)
	if len(stored) == 0 {
		return checks, nil
	}
	moves := netdev.Moves(core.NetDevice{Checks: old}, core.NetDevice{Checks: checks}, stored)
	var fs []policy.FieldError
	out := slices.Clone(checks)
	for i, c := range checks {
		keep := stored[c.Name]
		if len(keep) == 0 {
			continue
		}
		m := mustObject(c.Params)
		if m == nil && len(c.Params) > 0 && string(c.Params) != "null" {
			continue // not an object: validation names it
		}
		if m == nil {
			m = map[string]json.RawMessage{}
		}
		mi := slices.IndexFunc(moves, func(mv netdev.Move) bool { return mv.Check == c.Name })
		changed := false
		var version string
		json.Unmarshal(m["version"], &version) // absent or not a string: ""
		for _, f := range slices.Sorted(maps.Keys(keep)) {
			if secretSet(m[f]) || netdev.SecretUnused(c.Type, version, f) {
				continue
			}
			if mi >= 0 {
				if slices.Contains(moves[mi].Need, f) {
					fs = append(fs, secretAgain(fmt.Sprintf("checks[%d].params.%s", i, f), f, moves[mi].What))
				}
				continue // moved, or a new type: the stored value is dropped
			}
			m[f] = json.RawMessage(keep[f])
			changed = true
		}
		if changed {
			b, err := json.Marshal(m)
			if err != nil {
				return nil, fmt.Errorf("checks[%d].params: %w", i, err)
			}
			out[i].Params = b
		}
	}
	if len(fs) > 0 {
		return nil, &policy.ValidationError{Fields: fs}
	}
	return out, nil
}

// secretAgain is the field error of a stored secret that must be sent
// again because what changed (e.g. "the URL") would send it elsewhere.
func secretAgain(field, param string, what core.Text) policy.FieldError {
	return fieldErr(field,
		fmt.Sprintf("%s changed: send %s again; a stored secret is never sent to a new target", what.EN, param),
		fmt.Sprintf("%s wurde geändert: %s bitte erneut angeben; ein gespeichertes Geheimnis wird nie an ein neues Ziel gesendet", what.DE, param))
}
