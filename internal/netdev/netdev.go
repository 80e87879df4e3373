// Package netdev is the server side of network devices without an agent:
// it keeps their checks' secret parameters sealed (internal/seal), adds
// their checks to their probe agent's policy with the secrets opened, and
// routes the probe's results for them to the network device after checking
// that the probe really watches it.
package netdev

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/seal"
)

// EntryPrefix starts the policy entry names of network devices' checks in
// their probe's policy: "net-<device id>-<check name>".
const EntryPrefix = "net-"

// MaxCheckNameLen keeps "net-<id>-<name>" within the protocol's 64
// characters for any realistic device ID.
const MaxCheckNameLen = 40

// EntryName is the probe's policy entry name of a network device's check.
func EntryName(deviceID int64, check string) string {
	return EntryPrefix + strconv.FormatInt(deviceID, 10) + "-" + check
}

// ParseEntryName is the inverse of EntryName; ok is false for other names.
func ParseEntryName(name string) (deviceID int64, check string, ok bool) {
	rest, found := strings.CutPrefix(name, EntryPrefix)
	if !found {
		return 0, "", false
	}
	idText, check, found := strings.Cut(rest, "-")
	if !found || check == "" {
		return 0, "", false
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return 0, "", false
	}
	return id, check, true
}

// Split takes the secret parameters out of checks (as the API received
// them) and returns the checks without them and the secrets to seal.
// Secrets are write-only: a secret parameter that is absent or empty keeps
// its value from old (the sealed secrets stored before), so clients never
// need to read a secret back to save a device.
func Split(checks []core.PolicyCheck, old Secrets) ([]core.PolicyCheck, Secrets, error) {
	out := make([]core.PolicyCheck, len(checks))
	secrets := Secrets{}
	for i, c := range checks {
		out[i] = c
		params := map[string]any{}
		if len(c.Params) > 0 && string(c.Params) != "null" {
			if err := json.Unmarshal(c.Params, &params); err != nil {
				return nil, nil, fmt.Errorf("checks[%d].params: %w", i, err)
			}
		}
		kept := map[string]string{}
		version, _ := params["version"].(string)
		for _, f := range core.SecretParams {
			v, given := params[f]
			delete(params, f)
			if s, ok := v.(string); given && ok && s != "" {
				kept[f] = s
			} else if o, ok := old[c.Name][f]; ok && !SecretUnused(c.Type, version, f) {
				kept[f] = o
			}
		}
		for _, f := range core.SecretListParams {
			v, given := params[f]
			delete(params, f)
			if l, ok := v.([]any); given && ok && len(l) > 0 {
				b, err := json.Marshal(l)
				if err != nil {
					return nil, nil, fmt.Errorf("checks[%d].params.%s: %w", i, f, err)
				}
				kept[f] = string(b)
			} else if o, ok := old[c.Name][f]; ok {
				kept[f] = o
			}
		}
		if len(kept) > 0 {
			secrets[c.Name] = kept
		}
		b, err := json.Marshal(params)
		if err != nil {
			return nil, nil, fmt.Errorf("checks[%d].params: %w", i, err)
		}
		out[i].Params = b
	}
	return out, secrets, nil
}

// SecretUnused reports whether a stored secret parameter no longer applies
// to a check as it is saved now (version is its "version" parameter), so
// the save drops it instead of keeping it: an SNMP community once the
// check uses version 3, the v3 passphrases once it uses 1 or 2c. A user
// who switches the version therefore leaves no secret behind that nothing
// uses and no field shows.
func SecretUnused(typ, version, field string) bool {
	if typ != "snmp" {
		return false
	}
	v3 := strings.TrimPrefix(version, "v") == "3"
	switch field {
	case "community":
		return v3
	case "auth_passphrase", "priv_passphrase":
		return !v3
	}
	return false
}

// hasHost reports whether the check type declares a "host" parameter.
func hasHost(typ string) bool {
	spec, ok := checkspec.Lookup(typ)
	return ok && slices.ContainsFunc(spec.Params, func(p check.Param) bool { return p.Name == "host" })
}

// Params returns a check's full parameters for running it: the stored
// parameters, the device's address as "host" (ping, snmp) if none is set,
// and the secrets.
func Params(d core.NetDevice, c core.PolicyCheck, s Secrets) (json.RawMessage, error) {
	params := map[string]any{}
	if len(c.Params) > 0 && string(c.Params) != "null" {
		if err := json.Unmarshal(c.Params, &params); err != nil {
			return nil, fmt.Errorf("network device %d check %s: params: %w", d.ID, c.Name, err)
		}
	}
	if hasHost(c.Type) {
		if h, _ := params["host"].(string); h == "" && d.Address != "" {
			params["host"] = d.Address
		}
	}
	for f, v := range s[c.Name] {
		if slices.Contains(core.SecretListParams, f) {
			params[f] = json.RawMessage(v)
			continue
		}
		params[f] = v
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("network device %d check %s: params: %w", d.ID, c.Name, err)
	}
	return b, nil
}

// A Move is a change of where a check's stored secrets would go: its
// type, probe, URL or host (and port). Secrets are bound to their target:
// a moved check's stored secrets are dropped and must be sent again, so
// that whoever may edit a check cannot send a stored secret somewhere new
// without knowing it.
type Move struct {
	Check string    // the check's name
	What  core.Text // what changed, e.g. "the URL"
	// Need lists the stored secret parameters the request must send
	// again, sorted; none after a type change, whose new type takes
	// other parameters.
	Need []string
}

// Moves returns the checks of d (as the client sent them, before Split)
// that have secrets in old (the secrets stored for before) and whose
// target differs from the check of the same name in before.
func Moves(before, d core.NetDevice, old Secrets) []Move {
	var out []Move
	for _, c := range d.Checks {
		if len(old[c.Name]) == 0 {
			continue
		}
		i := slices.IndexFunc(before.Checks, func(b core.PolicyCheck) bool { return b.Name == c.Name })
		if i < 0 {
			continue
		}
		b := before.Checks[i]
		var what core.Text
		switch {
		case b.Type != c.Type:
			out = append(out, Move{Check: c.Name, What: core.Text{EN: "the check type", DE: "der Prüfungstyp"}})
			continue
		case before.ProbeID != d.ProbeID:
			what = core.Text{EN: "the probe", DE: "der Prüf-Agent"}
		default:
			bt, ct := target(before, b), target(d, c)
			switch {
			case bt.URL != ct.URL:
				what = core.Text{EN: "the URL", DE: "die URL"}
			case bt.Host != ct.Host || string(bt.Port) != string(ct.Port):
				what = core.Text{EN: "the host", DE: "der Host"}
			default:
				continue
			}
		}
		need := slices.Sorted(maps.Keys(old[c.Name]))
		out = append(out, Move{Check: c.Name, What: what, Need: need})
	}
	return out
}

// checkTarget is where a check connects to.
type checkTarget struct {
	URL  string          `json:"url"`
	Host string          `json:"host"`
	Port json.RawMessage `json:"port"`
}

// target reads a check's target from its parameters as it will run
// (Params: the device's address as host where the check uses it).
func target(d core.NetDevice, c core.PolicyCheck) checkTarget {
	var t checkTarget
	if p, err := Params(d, c, nil); err == nil {
		json.Unmarshal(p, &t) // a malformed target is left to validation
	}
	t.Host = strings.ToLower(strings.TrimSpace(t.Host))
	return t
}

// Store is what this package needs of the store.
type Store interface {
	ListProbedDevices(ctx context.Context, probeID int64) ([]core.NetDevice, error)
	ListNetDevices(ctx context.Context, siteID int64) ([]core.NetDevice, error)
	GetDevice(ctx context.Context, id int64) (core.Device, error)
}

// TrapType is the check type of SNMP trap entries (internal/snmptrap).
const TrapType = "snmptrap"

// PolicySource computes an agent's effective policy (the gateway's
// PolicySource; policy.Resolver implements it).
type PolicySource interface {
	AgentPolicy(ctx context.Context, deviceID int64) (protocol.Policy, error)
}

// ProbePolicy adds to an agent's policy the checks of the network devices
// it probes, with their secrets opened: only that agent ever receives them.
type ProbePolicy struct {
	Base  PolicySource
	Store Store
	Box   *seal.Box
}

// AgentPolicy implements the gateway's PolicySource.
func (p ProbePolicy) AgentPolicy(ctx context.Context, deviceID int64) (protocol.Policy, error) {
	pol, err := p.Base.AgentPolicy(ctx, deviceID)
	if err != nil {
		return pol, err
	}
	extra, err := p.Entries(ctx, deviceID)
	if err != nil || len(extra) == 0 {
		return pol, err
	}
	pol.Checks = append(slices.Clip(pol.Checks), extra...)
	b, err := json.Marshal(extra)
	if err != nil {
		return pol, fmt.Errorf("hashing probe entries: %w", err)
	}
	h := sha256.Sum256(append([]byte(pol.Revision+"\n"), b...))
	pol.Revision = hex.EncodeToString(h[:16])
	return pol, nil
}

// Entries returns the policy entries of the network devices probeID
// watches (0: those the server runs), with full parameters.
func (p ProbePolicy) Entries(ctx context.Context, probeID int64) ([]core.PolicyCheck, error) {
	devs, err := p.Store.ListProbedDevices(ctx, probeID)
	if err != nil {
		return nil, err
	}
	var out []core.PolicyCheck
	for _, d := range devs {
		if len(d.Checks) == 0 {
			continue
		}
		if p.Box == nil {
			return nil, fmt.Errorf("network device %d: no secret key", d.ID)
		}
		secrets, err := OpenSecrets(p.Box, d.Sealed)
		if err != nil {
			return nil, fmt.Errorf("network device %d: %w", d.ID, err)
		}
		for _, c := range d.Checks {
			params, err := Params(d, c, secrets)
			if err != nil {
				return nil, err
			}
			e := core.PolicyCheck{Name: EntryName(d.ID, c.Name), Type: c.Type, Params: params, Schedule: c.Schedule}
			if e.Schedule.Class == "" {
				e.Schedule = core.Schedule{Class: core.Schedule24x7, EveryMinutes: 5}
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// Router assigns a probe's results to the network devices they are for.
type Router struct {
	Store Store
	Log   *slog.Logger
}

// Route splits a batch from agent deviceID: results named by EntryName for
// a network device this agent probes go to that device under the check's
// own name; the rest stay with the agent. A result named for a network
// device the agent does not probe is dropped and logged: an agent cannot
// write another device's results.
//
// Trap results (check type snmptrap, or the agent's own check "snmptrap")
// whose key names a source address ("trap 192.0.2.1", "unknown …",
// "rejected …") go to the network device of the agent's site with that
// address, if there is one; otherwise they stay where they are (a trap
// from an unknown source is recorded, not dropped).
func (r Router) Route(ctx context.Context, deviceID int64, rs []core.Result) (map[int64][]core.Result, error) {
	out := map[int64][]core.Result{}
	var probed map[int64]core.NetDevice
	var bySource map[string]int64
	for _, res := range rs {
		id, check, ok := ParseEntryName(res.Check)
		trap := !ok && res.Check == TrapType
		if ok {
			if probed == nil {
				devs, err := r.Store.ListProbedDevices(ctx, deviceID)
				if err != nil {
					return nil, fmt.Errorf("routing results: %w", err)
				}
				probed = map[int64]core.NetDevice{}
				for _, d := range devs {
					probed[d.ID] = d
				}
			}
			d, mine := probed[id]
			if !mine {
				if r.Log != nil {
					r.Log.Warn("dropping a result for a network device the agent does not probe",
						"device", deviceID, "network_device", id, "check", check)
				}
				continue
			}
			res.Check = check
			trap = slices.ContainsFunc(d.Checks, func(c core.PolicyCheck) bool { return c.Name == check && c.Type == TrapType })
		} else {
			id = deviceID
		}
		if src := trapSource(res.Key); trap && src != "" {
			if bySource == nil {
				var err error
				if bySource, err = r.sources(ctx, deviceID); err != nil {
					return nil, err
				}
			}
			if nd, found := bySource[src]; found {
				id = nd
			}
		}
		out[id] = append(out[id], res)
	}
	return out, nil
}

// trapSource returns the address in a trap result's key, or "".
func trapSource(key string) string {
	kind, addr, ok := strings.Cut(key, " ")
	if !ok || (kind != "trap" && kind != "unknown" && kind != "rejected") {
		return ""
	}
	return addr
}

// sources maps the addresses of the agent's site's network devices to
// their IDs.
func (r Router) sources(ctx context.Context, agentID int64) (map[string]int64, error) {
	agent, err := r.Store.GetDevice(ctx, agentID)
	if err != nil {
		return nil, fmt.Errorf("routing traps: %w", err)
	}
	devs, err := r.Store.ListNetDevices(ctx, agent.SiteID)
	if err != nil {
		return nil, fmt.Errorf("routing traps: %w", err)
	}
	m := map[string]int64{}
	for _, d := range devs {
		if d.Address != "" && d.State == core.DeviceActive {
			if _, dup := m[d.Address]; !dup {
				m[d.Address] = d.ID
			}
		}
	}
	return m, nil
}
