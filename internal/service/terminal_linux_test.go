//go:build linux

package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/agent/agenttest"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// liveFixture is a service over a real gateway with a real agent
// connected: device dev of client "Müller GmbH", and locked, a device of
// the same client whose owner disabled the terminal.
type liveFixture struct {
	svc                            *Service
	st                             *store.DB
	dev, locked                    int64
	admin, tech, foreign, readonly core.User
}

func newLiveFixture(t *testing.T) *liveFixture { return newLiveFixtureOn(t, storetest.NewSQLite) }

func newLiveFixtureOn(t *testing.T, open func(testing.TB) *store.DB) *liveFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("real agent and shells: skipped in -short mode")
	}
	// Login shells: keep this machine's profile out of the test.
	t.Setenv("HOME", t.TempDir())
	ctx := context.Background()
	st := open(t)
	gw := agenttest.NewGateway(st)
	srv := httptest.NewTLSServer(gw)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		gw.Hub().Shutdown(ctx)
		srv.Close()
	})
	c, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := st.EnsureClientSite(ctx, "Andere AG", "Lager")
	if err != nil {
		t.Fatal(err)
	}
	f := &liveFixture{st: st, svc: New(Deps{Store: st, Commander: gw.Hub()})}
	f.dev = agenttest.Start(t, st, gw, srv, site.ID, agenttest.Options{})
	f.locked = agenttest.Start(t, st, gw, srv, site.ID, agenttest.Options{Disable: []string{protocol.LockTerminal}})
	mk := func(email, role string, scope core.Scope) core.User {
		u, err := f.svc.CreateUser(ctx, CLI, NewUser{Email: email, Password: "long enough", Role: role, Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	f.admin = mk("admin@example.com", core.RoleAdmin, core.Scope{})
	f.tech = mk("tech@example.com", core.RoleTechnician, core.Only(c.ID))
	f.foreign = mk("other@example.com", core.RoleTechnician, core.Only(other.ID))
	f.readonly = mk("ro@example.com", core.RoleReadOnly, core.Only(c.ID))
	return f
}

// termOut collects a terminal's output as a transport would pump it.
type termOut struct {
	t    *testing.T
	term *Terminal
	mu   sync.Mutex
	cond *sync.Cond
	out  strings.Builder
	err  error
}

func pump(t *testing.T, term *Terminal) *termOut {
	o := &termOut{t: t, term: term}
	o.cond = sync.NewCond(&o.mu)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := term.Read(buf)
			o.mu.Lock()
			o.out.Write(buf[:n])
			o.err = err
			o.cond.Broadcast()
			o.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { term.Close() })
	return o
}

func (o *termOut) send(keys string) {
	o.t.Helper()
	if err := o.term.Input([]byte(keys)); err != nil {
		o.t.Fatal(err)
	}
}

// waitFor waits until the output matches re; the session's end fails.
func (o *termOut) waitFor(re string) []string {
	o.t.Helper()
	rx := regexp.MustCompile(re)
	guard := time.AfterFunc(time.Minute, func() { // a hang guard
		o.mu.Lock()
		o.err = errors.New("timed out")
		o.cond.Broadcast()
		o.mu.Unlock()
	})
	defer guard.Stop()
	o.mu.Lock()
	defer o.mu.Unlock()
	for {
		if m := rx.FindStringSubmatch(o.out.String()); m != nil {
			return m
		}
		if o.err != nil {
			o.t.Fatalf("waiting for %q: %v; output:\n%q", re, o.err, o.out.String())
		}
		o.cond.Wait()
	}
}

func (o *termOut) ended() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.err == nil {
		o.cond.Wait()
	}
	return o.err
}

// gone reports whether pid has exited (a zombie counts as gone).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

// TestTerminalSession: a technician's terminal on a real agent echoes
// German text, resizes, ends its shell when closed, is audited at both
// ends and recorded; an administrator replays the recording, the
// technician may not.
func TestTerminalSession(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testTerminalSession(t, newLiveFixtureOn(t, storetest.NewSQLite)) })
	t.Run("postgres", func(t *testing.T) { testTerminalSession(t, newLiveFixtureOn(t, storetest.NewPostgres)) })
}

func testTerminalSession(t *testing.T, f *liveFixture) {
	ctx := context.Background()
	shell := "sh"
	if _, err := exec.LookPath("bash"); err == nil {
		shell = "bash"
	}
	term, err := f.svc.OpenTerminal(ctx, f.tech, f.dev, TerminalRequest{Shell: shell, Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	if term.Shell != shell || term.PID <= 0 || term.Recording == 0 {
		t.Fatalf("terminal %+v", term)
	}
	o := pump(t, term)
	o.send("echo 'RE''ADY'\r")
	o.waitFor("READY\r\n")
	o.send("echo 'Gr''üße @ \\ | { } [ ] ~'\r")
	o.waitFor(regexp.QuoteMeta("Grüße @ \\ | { } [ ] ~\r\n"))
	if err := term.Resize(40, 132); err != nil {
		t.Fatal(err)
	}
	o.send("stty size\r")
	o.waitFor(`40 132\r\n`)
	if n := f.svc.OpenTerminals(f.dev); n != 1 {
		t.Errorf("open terminals %d", n)
	}
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	agenttest.Wait(t, "shell gone", func() bool { return gone(term.PID) })
	if n := f.svc.OpenTerminals(f.dev); n != 0 {
		t.Errorf("open terminals after close %d", n)
	}

	rec, err := f.st.GetRecording(ctx, term.Recording)
	if err != nil || rec.EndedAt == nil || rec.Size == 0 || rec.Stored == 0 || rec.Actor != "user:tech@example.com" || rec.DeviceID != f.dev {
		t.Fatalf("recording %+v %v", rec, err)
	}
	var cast bytes.Buffer
	if err := f.svc.ReplayRecording(ctx, f.tech, term.Recording, &cast); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("technician replaying: %v", err)
	}
	if err := f.svc.ReplayRecording(ctx, f.admin, term.Recording, &cast); err != nil {
		t.Fatal(err)
	}
	checkCast(t, cast.Bytes(), map[string]string{
		"i": "echo 'Gr''üße @ \\ | { } [ ] ~'\r",
		"o": "Grüße @ \\ | { } [ ] ~",
		"r": "132x40",
	})
	for action, want := range map[string]string{
		"device.terminal":     fmt.Sprintf("recording=%d", term.Recording),
		"device.terminal.end": fmt.Sprintf("end recording=%d", term.Recording),
		"recording.replay":    "by=user:tech@example.com",
	} {
		es, err := f.st.QueryAudit(ctx, core.AuditQuery{Action: action})
		es = slices.DeleteFunc(es, func(e core.AuditEntry) bool { return e.Action != action })
		if err != nil || len(es) != 1 || !strings.Contains(es[0].Detail, want) {
			t.Errorf("audit %s: %+v %v", action, es, err)
		}
	}
}

// checkCast checks an asciicast v2 file: the header, events in time order,
// and for each kind one event whose data contains want[kind].
func checkCast(t *testing.T, cast []byte, want map[string]string) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(cast))
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		t.Fatal("empty cast")
	}
	var h castHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Version != 2 || h.Width == 0 || h.Height == 0 {
		t.Fatalf("header %s: %v", sc.Bytes(), err)
	}
	seen := map[string]bool{}
	last := 0.0
	for sc.Scan() {
		var ev [3]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("event %s: %v", sc.Bytes(), err)
		}
		at, _ := ev[0].(float64)
		kind, _ := ev[1].(string)
		data, _ := ev[2].(string)
		if at < last {
			t.Errorf("event at %v after %v", at, last)
		}
		last = at
		if w, ok := want[kind]; ok && strings.Contains(data, w) {
			seen[kind] = true
		}
	}
	for kind, w := range want {
		if !seen[kind] {
			t.Errorf("no %q event with %q in\n%s", kind, w, cast)
		}
	}
}

// TestTerminalRefusals: read-only users, other clients' technicians, a
// device that locked its terminal and a sixth terminal are refused.
func TestTerminalRefusals(t *testing.T) {
	f := newLiveFixture(t)
	ctx := context.Background()
	if _, err := f.svc.OpenTerminal(ctx, f.readonly, f.dev, TerminalRequest{}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("read-only: %v", err)
	}
	if _, err := f.svc.OpenTerminal(ctx, f.foreign, f.dev, TerminalRequest{}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("other client: %v", err)
	}
	var ae *protocol.ActionError
	if _, err := f.svc.OpenTerminal(ctx, f.admin, f.locked, TerminalRequest{}); !errors.As(err, &ae) || ae.Code != protocol.CodeDisabledLocally {
		t.Errorf("locked device: %v", err)
	}
	if _, err := f.svc.OpenTerminal(ctx, f.admin, f.dev, TerminalRequest{Shell: "fish-or-nothing"}); !errors.As(err, &ae) || ae.Code != protocol.CodeBadArgs {
		t.Errorf("unknown shell: %v", err)
	}
	var open []*Terminal
	for range MaxTerminalsPerDevice {
		term, err := f.svc.OpenTerminal(ctx, f.tech, f.dev, TerminalRequest{Shell: "sh"})
		if err != nil {
			t.Fatal(err)
		}
		pump(t, term)
		open = append(open, term)
	}
	if _, err := f.svc.OpenTerminal(ctx, f.admin, f.dev, TerminalRequest{Shell: "sh"}); !errors.As(err, &ae) || ae.Code != protocol.CodeBusy || ae.Message.DE == "" {
		t.Errorf("one terminal too many: %v", err)
	}
	open[0].Close()
	agenttest.Wait(t, "first shell gone", func() bool { return gone(open[0].PID) })
	// The agent counts the session closed just after the shell is gone:
	// busy until then, each refusal audited.
	var term *Terminal
	var err error
	busy := 0
	agenttest.Wait(t, "a terminal after one closed", func() bool {
		term, err = f.svc.OpenTerminal(ctx, f.admin, f.dev, TerminalRequest{Shell: "sh"})
		if errors.As(err, &ae) && ae.Code == protocol.CodeBusy {
			busy++
			return false
		}
		if err != nil {
			t.Fatalf("after one closed: %v", err)
		}
		return true
	})
	pump(t, term)
	es, err := f.st.QueryAudit(ctx, core.AuditQuery{Action: "device.terminal"})
	failed := 0
	for _, e := range es {
		if e.Action == "device.terminal" && e.Result == core.AuditFailed {
			failed++
		}
	}
	// readonly and foreign are refused before the device is touched and
	// audited as denied elsewhere; the locked device, the unknown shell and
	// the busy one are failures of a remote action.
	if err != nil || failed != 3+busy {
		t.Errorf("failed terminal openings audited: %d of %d (%v), want %d", failed, len(es), err, 3+busy)
	}
}

// TestTerminalIdle: a session without input ends with the idle reason and
// its shell, and the recording ends too.
func TestTerminalIdle(t *testing.T) {
	f := newLiveFixture(t)
	f.svc.TerminalIdle = time.Second
	ctx := context.Background()
	term, err := f.svc.OpenTerminal(ctx, f.tech, f.dev, TerminalRequest{Shell: "sh"})
	if err != nil {
		t.Fatal(err)
	}
	o := pump(t, term)
	o.ended()
	if r := term.Reason(); r == nil || r.Code != protocol.CodeIdleTimeout || r.Message.DE == "" {
		t.Errorf("reason %+v", r)
	}
	term.Close()
	agenttest.Wait(t, "idle shell gone", func() bool { return gone(term.PID) })
	if rec, err := f.st.GetRecording(ctx, term.Recording); err != nil || rec.EndedAt == nil {
		t.Errorf("recording %+v %v", rec, err)
	}
	var _ *gateway.Stream // the terminal rides a gateway stream
}
