package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/process"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// cpuSample is how long the processes action measures CPU time.
const cpuSample = 500 * time.Millisecond

func init() {
	RegisterAction(protocol.ActionProcesses, Action{Lock: protocol.LockProcesses, Do: func(ctx context.Context, _ *Agent, _ json.RawMessage) (any, error) {
		return listProcesses(ctx, cpuSample)
	}})
	RegisterAction(protocol.ActionProcessKill, Action{Lock: protocol.LockProcesses, Do: func(ctx context.Context, _ *Agent, args json.RawMessage) (any, error) {
		var a protocol.ProcessKillArgs
		if err := json.Unmarshal(args, &a); err != nil || a.GraceSeconds < 0 || a.GraceSeconds > protocol.MaxKillGraceSeconds {
			return nil, Errorf(protocol.CodeBadArgs, "process-kill needs a PID, its start time and a grace period of at most %d s.",
				"process-kill braucht eine PID, ihre Startzeit und eine Wartezeit von höchstens %d s.", protocol.MaxKillGraceSeconds)
		}
		return killProcess(ctx, a)
	}})
}

// listProcesses reads every process, with CPU use measured over sample:
// CPU times are read before and after it.
func listProcesses(ctx context.Context, sample time.Duration) (protocol.ProcessList, error) {
	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return protocol.ProcessList{}, fmt.Errorf("listing processes: %w", err)
	}
	before := make(map[int32]float64, len(procs))
	for _, p := range procs {
		if t, err := p.TimesWithContext(ctx); err == nil {
			before[p.Pid] = t.User + t.System
		}
	}
	start := time.Now()
	select {
	case <-ctx.Done():
		return protocol.ProcessList{}, ctx.Err()
	case <-time.After(sample):
	}
	elapsed := time.Since(start).Seconds()
	cores := runtime.NumCPU()
	if n, err := cpu.CountsWithContext(ctx, true); err == nil && n > 0 {
		cores = n
	}
	out := protocol.ProcessList{SampleMS: int(sample / time.Millisecond), Processes: make([]protocol.Process, 0, len(procs))}
	for _, p := range procs {
		created, err := p.CreateTimeWithContext(ctx)
		if err != nil {
			continue // gone since listing
		}
		e := protocol.Process{PID: p.Pid, StartTime: created}
		e.PPID, _ = p.PpidWithContext(ctx)
		e.Name, _ = p.NameWithContext(ctx)
		e.User, _ = p.UsernameWithContext(ctx)
		if m, err := p.MemoryInfoWithContext(ctx); err == nil {
			e.RSSBytes = m.RSS
		}
		if cmd, err := p.CmdlineWithContext(ctx); err == nil {
			e.Cmdline, e.CmdlineTruncated = truncateUTF8(cmd, protocol.MaxCmdline)
		}
		if b, ok := before[p.Pid]; ok {
			if t, err := p.TimesWithContext(ctx); err == nil {
				e.CPUPercent = cpuPercent(t.User+t.System-b, elapsed, cores)
			}
		}
		out.Processes = append(out.Processes, e)
	}
	return out, nil
}

// cpuPercent is the share of the whole machine that used CPU seconds over
// elapsed seconds on cores cores, within 0…100.
func cpuPercent(used, elapsed float64, cores int) float64 {
	if elapsed <= 0 || cores <= 0 || used <= 0 {
		return 0
	}
	return min(100, used/elapsed/float64(cores)*100)
}

// truncateUTF8 cuts s to at most max bytes without splitting a character.
func truncateUTF8(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i], true
}

// target is a process to end, with the start time that proves it is still
// the same process.
type target struct {
	pid     int32
	created int64
}

// same reports whether t still runs as the process it was: a process with
// its PID that started when it did and is not a zombie (ended, waiting for
// its parent to collect it).
func (t target) same(ctx context.Context) bool {
	p, err := process.NewProcessWithContext(ctx, t.pid)
	if err != nil {
		return false
	}
	if c, err := p.CreateTimeWithContext(ctx); err != nil || c != t.created {
		return false
	}
	st, err := p.StatusWithContext(ctx)
	return err != nil || !slices.Contains(st, process.Zombie)
}

// killProcess ends the process args name, or its whole tree, descendants
// first.
func killProcess(ctx context.Context, args protocol.ProcessKillArgs) (protocol.ProcessKillResult, error) {
	self := int32(os.Getpid())
	switch {
	case args.PID <= 1:
		return protocol.ProcessKillResult{}, Errorf(protocol.CodeBadArgs, "Process %d belongs to the operating system and is never ended.",
			"Prozess %d gehört zum Betriebssystem und wird nie beendet.", args.PID)
	case args.PID == self:
		return protocol.ProcessKillResult{}, Errorf(protocol.CodeBadArgs, "Process %d is the Wacht agent itself; uninstall or stop the agent instead.",
			"Prozess %d ist der Wacht-Agent selbst; deinstallieren oder stoppen Sie stattdessen den Agenten.", args.PID)
	}
	root := target{args.PID, args.StartTime}
	if !root.same(ctx) {
		return protocol.ProcessKillResult{}, Errorf(protocol.CodeNotFound, "No process %d started at %s runs (it ended, or its PID now belongs to another process).",
			"Es läuft kein Prozess %d mit Start %s (er ist beendet, oder seine PID gehört jetzt einem anderen Prozess).",
			args.PID, time.UnixMilli(args.StartTime).UTC().Format(time.RFC3339))
	}
	targets := []target{root}
	if args.Tree {
		var err error
		if targets, err = tree(ctx, root); err != nil {
			return protocol.ProcessKillResult{}, err
		}
		if slices.ContainsFunc(targets, func(t target) bool { return t.pid == self }) {
			return protocol.ProcessKillResult{}, Errorf(protocol.CodeBadArgs, "The tree of process %d contains the Wacht agent itself; end the process alone.",
				"Der Baum von Prozess %d enthält den Wacht-Agenten selbst; beenden Sie den Prozess allein.", args.PID)
		}
	}
	grace := time.Duration(args.GraceSeconds) * time.Second
	if args.GraceSeconds == 0 {
		grace = protocol.DefaultKillGraceSeconds * time.Second
	}
	return endProcesses(ctx, targets, grace)
}

// tree lists root's descendants, deepest first, then root, from one
// snapshot of every process's parent.
func tree(ctx context.Context, root target) ([]target, error) {
	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	children := map[int32][]target{}
	for _, p := range procs {
		ppid, err := p.PpidWithContext(ctx)
		if err != nil || ppid == p.Pid {
			continue
		}
		if c, err := p.CreateTimeWithContext(ctx); err == nil {
			children[ppid] = append(children[ppid], target{p.Pid, c})
		}
	}
	var out []target
	seen := map[int32]bool{}
	var walk func(t target)
	walk = func(t target) {
		if seen[t.pid] {
			return
		}
		seen[t.pid] = true
		for _, c := range children[t.pid] {
			if c.created >= t.created { // a child starts after its parent; else the PID was reused
				walk(c)
			}
		}
		out = append(out, t)
	}
	walk(root)
	return out, nil
}

// endProcesses asks every target to end (SIGTERM), in order, waits up to
// grace for them, then forces the rest (SIGKILL, or TerminateProcess on
// Windows, where there is nothing to ask).
func endProcesses(ctx context.Context, targets []target, grace time.Duration) (protocol.ProcessKillResult, error) {
	var res protocol.ProcessKillResult
	left := targets
	if canAskToEnd {
		for _, t := range targets {
			if t.same(ctx) {
				if err := askToEnd(t.pid); err != nil && !errors.Is(err, os.ErrProcessDone) {
					return res, fmt.Errorf("asking process %d to end: %w", t.pid, err)
				}
			}
		}
		left = waitGone(ctx, targets, grace)
	}
	for _, t := range left {
		if t.same(ctx) {
			err := forceEnd(t.pid)
			if errors.Is(err, errors.ErrUnsupported) {
				return res, Errorf(protocol.CodeUnsupported, "This agent cannot end processes on %s.", "Dieser Agent kann auf %s keine Prozesse beenden.", runtime.GOOS)
			}
			if err != nil && t.same(ctx) {
				return res, fmt.Errorf("ending process %d: %w", t.pid, err)
			}
			if canAskToEnd {
				res.Forced = append(res.Forced, t.pid)
			}
		}
	}
	if still := waitGone(ctx, left, 30*time.Second); len(still) > 0 {
		return res, Errorf(protocol.CodeTimeout, "Process %d did not end even when forced.", "Prozess %d hat sich auch erzwungen nicht beendet.", still[0].pid)
	}
	for _, t := range targets {
		res.Ended = append(res.Ended, t.pid)
	}
	return res, nil
}

// waitGone polls until no target runs or limit passes, and returns those
// still running.
func waitGone(ctx context.Context, targets []target, limit time.Duration) []target {
	deadline := time.Now().Add(limit)
	for {
		var left []target
		for _, t := range targets {
			if t.same(ctx) {
				left = append(left, t)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}
