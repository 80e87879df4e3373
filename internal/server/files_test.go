package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/store"
)

// filesEnv is a real server and real agents on loopback for the file
// browser: the device of "Müller GmbH", one of the same client whose owner
// locked files (--disable files), and API tokens of an administrator, a
// technician of Müller GmbH, one of another client and a read-only user.
type filesEnv struct {
	srv             *running
	st              *store.DB
	hc              *http.Client
	tls             *tls.Config
	base            string
	dev, locked     int64
	agentDir        string
	tokens          map[string]string
	admin, tech, ro string
	foreign         string
}

func startFiles(t testing.TB) *filesEnv {
	t.Helper()
	data := t.TempDir()
	srv := start(t.(*testing.T), data)
	ctx := context.Background()
	st, err := OpenStore(ctx, data, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &filesEnv{srv: srv, st: st, base: "https://" + srv.addr, tokens: map[string]string{}}
	enroll := func(client string, disable []string) (int64, string) {
		tok, _, err := CreateToken(ctx, st, TokenOptions{Create: true, Client: client, Site: "Zentrale", DataDir: data, URL: e.base}, protocol.Now())
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		er, err := agent.Enroll(ctx, tok.String(), "", dir, false)
		if err != nil {
			t.Fatal(err)
		}
		if disable != nil {
			if err := agent.SetDisabled(dir, disable); err != nil {
				t.Fatal(err)
			}
		}
		a, err := agent.New(agent.Options{DataDir: dir, Interval: time.Hour, BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		actx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { a.Run(actx); close(done) }()
		t.Cleanup(func() { stop(); <-done })
		return er.DeviceID, dir
	}
	e.dev, e.agentDir = enroll("Müller GmbH", nil)
	e.locked, _ = enroll("Müller GmbH", []string{protocol.LockFiles})
	_, _ = enroll("Andere AG", nil)

	cs, err := st.ListClients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	scope := map[string]int64{}
	for _, c := range cs {
		scope[c.Name] = c.ID
	}
	for _, u := range []struct {
		email, role, client string
	}{
		{"admin@example.com", core.RoleAdmin, ""},
		{"tech@example.com", core.RoleTechnician, "Müller GmbH"},
		{"fremd@example.com", core.RoleTechnician, "Andere AG"},
		{"ro@example.com", core.RoleReadOnly, "Müller GmbH"},
	} {
		sc := core.AllClients
		if u.client != "" {
			sc = core.Only(scope[u.client])
		}
		if _, err := AddUserScoped(ctx, st, u.email, u.role, "ein langes Passwort", sc, protocol.Now()); err != nil {
			t.Fatal(err)
		}
		secret, _, err := CreateAPIToken(ctx, st, u.email, "test", 0, protocol.Now())
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[u.email] = secret
	}
	e.admin, e.tech, e.foreign, e.ro = e.tokens["admin@example.com"], e.tokens["tech@example.com"], e.tokens["fremd@example.com"], e.tokens["ro@example.com"]
	fp, _ := st.GetSetting(ctx, SettingCertFingerprint)
	e.tls = pinned(fp)
	e.hc = &http.Client{Transport: &http.Transport{TLSClientConfig: e.tls, DisableCompression: true}}
	for _, id := range []int64{e.dev, e.locked} {
		waitCond(t, "agent online", func() bool {
			d, err := st.GetDevice(ctx, id)
			return err == nil && !d.LastSeen.IsZero()
		})
	}
	return e
}

// waitCond waits for cond with a generous hang guard.
func waitCond(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for range 600 { // 30 s
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// do sends a request with token; body may be nil.
func (e *filesEnv) do(t testing.TB, token, method, path string, body io.Reader, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// call sends a request and returns the status and body.
func (e *filesEnv) call(t testing.TB, token, method, path string, body io.Reader, hdr map[string]string) (int, []byte) {
	t.Helper()
	resp := e.do(t, token, method, path, body, hdr)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (e *filesEnv) files(id int64, rest string, path string, q ...string) string {
	u := fmt.Sprintf("/api/v1/devices/%d/files%s?path=%s", id, rest, url.QueryEscape(path))
	for _, s := range q {
		u += "&" + s
	}
	return u
}

// wantError checks an error answer's status, code and bilingual message.
func wantError(t testing.TB, what string, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	var er struct {
		Code    string    `json:"code"`
		Message core.Text `json:"message"`
	}
	json.Unmarshal(body, &er)
	if status != wantStatus || er.Code != wantCode {
		t.Errorf("%s: %d %s, want %d %s", what, status, body, wantStatus, wantCode)
	}
	// The agent's refusals say why in both languages (invalid input names
	// its fields, forbidden and not_found say nothing more).
	if wantCode != "forbidden" && wantCode != "not_found" && wantCode != "invalid" {
		if er.Message.EN == "" || er.Message.DE == "" {
			t.Errorf("%s: no English and German reason: %s", what, body)
		}
	}
}

func hexSum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// TestFileBrowserAPI drives every file route through a real server to a
// real agent: paths with spaces and umlauts, the refusals with their
// codes, who may, the local lock and the audit.
func TestFileBrowserAPI(t *testing.T) {
	e := startFiles(t)
	dir := filepath.Join(t.TempDir(), "Ablage für Jörg")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	// New folder, upload (with and without the client's SHA-256), list.
	folder := filepath.Join(dir, "Neuer Ordner Ä")
	if st, b := e.call(t, e.tech, "POST", fmt.Sprintf("/api/v1/devices/%d/files/mkdir", e.dev), strings.NewReader(`{"path":`+strconv.Quote(folder)+`}`), nil); st != http.StatusNoContent {
		t.Fatalf("mkdir: %d %s", st, b)
	}
	content := []byte("Grüße aus Hannover\n")
	file := filepath.Join(folder, "Straße & Maß.txt")
	st, b := e.call(t, e.tech, "PUT", e.files(e.dev, "/content", file), bytes.NewReader(content), map[string]string{"X-Content-SHA256": hexSum(content)})
	var ft struct {
		Path   string `json:"path"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal(b, &ft); st != http.StatusOK || err != nil || ft.Path != file || ft.Size != int64(len(content)) || ft.SHA256 != hexSum(content) {
		t.Fatalf("upload: %d %s", st, b)
	}
	if got, _ := os.ReadFile(file); !bytes.Equal(got, content) {
		t.Errorf("uploaded content %q", got)
	}
	second := filepath.Join(folder, "ohne Prüfsumme.bin")
	if st, b := e.call(t, e.admin, "PUT", e.files(e.dev, "/content", second), bytes.NewReader(content), nil); st != http.StatusOK {
		t.Fatalf("upload without SHA-256: %d %s", st, b)
	}
	st, b = e.call(t, e.tech, "GET", e.files(e.dev, "", folder), nil, nil)
	var list protocol.FilesList
	if err := json.Unmarshal(b, &list); st != 200 || err != nil || list.Path != folder || len(list.Entries) != 2 ||
		list.Entries[0].Name != "Straße & Maß.txt" || list.Entries[0].Size != int64(len(content)) || list.Entries[1].Name != "ohne Prüfsumme.bin" {
		t.Errorf("list: %d %s", st, b)
	}

	// Download: length, name with umlauts, the hash trailer on request.
	resp := e.do(t, e.tech, "GET", e.files(e.dev, "/content", file), nil, nil)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, content) || resp.ContentLength != int64(len(content)) {
		t.Errorf("download: %d %q %v, length %d", resp.StatusCode, got, err, resp.ContentLength)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="Stra_e & Ma_.txt"; filename*=UTF-8''Stra%C3%9Fe%20&%20Ma%C3%9F.txt` {
		t.Errorf("Content-Disposition %s", cd)
	}
	resp = e.do(t, e.tech, "GET", e.files(e.dev, "/content", file), nil, map[string]string{"TE": "trailers"})
	got, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, content) || resp.Trailer.Get("X-Content-SHA256") != hexSum(content) {
		t.Errorf("download with trailer: %q %v, trailer %v", got, err, resp.Trailer)
	}

	// Refusals, each with its code and reason in English and German.
	missing := filepath.Join(dir, "gibt es nicht.txt")
	st, b = e.call(t, e.tech, "GET", e.files(e.dev, "/content", missing), nil, nil)
	wantError(t, "download of a missing file", st, b, 404, protocol.CodeNotFound)
	st, b = e.call(t, e.tech, "GET", e.files(e.dev, "", missing), nil, nil)
	wantError(t, "list of a missing folder", st, b, 404, protocol.CodeNotFound)
	st, b = e.call(t, e.tech, "GET", e.files(e.dev, "", "relativ/pfad"), nil, nil)
	wantError(t, "relative path", st, b, 400, protocol.CodeBadArgs)
	st, b = e.call(t, e.tech, "PUT", e.files(e.dev, "/content", file), bytes.NewReader(content), nil)
	wantError(t, "upload onto an existing file", st, b, 409, protocol.CodeExists)
	st, b = e.call(t, e.tech, "PUT", e.files(e.dev, "/content", second, "overwrite=true"), strings.NewReader("anders"), map[string]string{"X-Content-SHA256": hexSum(content)})
	wantError(t, "upload with the wrong SHA-256", st, b, 400, protocol.CodeHashMismatch)
	if got, _ := os.ReadFile(second); !bytes.Equal(got, content) {
		t.Error("a refused upload changed the file")
	}
	if st, b := e.call(t, e.tech, "PUT", e.files(e.dev, "/content", second, "overwrite=true"), strings.NewReader("anders"), nil); st != 200 {
		t.Errorf("overwrite: %d %s", st, b)
	}
	if got, _ := os.ReadFile(second); string(got) != "anders" {
		t.Errorf("overwritten content %q", got)
	}
	st, b = e.call(t, e.tech, "PUT", e.files(e.dev, "/content", file), strings.NewReader("x"), map[string]string{"X-Content-SHA256": "zz"})
	wantError(t, "a malformed SHA-256", st, b, 400, "invalid")

	// Rename, then delete; a folder only recursively.
	renamed := filepath.Join(folder, "Umbenannt Ü.txt")
	if st, b := e.call(t, e.tech, "POST", fmt.Sprintf("/api/v1/devices/%d/files/rename", e.dev),
		strings.NewReader(fmt.Sprintf(`{"from":%q,"to":%q}`, file, renamed)), nil); st != http.StatusNoContent {
		t.Errorf("rename: %d %s", st, b)
	}
	if _, err := os.Stat(renamed); err != nil {
		t.Errorf("renamed file: %v", err)
	}
	st, b = e.call(t, e.tech, "DELETE", e.files(e.dev, "", folder), nil, nil)
	wantError(t, "delete a folder without recursive", st, b, 400, protocol.CodeBadArgs)
	if st, b := e.call(t, e.tech, "DELETE", e.files(e.dev, "", folder, "recursive=true"), nil, nil); st != http.StatusNoContent {
		t.Errorf("delete: %d %s", st, b)
	}
	if _, err := os.Stat(folder); err == nil {
		t.Error("folder not deleted")
	}

	// Who may: read-only never, another client's technician sees nothing,
	// the device's local lock refuses with its reason.
	st, b = e.call(t, e.ro, "GET", e.files(e.dev, "", dir), nil, nil)
	wantError(t, "read-only user", st, b, 403, "forbidden")
	st, b = e.call(t, e.ro, "PUT", e.files(e.dev, "/content", filepath.Join(dir, "x")), strings.NewReader("x"), nil)
	wantError(t, "read-only upload", st, b, 403, "forbidden")
	st, b = e.call(t, e.foreign, "GET", e.files(e.dev, "/content", renamed), nil, nil)
	wantError(t, "technician of another client", st, b, 404, "not_found")
	st, b = e.call(t, e.tech, "GET", e.files(e.locked, "", dir), nil, nil)
	wantError(t, "files locked on the device", st, b, 403, protocol.CodeDisabledLocally)

	// Every attempt is audited with who, what and the outcome.
	es, err := e.st.QueryAudit(context.Background(), core.AuditQuery{Action: "device.file"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range es {
		seen[a.Action+" "+a.Result] = true
		if a.Action == "device.file-upload" && a.Result == core.AuditOK && strings.Contains(a.Detail, "Straße & Maß.txt") &&
			(!strings.Contains(a.Detail, hexSum(content)) || a.Actor != "user:tech@example.com") {
			t.Errorf("upload audit %+v", a)
		}
	}
	for _, want := range []string{"device.file-upload ok", "device.file-upload failed", "device.file-download ok", "device.file-download failed",
		"device.file-mkdir ok", "device.file-rename ok", "device.file-delete ok", "device.file-delete failed", "device.files-list ok"} {
		if !seen[want] {
			t.Errorf("no audit entry %q in %v", want, seen)
		}
	}
}

// TestUploadAbortedMidway: a client that goes away mid-upload leaves no
// target file, no temporary file and no journal entry on the device.
func TestUploadAbortedMidway(t *testing.T) {
	e := startFiles(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "halb übertragen.bin")
	c, err := tls.Dial("tcp", e.srv.addr, e.tls)
	if err != nil {
		t.Fatal(err)
	}
	const size = 8 << 20
	fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n",
		e.files(e.dev, "/content", target), e.srv.addr, e.tech, size)
	chunk := make([]byte, 1<<20)
	rand.Read(chunk)
	for range 3 {
		if _, err := c.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	// The agent has begun writing the temporary file, then the client goes.
	waitCond(t, "temporary file", func() bool {
		des, _ := os.ReadDir(dir)
		return len(des) == 1 && strings.HasPrefix(des[0].Name(), ".wacht-upload-")
	})
	c.Close()
	waitCond(t, "temporary file removed", func() bool {
		des, _ := os.ReadDir(dir)
		journal, _ := os.ReadDir(filepath.Join(e.agentDir, "uploads"))
		return len(des) == 0 && len(journal) == 0
	})
	waitCond(t, "failed upload audited", func() bool {
		es, _ := e.st.QueryAudit(context.Background(), core.AuditQuery{Action: "device.file-upload"})
		return len(es) == 1 && es[0].Result == core.AuditFailed
	})
	if _, err := os.Stat(target); err == nil {
		t.Error("a half-uploaded file was put in place")
	}
}

// TestLargeTransfer uploads and downloads 200 MB through the API and
// compares the SHA-256 on both ends.
func TestLargeTransfer(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MB through a real server and agent")
	}
	e := startFiles(t)
	src := filepath.Join(t.TempDir(), "groß quelle.bin")
	sum := randomFile(t, src, 200<<20)
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	target := filepath.Join(t.TempDir(), "Große Datei.bin")
	req, _ := http.NewRequest("PUT", e.base+e.files(e.dev, "/content", target), f)
	req.ContentLength = 200 << 20
	req.Header.Set("Authorization", "Bearer "+e.tech)
	req.Header.Set("X-Content-SHA256", sum)
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), sum) {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	if got := fileSum(t, target); got != sum {
		t.Fatalf("uploaded file's SHA-256 %s, want %s", got, sum)
	}
	resp = e.do(t, e.tech, "GET", e.files(e.dev, "/content", target), nil, map[string]string{"TE": "trailers"})
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || n != 200<<20 || hex.EncodeToString(h.Sum(nil)) != sum || resp.Trailer.Get("X-Content-SHA256") != sum {
		t.Errorf("download: %d bytes, %v, trailer %v", n, err, resp.Trailer)
	}
}

// randomFile writes size random bytes to path and returns their SHA-256.
func randomFile(t testing.TB, path string, size int64) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func fileSum(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestFileBrowserDashboard drives the dashboard's file browser against a
// real agent: the folder with breadcrumbs in German, new folder, upload
// (the browser's PUT with the CSRF header), download, rename and delete.
func TestFileBrowserDashboard(t *testing.T) {
	e := startFiles(t)
	ctx := context.Background()
	u, err := e.st.GetUserByEmail(ctx, "tech@example.com")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	sess, err := (&auth.Sessions{Users: e.st}).Create(ctx, rec, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	base, _ := url.Parse(e.base)
	jar.SetCookies(base, rec.Result().Cookies())
	hc := &http.Client{Transport: e.hc.Transport, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path string, body io.Reader, hdr map[string]string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, e.base+path, body)
		req.Header.Set("Accept-Language", "de")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	form := func(path string, v url.Values) (int, string, http.Header) {
		v.Set(auth.CSRFField, sess.CSRF)
		return send("POST", path, strings.NewReader(v.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	}
	dir := filepath.Join(t.TempDir(), "Büro Köln")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/devices/%d/files", e.dev)

	st, body, _ := send("GET", fmt.Sprintf("/devices/%d", e.dev), nil, nil)
	if st != 200 || !strings.Contains(body, `id="device-files"`) {
		t.Errorf("device page without the files link: %d", st)
	}
	st, body, _ = send("GET", page+"?path="+url.QueryEscape(dir), nil, nil)
	if st != 200 || !strings.Contains(body, "Dieser Ordner ist leer.") || !strings.Contains(body, ">Büro Köln</a>") || !strings.Contains(body, "Datei hochladen") {
		t.Fatalf("empty folder page: %d %s", st, body)
	}

	st, _, hdr := form(page+"/mkdir", url.Values{"dir": {dir}, "name": {"Neuer Ordner"}})
	if st != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "done=mkdir") {
		t.Errorf("mkdir: %d %v", st, hdr)
	}
	if fi, err := os.Stat(filepath.Join(dir, "Neuer Ordner")); err != nil || !fi.IsDir() {
		t.Errorf("folder not created: %v", err)
	}
	st, body, _ = form(page+"/mkdir", url.Values{"dir": {dir}, "name": {"../ausbrechen"}})
	if st != http.StatusBadRequest || !strings.Contains(body, "einen einzelnen Namen ohne Ordnertrenner angeben") {
		t.Errorf("mkdir with a separator: %d", st)
	}

	content := []byte("Grüße an Jörg")
	up := page + "/content?dir=" + url.QueryEscape(dir) + "&name=" + url.QueryEscape("Grüße.txt")
	st, body, _ = send("PUT", up, bytes.NewReader(content), nil)
	if st != http.StatusForbidden {
		t.Errorf("upload without the CSRF token: %d %s", st, body)
	}
	st, body, _ = send("PUT", up, bytes.NewReader(content), map[string]string{auth.CSRFHeader: sess.CSRF})
	if st != 200 || !strings.Contains(body, hexSum(content)) {
		t.Fatalf("upload: %d %s", st, body)
	}
	st, body, _ = send("PUT", up, bytes.NewReader(content), map[string]string{auth.CSRFHeader: sess.CSRF})
	if st != http.StatusConflict || !strings.Contains(body, "existiert bereits") {
		t.Errorf("upload onto an existing file: %d %s", st, body)
	}
	file := filepath.Join(dir, "Grüße.txt")
	st, body, hdr = send("GET", page+"/content?path="+url.QueryEscape(file), nil, nil)
	if st != 200 || body != string(content) || !strings.Contains(hdr.Get("Content-Disposition"), "filename*=UTF-8''Gr%C3%BC%C3%9Fe.txt") {
		t.Errorf("download: %d %q %v", st, body, hdr)
	}

	st, body, _ = send("GET", page+"?path="+url.QueryEscape(dir), nil, nil)
	if st != 200 || !strings.Contains(body, "Grüße.txt") || !strings.Contains(body, "Neuer Ordner") || !strings.Contains(body, "Endgültig löschen") ||
		!strings.Contains(body, "16 B") {
		t.Errorf("folder page: %d %s", st, body)
	}
	if st, _, _ := form(page+"/rename", url.Values{"dir": {dir}, "name": {"Grüße.txt"}, "to": {"Grüße 2.txt"}}); st != http.StatusSeeOther {
		t.Errorf("rename: %d", st)
	}
	if st, _, _ := form(page+"/delete", url.Values{"dir": {dir}, "name": {"Neuer Ordner"}, "recursive": {"true"}, "confirm": {"yes"}}); st != http.StatusSeeOther {
		t.Errorf("delete: %d", st)
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 1 || des[0].Name() != "Grüße 2.txt" {
		t.Errorf("folder after rename and delete: %v", des)
	}
	st, body, _ = form(page+"/delete", url.Values{"dir": {dir}, "name": {"fehlt.txt"}, "confirm": {"yes"}})
	if st != http.StatusNotFound || !strings.Contains(body, "fehlt.txt existiert nicht.") {
		t.Errorf("delete of a missing file: %d", st)
	}
	// The local lock shows the agent's reason.
	st, body, _ = send("GET", fmt.Sprintf("/devices/%d/files?path=%s", e.locked, url.QueryEscape(dir)), nil, nil)
	if st != http.StatusForbidden || !strings.Contains(body, "auf diesem Gerät gesperrt") {
		t.Errorf("locked device: %d %s", st, body)
	}
}
