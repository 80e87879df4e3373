// Package scriptmac authenticates what makes an agent run code without a
// person asking for it each time: the executable content of each script
// version and software package, and each automated task, script check and
// desired software state of a policy. The
// server writes an HMAC, under keys derived from <data>/secret.key (which
// the database does not hold), beside every such row it stores, and the
// policy resolver sends a task or script check to agents only if the MACs
// match. So a script version, task or script check written straight into
// the database (SQL injection, stolen database credentials) runs nothing,
// as queued runs do not (service.runMAC).
package scriptmac

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/seal"
)

// Key purposes (seal.Box.Derive).
const (
	purposeVersion = "script-version"
	purposeEntry   = "policy-script-entry"
	purposePackage = "software-package"
)

// Keys computes and checks the MACs. The zero Keys (no secret key) makes
// and accepts none.
type Keys struct {
	version, entry, pkg []byte
}

// New derives the keys from box; nil gives the zero Keys.
func New(box *seal.Box) Keys {
	if box == nil {
		return Keys{}
	}
	return Keys{version: box.Derive(purposeVersion), entry: box.Derive(purposeEntry), pkg: box.Derive(purposePackage)}
}

// Usable reports whether k can make and check MACs.
func (k Keys) Usable() bool { return k.version != nil }

// Version is the MAC of a script version: its identity and everything that
// decides what runs (language, body, parameter declarations with their
// defaults, which become environment variables, timeout, lock-mode
// signature, run as).
func (k Keys) Version(sc core.Script) []byte {
	if !k.Usable() {
		return nil
	}
	if sc.Params == nil {
		sc.Params = []core.ScriptParam{} // as the store reads it back
	}
	params, _ := json.Marshal(sc.Params) // plain data: cannot fail
	return mac(k.version, []byte(strconv.FormatInt(sc.ID, 10)), []byte(strconv.Itoa(sc.Version)),
		[]byte(sc.Language), []byte(sc.Body), params, []byte(strconv.Itoa(sc.TimeoutSeconds)),
		[]byte(sc.Signature), []byte(sc.RunAs))
}

// Task is the MAC of one task entry of policy policyID, with its secret
// parameters (in clear: the MAC reveals nothing of them), so that an entry
// copied into another policy does not verify either.
func (k Keys) Task(policyID int64, t core.PolicyTask) []byte {
	if !k.Usable() {
		return nil
	}
	b, _ := json.Marshal(t) // plain data, map keys sorted; MAC and Secrets are not marshaled
	secrets, _ := json.Marshal(t.Secrets)
	if len(t.Secrets) == 0 {
		secrets = nil
	}
	return mac(k.entry, []byte("task"), []byte(strconv.FormatInt(policyID, 10)), b, secrets)
}

// Check is the MAC of one check entry of policy policyID; the store keeps
// it for script checks.
func (k Keys) Check(policyID int64, c core.PolicyCheck) []byte {
	if !k.Usable() {
		return nil
	}
	return mac(k.entry, []byte("check"), []byte(strconv.FormatInt(policyID, 10)), []byte(c.Name), []byte(c.Type),
		canonical(c.Params), []byte(strconv.FormatBool(c.Exclude)))
}

// Package is the MAC of a package definition: its identity and
// everything that decides what runs and what counts as installed (kind,
// manager ID, command lines, parameters with the sealed secrets, exit
// codes, detection rule, Authenticode requirement, timeout and file).
func (k Keys) Package(p core.Package) []byte {
	if !k.Usable() {
		return nil
	}
	def, _ := json.Marshal(struct {
		Install, Uninstall []string
		Params             []core.PackageParam
		ExitCodes          map[int]string
		Detection          core.Detection
		Authenticode       bool
		Timeout            int
		SHA256             string
		Size               int64
		FileName           string
	}{p.Install, p.Uninstall, p.Params, p.ExitCodes, p.Detection, p.RequireAuthenticode, p.TimeoutSeconds,
		p.SHA256, p.Size, p.FileName}) // plain data: cannot fail
	return mac(k.pkg, []byte(strconv.FormatInt(p.ID, 10)), []byte(p.Builtin), []byte(p.Name), []byte(p.Version),
		[]byte(p.OS), []byte(p.Arch), []byte(p.Kind), []byte(p.ManagerID), def, p.Sealed)
}

// PackageOK checks a package's stored MAC.
func (k Keys) PackageOK(p core.Package) bool { return k.Usable() && hmac.Equal(p.MAC, k.Package(p)) }

// Software is the MAC of one desired-software entry of policy policyID.
func (k Keys) Software(policyID int64, s core.PolicySoftware) []byte {
	if !k.Usable() {
		return nil
	}
	b, _ := json.Marshal(s) // plain data; MAC is not marshaled
	return mac(k.entry, []byte("software"), []byte(strconv.FormatInt(policyID, 10)), b)
}

// SoftwareOK checks a desired-software entry's stored MAC.
func (k Keys) SoftwareOK(policyID int64, s core.PolicySoftware) bool {
	return k.Usable() && hmac.Equal(s.MAC, k.Software(policyID, s))
}

// VersionOK, TaskOK and CheckOK check a stored MAC.
func (k Keys) VersionOK(sc core.Script) bool { return k.Usable() && hmac.Equal(sc.MAC, k.Version(sc)) }

// TaskOK checks a task entry's stored MAC.
func (k Keys) TaskOK(policyID int64, t core.PolicyTask) bool {
	return k.Usable() && hmac.Equal(t.MAC, k.Task(policyID, t))
}

// CheckOK checks a check entry's stored MAC.
func (k Keys) CheckOK(policyID int64, c core.PolicyCheck) bool {
	return k.Usable() && hmac.Equal(c.MAC, k.Check(policyID, c))
}

// canonical re-encodes JSON with sorted keys and no spacing, so that the
// MAC does not depend on how the store spelled the same value.
func canonical(raw json.RawMessage) []byte {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return raw
	}
	b, _ := json.Marshal(v)
	return b
}

// mac is an HMAC-SHA256 over length-prefixed parts, so that no two
// different inputs hash alike.
func mac(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(p))))
		m.Write(p)
	}
	return m.Sum(nil)
}
