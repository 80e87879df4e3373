// Package invchange computes a device's inventory change history: what
// differs between the inventory the server held and the one that arrived
// (programs installed, removed and updated, hotfixes, hardware added,
// dropped or replaced, identity and OS values changed). A part either
// inventory lists as missing makes no change: the agent could not look,
// so nothing is known to have changed.
package invchange

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Diff returns the changes from old to cur, all at at, in a stable order
// (by part, then item). A first inventory (old nil) has no history.
func Diff(old *core.Inventory, cur core.Inventory, at time.Time) []core.InventoryChange {
	if old == nil {
		return nil
	}
	d := differ{at: at, skip: map[string]bool{}}
	for _, g := range slices.Concat(old.Missing, cur.Missing) {
		d.skip[g.Part] = true
	}
	oh, ch := old.Hardware, cur.Hardware
	d.value(core.PartIdentity, "manufacturer", oh.Manufacturer, ch.Manufacturer)
	d.value(core.PartIdentity, "model", oh.Model, ch.Model)
	d.value(core.PartIdentity, "serial", oh.Serial, ch.Serial)
	d.value(core.PartIdentity, "firmware", firmware(oh.Firmware), firmware(ch.Firmware))
	d.value(core.PartCPU, "model", oh.CPU.Model, ch.CPU.Model)
	d.value(core.PartMemory, "total", size(oh.Memory.TotalBytes), size(ch.Memory.TotalBytes))
	pieces(&d, core.PartMemory, oh.Memory.Modules, ch.Memory.Modules, func(m core.MemoryModule) (string, string, string) {
		return m.Slot + "\x00" + m.Serial + "\x00" + strconv.FormatUint(m.SizeBytes, 10), cmp.Or(m.Slot, "module"), module(m)
	})
	d.disks(oh.Disks, ch.Disks)
	pieces(&d, core.PartMonitors, oh.Monitors, ch.Monitors, func(m core.Monitor) (string, string, string) {
		return m.Manufacturer + "\x00" + m.Model + "\x00" + m.Serial, join(m.Manufacturer, m.Model), m.Serial
	})
	pieces(&d, core.PartBattery, oh.Batteries, ch.Batteries, func(b core.Battery) (string, string, string) {
		return b.Name + "\x00" + b.SerialOrModel + "\x00" + strconv.Itoa(b.DesignMWh), cmp.Or(b.Name, b.SerialOrModel, "battery"),
			join(b.Manufacturer, b.SerialOrModel)
	})
	pieces(&d, core.PartNetwork, oh.NICs, ch.NICs, func(n core.NIC) (string, string, string) {
		return n.MAC, cmp.Or(n.Name, n.MAC), n.MAC
	})
	// What an attacker or a careless change leaves behind: encryption
	// turned off, the TPM or Secure Boot gone.
	d.encryption(oh.Volumes, ch.Volumes)
	d.value(core.PartSecurity, "tpm", tpm(oh.TPM), tpm(ch.TPM))
	d.value(core.PartSecurity, "secure boot", oh.SecureBoot, ch.SecureBoot)
	os, cs := old.System, cur.System
	d.value(core.PartOS, "name", os.OSName, cs.OSName)
	d.value(core.PartOS, "version", os.Version, cs.Version)
	d.value(core.PartOS, "build", os.Build, cs.Build)
	d.value(core.PartDomain, "join", join(os.JoinType, os.Domain), join(cs.JoinType, cs.Domain))
	d.users(os.Users, cs.Users)
	d.programs(old.Software, cur.Software)
	d.hotfixes(old.Hotfixes, cur.Hotfixes)
	return d.out
}

type differ struct {
	at   time.Time
	skip map[string]bool
	out  []core.InventoryChange
}

func (d *differ) add(part, kind, item, old, cur string) {
	d.out = append(d.out, core.InventoryChange{At: d.at, Part: part, Kind: kind, Item: item, Old: old, New: cur})
}

// value records a changed single value. A value that became known or
// unknown is a change too: a serial number that vanished is worth seeing.
func (d *differ) value(part, item, old, cur string) {
	if !d.skip[part] && old != cur {
		d.add(part, core.ChangeChanged, item, old, cur)
	}
}

// pieces records hardware pieces added and dropped, by key: key, item
// name and description.
func pieces[T any](d *differ, part string, old, cur []T, id func(T) (key, item, desc string)) {
	if d.skip[part] {
		return
	}
	had, has := map[string]int{}, map[string]int{}
	for _, o := range old {
		k, _, _ := id(o)
		had[k]++
	}
	for _, c := range cur {
		k, _, _ := id(c)
		has[k]++
	}
	for _, o := range old {
		if k, item, desc := id(o); has[k] > 0 {
			has[k]--
		} else {
			d.add(part, core.ChangeDropped, item, desc, "")
		}
	}
	for _, c := range cur {
		if k, item, desc := id(c); had[k] > 0 {
			had[k]--
		} else {
			d.add(part, core.ChangeAdded, item, "", desc)
		}
	}
}

// disks records disks by serial (by name and model for a disk without
// one): a disk whose name now holds another serial was replaced.
func (d *differ) disks(old, cur []core.Disk) {
	if d.skip[core.PartDisks] {
		return
	}
	key := func(k core.Disk) string {
		if k.Serial != "" {
			return "s\x00" + k.Serial
		}
		return "n\x00" + k.Name + "\x00" + k.Model
	}
	had, has := map[string]bool{}, map[string]bool{}
	for _, o := range old {
		had[key(o)] = true
	}
	for _, c := range cur {
		has[key(c)] = true
	}
	var gone, came []core.Disk
	for _, o := range old {
		if !has[key(o)] {
			gone = append(gone, o)
		}
	}
	for _, c := range cur {
		if !had[key(c)] {
			came = append(came, c)
		}
	}
	for _, o := range gone {
		if i := slices.IndexFunc(came, func(c core.Disk) bool { return c.Name == o.Name }); i >= 0 {
			d.add(core.PartDisks, core.ChangeChanged, o.Name, disk(o), disk(came[i]))
			came = slices.Delete(came, i, i+1)
			continue
		}
		d.add(core.PartDisks, core.ChangeDropped, o.Name, disk(o), "")
	}
	for _, c := range came {
		d.add(core.PartDisks, core.ChangeAdded, c.Name, "", disk(c))
	}
}

// programs records programs installed, removed and updated. Programs
// equal in name (any case), source and version are unchanged; of the
// rest, one old and one new program of the same source and ID (the
// uninstall key, which outlives "7-Zip 19.00 (x64)" becoming "7-Zip 23.01
// (x64)"), or else of the same name, are an update; each other one was
// installed or removed.
func (d *differ) programs(old, cur []core.Program) {
	if d.skip[core.PartSoftware] {
		return
	}
	same := func(p core.Program) string { return strings.ToLower(p.Name) + "\x00" + p.Source + "\x00" + p.Version }
	left := map[string]int{}
	for _, p := range cur {
		left[same(p)]++
	}
	var went []core.Program
	for _, p := range old {
		if left[same(p)] > 0 {
			left[same(p)]--
		} else {
			went = append(went, p)
		}
	}
	var came []core.Program
	for _, p := range cur {
		if left[same(p)] > 0 {
			left[same(p)]--
			came = append(came, p)
		}
	}
	var out []core.InventoryChange
	for _, key := range []func(core.Program) string{
		func(p core.Program) string {
			if p.ID == "" {
				return "" // pairs with nothing
			}
			return p.ID + "\x00" + p.Source
		},
		func(p core.Program) string { return strings.ToLower(p.Name) + "\x00" + p.Source },
	} {
		nw, nc := map[string]int{}, map[string]int{}
		for _, p := range went {
			nw[key(p)]++
		}
		for _, p := range came {
			nc[key(p)]++
		}
		paired := map[string]core.Program{}
		went = slices.DeleteFunc(went, func(p core.Program) bool {
			k := key(p)
			if k != "" && nw[k] == 1 && nc[k] == 1 {
				paired[k] = p
				return true
			}
			return false
		})
		came = slices.DeleteFunc(came, func(p core.Program) bool {
			o, ok := paired[key(p)]
			if ok {
				out = append(out, core.InventoryChange{Kind: core.ChangeUpdated, Item: p.Name, Old: o.Version, New: p.Version})
			}
			return ok
		})
	}
	for _, p := range went {
		out = append(out, core.InventoryChange{Kind: core.ChangeRemoved, Item: p.Name, Old: p.Version})
	}
	for _, p := range came {
		out = append(out, core.InventoryChange{Kind: core.ChangeInstalled, Item: p.Name, New: p.Version})
	}
	slices.SortStableFunc(out, func(a, b core.InventoryChange) int {
		return cmp.Compare(strings.ToLower(a.Item), strings.ToLower(b.Item))
	})
	for _, c := range out {
		d.add(core.PartSoftware, c.Kind, c.Item, c.Old, c.New)
	}
}

func (d *differ) hotfixes(old, cur []core.Hotfix) {
	if d.skip[core.PartHotfixes] {
		return
	}
	ids := func(hs []core.Hotfix) []string {
		out := make([]string, len(hs))
		for i, h := range hs {
			out[i] = h.ID
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	o, c := ids(old), ids(cur)
	for _, id := range minus(o, c) {
		d.add(core.PartHotfixes, core.ChangeRemoved, id, "", "")
	}
	for _, id := range minus(c, o) {
		d.add(core.PartHotfixes, core.ChangeInstalled, id, "", "")
	}
}

// minus returns the elements of a not matched by one of b (a multiset
// difference), in a's order.
func minus(a, b []string) []string {
	left := map[string]int{}
	for _, v := range b {
		left[v]++
	}
	var out []string
	for _, v := range a {
		if left[v] > 0 {
			left[v]--
			continue
		}
		out = append(out, v)
	}
	return out
}

// size is a byte count in GB (2³⁰), to one decimal; "" for 0.
func size(b uint64) string {
	if b == 0 {
		return ""
	}
	return strings.TrimSuffix(strconv.FormatFloat(float64(b)/(1<<30), 'f', 1, 64), ".0") + " GB"
}

func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

func firmware(f core.Firmware) string { return join(f.Vendor, f.Version, f.Date) }

func module(m core.MemoryModule) string {
	speed := ""
	if m.SpeedMTs > 0 {
		speed = fmt.Sprintf("%d MT/s", m.SpeedMTs)
	}
	return join(size(m.SizeBytes), m.Type, speed, m.Manufacturer, m.Serial)
}

func disk(k core.Disk) string { return join(k.Model, k.Serial, size(k.SizeBytes)) }

// encryption records volumes whose encryption state changed (mounted
// before and after; volumes that came or went are not security events).
func (d *differ) encryption(old, cur []core.Volume) {
	if d.skip[core.PartVolumes] {
		return
	}
	state := func(v core.Volume) string { return join(v.Encryption, v.EncryptionState) }
	was := map[string]string{}
	for _, v := range old {
		was[v.Mount] = state(v)
	}
	for _, v := range cur {
		if o, ok := was[v.Mount]; ok && o != state(v) {
			d.add(core.PartVolumes, core.ChangeChanged, v.Mount+" encryption", o, state(v))
		}
	}
}

func tpm(t core.TPM) string {
	if !t.Present {
		return "none"
	}
	return join("TPM", t.Version)
}

// users records local accounts added and dropped, and accounts that
// gained or lost administrator rights: a new local administrator is the
// change a technician most wants to see.
func (d *differ) users(old, cur []core.LocalUser) {
	if d.skip[core.PartUsers] {
		return
	}
	was := map[string]core.LocalUser{}
	for _, u := range old {
		was[u.Name] = u
	}
	is := map[string]bool{}
	for _, u := range cur {
		is[u.Name] = true
		o, ok := was[u.Name]
		switch {
		case !ok:
			d.add(core.PartUsers, core.ChangeAdded, u.Name, "", userRole(u))
		case o.Admin != u.Admin:
			d.add(core.PartUsers, core.ChangeChanged, u.Name, userRole(o), userRole(u))
		}
	}
	for _, u := range old {
		if !is[u.Name] {
			d.add(core.PartUsers, core.ChangeDropped, u.Name, userRole(u), "")
		}
	}
}

func userRole(u core.LocalUser) string {
	if u.Admin {
		return "administrator"
	}
	return "user"
}
