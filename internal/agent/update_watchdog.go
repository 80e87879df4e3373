package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Codes of a rolled-back update's report.
const (
	CodeUpdateCrashed = "update_crashed" // the new build exited
	CodeUpdateTimeout = "update_timeout" // the new build was not welcomed in time
)

// AgentControl is how the watchdog stops and starts the agent: the
// service manager (systemctl, SCM, launchctl) when a service runs it, or
// processes it starts itself when the agent ran in the foreground.
type AgentControl interface {
	// Restart stops the running agent and starts the executable anew.
	Restart(st UpdateState) error
	Stop(st UpdateState) error
	Start(st UpdateState) error
	// Alive reports whether the agent runs.
	Alive(st UpdateState) bool
}

// WatchdogOptions configure RunWatchdog.
type WatchdogOptions struct {
	DataDir string
	// Service controls the agent's service (used when update.json says a
	// service manager runs the agent).
	Service AgentControl
	// Foreground, if set, replaces the process control of a foreground
	// agent (tests).
	Foreground AgentControl
	Poll       time.Duration // default 1 s
	Log        *slog.Logger
	Now        func() time.Time
}

// watchStep is the watchdog's decision.
type watchStep int

const (
	watchWait watchStep = iota
	watchExit
	watchRollback
)

// decideWatch is the watchdog's decision at now for the state st, with the
// agent's process alive or not, and exited whether it was seen not running
// at any poll since the restart: exit once the update is no longer on
// trial; roll back when the deadline has passed, or at once when an agent
// that no service manager restarts has exited; else wait. The code says
// why it rolls back: a service manager restarts a crashing build, which
// may be running just at the deadline, so a build that exited at any time
// of its trial crashed, not timed out.
func decideWatch(st UpdateState, now time.Time, alive, exited bool) (watchStep, string) {
	switch {
	case st.Phase != PhaseTrial:
		return watchExit, ""
	case !alive && !st.Service:
		return watchRollback, CodeUpdateCrashed
	case !now.Before(st.Deadline):
		if !alive || exited {
			return watchRollback, CodeUpdateCrashed
		}
		return watchRollback, CodeUpdateTimeout
	}
	return watchWait, ""
}

// RunWatchdog is `wacht-agent update-watchdog`, run from the previous
// binary: it restarts the agent into the new build (unless it runs
// already), waits until the update is committed, and rolls back to the
// previous build when the deadline passes first or the new build exits.
func RunWatchdog(ctx context.Context, o WatchdogOptions) error {
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := readUpdateState(o.DataDir)
	if err != nil {
		return err
	}
	if st.Phase != PhaseTrial {
		log.Info("no update on trial; nothing to watch", "phase", st.Phase)
		return nil
	}
	ctl := o.Foreground
	if ctl == nil {
		ctl = &foregroundControl{dataDir: o.DataDir, log: log}
	}
	if st.Service {
		if o.Service == nil {
			return errors.New("update-watchdog: the agent runs as a service, but no service manager is available here")
		}
		ctl = o.Service
	}
	restart := st.Restarted.IsZero()
	st.WatchdogPID = os.Getpid()
	if _, ms, err := processIdentity(st.WatchdogPID); err == nil {
		st.WatchdogStartMS = ms
	}
	if restart {
		now := o.Now().UTC()
		st.Restarted, st.Deadline = now, now.Add(time.Duration(st.WatchdogSeconds)*time.Second)
	}
	if err := writeUpdateState(o.DataDir, st); err != nil {
		return err
	}
	if restart {
		log.Info("restarting the agent into the new build", "from", st.From, "to", st.To, "deadline", st.Deadline)
		if err := ctl.Restart(st); err != nil {
			log.Error("restarting the agent", "err", err)
			return rollback(o.DataDir, ctl, st, CodeUpdateCrashed, log, o.Now(), err)
		}
	}
	t := time.NewTicker(o.Poll)
	defer t.Stop()
	exited := false // the new build was seen not running since the restart
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		cur, err := readUpdateState(o.DataDir)
		if err != nil {
			log.Warn("reading the update state", "err", err)
			continue
		}
		alive := ctl.Alive(cur)
		if !alive && !exited {
			exited = true
			log.Warn("the new build is not running", "version", cur.To)
		}
		step, code := decideWatch(cur, o.Now(), alive, exited)
		switch step {
		case watchExit:
			log.Info("the update left its trial", "phase", cur.Phase)
			return nil
		case watchRollback:
			return rollback(o.DataDir, ctl, cur, code, log, o.Now(), nil)
		}
	}
}

// rollback stops the agent, restores the previous build, records why and
// starts the agent again.
func rollback(dataDir string, ctl AgentControl, st UpdateState, code string, log *slog.Logger, now time.Time, cause error) error {
	log.Warn("rolling back the update", "from", st.To, "to", st.From, "code", code)
	if err := ctl.Stop(st); err != nil {
		log.Warn("stopping the new build", "err", err)
	}
	if err := restorePrev(st.Exe); err != nil {
		return fmt.Errorf("restoring the previous build %s: %w", st.Exe+suffixPrev, err)
	}
	var msg core.Text
	switch {
	case cause != nil:
		msg = updateReportText("The agent could not be restarted into %s (%v); %s was restored.", "Der Agent konnte nicht in %s neu gestartet werden (%v); %s wurde wiederhergestellt.", st.To, cause, st.From)
	case code == CodeUpdateCrashed:
		msg = updateReportText("The new build %s exited instead of connecting; %s was restored.", "Der neue Build %s wurde beendet, statt sich zu verbinden; %s wurde wiederhergestellt.", st.To, st.From)
	default:
		msg = updateReportText("The new build %s did not connect to the server within %d s; %s was restored.", "Der neue Build %s hat sich nicht innerhalb von %d s mit dem Server verbunden; %s wurde wiederhergestellt.", st.To, st.WatchdogSeconds, st.From)
	}
	st.Phase = PhaseRolledBack
	st.Report = &protocol.UpdateReport{RolloutID: st.RolloutID, From: st.From, To: st.To, State: core.UpdateRolledBack, Code: code, Message: msg, At: now.UTC()}
	if !slices.Contains(st.Rejected, st.SHA256) {
		st.Rejected = append(st.Rejected, st.SHA256)
	}
	if err := writeUpdateState(dataDir, st); err != nil {
		log.Error("recording the rollback", "err", err)
	}
	if err := ctl.Start(st); err != nil {
		return fmt.Errorf("starting the restored build: %w", err)
	}
	log.Info("rolled back", "running", st.From)
	return nil
}

// watchdogAlive reports whether the watchdog update.json names runs.
func watchdogAlive(st UpdateState) bool {
	if st.WatchdogPID <= 0 {
		return false
	}
	_, ms, err := processIdentity(st.WatchdogPID)
	if err != nil || !pidAlive(st.WatchdogPID) {
		return false
	}
	return st.WatchdogStartMS == 0 || (ms >= st.WatchdogStartMS-startSlackMS && ms <= st.WatchdogStartMS+startSlackMS)
}

// pidAlive reports whether a process with pid runs (a zombie does not).
func pidAlive(pid int) bool {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return false
	}
	if s, err := p.Status(); err == nil && slices.Contains(s, process.Zombie) {
		return false
	}
	ok, err := p.IsRunning()
	return err == nil && ok
}

// startWatchdog starts `<exe>.prev update-watchdog --data DIR` detached,
// so that it outlives the agent and its service's restart.
func startWatchdog(dataDir, exe string, service bool) error {
	prev := exe + suffixPrev
	args := []string{"update-watchdog", "--data", dataDir}
	cmd, err := watchdogCommand(prev, args, service)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dataDir, "update-watchdog.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", prev, err)
	}
	go cmd.Wait() // reap it should it end before the agent
	return nil
}

// foregroundControl stops and starts an agent that no service manager
// runs: it signals the old process and starts the executable with the
// same arguments and environment, detached, writing its PID to
// <data>/agent.pid and its output to <data>/agent.log.
type foregroundControl struct {
	dataDir string
	log     *slog.Logger
	child   *exec.Cmd
	exited  atomic.Bool
}

func (f *foregroundControl) Restart(st UpdateState) error {
	if err := terminate(st.PID, 30*time.Second); err != nil {
		return err
	}
	return f.Start(st)
}

func (f *foregroundControl) Start(st UpdateState) error {
	logf, err := os.OpenFile(filepath.Join(f.dataDir, AgentLogFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(st.Exe, st.Args...)
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := detach(cmd, false); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", st.Exe, err)
	}
	f.child = cmd
	f.exited.Store(false)
	go func() {
		cmd.Wait()
		f.exited.Store(true)
	}()
	return writeFileAtomic(filepath.Join(f.dataDir, AgentPIDFile), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"))
}

func (f *foregroundControl) pid(st UpdateState) int {
	if f.child != nil {
		return f.child.Process.Pid
	}
	if b, err := os.ReadFile(filepath.Join(f.dataDir, AgentPIDFile)); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	return st.PID
}

func (f *foregroundControl) Stop(st UpdateState) error {
	if f.child != nil && f.exited.Load() {
		return nil
	}
	return terminate(f.pid(st), 30*time.Second)
}

func (f *foregroundControl) Alive(st UpdateState) bool {
	if f.child != nil {
		return !f.exited.Load()
	}
	return pidAlive(f.pid(st))
}

// terminate asks process pid to stop and kills it after wait; a process
// that is gone already is fine.
func terminate(pid int, wait time.Duration) error {
	if pid <= 0 || pid == os.Getpid() || !pidAlive(pid) {
		return nil
	}
	if err := signalStop(pid); err != nil && pidAlive(pid) {
		return fmt.Errorf("stopping process %d: %w", pid, err)
	}
	end := time.Now().Add(wait)
	for time.Now().Before(end) {
		if !pidAlive(pid) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
	for range 50 {
		if !pidAlive(pid) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("process %d did not stop", pid)
}
