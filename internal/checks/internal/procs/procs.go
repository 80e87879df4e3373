// Package procs finds the processes behind high CPU or memory use, so that
// a failing cpu or memory check can name them. Snapshots come from gopsutil;
// ranking and wording are pure functions.
package procs

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
)

// Proc is one process in a snapshot.
type Proc struct {
	PID  int32
	Name string
	CPU  float64 // user+system seconds used so far
	RSS  uint64  // resident memory in bytes
	// Created is when the process started, in Unix milliseconds (0:
	// unknown); with PID it tells one process from a later one with the
	// same PID, where a name can change (Linux kernel workers rename
	// themselves by the work they do).
	Created int64
}

// Snapshot is every readable process at one moment.
type Snapshot struct {
	At    time.Time
	Procs map[int32]Proc
}

// Take reads all processes. Processes that vanish or deny access while
// being read are left out: the snapshot is for ranking, not accounting.
func Take(ctx context.Context) (Snapshot, error) {
	ps, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return Snapshot{}, msg.Wrap("listing processes", "Auflisten der Prozesse", err)
	}
	s := Snapshot{At: time.Now(), Procs: make(map[int32]Proc, len(ps))}
	for _, p := range ps {
		if ctx.Err() != nil {
			return Snapshot{}, ctx.Err()
		}
		name, err := p.NameWithContext(ctx)
		if err != nil {
			continue
		}
		pr := Proc{PID: p.Pid, Name: name}
		if t, err := p.TimesWithContext(ctx); err == nil {
			pr.CPU = t.User + t.System
		}
		if m, err := p.MemoryInfoWithContext(ctx); err == nil {
			pr.RSS = m.RSS
		}
		if c, err := p.CreateTimeWithContext(ctx); err == nil {
			pr.Created = c
		}
		s.Procs[p.Pid] = pr
	}
	return s, nil
}

// Usage is one process's share in a ranking.
type Usage struct {
	PID     int32
	Name    string
	Percent float64 // of all CPUs (CPU) or of physical memory (memory)
	Bytes   uint64  // resident memory (memory ranking only)
}

// TopCPU ranks processes by CPU used between two snapshots, as a share of
// cpuSeconds, the CPU time all CPUs together spent over the same interval
// by the OS's total counters: so the figures are normalised like the
// check's total and add up to it (less what no snapshot saw). A process
// that started after before was taken used all its CPU time in the
// interval; one that ended before after is not seen at all, and one that
// after has but before lacks though it is older (it could not be read
// then) is left out, as its share is not known.
func TopCPU(before, after Snapshot, cpuSeconds float64, n int) []Usage {
	if !after.At.After(before.At) || cpuSeconds <= 0 {
		return nil
	}
	var out []Usage
	for pid, a := range after.Procs {
		d := a.CPU
		if b, ok := before.Procs[pid]; ok && b.same(a) {
			d -= b.CPU
		} else if a.Created == 0 || a.Created < before.At.UnixMilli() {
			continue
		}
		if d > 0 {
			out = append(out, Usage{PID: pid, Name: a.Name, Percent: min(100, d/cpuSeconds*100)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Percent != out[j].Percent {
			return out[i].Percent > out[j].Percent
		}
		return out[i].PID < out[j].PID
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// same tells whether later, with p's PID, is the same process as p: by
// start time when both are known, else by name; its CPU time never goes
// down.
func (p Proc) same(later Proc) bool {
	if later.CPU < p.CPU {
		return false
	}
	if p.Created != 0 && later.Created != 0 {
		return p.Created == later.Created
	}
	return p.Name == later.Name
}

// TopMemory ranks processes by resident memory; total is physical memory.
func TopMemory(s Snapshot, total uint64, n int) []Usage {
	var out []Usage
	for pid, p := range s.Procs {
		if p.RSS == 0 {
			continue
		}
		u := Usage{PID: pid, Name: p.Name, Bytes: p.RSS}
		if total > 0 {
			u.Percent = float64(p.RSS) / float64(total) * 100
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].PID < out[j].PID
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// CPUText words a CPU ranking of a total CPU use of total percent, with
// the rest of the total as "other processes" so that the figures add up:
// "; top processes: chrome (PID 812) 41.3 %, ..., other processes 12.0 %".
// The rest is what the processes not named used, and what processes that
// started and ended within the window used.
func CPUText(us []Usage, total float64) (en, de string) {
	if len(us) == 0 {
		return "", ""
	}
	var e, d []string
	named := 0.0
	for _, u := range us {
		pe, pd := msg.Num(u.Percent, 1)
		e = append(e, fmt.Sprintf("%s (PID %d) %s %%", u.Name, u.PID, pe))
		d = append(d, fmt.Sprintf("%s (PID %d) %s %%", u.Name, u.PID, pd))
		named += u.Percent
	}
	if rest := total - named; rest >= 0.05 {
		re, rd := msg.Num(rest, 1)
		e = append(e, fmt.Sprintf("other processes %s %%", re))
		d = append(d, fmt.Sprintf("andere Prozesse %s %%", rd))
	}
	return "; top processes: " + strings.Join(e, ", "), "; Top-Prozesse: " + strings.Join(d, ", ")
}

// UnreadableText words a ranking that could not be made because the
// processes could not be read, with the reason.
func UnreadableText(err error) (en, de string) {
	why := check.ErrorText(err)
	return "; the top processes could not be read: " + why.EN, "; die Top-Prozesse konnten nicht gelesen werden: " + why.DE
}

// MemoryText words a memory ranking: "; top processes: java (PID 812) 3.2 GB, ...".
func MemoryText(us []Usage) (en, de string) {
	if len(us) == 0 {
		return "", ""
	}
	var e, d []string
	for _, u := range us {
		be, bd := msg.Bytes(u.Bytes)
		e = append(e, fmt.Sprintf("%s (PID %d) %s", u.Name, u.PID, be))
		d = append(d, fmt.Sprintf("%s (PID %d) %s", u.Name, u.PID, bd))
	}
	return "; top processes: " + strings.Join(e, ", "), "; Top-Prozesse: " + strings.Join(d, ", ")
}
