//go:build unix

package tray

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image/color"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

// agentServer is a real trayipc server with a test handler.
type agentServer struct {
	addr string

	mu      sync.Mutex
	status  trayipc.Status
	icon    []byte
	icons   int // OpIcon calls
	support []trayipc.SupportArgs
	peers   []trayipc.Peer
	reboots []string
}

func startAgent(t *testing.T, st trayipc.Status) *agentServer {
	t.Helper()
	a := &agentServer{status: st}
	l, err := trayipc.Listen(filepath.Join(t.TempDir(), "run", "tray.sock"))
	if err != nil {
		t.Fatal(err)
	}
	a.addr = l.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- trayipc.Serve(ctx, l, a.handle, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return a
}

func (a *agentServer) handle(ctx context.Context, p trayipc.Peer, op string, data json.RawMessage) (any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.peers = append(a.peers, p)
	switch op {
	case trayipc.OpStatus:
		return a.status, nil
	case trayipc.OpRequests:
		return trayipc.Requests{Requests: []trayipc.UserRequest{{Ref: "ref-0001", Message: "printer", Sent: true, State: core.SupportNew,
			Replies: []core.SupportReply{{ID: 11, Author: "Tom", Body: "on it"}}}}}, nil
	case trayipc.OpIcon:
		a.icons++
		if a.icon == nil {
			return nil, &trayipc.Error{Code: trayipc.CodeNotFound}
		}
		sum := sha256.Sum256(a.icon)
		return trayipc.Icon{PNG: a.icon, SHA256: hex.EncodeToString(sum[:])}, nil
	case trayipc.OpSupport:
		var args trayipc.SupportArgs
		if err := json.Unmarshal(data, &args); err != nil {
			return nil, err
		}
		a.support = append(a.support, args)
		return trayipc.SupportReply{Ref: "ref-0002"}, nil
	case trayipc.OpReboot:
		var args trayipc.RebootArgs
		json.Unmarshal(data, &args)
		a.reboots = append(a.reboots, args.Choice)
		return trayipc.RebootReply{At: time.Now(), DeferralsLeft: 1}, nil
	}
	return nil, &trayipc.Error{Code: trayipc.CodeUnknownOp}
}

func (a *agentServer) setIcon(png []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.icon = png
	if png == nil {
		a.status.Branding.IconSHA256 = ""
		return
	}
	sum := sha256.Sum256(png)
	a.status.Branding.IconSHA256 = hex.EncodeToString(sum[:])
}

func newApp(t *testing.T, addr string) (*App, *[]string) {
	t.Helper()
	var opened []string
	agent := NewAgent(func(ctx context.Context) (Caller, error) { return trayipc.Dial(ctx, addr) })
	t.Cleanup(func() { agent.Close() })
	app := &App{Agent: agent, Seen: OpenSeen(filepath.Join(t.TempDir(), "seen.json")), Lang: "en", TrayVersion: "test",
		Log:        slog.New(slog.DiscardHandler),
		Open:       func(u string) error { opened = append(opened, u); return nil },
		Screenshot: func(context.Context) ([]byte, error) { return solid(32, rgba(wachtBlue)), nil },
		FindRemote: func(tool string) string { return map[string]string{"anydesk": "/opt/anydesk/anydesk"}[tool] },
		Start:      func(string) error { return nil }}
	app.Pages = &Pages{Agent: agent, Lang: "en", Product: func() string { return "P" }, Seen: app.Seen, Changed: app.Poke, Log: app.Log}
	if err := app.Pages.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Pages.Close() })
	return app, &opened
}

func TestAppOverIPC(t *testing.T) {
	st := *okStatus()
	st.Branding.RemoteSupport = core.RemoteSupportAnyDesk
	srv := startAgent(t, st)
	red := color.RGBA{0xff, 0, 0, 0xff}
	srv.setIcon(solid(48, red))
	app, opened := newApp(t, srv.addr)

	snap := app.Refresh(context.Background())
	if !snap.Reachable || snap.Status.Hostname != "pc-anna" || len(snap.Requests) != 1 {
		t.Fatalf("snapshot %+v", snap)
	}
	if got := title(t, snap.Menu, KeyStatus); got != "Your PC is monitored – everything is fine" {
		t.Errorf("status %q", got)
	}
	if got := title(t, snap.Menu, KeyRequests); got != "My requests (1 new reply)" {
		t.Errorf("requests %q", got)
	}
	if _, ok := snap.Menu.Item(KeyRemote); !ok {
		t.Error("remote support missing although installed")
	}
	if got := rgba(decodePNG(t, app.Icon(snap.Menu)).At(5, 5)); got != red {
		t.Errorf("the branding icon is not used: %v", got)
	}
	// The peer is the test's own user, as the OS says.
	if srv.peers[0].UID != strconv.Itoa(os.Getuid()) {
		t.Errorf("peer %+v", srv.peers[0])
	}
	// The icon is fetched again only when its hash changes.
	app.Refresh(context.Background())
	if srv.icons != 1 {
		t.Errorf("icon fetched %d times for one hash", srv.icons)
	}
	srv.setIcon([]byte("\x89PNG\r\n\x1a\nbroken"))
	app.Refresh(context.Background())
	if srv.icons != 2 {
		t.Errorf("icon fetched %d times after a change", srv.icons)
	}
	if got := rgba(decodePNG(t, app.Icon(app.Model())).At(IconSize/2, 8)); got != wachtBlue {
		t.Errorf("a broken icon is not replaced by Wacht's: %v", got)
	}

	// Opening "My requests" marks the reply seen.
	app.Click(context.Background(), KeyRequests)
	if len(*opened) != 1 {
		t.Fatalf("opened %q", *opened)
	}
	if code, body := get(t, (*opened)[0]); code != 200 || !strings.Contains(body, "on it") {
		t.Fatalf("requests page %d: %s", code, body)
	}
	if got := title(t, app.Model(), KeyRequests); got != "My requests" {
		t.Errorf("after reading: %q", got)
	}

	// Contact IT: the screenshot is taken first; the form sends through the agent.
	app.Click(context.Background(), KeyContact)
	u := (*opened)[1]
	if code, body := get(t, u+"screenshot.png"); code != 200 || body != string(solid(32, rgba(wachtBlue))) {
		t.Errorf("screenshot preview %d", code)
	}
	if code, body := post(t, u, url.Values{"message": {"my printer does not print"}, "screenshot": {"1"}}, origin(u)); code != 200 ||
		!strings.Contains(body, "Your request has reached your IT.") {
		t.Fatalf("submit %d: %s", code, body)
	}
	if len(srv.support) != 1 || srv.support[0].Message != "my printer does not print" || len(srv.support[0].Screenshot) == 0 || srv.support[0].Lang != "en" {
		t.Errorf("agent got %+v", srv.support)
	}

	app.Click(context.Background(), KeyEmail)
	app.Click(context.Background(), KeyRebootLater)
	if srv.reboots == nil || srv.reboots[0] != trayipc.RebootLater {
		t.Errorf("reboot answers %q", srv.reboots)
	}
}

// The agent going away and coming back: the tray says so and recovers.
func TestAppAgentAway(t *testing.T) {
	app, _ := newApp(t, filepath.Join(t.TempDir(), "nothing.sock"))
	snap := app.Refresh(context.Background())
	if snap.Reachable || snap.Error == "" || snap.Menu.Badge != BadgeUnreachable {
		t.Fatalf("snapshot %+v", snap)
	}
	if got := title(t, snap.Menu, KeyStatus); got != "Monitoring service not reachable – retrying" {
		t.Errorf("status %q", got)
	}
	srv := startAgent(t, *okStatus())
	app.Agent = NewAgent(func(ctx context.Context) (Caller, error) { return trayipc.Dial(ctx, srv.addr) })
	app.Pages.Agent = app.Agent
	models := make(chan Model, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { app.Run(ctx, func(m Model, _ []byte) { models <- m }); close(done) }()
	m := <-models
	cancel()
	<-done
	if got := title(t, m, KeyStatus); got != "Your PC is monitored – everything is fine" || m.Badge != BadgeNone {
		t.Errorf("after the agent came back: %q %q", got, m.Badge)
	}
}

func TestContactOverIPCAgentStopped(t *testing.T) {
	srv := startAgent(t, *okStatus())
	app, _ := newApp(t, srv.addr)
	u := app.Pages.NewContact(nil)
	// The agent stops: the dial fails, the text is kept.
	app.Agent = NewAgent(func(ctx context.Context) (Caller, error) {
		return trayipc.Dial(ctx, filepath.Join(filepath.Dir(srv.addr), "gone.sock"))
	})
	app.Pages.Agent = app.Agent
	code, body := post(t, u, url.Values{"message": {"Drucker"}}, origin(u))
	if code != http.StatusServiceUnavailable || !strings.Contains(body, ">Drucker</textarea>") {
		t.Errorf("%d %s", code, body)
	}
}
