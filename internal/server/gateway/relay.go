package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Actions and streams for an agent held by another cluster node go to
// that node directly: this node connects to the URL the other one
// published (cluster_nodes.url), over HTTPS verified against the nodes'
// shared certificate, authenticated by a MAC (relayauth.go). An action is
// one POST whose answer is the agent's reply, of any size up to the
// protocol's message limit; a stream is a websocket between the nodes that
// carries the stream's frames with their own credit window (package mux),
// so that neither node buffers more than a window per direction. NOTIFY
// carries only broadcast signals (policy pushes, disconnects).
//
// The holding node signs (every node has the same action key), as it does
// for its own requests: it is the node that announces a rotated action key
// to its agents, so it signs with a key they already trust, whichever node
// asked and whenever that node re-read the key files. The route's MAC
// therefore guards what the action key guards: secret.key must be kept as
// secret as action.key (docs/security.md).

// RelayOptions say how the nodes of a cluster reach each other.
type RelayOptions struct {
	// URL is where the other nodes reach this node's HTTPS port
	// (https://host:port), published in its cluster_nodes row.
	URL string
	// Key authenticates the requests between nodes; the same on every node
	// (derived from secret.key).
	Key []byte
	// TLS verifies the other nodes (tlsconf.PeerConfig: pinned to the
	// certificate the nodes share).
	TLS *tls.Config
}

// The routes between nodes (mounted by the server under /internal/); they
// answer 404 on a server that is no cluster node and 401 without a valid
// MAC.
const (
	pathRelayCommand = "/internal/v1/relay/command"
	pathRelayStream  = "/internal/v1/relay/stream"
)

// Limits of the routes between nodes.
const (
	maxRelayRequest = 1 << 20 // a signed action with its arguments
	// maxRelayReply bounds an action's answer: the agent's reply is at
	// most one protocol message.
	maxRelayReply = 2 * protocol.MaxMessageBytes
	// relayReadLimit bounds a message on a relayed stream's websocket: a
	// data frame, a window grant, a close or the opening's answer.
	relayReadLimit = 1 << 20
	// relayChannel is the one stream a relay websocket carries.
	relayChannel = 1
	// typeRelayOpened is the holding node's answer to a stream opening,
	// the first message on a relay websocket.
	typeRelayOpened = "relay_opened"
)

// nodeLost is what a relayed stream's reader and writer see when the
// connection between the nodes ends.
var nodeLost = core.Text{
	EN: "The connection to the other server node ended.",
	DE: "Die Verbindung zum anderen Serverknoten wurde beendet.",
}

// relayRequest asks the holding node to forward a signed action or stream
// opening to its agent.
type relayRequest struct {
	DeviceID int64           `json:"device_id"`
	Name     string          `json:"name"`
	Args     json.RawMessage `json:"args,omitempty"`
	WaitMS   int64           `json:"wait_ms"`          // how long the asker waits
	Window   int             `json:"window,omitempty"` // streams: the asker's window
}

// relayFailure is why the holding node could not deliver.
type relayFailure struct {
	Offline bool      `json:"offline,omitempty"`
	Timeout bool      `json:"timeout,omitempty"` // the agent did not answer in time
	Code    string    `json:"code,omitempty"`    // an *protocol.ActionError
	Message core.Text `json:"message,omitzero"`
	Err     string    `json:"error,omitempty"`
}

func failureOf(err error) *relayFailure {
	var ae *protocol.ActionError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, core.ErrOffline):
		return &relayFailure{Offline: true}
	case errors.Is(err, context.DeadlineExceeded):
		return &relayFailure{Timeout: true}
	case errors.As(err, &ae):
		return &relayFailure{Code: ae.Code, Message: ae.Message}
	default:
		return &relayFailure{Err: err.Error()}
	}
}

// err is the failure as the asker's caller sees it.
func (f *relayFailure) err(what string, deviceID int64) error {
	switch {
	case f.Offline:
		return fmt.Errorf("%s to device %d: %w", what, deviceID, core.ErrOffline)
	case f.Timeout:
		return fmt.Errorf("%s to device %d on another node: %w", what, deviceID, context.DeadlineExceeded)
	case f.Code != "":
		return &protocol.ActionError{Code: f.Code, Message: f.Message}
	default:
		return fmt.Errorf("%s to device %d on another node: %s", what, deviceID, f.Err)
	}
}

// relayReply is the holding node's answer to a relayed action.
type relayReply struct {
	Result  *protocol.CommandResult `json:"result,omitempty"`
	Failure *relayFailure           `json:"failure,omitempty"`
}

// relayOpened answers a relayed stream opening.
type relayOpened struct {
	Window  int             `json:"window,omitempty"`
	Meta    json.RawMessage `json:"meta,omitempty"`
	Failure *relayFailure   `json:"failure,omitempty"`
}

// newRelayClient connects to other nodes. A node that does not complete a
// connection and TLS handshake within acceptWait counts as dead; keepalive
// probes end a connection to a node that vanished without closing it.
func newRelayClient(cfg *tls.Config) *http.Client {
	d := &net.Dialer{Timeout: acceptWait, KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: 5 * time.Second, Interval: 5 * time.Second, Count: 3,
	}}
	return &http.Client{Transport: &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     cfg,
		TLSHandshakeTimeout: acceptWait,
		ForceAttemptHTTP2:   false,
		// Websockets upgrade HTTP/1.1; a non-nil empty map disables HTTP/2.
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// holder finds the node that holds the device's session and its URL;
// core.ErrOffline when no other live node does.
func (n *node) holder(ctx context.Context, deviceID int64, what string) (id, u string, err error) {
	id, u, err = n.st.SessionNode(ctx, deviceID, time.Now().Add(-nodeDead))
	switch {
	case errors.Is(err, core.ErrNotFound) || (err == nil && id == n.id):
		return "", "", fmt.Errorf("%s to device %d: %w", what, deviceID, core.ErrOffline)
	case err != nil:
		return "", "", fmt.Errorf("finding the node of device %d: %w", deviceID, err)
	case u == "":
		return "", "", fmt.Errorf("%s to device %d: its node %s published no URL (an older version?): %w", what, deviceID, id, core.ErrOffline)
	}
	return id, strings.TrimSuffix(u, "/"), nil
}

// command sends a command to the device's agent on another node and waits
// for its answer; core.ErrOffline when no live node holds the device or
// its node does not take the command within acceptWait.
func (n *node) command(ctx context.Context, deviceID int64, cmd protocol.Command) (protocol.CommandResult, error) {
	what := "command " + cmd.Name
	holder, base, err := n.holder(ctx, deviceID, what)
	if err != nil {
		return protocol.CommandResult{}, err
	}
	dl, _ := ctx.Deadline()
	body, err := json.Marshal(relayRequest{DeviceID: deviceID, Name: cmd.Name, Args: cmd.Args, WaitMS: time.Until(dl).Milliseconds()})
	if err != nil {
		return protocol.CommandResult{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, base+pathRelayCommand, bytes.NewReader(body))
	if err != nil {
		return protocol.CommandResult{}, fmt.Errorf("%s to device %d: node %s: %w", what, deviceID, holder, err)
	}
	req.Header.Set("Content-Type", "application/json")
	n.auth.sign(req, n.id, holder, body)
	// The holder answers with its headers as soon as it has the command: a
	// node that died moments ago, before its row went stale, must not keep
	// the caller waiting for the full timeout.
	late := time.AfterFunc(acceptWait, cancel)
	resp, err := n.client.Do(req)
	gaveUp := !late.Stop()
	switch {
	case err != nil && ctx.Err() != nil:
		return protocol.CommandResult{}, fmt.Errorf("%s to device %d on another node: %w", what, deviceID, ctx.Err())
	case err != nil || gaveUp:
		if err == nil {
			resp.Body.Close()
			err = errors.New("no answer")
		}
		return protocol.CommandResult{}, fmt.Errorf("%s to device %d: its node %s does not answer (%v): %w", what, deviceID, holder, err, core.ErrOffline)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusGone {
		// Not (or no longer) the node the row names: a restarted one.
		return protocol.CommandResult{}, fmt.Errorf("%s to device %d: node %s is gone: %w", what, deviceID, holder, core.ErrOffline)
	}
	if resp.StatusCode != http.StatusOK {
		return protocol.CommandResult{}, fmt.Errorf("%s to device %d: node %s refused the relay: %s%s", what, deviceID, holder, resp.Status, hint(resp.StatusCode))
	}
	var rep relayReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxRelayReply)).Decode(&rep); err != nil {
		if ctx.Err() != nil {
			return protocol.CommandResult{}, fmt.Errorf("%s to device %d on another node: %w", what, deviceID, ctx.Err())
		}
		return protocol.CommandResult{}, fmt.Errorf("%s to device %d: connection to node %s lost (%v): %w", what, deviceID, holder, err, core.ErrOffline)
	}
	if rep.Failure != nil {
		return protocol.CommandResult{}, rep.Failure.err(what, deviceID)
	}
	if rep.Result == nil {
		return protocol.CommandResult{}, fmt.Errorf("%s to device %d: empty answer from node %s", what, deviceID, holder)
	}
	return *rep.Result, nil
}

// hint explains a refusal by another node to the operator.
func hint(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return " (do both nodes have the same secret.key, and clocks within 30 s?)"
	case http.StatusNotFound:
		return " (is that server a cluster node on this database?)"
	}
	return ""
}

// authorize checks a request from another node, whose body is body, and
// decodes its relayRequest from payload; false when it answered it
// already (404 on a server that is no cluster node, 401 for a request
// without a valid MAC, 410 for one meant for another node).
func (g *Gateway) authorize(w http.ResponseWriter, r *http.Request, body, payload []byte) (*node, *relayRequest, bool) {
	n := g.hub.node
	if n == nil || n.auth == nil {
		writeError(w, http.StatusNotFound, "no such route", "not_found")
		return nil, nil, false
	}
	from, to, err := n.auth.verify(r, body)
	if err != nil {
		// Anyone can cause this: counted in the summary line, not logged
		// one by one.
		g.refused.Add("relay_unauthenticated")
		g.log.Debug("refused a request between server nodes", "remote", clientIP(r), "path", r.URL.Path, "err", err)
		writeError(w, http.StatusUnauthorized, "not authenticated", "unauthorized")
		return nil, nil, false
	}
	if to != n.id {
		writeError(w, http.StatusGone, "not this node", "gone")
		return nil, nil, false
	}
	var req relayRequest
	if err := json.Unmarshal(payload, &req); err != nil || req.DeviceID <= 0 || req.Name == "" {
		writeError(w, http.StatusBadRequest, "malformed relay request", "bad_request")
		return nil, nil, false
	}
	n.h.log.Debug("relaying for another node", "from", from, "device", req.DeviceID, "name", req.Name)
	return n, &req, true
}

// maxRelayWait bounds how long a holding node works on one relayed
// request: the longest action (an exec of up to an hour) with room to
// spare, as the asking node allows it locally too.
const maxRelayWait = time.Duration(protocol.MaxExecTimeoutSec)*time.Second + 5*time.Minute

// wait is how long the holding node works on a relayed request: a little
// less than the asker waits, so that the asker learns of a timeout as a
// timeout rather than cutting the connection. An asker that set no
// deadline gets the command timeout.
func (n *node) wait(req *relayRequest) time.Duration {
	wait := time.Duration(req.WaitMS) * time.Millisecond
	switch {
	case wait <= 0:
		wait = n.h.commandTimeout
	case wait > maxRelayWait:
		wait = maxRelayWait
	}
	return wait - min(wait/10, time.Second)
}

// serveRelayCommand signs another node's command for an agent of this
// node, sends it and answers with the agent's reply.
func (g *Gateway) serveRelayCommand(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRelayRequest))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "relay request too large", "too_large")
		return
	}
	n, req, ok := g.authorize(w, r, body, body)
	if !ok {
		return
	}
	wait := n.wait(req)
	// The server's write timeout (120 s) is for requests from clients;
	// this answer may come as late as the agent may take.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(wait + writeTimeout))
	// Accepted: the headers tell the asker that this node has the command.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	// The asker going away cancels r's context, and the wait with it.
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	res, err := n.h.localCommand(ctx, req.DeviceID, protocol.Command{Name: req.Name, Args: req.Args})
	rep := relayReply{Failure: failureOf(err)}
	if err == nil {
		rep.Result = &res
	}
	if err := json.NewEncoder(w).Encode(rep); err != nil {
		n.h.log.Warn("answering a relayed command", "device", req.DeviceID, "err", err)
	}
}

// nodeConn is a websocket between two nodes as the mux.Writer of the
// relayed stream it carries. After a stream close it ends the connection:
// it carries one stream.
type nodeConn struct{ c *websocket.Conn }

func (nc nodeConn) WriteBinary(ctx context.Context, b []byte) error {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return nc.c.Write(wctx, websocket.MessageBinary, b)
}

func (nc nodeConn) Send(ctx context.Context, typ string, data any) error {
	b, err := protocol.Encode(typ, "", data)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	err = nc.c.Write(wctx, websocket.MessageText, b)
	if typ == protocol.TypeStreamClose {
		// The close handshake waits for the other node: nobody else must.
		go nc.c.Close(websocket.StatusNormalClosure, "")
	}
	return err
}

// readRelay reads a relay websocket until it ends, feeding m; a
// typeRelayOpened answer goes to opened (the asking side), once. It ends
// m's streams when the connection ends. m counts in Hub.Buffered while it
// runs.
func (n *node) readRelay(c *websocket.Conn, m *mux.Mux, opened chan<- relayOpened) {
	n.relayMu.Lock()
	n.relays[m] = struct{}{}
	n.relayMu.Unlock()
	defer func() {
		n.relayMu.Lock()
		delete(n.relays, m)
		n.relayMu.Unlock()
	}()
	defer m.CloseWith(nodeLost)
	defer c.CloseNow()
	for {
		typ, b, err := c.Read(context.Background())
		if err != nil {
			return
		}
		if typ == websocket.MessageBinary {
			if m.Data(b) != nil {
				return
			}
			continue
		}
		env, err := protocol.Decode(b)
		if err != nil {
			return
		}
		switch env.Type {
		case protocol.TypeStreamWindow:
			var w protocol.StreamWindow
			if protocol.DecodeData(env, &w) != nil {
				return
			}
			m.Window(w)
		case protocol.TypeStreamClose:
			var sc protocol.StreamClose
			if protocol.DecodeData(env, &sc) != nil {
				return
			}
			m.Closed(sc)
		case typeRelayOpened:
			var o relayOpened
			if opened == nil || protocol.DecodeData(env, &o) != nil {
				return
			}
			opened <- o // buffered
			opened = nil
		}
	}
}

// openStream opens a stream to the device's agent on another node.
func (n *node) openStream(ctx context.Context, deviceID int64, typ string, args json.RawMessage) (*Stream, error) {
	what := "stream " + typ
	holder, base, err := n.holder(ctx, deviceID, what)
	if err != nil {
		return nil, err
	}
	dl, _ := ctx.Deadline()
	body, err := json.Marshal(relayRequest{DeviceID: deviceID, Name: typ, Args: args,
		WaitMS: time.Until(dl).Milliseconds(), Window: mux.WindowFor(typ)})
	if err != nil {
		return nil, err
	}
	u := base + pathRelayStream + "?r=" + url.QueryEscape(base64.RawURLEncoding.EncodeToString(body))
	hdr, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s to device %d: node %s: %w", what, deviceID, holder, err)
	}
	n.auth.sign(hdr, n.id, holder, nil)
	dctx, cancel := context.WithTimeout(ctx, acceptWait)
	c, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: n.client, HTTPHeader: hdr.Header})
	cancel()
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s to device %d on another node: %w", what, deviceID, ctx.Err())
		case resp != nil && resp.StatusCode == http.StatusGone:
			return nil, fmt.Errorf("%s to device %d: node %s is gone: %w", what, deviceID, holder, core.ErrOffline)
		case resp != nil:
			return nil, fmt.Errorf("%s to device %d: node %s refused the relay: %s%s", what, deviceID, holder, resp.Status, hint(resp.StatusCode))
		}
		return nil, fmt.Errorf("%s to device %d: its node %s does not answer (%v): %w", what, deviceID, holder, err, core.ErrOffline)
	}
	c.SetReadLimit(relayReadLimit)
	m := mux.New(nodeConn{c})
	// Registered before the opening, with no credit until the holder's
	// answer grants some.
	st, err := m.Open(relayChannel, mux.WindowFor(typ), 0)
	if err != nil {
		m.Close()
		c.CloseNow()
		return nil, err
	}
	opened := make(chan relayOpened, 1)
	read := make(chan struct{})
	go func() { n.readRelay(c, m, opened); close(read) }()
	var o relayOpened
	select {
	case o = <-opened:
	case <-read:
		select {
		case o = <-opened: // answered, then closed
		default:
			return nil, fmt.Errorf("%s to device %d: connection to node %s lost: %w", what, deviceID, holder, core.ErrOffline)
		}
	case <-ctx.Done():
		c.CloseNow()
		return nil, fmt.Errorf("%s to device %d on another node: %w", what, deviceID, ctx.Err())
	}
	if o.Failure == nil && o.Window <= 0 {
		o.Failure = &relayFailure{Err: "bad answer: no window"}
	}
	if o.Failure != nil {
		st.Discard()
		c.Close(websocket.StatusNormalClosure, "")
		return nil, o.Failure.err(what, deviceID)
	}
	m.Window(protocol.StreamWindow{Channel: relayChannel, Bytes: o.Window})
	return &Stream{Stream: st, Meta: o.Meta}, nil
}

// serveRelayStream opens another node's stream to an agent of this node,
// signed here, and pipes it to that node's websocket, both ways, until either end
// closes it or a connection ends.
func (g *Gateway) serveRelayStream(w http.ResponseWriter, r *http.Request) {
	// The MAC covers the request URI, which holds the request.
	payload, _ := base64.RawURLEncoding.DecodeString(r.URL.Query().Get("r"))
	n, req, ok := g.authorize(w, r, nil, payload)
	if !ok {
		return
	}
	if req.Window <= 0 {
		writeError(w, http.StatusBadRequest, "malformed relay request", "bad_request")
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		n.h.log.Warn("relay websocket upgrade failed", "err", err)
		return
	}
	c.SetReadLimit(relayReadLimit)
	nc := nodeConn{c}
	m := mux.New(nc)
	read := make(chan struct{})
	go func() { n.readRelay(c, m, nil); close(read) }()
	defer func() {
		// The side that closed the stream closes the websocket; give its
		// close handshake time before cutting it off.
		select {
		case <-read:
		case <-time.After(writeTimeout):
			c.CloseNow()
			<-read
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), n.wait(req))
	agent, err := n.h.localStream(ctx, req.DeviceID, req.Name, req.Args)
	cancel()
	if err != nil {
		_ = nc.Send(context.Background(), typeRelayOpened, relayOpened{Failure: failureOf(err)})
		c.Close(websocket.StatusNormalClosure, "")
		return
	}
	window := mux.WindowFor(req.Name)
	peer, err := m.Open(relayChannel, window, req.Window)
	if err == nil {
		err = nc.Send(context.Background(), typeRelayOpened, relayOpened{Window: window, Meta: agent.Meta})
	}
	if err != nil {
		agent.CloseWithError(mux.CodeConnectionLost, nodeLost)
		c.CloseNow()
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { pipe(peer, agent.Stream, agentLost, nodeLost) })
	pipe(agent.Stream, peer, nodeLost, agentLost)
	wg.Wait()
}

// agentLost is what the other node hears when the agent's connection
// failed under a relayed stream.
var agentLost = core.Text{
	EN: "The connection to the agent ended.",
	DE: "Die Verbindung zum Agenten wurde beendet.",
}

// pipe copies what src receives to dst until src ends, then ends dst the
// same way; when dst ends first, it ends src so. srcLost and dstLost say
// which connection failed when one did. The other direction's pipe ends
// with it: a stream ends both ways.
func pipe(dst, src *mux.Stream, srcLost, dstLost core.Text) {
	buf := make([]byte, protocol.MaxStreamChunk)
	for {
		k, err := src.Read(buf)
		if err != nil {
			var ce *mux.CloseError
			switch {
			case errors.Is(err, io.EOF):
				dst.Close()
			case errors.As(err, &ce):
				dst.CloseWithError(ce.Code, ce.Message)
			case errors.Is(err, mux.ErrClosed): // closed here, by the other direction
			default:
				dst.CloseWithError(mux.CodeConnectionLost, srcLost)
			}
			return
		}
		if _, err := dst.Write(buf[:k]); err != nil {
			var ce *mux.CloseError
			switch {
			case errors.As(err, &ce):
				src.CloseWithError(ce.Code, ce.Message)
			case errors.Is(err, mux.ErrClosed):
				src.Close()
			default:
				src.CloseWithError(mux.CodeConnectionLost, dstLost)
			}
			return
		}
	}
}
