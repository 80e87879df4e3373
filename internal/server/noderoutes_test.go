package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestNodeRoutesNeedMAC: the routes between cluster nodes ("internal,
// MAC": auth.NodeRoutes) are mounted in the server's handler and answer
// 404 on a single server and 401 on a cluster node to requests without a
// valid MAC, whatever else they carry. (A forged, an expired and a
// replayed MAC: gateway's TestRelayAuth.)
func TestNodeRoutesNeedMAC(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	signer := actionkey.NewSigner(key, nil)
	check := func(t *testing.T, st *store.DB, o gateway.Options, want int) {
		o.Store, o.ActionKey = st, signer
		gw := gateway.New(o)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			gw.Hub().Shutdown(ctx)
		})
		h, err := Handler(st, gw, nil)
		if err != nil {
			t.Fatal(err)
		}
		forged := http.Header{
			"Wacht-Node-From": {"a"}, "Wacht-Node-To": {"b"},
			"Wacht-Node-Time":  {strconv.FormatInt(time.Now().UnixMilli(), 10)},
			"Wacht-Node-Nonce": {strings.Repeat("0", 32)}, "Wacht-Node-Mac": {strings.Repeat("0", 64)},
		}
		for _, route := range auth.NodeRoutes {
			method, path, _ := strings.Cut(route, " ")
			for name, hdr := range map[string]http.Header{"no MAC": {}, "a forged MAC": forged} {
				r := httptest.NewRequest(method, path+"?r=e30", strings.NewReader(`{"device_id":1,"name":"exec"}`))
				for k, v := range hdr {
					r.Header[k] = v
				}
				r.Header.Set("Connection", "Upgrade")
				r.Header.Set("Upgrade", "websocket")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != want {
					t.Errorf("%s with %s: %d, want %d", route, name, w.Code, want)
				}
			}
		}
	}
	t.Run("single server", func(t *testing.T) {
		check(t, storetest.NewSQLite(t), gateway.Options{}, http.StatusNotFound)
	})
	t.Run("cluster node", func(t *testing.T) {
		db := storetest.NewPostgres(t)
		check(t, db, gateway.Options{Cluster: db, Relay: gateway.RelayOptions{
			URL: "https://127.0.0.1:1", Key: make([]byte, 32), TLS: &tls.Config{},
		}}, http.StatusUnauthorized)
	})
}

func TestNodeURL(t *testing.T) {
	host, _ := os.Hostname()
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8443}
	for _, c := range []struct{ explicit, listen, want string }{
		{"", "127.0.0.1:0", "https://127.0.0.1:8443"},
		{"", "10.0.0.11:8443", "https://10.0.0.11:8443"},
		{"", ":8443", "https://" + net.JoinHostPort(host, "8443")},
		{"", "0.0.0.0:8443", "https://" + net.JoinHostPort(host, "8443")},
		{"", "[::]:8443", "https://" + net.JoinHostPort(host, "8443")},
		{"", "[fd00::11]:8443", "https://[fd00::11]:8443"},
		{"https://node-a.internal:9443/", ":8443", "https://node-a.internal:9443"},
	} {
		if got, err := NodeURL(c.explicit, c.listen, addr); err != nil || got != c.want {
			t.Errorf("NodeURL(%q, %q) = %q, %v; want %q", c.explicit, c.listen, got, err, c.want)
		}
	}
	for _, bad := range []string{"http://node-a:8443", "node-a:8443", "https://", "https://node-a:8443/wacht"} {
		if _, err := NodeURL(bad, ":8443", addr); err == nil {
			t.Errorf("NodeURL(%q) accepted", bad)
		}
	}
}
