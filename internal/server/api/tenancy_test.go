package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/service"
)

// send is do with a JSON body and a raw token secret.
func (f *fixture) send(t *testing.T, method, path, secret, body string, out any) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, string(b)
}

// TestTokenScope: a token carries at most its creator's rights, can be
// narrowed to read-only and to some clients, shrinks with its user and can
// be revoked.
func TestTokenScope(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, other, err := f.st.EnsureClientSite(ctx, "Fremde AG", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	foreign := enroll(t, f.st, other, "foreign-pc", time.Now())
	dev := "/api/v1/devices/" + strconv.FormatInt(f.device.ID, 10)
	tech := f.tokens["tech"]

	var ro service.CreatedToken
	if code, body := f.send(t, "POST", "/api/v1/tokens", tech, `{"name":"monitoring","role":"readonly"}`, &ro); code != http.StatusCreated ||
		!strings.HasPrefix(ro.Secret, "wat_") || ro.Role != core.RoleReadOnly {
		t.Fatalf("creating a read-only token: %d %s", code, body)
	}
	if code, _ := f.send(t, "POST", dev+"/run-checks", tech, "", nil); code != http.StatusOK {
		t.Errorf("technician's own token: run-checks %d", code)
	}
	if code, _ := f.send(t, "GET", dev, ro.Secret, "", nil); code != http.StatusOK {
		t.Errorf("read-only token reading: %d", code)
	}
	for _, c := range [][3]string{{"POST", dev + "/run-checks", ""}, {"PATCH", dev, `{"role":"server"}`}, {"POST", dev + "/retire", ""}} {
		if code, _ := f.send(t, c[0], c[1], ro.Secret, c[2], nil); code != http.StatusForbidden {
			t.Errorf("read-only token %s %s: %d, want 403", c[0], c[1], code)
		}
	}
	// No token above its creator, and a narrowed token cannot mint a wider one.
	if code, _ := f.send(t, "POST", "/api/v1/tokens", tech, `{"name":"x","role":"admin"}`, nil); code != http.StatusForbidden {
		t.Errorf("technician minting an admin token: %d", code)
	}
	if code, _ := f.send(t, "POST", "/api/v1/tokens", ro.Secret, `{"name":"x","role":"technician"}`, nil); code != http.StatusForbidden {
		t.Errorf("read-only token minting a technician token: %d", code)
	}

	// A token limited to the first client sees only its device.
	var one service.CreatedToken
	body := `{"name":"one","scope":{"restricted":true,"clients":[` + strconv.FormatInt(f.device.ClientID, 10) + `]}}`
	if code, b := f.send(t, "POST", "/api/v1/tokens", tech, body, &one); code != http.StatusCreated {
		t.Fatalf("creating a client-limited token: %d %s", code, b)
	}
	var ds []service.Device
	f.send(t, "GET", "/api/v1/devices", one.Secret, "", &ds)
	if len(ds) != 1 || ds[0].ID != f.device.ID {
		t.Errorf("client-limited token lists %+v", ds)
	}
	if code, _ := f.send(t, "GET", "/api/v1/devices/"+strconv.FormatInt(foreign.ID, 10), one.Secret, "", nil); code != http.StatusNotFound {
		t.Errorf("client-limited token on a foreign device: %d, want 404", code)
	}
	if code, _ := f.send(t, "GET", "/api/v1/devices/"+strconv.FormatInt(foreign.ID, 10), tech, "", nil); code != http.StatusOK {
		t.Errorf("unrestricted technician on that device: %d", code)
	}

	// The user's rights shrink: so do the token's.
	techUser, _ := f.st.GetUserByEmail(ctx, "tech@example.com")
	if err := f.st.SetUserRole(ctx, techUser.ID, core.RoleReadOnly, core.Only(other.ClientID)); err != nil {
		t.Fatal(err)
	}
	if code, _ := f.send(t, "POST", "/api/v1/devices/"+strconv.FormatInt(foreign.ID, 10)+"/run-checks", tech, "", nil); code != http.StatusForbidden {
		t.Errorf("token of a demoted user: run-checks %d", code)
	}
	ds = nil
	f.send(t, "GET", "/api/v1/devices", one.Secret, "", &ds)
	if len(ds) != 0 {
		t.Errorf("token whose client left its user's scope still lists %+v", ds)
	}

	// Revoked: refused.
	if code, _ := f.send(t, "DELETE", "/api/v1/tokens/"+strconv.FormatInt(ro.ID, 10), tech, "", nil); code != http.StatusNoContent {
		t.Errorf("revoking: %d", code)
	}
	if code, _ := f.send(t, "GET", dev, ro.Secret, "", nil); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", code)
	}
	// Someone else's token is not found.
	var adminTokens []core.APIToken
	f.send(t, "GET", "/api/v1/tokens", f.tokens["admin"], "", &adminTokens)
	var adminTok int64
	for _, tk := range adminTokens {
		if tk.Name == "admin" {
			adminTok = tk.ID
		}
	}
	if code, _ := f.send(t, "DELETE", "/api/v1/tokens/"+strconv.FormatInt(adminTok, 10), tech, "", nil); code != http.StatusNotFound {
		t.Errorf("revoking another user's token: %d", code)
	}
	if code, _ := f.send(t, "POST", "/api/v1/tokens", tech, `{"name":"old","expires_at":"2020-01-01T00:00:00Z"}`, nil); code != http.StatusBadRequest {
		t.Errorf("token expiring in the past: %d", code)
	}
}

// TestDeleteClientRetires: deleting a client with devices needs confirm,
// then retires them and tells their agents to uninstall.
func TestDeleteClientRetires(t *testing.T) {
	f := newFixture(t)
	admin := f.tokens["admin"]
	path := "/api/v1/clients/" + strconv.FormatInt(f.device.ClientID, 10)
	var e protocol.ErrorResponse
	if code, b := f.send(t, "DELETE", path, admin, "", nil); code != http.StatusConflict {
		t.Fatalf("delete without confirm: %d %s", code, b)
	}
	_ = e
	if d, _ := f.st.GetDevice(context.Background(), f.device.ID); d.State != core.DeviceActive {
		t.Fatalf("refused delete changed the device: %q", d.State)
	}
	var out struct {
		RetiredDevices int `json:"retired_devices"`
	}
	if code, b := f.send(t, "DELETE", path+"?confirm=true", admin, "", &out); code != http.StatusOK || out.RetiredDevices != 1 {
		t.Fatalf("confirmed delete: %d %s", code, b)
	}
	if d, _ := f.st.GetDevice(context.Background(), f.device.ID); d.State != core.DeviceRetired {
		t.Errorf("device state %q, want retired", d.State)
	}
	var names []string
	for _, c := range f.cmd.calls {
		names = append(names, c.Name)
	}
	if !strings.Contains(strings.Join(names, ","), protocol.CommandUninstall) {
		t.Errorf("commands sent: %v, want uninstall", names)
	}
	var ds []service.Device
	f.send(t, "GET", "/api/v1/devices", admin, "", &ds)
	if len(ds) != 0 {
		t.Errorf("retired device still listed: %+v", ds)
	}
	f.send(t, "GET", "/api/v1/devices?retired=true", admin, "", &ds)
	if len(ds) != 1 {
		t.Errorf("?retired=true lists %d", len(ds))
	}
	if code, _ := f.send(t, "GET", path, admin, "", nil); code != http.StatusNotFound {
		t.Errorf("deleted client: %d", code)
	}
}

func TestDeviceTagsAndAudit(t *testing.T) {
	f := newFixture(t)
	admin := f.tokens["admin"]
	dev := "/api/v1/devices/" + strconv.FormatInt(f.device.ID, 10)
	var d service.Device
	if code, b := f.send(t, "PATCH", dev, f.tokens["tech"], `{"role":"notebook","tags":["VIP"," Buchhaltung"]}`, &d); code != http.StatusOK ||
		d.Role != "notebook" || strings.Join(d.Tags, ",") != "buchhaltung,vip" {
		t.Fatalf("PATCH device: %d %s", code, b)
	}
	if code, _ := f.send(t, "PATCH", dev, f.tokens["tech"], `{"role":"toaster"}`, nil); code != http.StatusBadRequest {
		t.Errorf("bad role: %d", code)
	}
	var ds []service.Device
	f.send(t, "GET", "/api/v1/devices?tag=vip", admin, "", &ds)
	if len(ds) != 1 {
		t.Errorf("tag filter vip: %d", len(ds))
	}
	f.send(t, "GET", "/api/v1/devices?tag=none", admin, "", &ds)
	if len(ds) != 0 {
		t.Errorf("tag filter none: %d", len(ds))
	}
	var es []core.AuditEntry
	f.send(t, "GET", "/api/v1/audit?action=device.", admin, "", &es)
	if len(es) != 2 || es[0].Actor != "user:tech@example.com" || !strings.HasPrefix(es[0].Remote, "127.0.0.1:") || es[0].Result != core.AuditOK {
		t.Errorf("audit: %+v", es)
	}
	if code, _ := f.send(t, "GET", "/api/v1/audit", f.tokens["tech"], "", nil); code != http.StatusForbidden {
		t.Errorf("technician reading the audit log: %d", code)
	}
	code, csv := f.send(t, "GET", "/api/v1/audit.csv", admin, "", nil)
	if code != http.StatusOK || !strings.HasPrefix(csv, "id,time,actor,remote,action,target,detail,result,hash\n") || !strings.Contains(csv, "device.tags") {
		t.Errorf("CSV: %d %q", code, csv)
	}
	var b strings.Builder
	service.WriteAuditCSV(&b, []core.AuditEntry{{Actor: "=cmd|' /C calc'!A0", Detail: "-2+3"}})
	if !strings.Contains(b.String(), "'=cmd") || !strings.Contains(b.String(), "'-2+3") {
		t.Errorf("formula cells not neutralized: %q", b.String())
	}
}

func TestDeniedChangesAreAudited(t *testing.T) {
	f := newFixture(t)
	dev := "/api/v1/devices/" + strconv.FormatInt(f.device.ID, 10)
	if code, _ := f.send(t, "PATCH", dev, f.tokens["readonly"], `{"role":"server"}`, nil); code != http.StatusForbidden {
		t.Fatalf("read-only PATCH: %d", code)
	}
	es, err := f.st.QueryAudit(context.Background(), core.AuditQuery{Action: "access.denied"})
	if err != nil || len(es) != 1 || es[0].Result != core.AuditDenied || es[0].Actor != "user:ro@example.com" || es[0].Target != "PATCH "+dev {
		t.Errorf("denied audit: %+v %v", es, err)
	}
}
