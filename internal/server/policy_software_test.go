package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
)

// TestPolicySoftwareReachesTheAgent runs the server as it ships: an
// administrator defines a package, uploads its file and puts it into the
// default policy over the API; an enrolled agent's signed policy message
// carries it with a download ticket that the blob route accepts for that
// agent.
func TestPolicySoftwareReachesTheAgent(t *testing.T) {
	data := t.TempDir()
	srv := start(t, data)
	ctx := context.Background()
	st, err := OpenStore(ctx, data, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	admin := core.User{Email: "admin@example.com", PasswordHash: "x", Role: core.RoleAdmin}
	if err := st.CreateUser(ctx, &admin); err != nil {
		t.Fatal(err)
	}
	token := auth.NewSecret(auth.APITokenPrefix)
	if err := st.CreateAPIToken(ctx, &core.APIToken{UserID: admin.ID, Name: "t", Hash: auth.HashSecret(token)}); err != nil {
		t.Fatal(err)
	}
	hc := pinnedClient(t, st, 10*time.Second)
	base := "https://" + srv.addr
	send := func(method, path string, body []byte, hdr http.Header, out any) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header = hdr
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %q: %v", method, path, b, err)
			}
		}
		return resp.StatusCode, b
	}
	bearer := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}

	var pkg core.Package
	def := `{"name":"Demo","version":"1.0","os":"linux","kind":"upload","install":["/usr/bin/dpkg","-i","{{file}}"],
		"uninstall":["/usr/bin/dpkg","-r","demo"],"params":[{"name":"token","secret":true,"value":"geheim-4711"}],
		"detection":{"kind":"os_package","name":"demo"}}`
	if code, b := send("POST", "/api/v1/packages", []byte(def), bearer, &pkg); code != http.StatusCreated {
		t.Fatalf("creating the package: %d %s", code, b)
	}
	installer := []byte("!<arch>\ndebian-binary a demo package")
	id := strconv.FormatInt(pkg.ID, 10)
	if code, b := send("PUT", "/api/v1/packages/"+id+"/file?name=demo.deb", installer, bearer, &pkg); code != http.StatusOK || pkg.SHA256 == "" {
		t.Fatalf("uploading: %d %s", code, b)
	}

	// Bad input is refused with the field; a good policy round-trips.
	bad := `{"name":"Software","checks":[],"software":[{"package":` + id + `,"state":"installed"}]}`
	if code, b := send("POST", "/api/v1/policies", []byte(bad), bearer, nil); code != http.StatusBadRequest || !strings.Contains(string(b), `software[0].state`) {
		t.Fatalf("a bad state: %d %s", code, b)
	}
	var pol core.Policy
	good := `{"name":"Software","checks":[],"software":[{"package":` + id + `,"state":"present","min_version":"1.0"}]}`
	if code, b := send("POST", "/api/v1/policies", []byte(good), bearer, &pol); code != http.StatusCreated ||
		len(pol.Software) != 1 || pol.Software[0].PackageID != pkg.ID || pol.Software[0].MinVersion != "1.0" {
		t.Fatalf("creating the policy: %d %s", code, b)
	}
	if code, b := send("PUT", "/api/v1/default/policies", []byte(`{"policy_ids":[`+strconv.FormatInt(pol.ID, 10)+`]}`), bearer, nil); code != http.StatusOK {
		t.Fatalf("assigning: %d %s", code, b)
	}

	// An agent enrolls and connects.
	tok, _, err := CreateToken(ctx, st, TokenOptions{Create: true, Client: "Kanzlei", Site: "Hannover", DataDir: data}, protocol.Now())
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	body, _ := json.Marshal(protocol.EnrollRequest{Token: tok.Secret, PublicKey: pub, Hostname: "pc1", OS: "linux", Arch: "amd64", MachineID: "m1"})
	var er protocol.EnrollResponse
	if code, b := send("POST", protocol.PathEnroll, body, http.Header{"Content-Type": {"application/json"}}, &er); code != http.StatusOK {
		t.Fatalf("enroll: %d %s", code, b)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(wctx, "wss://"+srv.addr+protocol.PathWS, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	read := func() protocol.Envelope {
		t.Helper()
		_, b, err := conn.Read(wctx)
		if err != nil {
			t.Fatal(err)
		}
		env, err := protocol.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	var ch protocol.Challenge
	protocol.DecodeData(read(), &ch)
	b, _ := protocol.Encode(protocol.TypeAuth, "", protocol.Auth{DeviceID: er.DeviceID, Signature: protocol.SignAuth(key, ch.Nonce, er.DeviceID)})
	if err := conn.Write(wctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	if env := read(); env.Type != protocol.TypeWelcome {
		t.Fatalf("got %s, want welcome", env.Type)
	}
	env := read()
	var signed actionkey.Signed
	if err := protocol.DecodeData(env, &signed); env.Type != protocol.TypePolicy || err != nil {
		t.Fatalf("got %s (%v), want the policy", env.Type, err)
	}
	var p protocol.Policy
	if _, err := actionkey.NewVerifier(er.ActionKey, er.DeviceID, nil).Verify(signed, protocol.TypePolicy, &p); err != nil {
		t.Fatalf("verifying the policy: %v", err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(p.Software) != 1 {
		t.Fatalf("software = %+v", p.Software)
	}
	sw := p.Software[0]
	f := sw.Package.File
	if sw.Check != core.SoftwareCheckName(pkg.ID) || sw.State != core.SoftwarePresent || sw.MinVersion != "1.0" ||
		sw.Package.Secrets["token"] != "geheim-4711" || f == nil || f.SHA256 != pkg.SHA256 || f.Name != "demo.deb" {
		t.Fatalf("software as sent = %+v", sw)
	}

	// The ticket downloads the file, for this agent only.
	if code, got := send("GET", blobs.Path+f.SHA256, nil, http.Header{blobs.TicketHeader: {f.Ticket}}, nil); code != http.StatusOK || !bytes.Equal(got, installer) {
		t.Fatalf("download with the policy's ticket: %d, %d bytes", code, len(got))
	}
	other := strings.Replace(f.Ticket, strconv.FormatInt(er.DeviceID, 10)+".", strconv.FormatInt(er.DeviceID+1, 10)+".", 1)
	if code, _ := send("GET", blobs.Path+f.SHA256, nil, http.Header{blobs.TicketHeader: {other}}, nil); code != http.StatusUnauthorized {
		t.Errorf("the ticket for another device: %d, want 401", code)
	}
}
