package protocol

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Inventory (issue 18) travels on the agent's websocket, not over bulk
// HTTPS: after the first one, a report is a small diff, and the session is
// already authenticated. The agent sends a TypeInventory envelope (an
// InventoryReport); the server answers with a TypeInventoryAck of the same
// ID once the inventory is committed, or asks for a full resend when the
// report's base is not what it holds (its database was restored from a
// backup, or it forgot the device's inventory). The agent keeps the last
// acknowledged inventory on disk and diffs against it, so a restart costs
// nothing; without one it sends the whole inventory.
const (
	TypeInventory    = "inventory"     // agent → server, id = report id
	TypeInventoryAck = "inventory_ack" // server → agent, id = the report's id
)

// ActionInventoryRefresh asks the agent to collect and send its inventory
// now (InventoryRefreshArgs → no reply data); the inventory follows as a
// TypeInventory message.
const ActionInventoryRefresh = "inventory-refresh"

// InventoryRefreshArgs: Full sends the whole inventory, not a diff.
type InventoryRefreshArgs struct {
	Full bool `json:"full,omitempty"`
}

// Acknowledgement statuses.
const (
	InventoryStored = "stored" // committed; Digest is the server's new base
	InventoryResend = "resend" // send the whole inventory (Reason says why)
)

// InventoryAck answers an InventoryReport.
type InventoryAck struct {
	Status string `json:"status"`
	Digest string `json:"digest,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Bounds of one inventory. A longer program list is cut, with a gap
// saying so; longer strings are cut.
const (
	MaxPrograms      = 10000
	MaxHotfixes      = 5000
	MaxInventoryText = 512
)

// InventoryReport is an inventory, whole (Full) or as a diff against the
// inventory whose digest is Base. A diff carries the hardware and system
// sections only when they changed, and the programs and hotfixes added and
// removed (removed ones by ItemKey). Digest is InventoryDigest of the
// inventory after applying the report; the server checks it.
type InventoryReport struct {
	Base        string              `json:"base,omitempty"`
	Digest      string              `json:"digest"`
	CollectedAt time.Time           `json:"collected_at"`
	Full        *core.Inventory     `json:"full,omitempty"`
	Hardware    *core.Hardware      `json:"hardware,omitempty"`
	System      *core.SystemInfo    `json:"system,omitempty"`
	Added       []core.Program      `json:"added,omitempty"`
	Removed     []string            `json:"removed,omitempty"`
	HotfixesAdd []core.Hotfix       `json:"hotfixes_added,omitempty"`
	HotfixesDel []string            `json:"hotfixes_removed,omitempty"`
	Missing     []core.InventoryGap `json:"missing,omitempty"`
}

// Validate checks a decoded report's shape.
func (r InventoryReport) Validate() error {
	if len(r.Digest) != 64 {
		return fmt.Errorf("%w: inventory report without digest", ErrMalformed)
	}
	if r.Full != nil && (r.Base != "" || r.Hardware != nil || r.System != nil || len(r.Added)+len(r.Removed)+len(r.HotfixesAdd)+len(r.HotfixesDel) > 0) {
		return fmt.Errorf("%w: a full inventory report carries nothing else", ErrMalformed)
	}
	if r.Full == nil && r.Base == "" {
		return fmt.Errorf("%w: an inventory diff without base", ErrMalformed)
	}
	if len(r.Added) > MaxPrograms || len(r.Removed) > MaxPrograms || len(r.HotfixesAdd) > MaxHotfixes || len(r.HotfixesDel) > MaxHotfixes {
		return fmt.Errorf("%w: inventory report too long", ErrMalformed)
	}
	if r.Full != nil && (len(r.Full.Software) > MaxPrograms || len(r.Full.Hotfixes) > MaxHotfixes) {
		return fmt.Errorf("%w: inventory too long", ErrMalformed)
	}
	return nil
}

// NormalizeInventory returns inv in its canonical form, the one both sides
// digest: strings are valid UTF-8 and bounded (a JSON round trip, which is
// also what the wire does), programs and hotfixes sorted with exact
// duplicates removed and at most MaxPrograms/MaxHotfixes, gaps sorted, and
// CollectedAt and LastBoot in UTC.
func NormalizeInventory(inv core.Inventory) core.Inventory {
	for i := range inv.Software {
		p := &inv.Software[i]
		p.Name, p.Version, p.Publisher = invText(p.Name), invText(p.Version), invText(p.Publisher)
		p.InstallDate, p.Source, p.ID = invText(p.InstallDate), invText(p.Source), invText(p.ID)
	}
	for i := range inv.Hotfixes {
		h := &inv.Hotfixes[i]
		h.ID, h.Description, h.InstalledOn = invText(h.ID), invText(h.Description), invText(h.InstalledOn)
	}
	var out core.Inventory
	b, err := json.Marshal(inv)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil { // cannot happen for these types
		panic(fmt.Sprintf("normalizing inventory: %v", err))
	}
	out.CollectedAt = out.CollectedAt.UTC()
	if !out.System.LastBoot.IsZero() {
		out.System.LastBoot = out.System.LastBoot.UTC().Truncate(time.Minute)
	}
	slices.SortFunc(out.Software, compareProgram)
	out.Software = slices.CompactFunc(out.Software, func(a, b core.Program) bool { return a == b })
	if n := len(out.Software); n > MaxPrograms {
		out.Software = out.Software[:MaxPrograms]
		out.Missing = append(out.Missing, core.InventoryGap{Part: core.PartSoftware,
			Error: fmt.Sprintf("%d programs found; only the first %d are kept", n, MaxPrograms)})
	}
	slices.SortFunc(out.Hotfixes, func(a, b core.Hotfix) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.InstalledOn, b.InstalledOn), cmp.Compare(a.Description, b.Description))
	})
	out.Hotfixes = slices.Compact(out.Hotfixes)
	if len(out.Hotfixes) > MaxHotfixes {
		out.Hotfixes = out.Hotfixes[:MaxHotfixes]
	}
	slices.SortFunc(out.Missing, func(a, b core.InventoryGap) int {
		return cmp.Or(cmp.Compare(a.Part, b.Part), cmp.Compare(a.Error, b.Error))
	})
	out.Missing = slices.Compact(out.Missing)
	if out.Software == nil {
		out.Software = []core.Program{}
	}
	if out.Hotfixes == nil {
		out.Hotfixes = []core.Hotfix{}
	}
	return out
}

func compareProgram(a, b core.Program) int {
	return cmp.Or(
		cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Version, b.Version),
		cmp.Compare(a.Source, b.Source),
		cmp.Compare(a.ID, b.ID),
		cmp.Compare(a.Publisher, b.Publisher),
		cmp.Compare(a.InstallDate, b.InstallDate),
		cmp.Compare(a.SizeBytes, b.SizeBytes),
	)
}

// invText makes s valid UTF-8 of at most MaxInventoryText runes.
func invText(s string) string {
	return clip(strings.ToValidUTF8(s, "\uFFFD"), MaxInventoryText)
}

// InventoryDigest is the SHA-256 of a normalized inventory's JSON without
// its collection time: two collections that found the same have the same
// digest.
func InventoryDigest(inv core.Inventory) string {
	inv.CollectedAt = time.Time{}
	b, err := json.Marshal(inv)
	if err != nil {
		panic(fmt.Sprintf("digesting inventory: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ItemKey identifies a program or hotfix in a diff: a short hash of its
// JSON, so that any changed field makes it another item.
func ItemKey(item any) string {
	b, err := json.Marshal(item)
	if err != nil {
		panic(fmt.Sprintf("keying inventory item: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// KeepMissing copies into cur the content of every part cur could not
// collect (listed in cur.Missing) from prev, the last inventory the
// server acknowledged: a dpkg that failed once does not uninstall every
// package in the server's eyes. The gap stays listed.
func KeepMissing(prev, cur *core.Inventory) {
	for _, g := range cur.Missing {
		switch g.Part {
		case core.PartIdentity:
			cur.Hardware.Manufacturer, cur.Hardware.Model, cur.Hardware.Serial = prev.Hardware.Manufacturer, prev.Hardware.Model, prev.Hardware.Serial
			cur.Hardware.Firmware = prev.Hardware.Firmware
		case core.PartCPU:
			cur.Hardware.CPU = prev.Hardware.CPU
		case core.PartMemory:
			cur.Hardware.Memory = prev.Hardware.Memory
		case core.PartDisks:
			cur.Hardware.Disks = prev.Hardware.Disks
		case core.PartVolumes:
			cur.Hardware.Volumes = prev.Hardware.Volumes
		case core.PartNetwork:
			cur.Hardware.NICs = prev.Hardware.NICs
		case core.PartGPUs:
			cur.Hardware.GPUs = prev.Hardware.GPUs
		case core.PartMonitors:
			cur.Hardware.Monitors = prev.Hardware.Monitors
		case core.PartBattery:
			cur.Hardware.Batteries = prev.Hardware.Batteries
		case core.PartSecurity:
			cur.Hardware.TPM, cur.Hardware.SecureBoot = prev.Hardware.TPM, prev.Hardware.SecureBoot
		case core.PartOS:
			users, logged, act, join, dom := cur.System.Users, cur.System.LoggedOn, cur.System.Activation, cur.System.JoinType, cur.System.Domain
			cur.System = prev.System
			cur.System.Users, cur.System.LoggedOn, cur.System.Activation, cur.System.JoinType, cur.System.Domain = users, logged, act, join, dom
		case core.PartActivation:
			cur.System.Activation = prev.System.Activation
		case core.PartDomain:
			cur.System.JoinType, cur.System.Domain = prev.System.JoinType, prev.System.Domain
		case core.PartUsers:
			cur.System.Users, cur.System.LoggedOn = prev.System.Users, prev.System.LoggedOn
		case core.PartSoftware:
			if len(cur.Software) < MaxPrograms { // not the "cut" gap
				cur.Software = prev.Software
			}
		case core.PartHotfixes:
			cur.Hotfixes = prev.Hotfixes
		}
	}
}

// DiffInventory returns the report that turns base (the acknowledged
// inventory; nil for none) into cur. Both must be normalized.
func DiffInventory(base *core.Inventory, cur core.Inventory) InventoryReport {
	r := InventoryReport{Digest: InventoryDigest(cur), CollectedAt: cur.CollectedAt}
	if base == nil {
		r.Full = &cur
		return r
	}
	r.Base = InventoryDigest(*base)
	if !sameJSON(base.Hardware, cur.Hardware) {
		r.Hardware = &cur.Hardware
	}
	if !sameJSON(base.System, cur.System) {
		r.System = &cur.System
	}
	r.Added, r.Removed = diffItems(base.Software, cur.Software)
	r.HotfixesAdd, r.HotfixesDel = diffItems(base.Hotfixes, cur.Hotfixes)
	r.Missing = cur.Missing
	return r
}

func diffItems[T any](old, cur []T) (added []T, removed []string) {
	had := make(map[string]bool, len(old))
	for _, o := range old {
		had[ItemKey(o)] = true
	}
	has := make(map[string]bool, len(cur))
	for _, c := range cur {
		k := ItemKey(c)
		has[k] = true
		if !had[k] {
			added = append(added, c)
		}
	}
	for _, o := range old {
		if k := ItemKey(o); !has[k] {
			removed = append(removed, k)
		}
	}
	return added, removed
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// ErrInventoryBase says a report cannot be applied to the inventory the
// server holds: the server asks for a full resend.
var ErrInventoryBase = errors.New("inventory report does not apply to the stored inventory")

// ApplyInventory returns the inventory a report describes, given the
// stored one (nil for none). It fails with ErrInventoryBase when the
// report is a diff against another base, removes an item the base does
// not have, or does not end at its Digest.
func ApplyInventory(base *core.Inventory, r InventoryReport) (core.Inventory, error) {
	var out core.Inventory
	if r.Full != nil {
		out = NormalizeInventory(*r.Full)
	} else {
		if base == nil {
			return out, fmt.Errorf("%w: no inventory is stored", ErrInventoryBase)
		}
		if d := InventoryDigest(*base); d != r.Base {
			return out, fmt.Errorf("%w: based on %.12s, stored is %.12s", ErrInventoryBase, r.Base, d)
		}
		out = *base
		if r.Hardware != nil {
			out.Hardware = *r.Hardware
		}
		if r.System != nil {
			out.System = *r.System
		}
		var err error
		if out.Software, err = applyItems(base.Software, r.Added, r.Removed); err != nil {
			return core.Inventory{}, err
		}
		if out.Hotfixes, err = applyItems(base.Hotfixes, r.HotfixesAdd, r.HotfixesDel); err != nil {
			return core.Inventory{}, err
		}
		out.Missing = r.Missing
		out.CollectedAt = r.CollectedAt
		out = NormalizeInventory(out)
	}
	if d := InventoryDigest(out); d != r.Digest {
		return core.Inventory{}, fmt.Errorf("%w: the result's digest is %.12s, the report says %.12s", ErrInventoryBase, d, r.Digest)
	}
	return out, nil
}

func applyItems[T any](old, added []T, removed []string) ([]T, error) {
	drop := make(map[string]bool, len(removed))
	for _, k := range removed {
		drop[k] = true
	}
	out := make([]T, 0, len(old)+len(added))
	for _, o := range old {
		k := ItemKey(o)
		if drop[k] {
			delete(drop, k)
			continue
		}
		out = append(out, o)
	}
	if len(drop) > 0 {
		return nil, fmt.Errorf("%w: %d removed items are not in the stored inventory", ErrInventoryBase, len(drop))
	}
	return append(out, added...), nil
}
