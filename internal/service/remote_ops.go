package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The command line, processes and services of a device (issue 15 parts 3
// to 5). Actions (exec, ending a process, controlling a service) are
// audited with their outcome, whether the device did them or not; lists
// (processes, services) only read and are refreshed every few seconds
// while a page is open, so they are not audited.

// How long the server waits for the device beyond what the action itself
// may take: the round trip, and the agent's wait for a command's children
// to let go of its output.
const remoteSlack = 30 * time.Second

// Waits for actions whose own duration the agent bounds.
const (
	processesWait = 60 * time.Second
	killWait      = time.Duration(protocol.MaxKillGraceSeconds)*time.Second + 30*time.Second + remoteSlack
	// A restart is a stop (svcmgr.StopTimeout, 60 s) and a start.
	serviceWait = 2*time.Minute + remoteSlack
)

// RemoteWait is the longest a remote action other than exec may keep its
// caller waiting; transports with a write timeout extend it by this.
const RemoteWait = max(processesWait, killWait, serviceWait)

// Wait is the longest Exec may keep its caller waiting for req.
func (req ExecRequest) Wait() time.Duration {
	t := req.TimeoutSeconds
	if t <= 0 || t > protocol.MaxExecTimeoutSec {
		t = protocol.DefaultExecTimeoutSec
	}
	return time.Duration(t)*time.Second + remoteSlack
}

// auditCommandLen bounds the command an exec's audit entry quotes.
const auditCommandLen = 200

// ExecRequest is a command line to run on a device. Shell "" is the first
// of protocol.ExecShells of the device's OS; TimeoutSeconds 0 is
// protocol.DefaultExecTimeoutSec.
type ExecRequest struct {
	Shell          string `json:"shell"`
	Command        string `json:"command"`
	TimeoutSeconds int    `json:"timeout_seconds"`
}

// invalid is a validation error of one field.
func invalid(field, en, de string) error {
	return &policy.ValidationError{Fields: []policy.FieldError{fieldErr(field, en, de)}}
}

// validate checks req for a device running goos and fills in the
// defaults.
func (req *ExecRequest) validate(goos string) error {
	var fs []policy.FieldError
	add := func(field, en, de string) { fs = append(fs, fieldErr(field, en, de)) }
	shells := protocol.ExecShells(goos)
	if req.Shell == "" {
		req.Shell = shells[0]
	}
	if !slices.Contains(shells, req.Shell) {
		list := strings.Join(shells, ", ")
		add("shell", "choose one of the shells of this device's system: "+list, "wählen Sie eine der Shells des Systems dieses Geräts: "+list)
	}
	switch {
	case strings.TrimSpace(req.Command) == "":
		add("command", "enter a command", "geben Sie einen Befehl ein")
	case len(req.Command) > protocol.MaxExecCommand:
		add("command", fmt.Sprintf("the command is longer than %d KiB", protocol.MaxExecCommand>>10),
			fmt.Sprintf("der Befehl ist länger als %d KiB", protocol.MaxExecCommand>>10))
	case !utf8.ValidString(req.Command) || strings.ContainsRune(req.Command, 0):
		add("command", "the command is not valid text (UTF-8 without NUL bytes)", "der Befehl ist kein gültiger Text (UTF-8 ohne NUL-Bytes)")
	}
	if req.TimeoutSeconds == 0 {
		req.TimeoutSeconds = protocol.DefaultExecTimeoutSec
	}
	if req.TimeoutSeconds < 1 || req.TimeoutSeconds > protocol.MaxExecTimeoutSec {
		add("timeout_seconds", fmt.Sprintf("the time limit is 1 to %d seconds", protocol.MaxExecTimeoutSec),
			fmt.Sprintf("die Zeitgrenze beträgt 1 bis %d Sekunden", protocol.MaxExecTimeoutSec))
	}
	if fs != nil {
		return &policy.ValidationError{Fields: fs}
	}
	return nil
}

// Exec runs a command line on device id as u (the Remote permission, the
// device's "exec" lock) and returns its exit code and output. A command
// that runs out of time is a result (TimedOut, exit code -1), not an
// error. Audited as "device.exec" with the shell, the start of the
// command and the exit code.
func (s *Service) Exec(ctx context.Context, u core.User, id int64, req ExecRequest) (protocol.ExecResult, error) {
	d, r, err := s.remoteTarget(ctx, u, id, protocol.LockExec)
	if err != nil {
		what := fmt.Sprintf("%s: %s", cmp.Or(req.Shell, "default shell"), quoteCut(req.Command, auditCommandLen))
		return protocol.ExecResult{}, s.refused(ctx, u, "device.exec", id, what, err)
	}
	if err := req.validate(d.OS); err != nil {
		return protocol.ExecResult{}, err
	}
	var res protocol.ExecResult
	dctx, cancel := context.WithTimeout(ctx, req.Wait())
	defer cancel()
	err = r.Do(dctx, id, protocol.ActionExec, protocol.ExecArgs{Shell: req.Shell, Command: req.Command, TimeoutSeconds: req.TimeoutSeconds}, &res)
	detail := fmt.Sprintf("%s: %s", req.Shell, quoteCut(req.Command, auditCommandLen))
	switch {
	case err != nil:
	case res.TimedOut:
		detail += fmt.Sprintf(" → timed out after %d s", req.TimeoutSeconds)
	default:
		detail += " → exit " + strconv.Itoa(res.ExitCode)
	}
	return res, s.outcome(ctx, u, "device.exec", id, detail, err)
}

// Processes lists the processes running on device id (the Remote
// permission, the device's "processes" lock). Not audited: it only reads.
func (s *Service) Processes(ctx context.Context, u core.User, id int64) (protocol.ProcessList, error) {
	_, r, err := s.remoteTarget(ctx, u, id, protocol.LockProcesses)
	if err != nil {
		return protocol.ProcessList{}, err
	}
	var out protocol.ProcessList
	dctx, cancel := context.WithTimeout(ctx, processesWait)
	defer cancel()
	if err := r.Do(dctx, id, protocol.ActionProcesses, protocol.ProcessesArgs{}, &out); err != nil {
		return protocol.ProcessList{}, err
	}
	return out, nil
}

// KillRequest names a process to end. StartTime (Unix milliseconds, as
// listed) proves it is still the process that was listed; 0 looks it up
// on the device first, which leaves the short window between that look
// and the kill in which the PID could be reused. Tree ends its
// descendants first.
type KillRequest struct {
	PID       int32 `json:"pid"`
	StartTime int64 `json:"start_time"`
	Tree      bool  `json:"tree"`
}

// KillProcess ends a process (or its tree) on device id. Audited as
// "device.process-kill".
func (s *Service) KillProcess(ctx context.Context, u core.User, id int64, req KillRequest) (protocol.ProcessKillResult, error) {
	what := fmt.Sprintf("pid %d", req.PID)
	if req.Tree {
		what += " and its descendants"
	}
	_, r, err := s.remoteTarget(ctx, u, id, protocol.LockProcesses)
	if err != nil {
		return protocol.ProcessKillResult{}, s.refused(ctx, u, "device.process-kill", id, what, err)
	}
	switch {
	case req.PID <= 0:
		return protocol.ProcessKillResult{}, invalid("pid", "a process ID is a positive number", "eine Prozess-ID ist eine positive Zahl")
	case req.StartTime < 0:
		return protocol.ProcessKillResult{}, invalid("start_time", "the start time is Unix milliseconds as listed", "die Startzeit ist in Unix-Millisekunden wie aufgelistet")
	}
	if req.StartTime == 0 {
		if req.StartTime, err = s.startTime(ctx, r, id, req.PID); err != nil {
			return protocol.ProcessKillResult{}, s.outcome(ctx, u, "device.process-kill", id, what, err)
		}
	}
	var out protocol.ProcessKillResult
	dctx, cancel := context.WithTimeout(ctx, killWait)
	defer cancel()
	err = r.Do(dctx, id, protocol.ActionProcessKill, protocol.ProcessKillArgs{PID: req.PID, StartTime: req.StartTime, Tree: req.Tree}, &out)
	what += " started " + time.UnixMilli(req.StartTime).UTC().Format(time.RFC3339)
	if err == nil {
		what += fmt.Sprintf(" → ended %v", out.Ended)
		if len(out.Forced) > 0 {
			what += fmt.Sprintf(", forced %v", out.Forced)
		}
	}
	return out, s.outcome(ctx, u, "device.process-kill", id, what, err)
}

// startTime finds when process pid on the device started.
func (s *Service) startTime(ctx context.Context, r Remote, id int64, pid int32) (int64, error) {
	var list protocol.ProcessList
	dctx, cancel := context.WithTimeout(ctx, processesWait)
	defer cancel()
	if err := r.Do(dctx, id, protocol.ActionProcesses, protocol.ProcessesArgs{}, &list); err != nil {
		return 0, err
	}
	for _, p := range list.Processes {
		if p.PID == pid {
			return p.StartTime, nil
		}
	}
	return 0, &protocol.ActionError{Code: protocol.CodeNotFound, Message: core.Text{
		EN: fmt.Sprintf("No process %d runs on the device.", pid),
		DE: fmt.Sprintf("Auf dem Gerät läuft kein Prozess %d.", pid)}}
}

// Services lists the services of device id (the Remote permission, the
// device's "services" lock). Not audited: it only reads.
func (s *Service) Services(ctx context.Context, u core.User, id int64) (protocol.ServiceList, error) {
	_, r, err := s.remoteTarget(ctx, u, id, protocol.LockServices)
	if err != nil {
		return protocol.ServiceList{}, err
	}
	var out protocol.ServiceList
	dctx, cancel := context.WithTimeout(ctx, processesWait)
	defer cancel()
	if err := r.Do(dctx, id, protocol.ActionServices, nil, &out); err != nil {
		return protocol.ServiceList{}, err
	}
	return out, nil
}

// ServiceOps are the operations ControlService takes, with the audit
// action each is recorded as.
var ServiceOps = map[string]string{
	protocol.ServiceStart:        "device.service-start",
	protocol.ServiceStop:         "device.service-stop",
	protocol.ServiceRestart:      "device.service-restart",
	protocol.ServiceSetStartType: "device.service-start-type",
}

// StartTypes are the start types a service can be set to.
var StartTypes = []string{protocol.StartAutomatic, protocol.StartManual, protocol.StartDisabled}

// ValidServiceName reports whether name can name a service on any of the
// managers (SCM names, systemd units with their \x2d escapes, launchd
// labels, SysV scripts): 1 to 256 bytes of printable UTF-8, no slash, not
// starting with a dash, not "." or "..".
func ValidServiceName(name string) bool {
	if name == "" || len(name) > 256 || !utf8.ValidString(name) || strings.HasPrefix(name, "-") ||
		name == "." || name == ".." || strings.Contains(name, "/") {
		return false
	}
	return !strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) })
}

// ControlService starts, stops or restarts service name on device id, or
// sets its start type (op protocol.ServiceSetStartType with startType one
// of StartTypes), and returns the service as read afterwards. Audited as
// ServiceOps[op].
func (s *Service) ControlService(ctx context.Context, u core.User, id int64, name, op, startType string) (protocol.ServiceControlResult, error) {
	action, ok := ServiceOps[op]
	if !ok {
		return protocol.ServiceControlResult{}, fmt.Errorf("service operation %q: %w", op, core.ErrNotFound)
	}
	what := fmt.Sprintf("service %q", name)
	if op == protocol.ServiceSetStartType {
		what += " to " + startType
	}
	_, r, err := s.remoteTarget(ctx, u, id, protocol.LockServices)
	if err != nil {
		return protocol.ServiceControlResult{}, s.refused(ctx, u, action, id, what, err)
	}
	if !ValidServiceName(name) {
		return protocol.ServiceControlResult{}, invalid("name", "not a service name (up to 256 printable characters, no slash)",
			"kein Dienstname (bis zu 256 druckbare Zeichen, kein Schrägstrich)")
	}
	if op == protocol.ServiceSetStartType && !slices.Contains(StartTypes, startType) {
		list := strings.Join(StartTypes, ", ")
		return protocol.ServiceControlResult{}, invalid("start_type", "choose one of "+list, "wählen Sie eine von "+list)
	}
	if op != protocol.ServiceSetStartType {
		startType = ""
	}
	var out protocol.ServiceControlResult
	dctx, cancel := context.WithTimeout(ctx, serviceWait)
	defer cancel()
	err = r.Do(dctx, id, protocol.ActionServiceControl, protocol.ServiceControlArgs{Name: name, Op: op, StartType: startType}, &out)
	if err == nil {
		what += " → " + out.Service.State
	}
	return out, s.outcome(ctx, u, action, id, what, err)
}

// RemoteState is what the device page needs to offer remote management.
type RemoteState struct {
	// Connected: the device's agent holds a session on this node (the
	// locks are only known then).
	Connected bool
	// Locks are the features the device's owner disabled locally.
	Locks []string
	// Needs2FA: the settings demand a second factor that u has not set up.
	Needs2FA bool
}

// Locked reports whether feature (protocol.Lock…) is disabled on the
// device.
func (rs RemoteState) Locked(feature string) bool { return slices.Contains(rs.Locks, feature) }

// RemoteState tells whether u may act on device id remotely and what its
// owner locked; core.ErrForbidden for users who never may.
func (s *Service) RemoteState(ctx context.Context, u core.User, id int64) (RemoteState, error) {
	if err := need(u, authz.Remote); err != nil {
		return RemoteState{}, err
	}
	if _, err := s.device(ctx, u, id); err != nil {
		return RemoteState{}, err
	}
	rs, err := s.remoteSettings(ctx)
	if err != nil {
		return RemoteState{}, err
	}
	st := RemoteState{Needs2FA: rs.Require2FA && !u.HasSecondFactor() && u.ID != cliID}
	if r, ok := s.cmd.(Remote); ok {
		st.Locks, st.Connected = r.Disabled(id)
	}
	return st, nil
}

// refused audits an action that remoteTarget refused after the caller
// proved they may see the device: a second factor missing, a local lock,
// a device not active. Refusals of the role or for a device out of scope
// are not the device's business (the router audits denied roles).
func (s *Service) refused(ctx context.Context, u core.User, action string, id int64, what string, err error) error {
	if errors.Is(err, core.ErrNotFound) || (errors.Is(err, core.ErrForbidden) && !errors.Is(err, ErrRemote2FA)) {
		return err
	}
	return s.outcome(ctx, u, action, id, what, err)
}

// outcome audits an attempted action and returns its error; an audit that
// cannot be written fails a call that succeeded.
func (s *Service) outcome(ctx context.Context, u core.User, action string, id int64, detail string, err error) error {
	if aerr := s.auditRemote(ctx, u, action, id, detail, err); aerr != nil {
		if err == nil {
			return aerr
		}
		s.log.Error("auditing a remote action", "action", action, "device", id, "err", aerr)
	}
	return err
}

// quoteCut quotes s, cut to at most n bytes at a character boundary with
// "…" when longer.
func quoteCut(s string, n int) string {
	if len(s) <= n {
		return strconv.Quote(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strconv.Quote(s[:n]) + "…"
}
