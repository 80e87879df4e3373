package api_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netdev"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/service"
)

const rustdesk = `{"name":"RustDesk","version":"1.3.6","os":"windows","arch":"amd64","kind":"upload",
	"install":["msiexec","/i","{{file}}","/qn","RELAY={{relay}}","KEY={{key}}"],
	"uninstall":["msiexec","/x","{23170F69-40C1-2702-2409-000001000000}","/qn"],
	"params":[{"name":"relay","value":"relay.example.de"},{"name":"key","secret":true,"value":"geheimer-schluessel"}],
	"detection":{"kind":"registry","display_name":"RustDesk","min_version":"1.3"},"require_authenticode":true}`

// upload sends body as package id's file.
func (f *fixture) upload(t *testing.T, id, name, token string, body []byte, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, f.srv.URL+"/api/v1/packages/"+id+"/file?name="+name, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.tokens[token])
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("upload: decoding %q: %v", b, err)
		}
	}
	return resp.StatusCode
}

func TestPackagesAPI(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			f := newFixtureOn(t, e.open)
			box, err := seal.NewBox(bytes.Repeat([]byte{7}, 32))
			if err != nil {
				t.Fatal(err)
			}
			data := t.TempDir()
			bs, err := blobs.Open(data, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			f.srv.Close()
			f.srv = httptest.NewServer(openapitest.Handler(t, api.New(service.New(service.Deps{Store: f.st, PasswordCost: authtest.Cost, Secrets: box, Blobs: bs}), nil)))
			t.Cleanup(f.srv.Close)

			// An administrator's token limited to some clients may not: a
			// package runs on every client's devices.
			limited := core.User{Email: "limited@example.com", PasswordHash: "x", Role: core.RoleAdmin}
			if err := f.st.CreateUser(t.Context(), &limited); err != nil {
				t.Fatal(err)
			}
			sec := auth.NewSecret(auth.APITokenPrefix)
			if err := f.st.CreateAPIToken(t.Context(), &core.APIToken{UserID: limited.ID, Name: "l", Hash: auth.HashSecret(sec),
				Scope: core.Only(f.device.ClientID)}); err != nil {
				t.Fatal(err)
			}
			f.tokens["limited"] = sec
			for _, token := range []string{"readonly", "tech", "limited"} {
				if st := f.sendJSON(t, "POST", "/api/v1/packages", token, rustdesk, nil); st != 403 {
					t.Errorf("%s create: %d", token, st)
				}
			}
			var p core.Package
			if st := f.sendJSON(t, "POST", "/api/v1/packages", "admin", rustdesk, &p); st != 201 || p.ID == 0 {
				t.Fatalf("create: %d %+v", st, p)
			}
			if p.Params[1] != (core.PackageParam{Name: "key", Secret: true, Set: true}) || p.TimeoutSeconds != service.DefaultPackageTimeout ||
				p.ExitCodes[3010] != core.ExitReboot || p.ExitCodes[1618] != core.ExitRetry {
				t.Errorf("created: %+v", p)
			}
			id := itoa(p.ID)
			var list []core.Package
			if st := f.sendJSON(t, "GET", "/api/v1/packages", "readonly", "", &list); st != 200 || len(list) != len(service.Catalog())+1 {
				t.Fatalf("list: %d %+v", st, list)
			}
			for _, lp := range list {
				if lp.ID == p.ID && lp.Params[1].Value != "" {
					t.Errorf("listed secret: %+v", lp)
				}
			}
			// The secret is sealed at rest, kept when not sent again, and
			// never in the audit log.
			secretIs := func(want string) {
				t.Helper()
				stored, err := f.st.GetPackage(t.Context(), p.ID)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(stored.Sealed, []byte(want)) || strings.Contains(stored.Params[1].Value, want) {
					t.Errorf("the secret is stored in clear")
				}
				sec, err := netdev.OpenSecrets(box, stored.Sealed)
				if err != nil || sec["params"]["key"] != want {
					t.Errorf("sealed secrets: %v, %v", sec, err)
				}
			}
			secretIs("geheimer-schluessel")
			edited := strings.Replace(strings.Replace(rustdesk, `"value":"geheimer-schluessel"`, `"value":""`, 1), "1.3.6", "1.3.7", 1)
			if st := f.sendJSON(t, "PUT", "/api/v1/packages/"+id, "admin", edited, &p); st != 200 || p.Version != "1.3.7" {
				t.Fatalf("update: %d %+v", st, p)
			}
			secretIs("geheimer-schluessel")
			var audit bytes.Buffer
			req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/audit", nil)
			req.Header.Set("Authorization", "Bearer "+f.tokens["admin"])
			if resp, err := f.srv.Client().Do(req); err == nil {
				io.Copy(&audit, resp.Body)
				resp.Body.Close()
			}
			if strings.Contains(audit.String(), "geheimer") || !strings.Contains(audit.String(), "package.update") ||
				!strings.Contains(audit.String(), `key=(secret)`) || !strings.Contains(audit.String(), `relay.example.de`) {
				t.Errorf("audit log:\n%s", audit.String())
			}

			for _, c := range []struct{ name, body, field string }{
				{"winget on linux", `{"name":"x","version":"1","os":"linux","kind":"winget","manager_id":"x","detection":{"kind":"file","path":"/x"}}`, "kind"},
				{"no manager id", `{"name":"x","version":"1","os":"windows","kind":"choco","detection":{"kind":"file","path":"C:\\x"}}`, "manager_id"},
				{"upload without install", `{"name":"x","version":"1","os":"linux","kind":"upload","detection":{"kind":"os_package","name":"x"}}`, "install"},
				{"unknown placeholder", `{"name":"x","version":"1","os":"linux","kind":"upload","install":["{{file}}","--token={{tokn}}"],"detection":{"kind":"os_package","name":"x"}}`, "install[1]"},
				{"file in a manager's line", `{"name":"x","version":"1","os":"linux","kind":"apt","manager_id":"x","install":["{{file}}"],"detection":{"kind":"os_package","name":"x"}}`, "install[0]"},
				{"registry on linux", `{"name":"x","version":"1","os":"linux","kind":"apt","manager_id":"x","detection":{"kind":"registry","display_name":"x"}}`, "detection.kind"},
				{"bad product code", `{"name":"x","version":"1","os":"windows","kind":"winget","manager_id":"x","detection":{"kind":"registry","product_code":"7zip"}}`, "detection.product_code"},
				{"relative path", `{"name":"x","version":"1","os":"darwin","kind":"brew","manager_id":"x","detection":{"kind":"app_bundle","path":"X.app"}}`, "detection.path"},
				{"secret without value", `{"name":"x","version":"1","os":"linux","kind":"apt","manager_id":"x","params":[{"name":"t","secret":true}],"detection":{"kind":"os_package","name":"x"}}`, "params[0].value"},
				{"authenticode on linux", `{"name":"x","version":"1","os":"linux","kind":"upload","install":["{{file}}"],"require_authenticode":true,"detection":{"kind":"os_package","name":"x"}}`, "require_authenticode"},
				{"exit code meaning", `{"name":"x","version":"1","os":"linux","kind":"apt","manager_id":"x","exit_codes":{"0":"fine"},"detection":{"kind":"os_package","name":"x"}}`, "exit_codes.0"},
				{"manager id option", `{"name":"x","version":"1","os":"linux","kind":"apt","manager_id":"--force","detection":{"kind":"os_package","name":"x"}}`, "manager_id"},
				{"taken identity", strings.Replace(rustdesk, "1.3.6", "1.3.7", 1), "version"},
				{"command without install", `{"name":"x","version":"1","os":"windows","kind":"command","detection":{"kind":"service","name":"x"}}`, "install"},
				{"file in a command", `{"name":"x","version":"1","os":"windows","kind":"command","install":["{{file}}"],"detection":{"kind":"service","name":"x"}}`, "install[0]"},
				{"command with manager id", `{"name":"x","version":"1","os":"windows","kind":"command","manager_id":"x","install":["cmd"],"detection":{"kind":"service","name":"x"}}`, "manager_id"},
				{"authenticode on a command", `{"name":"x","version":"1","os":"windows","kind":"command","install":["cmd"],"require_authenticode":true,"detection":{"kind":"service","name":"x"}}`, "require_authenticode"},
				{"authenticode on winget", `{"name":"x","version":"1","os":"windows","kind":"winget","manager_id":"x","require_authenticode":true,"detection":{"kind":"service","name":"x"}}`, "require_authenticode"},
			} {
				var resp struct {
					Code   string `json:"code"`
					Fields []struct {
						Field   string    `json:"field"`
						Message core.Text `json:"message"`
					} `json:"fields"`
				}
				st := f.sendJSON(t, "POST", "/api/v1/packages", "admin", c.body, &resp)
				found := false
				for _, fe := range resp.Fields {
					found = found || fe.Field == c.field && fe.Message.EN != "" && fe.Message.DE != ""
				}
				if st != 400 || resp.Code != "invalid" || !found {
					t.Errorf("%s: %d %+v, want a field error for %s", c.name, st, resp, c.field)
				}
			}

			// Upload: streamed into the blob store, hashed, recorded.
			installer := make([]byte, 300<<10)
			rand.Read(installer)
			sum := sha256.Sum256(installer)
			if st := f.upload(t, id, "rustdesk.msi", "tech", installer, nil); st != 403 {
				t.Errorf("tech upload: %d", st)
			}
			if st := f.upload(t, id, "rustdesk.msi", "admin", installer, &p); st != 200 || p.SHA256 != hex.EncodeToString(sum[:]) ||
				p.Size != int64(len(installer)) || p.FileName != "rustdesk.msi" {
				t.Fatalf("upload: %d %+v", st, p)
			}
			if b, err := os.ReadFile(filepath.Join(data, "blobs", "sha256", p.SHA256[:2], p.SHA256)); err != nil || !bytes.Equal(b, installer) {
				t.Fatalf("stored blob: %v", err)
			}
			var refused struct {
				Code    string    `json:"code"`
				Message core.Text `json:"message"`
			}
			if st := f.upload(t, id, "big.msi", "admin", make([]byte, 1<<20+1), &refused); st != 413 || refused.Code != "too_large" || refused.Message.DE == "" {
				t.Errorf("too large: %d %+v", st, refused)
			}
			if st := f.upload(t, id, "..%2Fx.msi", "admin", installer, &refused); st != 400 {
				t.Errorf("a path as name: %d %+v", st, refused)
			}
			if got, _ := f.st.GetPackage(t.Context(), p.ID); got.SHA256 != p.SHA256 || got.FileName != "rustdesk.msi" {
				t.Errorf("a refused upload changed the package: %+v", got)
			}
			if es, _ := os.ReadDir(filepath.Join(data, "blobs", "tmp")); len(es) != 0 {
				t.Errorf("%d files left in blobs/tmp", len(es))
			}
			// An upload package cannot become a package manager's or a
			// command.
			mgr := `{"name":"RustDesk","version":"1.3.7","os":"windows","kind":"winget","manager_id":"RustDesk.RustDesk","detection":{"kind":"registry","display_name":"RustDesk"}}`
			if st := f.sendJSON(t, "PUT", "/api/v1/packages/"+id, "admin", mgr, nil); st != 400 {
				t.Errorf("upload to winget: %d", st)
			}
			cmd := `{"name":"RustDesk","version":"1.3.7","os":"windows","kind":"command","install":["cmd.exe"],"detection":{"kind":"registry","display_name":"RustDesk"}}`
			if st := f.sendJSON(t, "PUT", "/api/v1/packages/"+id, "admin", cmd, nil); st != 400 {
				t.Errorf("upload to command: %d", st)
			}
			// A command package: no file, its command lines as given.
			var c core.Package
			defender := `{"name":"Defender","version":"1","os":"windows","kind":"command","install":["powershell.exe","-Command","Set-MpPreference -PUAProtection {{mode}}"],
				"params":[{"name":"mode","value":"Enabled"}],"detection":{"kind":"service","name":"WinDefend"}}`
			if st := f.sendJSON(t, "POST", "/api/v1/packages", "admin", defender, &c); st != 201 || c.Kind != core.PkgCommand || c.Install[2] != "Set-MpPreference -PUAProtection {{mode}}" {
				t.Errorf("create a command: %d %+v", st, c)
			}
			if st := f.upload(t, itoa(c.ID), "x.exe", "admin", installer, &refused); st != 400 {
				t.Errorf("upload to a command: %d %+v", st, refused)
			}

			if st := f.sendJSON(t, "DELETE", "/api/v1/packages/"+id, "tech", "", nil); st != 403 {
				t.Errorf("tech delete: %d", st)
			}
			if st := f.sendJSON(t, "DELETE", "/api/v1/packages/"+id, "admin", "", nil); st != 204 {
				t.Errorf("delete: %d", st)
			}
			if st := f.sendJSON(t, "GET", "/api/v1/packages/"+id, "readonly", "", nil); st != 404 {
				t.Errorf("deleted: %d", st)
			}
		})
	}
}

// TestPackageBlobCleanup: a file stays while any package names it and
// goes with the last one, whether that package is deleted or its file
// replaced; a file uploaded within the grace period waits for the sweep.
func TestPackageBlobCleanup(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			f := newFixtureOn(t, e.open)
			data := t.TempDir()
			bs, err := blobs.Open(data, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			svc := service.New(service.Deps{Store: f.st, PasswordCost: authtest.Cost, Blobs: bs})
			f.srv.Close()
			f.srv = httptest.NewServer(openapitest.Handler(t, api.New(svc, nil)))
			t.Cleanup(f.srv.Close)
			blob := func(sum string) string { return filepath.Join(data, "blobs", "sha256", sum[:2], sum) }
			exists := func(sum string) bool { _, err := os.Stat(blob(sum)); return err == nil }
			aged := func(sum string) { // uploaded long ago: past the grace period
				old := time.Now().Add(-2 * blobs.DefaultGrace)
				if err := os.Chtimes(blob(sum), old, old); err != nil {
					t.Fatal(err)
				}
			}
			create := func(name string) string {
				var p core.Package
				body := `{"name":"` + name + `","version":"1","os":"linux","kind":"upload","install":["{{file}}"],"detection":{"kind":"os_package","name":"demo"}}`
				if st := f.sendJSON(t, "POST", "/api/v1/packages", "admin", body, &p); st != 201 {
					t.Fatalf("create %s: %d", name, st)
				}
				return itoa(p.ID)
			}
			upload := func(id string, body []byte) string {
				var p core.Package
				if st := f.upload(t, id, "demo.deb", "admin", body, &p); st != 200 {
					t.Fatalf("upload: %d", st)
				}
				return p.SHA256
			}
			a, b := create("A"), create("B")
			first := []byte("first installer")
			sum1 := upload(a, first)
			if upload(b, first) != sum1 {
				t.Fatal("same content, other SHA-256")
			}
			aged(sum1)
			if st := f.sendJSON(t, "DELETE", "/api/v1/packages/"+a, "admin", "", nil); st != 204 || !exists(sum1) {
				t.Fatalf("deleted A (%d): the file B names is gone: %v", st, !exists(sum1))
			}
			sum2 := upload(b, []byte("second installer"))
			if exists(sum1) {
				t.Errorf("B's replaced file is left")
			}
			// Uploaded just now: the delete leaves it to the sweep.
			if st := f.sendJSON(t, "DELETE", "/api/v1/packages/"+b, "admin", "", nil); st != 204 || !exists(sum2) {
				t.Fatalf("delete B: %d, file exists %v", st, exists(sum2))
			}
			if n, err := svc.SweepBlobs(t.Context()); err != nil || n != 0 || !exists(sum2) {
				t.Fatalf("sweep within the grace period: %d, %v", n, err)
			}
			aged(sum2)
			if n, err := svc.SweepBlobs(t.Context()); err != nil || n != 1 || exists(sum2) {
				t.Fatalf("sweep: %d, %v, file exists %v", n, err, exists(sum2))
			}
		})
	}
}
