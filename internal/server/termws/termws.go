// Package termws carries a terminal session (service.Terminal) over a
// websocket to a browser's xterm.js or an API client; the dashboard and
// the API both serve it.
//
// The protocol (docs/api.md, "Terminal"): the client sends binary
// messages of one kind byte and its payload — 'i' and UTF-8 keystrokes, or
// 'r' and rows and columns as big-endian uint16. The server sends the
// terminal's output as binary messages (raw bytes: a UTF-8 sequence may
// span two messages) and text messages with one JSON object each:
// {"type":"open","shell","pid","recording"} first, {"type":"exit","code",
// "message":{"en","de"}} last, before it closes the websocket.
//
// Back-pressure: output is read from the agent's stream only as fast as
// the websocket takes it (a write blocks), so a shell printing without end
// fills the stream's flow-control window and then waits; input is written
// to the stream as fast as its window allows. Nothing is buffered beyond
// one message each way.
package termws

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Message kinds from the client.
const (
	KindInput  byte = 'i'
	KindResize byte = 'r'
)

const (
	// readLimit bounds one client message: a large paste.
	readLimit = 1 << 20
	// writeTimeout closes the websocket of a client that takes no output
	// for this long, which also ends the session.
	writeTimeout = time.Minute
	chunk        = 32 << 10
)

// Control is a text message to the client.
type Control struct {
	Type      string     `json:"type"` // open, exit
	Shell     string     `json:"shell,omitempty"`
	PID       int        `json:"pid,omitempty"`
	Recording int64      `json:"recording,omitempty"`
	Code      string     `json:"code,omitempty"`
	Message   *core.Text `json:"message,omitempty"`
}

// Request reads the shell (?shell=) and first size (?rows=&cols=) of a
// terminal request.
func Request(r *http.Request) service.TerminalRequest {
	q := r.URL.Query()
	num := func(k string) uint16 {
		n, err := strconv.ParseUint(q.Get(k), 10, 16)
		if err != nil {
			return 0
		}
		return uint16(n)
	}
	return service.TerminalRequest{Shell: q.Get("shell"), Rows: num("rows"), Cols: num("cols")}
}

// IsWebsocket reports whether r asks for a websocket upgrade.
func IsWebsocket(r *http.Request) bool {
	return tokenIn(r.Header.Get("Connection"), "upgrade") && tokenIn(r.Header.Get("Upgrade"), "websocket")
}

func tokenIn(v, tok string) bool {
	for p := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(p), tok) {
			return true
		}
	}
	return false
}

// Serve upgrades r to a websocket (the Origin must be r's host: a page of
// another site cannot use the caller's cookie), opens the terminal with
// open and pumps it until either side ends. A failure to open is told to
// the client as an exit message. The caller has authorized r.
func Serve(w http.ResponseWriter, r *http.Request, open func(ctx context.Context) (*service.Terminal, error)) error {
	conn, err := websocket.Accept(w, r, nil) // checks Origin against Host
	if err != nil {
		return err
	}
	conn.SetReadLimit(readLimit)
	ctx := r.Context()
	t, err := open(ctx)
	if err != nil {
		msg, ok := service.Reason(err)
		code := "failed"
		switch {
		case errors.Is(err, core.ErrOffline):
			code, msg, ok = "offline", core.Text{EN: "The device is not connected.", DE: "Das Gerät ist nicht verbunden."}, true
		case errors.Is(err, core.ErrNotFound):
			code = "not_found"
		case errors.Is(err, core.ErrForbidden):
			code = "forbidden"
		}
		if !ok {
			msg = core.Text{EN: "The terminal could not be opened.", DE: "Das Terminal konnte nicht geöffnet werden."}
		}
		sendControl(ctx, conn, Control{Type: "exit", Code: code, Message: &msg})
		conn.Close(websocket.StatusNormalClosure, code)
		return err
	}
	defer t.Close()
	if err := sendControl(ctx, conn, Control{Type: "open", Shell: t.Shell, PID: t.PID, Recording: t.Recording}); err != nil {
		conn.CloseNow()
		return err
	}

	// Client → terminal until the client goes; then the session ends,
	// which ends the output loop below.
	inDone := make(chan struct{})
	go func() {
		defer close(inDone)
		defer t.Close()
		for {
			typ, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if typ != websocket.MessageBinary || len(b) == 0 {
				continue
			}
			switch b[0] {
			case KindInput:
				err = t.Input(b[1:])
			case KindResize:
				if len(b) == 5 {
					err = t.Resize(binary.BigEndian.Uint16(b[1:]), binary.BigEndian.Uint16(b[3:]))
				}
			}
			if err != nil && !errors.Is(err, core.ErrInvalid) {
				return
			}
		}
	}()

	buf := make([]byte, chunk)
	for {
		n, err := t.Read(buf)
		if n > 0 {
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			werr := conn.Write(wctx, websocket.MessageBinary, buf[:n])
			cancel()
			if werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	t.Close()
	if reason := t.Reason(); reason != nil {
		msg := reason.Message
		sendControl(ctx, conn, Control{Type: "exit", Code: reason.Code, Message: &msg})
	}
	conn.Close(websocket.StatusNormalClosure, "")
	<-inDone
	return nil
}

func sendControl(ctx context.Context, conn *websocket.Conn, c Control) error {
	b, _ := json.Marshal(c)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return conn.Write(wctx, websocket.MessageText, b)
}
