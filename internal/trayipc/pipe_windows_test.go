package trayipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/wacht-rmm/wacht/internal/logtest"
)

// TestPipe runs on Windows (and under Wine): two trays at once through
// the named pipe, each told who it is by its token.
func TestPipe(t *testing.T) {
	addr := fmt.Sprintf(`\\.\pipe\wacht-test-%d`, os.Getpid())
	l, err := Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l2, err := Listen(addr); err == nil {
		l2.Close()
		if !underWine() {
			t.Error("a second Listen on the same name succeeded")
		}
	}
	log, buf := logtest.Logger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, l, func(ctx context.Context, p Peer, op string, data json.RawMessage) (any, error) {
			return p, nil
		}, log)
	}()

	me, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	sid := me.User.Sid.String()
	var clients []*Client
	for range 3 { // held open together: one pipe instance each
		c, err := Dial(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	for i, c := range clients {
		var p Peer
		err := c.Call(context.Background(), "peer", nil, &p)
		if Allowed(Peer{UID: sid}) != nil { // the test runs as a service account
			if e, ok := errors.AsType[*Error](err); !ok || e.Code != CodeRefused {
				t.Errorf("client %d as %s: %v, want CodeRefused", i, sid, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("client %d: %v\n%s", i, err, buf)
		}
		if p.UID != sid || p.User == "" || p.PID != os.Getpid() {
			t.Errorf("client %d: peer %+v, want %s and pid %d", i, p, sid, os.Getpid())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve = %v", err)
	}
	if err := clients[0].Call(context.Background(), "peer", nil, nil); err == nil {
		t.Error("call after Serve ended succeeded")
	}
	// The name is free again once the listener is closed.
	l.Close()
	l, err = Listen(addr)
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	l.Close()
}

// underWine: Wine 8 does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE;
// Windows does.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
