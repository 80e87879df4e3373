package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestPackageFileRoutes runs the server's handler as Run builds it: an
// administrator uploads an installer above the API's request limit, and
// an agent's ticket (auth.TicketRoutes) downloads it; without a valid
// ticket, or for a revoked device, nothing.
func TestPackageFileRoutes(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	gw := gateway.New(gateway.Options{Store: st, ActionKey: actionkey.NewSigner(key, nil)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		gw.Hub().Shutdown(ctx)
	})
	box, err := seal.NewBox(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blobs.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := newHandler(st, gw, nil, box, nil, bs)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	admin := core.User{Email: "admin@example.com", PasswordHash: "x", Role: core.RoleAdmin}
	if err := st.CreateUser(ctx, &admin); err != nil {
		t.Fatal(err)
	}
	token := auth.NewSecret(auth.APITokenPrefix)
	if err := st.CreateAPIToken(ctx, &core.APIToken{UserID: admin.ID, Name: "t", Hash: auth.HashSecret(token)}); err != nil {
		t.Fatal(err)
	}
	_, site, err := st.EnsureClientSite(ctx, "Acme", "HQ")
	if err != nil {
		t.Fatal(err)
	}
	secret := auth.NewSecret("")
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	dev := core.Device{Hostname: "pc-01", OS: "linux", Arch: "amd64", MachineID: "m1", PublicKey: make([]byte, 32)}
	if err := st.Enroll(ctx, auth.HashSecret(secret), &dev, time.Now()); err != nil {
		t.Fatal(err)
	}

	send := func(method, path string, body io.Reader, hdr http.Header, out any) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, body)
		req.Header = hdr
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil {
			json.Unmarshal(b, out)
		}
		return resp.StatusCode, b
	}
	bearer := http.Header{"Authorization": {"Bearer " + token}}
	var p core.Package
	pkg := `{"name":"Demo","version":"1.0","os":"linux","kind":"upload","install":["/usr/bin/dpkg","-i","{{file}}"],"detection":{"kind":"os_package","name":"demo"}}`
	if st, b := send("POST", "/api/v1/packages", strings.NewReader(pkg), bearer, &p); st != 201 {
		t.Fatalf("create: %d %s", st, b)
	}
	installer := make([]byte, 3*MaxBodyBytes)
	rand.Read(installer)
	if st, b := send("PUT", "/api/v1/packages/"+strconv.FormatInt(p.ID, 10)+"/file?name=demo.deb", bytes.NewReader(installer), bearer, &p); st != 200 || p.Size != int64(len(installer)) {
		t.Fatalf("upload of %d bytes: %d %s", len(installer), st, b)
	}

	tickets := blobs.NewTickets(box.Derive(blobs.TicketPurpose))
	ticket := http.Header{blobs.TicketHeader: {tickets.Issue(dev.ID, p.SHA256, time.Now().Add(time.Hour))}}
	if st, b := send("GET", blobs.Path+p.SHA256, nil, ticket, nil); st != 200 || !bytes.Equal(b, installer) {
		t.Fatalf("download: %d, %d bytes", st, len(b))
	}
	for name, hdr := range map[string]http.Header{
		"no ticket":         {},
		"an API token":      bearer,
		"a forged ticket":   {blobs.TicketHeader: {strconv.FormatInt(dev.ID, 10) + ".99999999999.AAAA"}},
		"another key's one": {blobs.TicketHeader: {blobs.NewTickets(make([]byte, 32)).Issue(dev.ID, p.SHA256, time.Now().Add(time.Hour))}},
	} {
		if st, _ := send("GET", blobs.Path+p.SHA256, nil, hdr, nil); st != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, st)
		}
	}
	if err := st.RevokeDevice(ctx, dev.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := send("GET", blobs.Path+p.SHA256, nil, ticket, nil); st != http.StatusForbidden {
		t.Errorf("revoked device: %d, want 403", st)
	}
	for _, route := range auth.TicketRoutes {
		if !strings.HasPrefix(route, "GET "+blobs.Path) {
			t.Errorf("TicketRoutes lists %s, the handler serves %s", route, blobs.Path)
		}
	}
}
