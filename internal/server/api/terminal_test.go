//go:build linux

package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/agent/agenttest"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/termws"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestTerminalOverAPI: a technician's token opens a terminal on a real
// agent over the API's websocket, types, resizes and sees the shell
// answer; the recording is served to the administrator's token as an
// asciicast file and refused to the technician's.
func TestTerminalOverAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("real agent and shell: skipped in -short mode")
	}
	t.Setenv("HOME", t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard
	defer cancel()
	st := storetest.NewSQLite(t)
	gw := agenttest.NewGateway(st)
	svc := service.New(service.Deps{Store: st, Commander: gw.Hub()})
	mux := http.NewServeMux()
	mux.Handle("/api/agent/", gw)
	mux.Handle("/api/v1/", api.New(svc, nil))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	defer gw.Hub().Shutdown(ctx)
	c, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	dev := agenttest.Start(t, st, gw, srv, site.ID, agenttest.Options{})
	tokens := map[string]string{}
	for role, email := range map[string]string{core.RoleAdmin: "admin@example.com", core.RoleTechnician: "tech@example.com"} {
		u := core.User{Email: email, PasswordHash: "x", Role: role}
		if role != core.RoleAdmin {
			u.Scope = core.Only(c.ID)
		}
		if err := st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		sec := auth.NewSecret(auth.APITokenPrefix)
		if err := st.CreateAPIToken(ctx, &core.APIToken{UserID: u.ID, Name: role, Hash: auth.HashSecret(sec)}); err != nil {
			t.Fatal(err)
		}
		tokens[role] = sec
	}
	bearer := func(role string) http.Header { return http.Header{"Authorization": {"Bearer " + tokens[role]}} }

	// Without an upgrade: 400; the upgrade with the technician's token.
	req, _ := http.NewRequest("GET", srv.URL+fmt.Sprintf("/api/v1/devices/%d/terminal", dev), nil)
	req.Header = bearer(core.RoleTechnician)
	if resp, err := srv.Client().Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("without upgrade: %v %v", resp.StatusCode, err)
	}
	u := "wss" + strings.TrimPrefix(srv.URL, "https") + fmt.Sprintf("/api/v1/devices/%d/terminal?shell=sh&rows=24&cols=80", dev)
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: srv.Client(), HTTPHeader: bearer(core.RoleTechnician)})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	var open termws.Control
	if typ, b, err := ws.Read(ctx); err != nil || typ != websocket.MessageText || json.Unmarshal(b, &open) != nil || open.Type != "open" || open.Recording == 0 {
		t.Fatalf("open message: %s %v", b, err)
	}
	resize := []byte{termws.KindResize, 0, 33, 0, 99}
	if err := ws.Write(ctx, websocket.MessageBinary, resize); err != nil {
		t.Fatal(err)
	}
	if err := ws.Write(ctx, websocket.MessageBinary, append([]byte{termws.KindInput}, "stty size; echo 'Gr''üße'; exit\r"...)); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var exit termws.Control
	for exit.Type == "" {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v; output %q", err, out.String())
		}
		if typ == websocket.MessageText {
			json.Unmarshal(b, &exit)
		} else {
			out.Write(b)
		}
	}
	if !strings.Contains(out.String(), "33 99\r\n") || !strings.Contains(out.String(), "Grüße\r\n") || exit.Code != "exited" {
		t.Errorf("output %q, exit %+v", out.String(), exit)
	}

	get := func(role string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+fmt.Sprintf("/api/v1/recordings/%d", open.Recording), nil)
		req.Header = bearer(role)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, _ := get(core.RoleTechnician); status != http.StatusForbidden {
		t.Errorf("technician fetching the recording: %d", status)
	}
	// The recording ends when the session's Close has stored it.
	var cast string
	agenttest.Wait(t, "recording ended", func() bool {
		r, err := st.GetRecording(ctx, open.Recording)
		return err == nil && r.EndedAt != nil
	})
	status, cast := get(core.RoleAdmin)
	if status != http.StatusOK || !strings.HasPrefix(cast, `{"version":2,"width":80,"height":24`) ||
		!strings.Contains(cast, `"r", "99x33"]`) || !strings.Contains(cast, `Grüße\r\n`) {
		t.Errorf("recording: %d\n%s", status, cast)
	}
}
