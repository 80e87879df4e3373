//go:build unix

package trayipc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/logtest"
)

// serve starts Serve on a fresh socket with h and returns its address and
// the log; Serve's return is checked at cleanup.
func serve(t *testing.T, h Handler) (string, *logtest.Buffer) {
	t.Helper()
	l := listen(t)
	log, buf := logtest.Logger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, h, log) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr(), buf
}

// listen opens a listener in a directory every user can reach (t.TempDir
// is private to the test's user).
func listen(t *testing.T) *Listener {
	t.Helper()
	dir, err := os.MkdirTemp("", "trayipc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := Listen(filepath.Join(dir, "run", "tray.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func dialT(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testHandler answers every operation with a value of its reply type
// built from the request and the peer, so a round trip proves both ways.
func testHandler(ctx context.Context, p Peer, op string, data json.RawMessage) (any, error) {
	switch op {
	case OpStatus:
		return Status{Version: Version, Hostname: "pc-" + p.UID, Overall: OverallProblems, Problems: 1,
			ProblemNames: []string{"Drucker"}, Antivirus: &Component{State: "ok"},
			Branding: Branding{Show: true, ProductName: "Muster IT", Hours: core.Text{EN: "9-5", DE: "9-17"}},
			Reboot:   &Reboot{Deadline: time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC), DeferralsLeft: 2}}, nil
	case OpIcon:
		return Icon{PNG: []byte("\x89PNG\r\n\x1a\n"), SHA256: "abc"}, nil
	case OpSupport:
		var a SupportArgs
		if err := json.Unmarshal(data, &a); err != nil {
			return nil, &Error{Code: CodeBadRequest, Message: core.Text{EN: "bad", DE: "schlecht"}}
		}
		return SupportReply{Ref: p.User + ":" + a.Message + ":" + a.Contact.Email + ":" + strconv.Itoa(len(a.Screenshot))}, nil
	case OpRequests:
		return Requests{Requests: []UserRequest{{Ref: "r1", Message: "hi " + p.UID, Sent: true, State: core.SupportNew}}}, nil
	case OpReboot:
		var a RebootArgs
		if err := json.Unmarshal(data, &a); err != nil {
			return nil, err
		}
		if a.Choice == RebootLater {
			return nil, &Error{Code: CodeRefused, Message: core.Text{EN: "no deferrals left", DE: "keine Aufschübe mehr"}}
		}
		return RebootReply{At: time.Date(2026, 12, 7, 18, 1, 0, 0, time.UTC)}, nil
	case "peer":
		return p, nil
	case "fail":
		return nil, errors.New("database is on fire")
	case "panic":
		panic("boom")
	case "nothing":
		return nil, nil
	case "huge":
		return strings.Repeat("x", MaxLine), nil
	}
	return nil, &Error{Code: CodeUnknownOp, Message: core.Text{EN: op, DE: op}}
}

func TestRoundTrip(t *testing.T) {
	addr, log := serve(t, testHandler)
	c := dialT(t, addr)
	ctx := context.Background()
	me := strconv.Itoa(os.Getuid())

	var st Status
	if err := c.Call(ctx, OpStatus, nil, &st); err != nil {
		t.Fatal(err)
	}
	want, _ := testHandler(ctx, Peer{UID: me}, OpStatus, nil)
	if !reflect.DeepEqual(st, want) {
		t.Errorf("status = %+v, want %+v", st, want)
	}

	var icon Icon
	if err := c.Call(ctx, OpIcon, nil, &icon); err != nil || string(icon.PNG) != "\x89PNG\r\n\x1a\n" {
		t.Errorf("icon = %q, %v", icon.PNG, err)
	}

	var sr SupportReply
	args := SupportArgs{Message: "Mein Drucker druckt nicht", Contact: core.SupportContact{Email: "anna@example.com"},
		Lang: "de", Screenshot: make([]byte, 1<<20)}
	if err := c.Call(ctx, OpSupport, args, &sr); err != nil {
		t.Fatal(err)
	}
	if u := peerUser(t, c).User; sr.Ref != u+":Mein Drucker druckt nicht:anna@example.com:1048576" {
		t.Errorf("support ref = %q", sr.Ref)
	}

	var rq Requests
	if err := c.Call(ctx, OpRequests, nil, &rq); err != nil || len(rq.Requests) != 1 || rq.Requests[0].Message != "hi "+me {
		t.Errorf("requests = %+v, %v", rq, err)
	}

	var rr RebootReply
	if err := c.Call(ctx, OpReboot, RebootArgs{Choice: RebootNow}, &rr); err != nil || rr.At.IsZero() {
		t.Errorf("reboot now = %+v, %v", rr, err)
	}
	err := c.Call(ctx, OpReboot, RebootArgs{Choice: RebootLater}, &rr)
	if e, ok := errors.AsType[*Error](err); !ok || e.Code != CodeRefused || e.Message.DE != "keine Aufschübe mehr" {
		t.Errorf("reboot later = %v, want the handler's refusal", err)
	}
	if err := c.Call(ctx, "nothing", nil, &rr); err != nil {
		t.Errorf("an answer without data: %v", err)
	}

	// The handler's own errors do not reach the tray; the log has them.
	for _, op := range []string{"fail", "panic", "huge"} {
		err := c.Call(ctx, op, nil, nil)
		if e, ok := errors.AsType[*Error](err); !ok || e.Code != CodeInternal || strings.Contains(e.Message.EN, "fire") {
			t.Errorf("%s = %v, want a generic CodeInternal", op, err)
		}
	}
	for _, s := range []string{"database is on fire", "boom", "exceeds MaxLine"} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("log lacks %q:\n%s", s, log)
		}
	}
	// After all that the connection still works.
	if got := peerUser(t, c); got.UID != me || got.PID != os.Getpid() {
		t.Errorf("peer = %+v, want uid %s pid %d", got, me, os.Getpid())
	}
}

func peerUser(t *testing.T, c *Client) Peer {
	t.Helper()
	var p Peer
	if err := c.Call(context.Background(), "peer", nil, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// rawConn is a connection without the Client, to send what a Client
// never would.
func rawConn(t *testing.T, addr string) (net.Conn, *bufio.Scanner) {
	t.Helper()
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sc := bufio.NewScanner(c)
	sc.Buffer(nil, MaxLine+1)
	return c, sc
}

func readResponse(t *testing.T, sc *bufio.Scanner) Response {
	t.Helper()
	if !sc.Scan() {
		t.Fatalf("no response: %v", sc.Err())
	}
	var r Response
	if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
		t.Fatalf("response %q: %v", sc.Bytes(), err)
	}
	return r
}

func TestResponsesInOrder(t *testing.T) {
	addr, _ := serve(t, func(ctx context.Context, p Peer, op string, data json.RawMessage) (any, error) {
		n, _ := strconv.Atoi(op)
		time.Sleep(time.Duration(20-n) * time.Millisecond) // early requests finish last if run concurrently
		return n, nil
	})
	c, sc := rawConn(t, addr)
	var b strings.Builder
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&b, `{"id":%d,"op":"%d"}`+"\n", i+100, i)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 20; i++ {
		r := readResponse(t, sc)
		if r.ID != uint64(i+100) || string(r.Data) != strconv.Itoa(i) || r.Error != nil {
			t.Fatalf("response %d = %+v", i, r)
		}
	}
}

func TestMalformedLineKeepsConnection(t *testing.T) {
	addr, _ := serve(t, testHandler)
	c, sc := rawConn(t, addr)
	for _, line := range []string{"not json", `{"id":7}`, `{"id":8,"op":"status","data":`, ""} {
		if _, err := c.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
		if r := readResponse(t, sc); r.Error == nil || r.Error.Code != CodeBadRequest || r.Error.Message.DE == "" {
			t.Errorf("%q: response %+v, want CodeBadRequest", line, r)
		}
	}
	if _, err := c.Write([]byte(`{"id":9,"op":"status"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if r := readResponse(t, sc); r.ID != 9 || r.Error != nil {
		t.Errorf("after malformed lines: %+v", r)
	}
}

func TestOversizedLine(t *testing.T) {
	addr, _ := serve(t, testHandler)
	for name, prefix := range map[string]string{"first line": "", "after a request": `{"id":1,"op":"status"}` + "\n"} {
		t.Run(name, func(t *testing.T) {
			c, sc := rawConn(t, addr)
			// The agent closes while we still write: ignore that error.
			go c.Write([]byte(prefix + `{"id":2,"op":"support","data":"` + strings.Repeat("x", MaxLine) + "\"}\n"))
			if prefix != "" {
				if r := readResponse(t, sc); r.ID != 1 || r.Error != nil {
					t.Fatalf("first response %+v", r)
				}
			}
			r := readResponse(t, sc)
			if r.Error == nil || r.Error.Code != CodeBadRequest || !strings.Contains(r.Error.Message.EN, strconv.Itoa(MaxLine)) {
				t.Errorf("response %+v, want CodeBadRequest", r)
			}
			if sc.Scan() {
				t.Errorf("connection still open: %q", sc.Bytes())
			}
		})
	}

	// The client refuses to send such a request and stays usable.
	c := dialT(t, addr)
	err := c.Call(context.Background(), OpSupport, SupportArgs{Message: strings.Repeat("x", MaxLine)}, nil)
	if e, ok := errors.AsType[*Error](err); !ok || e.Code != CodeBadRequest {
		t.Errorf("oversized call = %v", err)
	}
	if err := c.Call(context.Background(), OpStatus, nil, nil); err != nil {
		t.Errorf("after an oversized call: %v", err)
	}
}

func TestConnectionsPerUser(t *testing.T) {
	addr, log := serve(t, testHandler)
	for i := range maxConnsPerUser {
		if err := dialT(t, addr).Call(context.Background(), OpStatus, nil, nil); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	c := dialT(t, addr)
	err := c.Call(context.Background(), OpStatus, nil, nil)
	if e, ok := errors.AsType[*Error](err); !ok || e.Code != CodeBusy {
		t.Fatalf("connection %d = %v, want CodeBusy", maxConnsPerUser+1, err)
	}
	// The refusal is sticky: the agent closed the connection.
	if err2 := c.Call(context.Background(), OpStatus, nil, nil); err2 != err {
		t.Errorf("after the refusal: %v", err2)
	}
	if !strings.Contains(log.String(), "too many connections") {
		t.Errorf("log:\n%s", log)
	}
}

func TestServeEnds(t *testing.T) {
	block := make(chan struct{})
	h := func(ctx context.Context, p Peer, op string, data json.RawMessage) (any, error) {
		if op == "block" {
			close(block)
			<-ctx.Done() // the handler's context ends with Serve's
			return nil, ctx.Err()
		}
		return nil, nil
	}
	log, _ := logtest.Logger()

	t.Run("context", func(t *testing.T) {
		l := listen(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Serve(ctx, l, h, log) }()
		c := dialT(t, l.Addr())
		called := make(chan error, 1)
		go func() { called <- c.Call(context.Background(), "block", nil, nil) }()
		<-block
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
		if err := <-called; err == nil {
			t.Error("call during shutdown succeeded")
		}
		if _, err := os.Stat(l.Addr()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket left behind: %v", err)
		}
	})

	t.Run("close", func(t *testing.T) {
		l := listen(t)
		done := make(chan error, 1)
		go func() { done <- Serve(context.Background(), l, h, log) }()
		if err := dialT(t, l.Addr()).Call(context.Background(), OpStatus, nil, nil); err != nil {
			t.Fatal(err)
		}
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	})
}

func TestCallContext(t *testing.T) {
	started := make(chan struct{})
	addr, _ := serve(t, func(ctx context.Context, p Peer, op string, data json.RawMessage) (any, error) {
		close(started)
		<-ctx.Done()
		return nil, nil
	})
	c := dialT(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	if err := c.Call(ctx, OpStatus, nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Call = %v, want context.Canceled", err)
	}
	// The answer may still come: the connection is not reused.
	if err := c.Call(context.Background(), OpStatus, nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("next Call = %v, want the sticky error", err)
	}
}

func TestDialNoAgent(t *testing.T) {
	_, err := Dial(context.Background(), filepath.Join(t.TempDir(), "tray.sock"))
	if err == nil {
		t.Fatal("Dial without an agent succeeded")
	}
}

func BenchmarkCallStatus(b *testing.B) {
	l, err := Listen(filepath.Join(b.TempDir(), "run", "tray.sock"))
	if err != nil {
		b.Fatal(err)
	}
	log, _ := logtest.Logger()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, l, testHandler, log)
	c, err := Dial(ctx, l.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var st Status
	for b.Loop() {
		if err := c.Call(ctx, OpStatus, nil, &st); err != nil {
			b.Fatal(err)
		}
	}
}
