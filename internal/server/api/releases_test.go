package api_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/release/releasetest"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/service"
)

// publish posts a signed file as multipart (manifest first) and decodes
// the answer.
func (f *fixture) publish(t *testing.T, token string, manifest, body []byte, manifestFirst bool, out any) int {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	parts := []struct {
		name string
		b    []byte
	}{{"manifest", manifest}, {"file", body}}
	if !manifestFirst {
		parts[0], parts[1] = parts[1], parts[0]
	}
	for _, p := range parts {
		w, _ := mw.CreateFormFile(p.name, p.name)
		w.Write(p.b)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v1/agent-files", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+f.tokens[token])
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("publish: decoding %q: %v", b, err)
		}
	}
	return resp.StatusCode
}

func (f *fixture) post(t *testing.T, path, token, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.tokens[token])
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("POST %s: decoding %q: %v", path, b, err)
		}
	}
	return resp.StatusCode
}

func TestReleasesAPI(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			f := newFixtureOn(t, e.open)
			box, _ := seal.NewBox(bytes.Repeat([]byte{7}, 32))
			bs, err := blobs.Open(t.TempDir(), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			pub, key, _ := ed25519.GenerateKey(rand.Reader)
			f.srv.Close()
			f.srv = httptest.NewServer(openapitest.Handler(t, api.New(service.New(service.Deps{Store: f.st, PasswordCost: authtest.Cost, Secrets: box, Blobs: bs,
				ReleaseKeys: []ed25519.PublicKey{pub}}), nil)))
			t.Cleanup(f.srv.Close)

			body := releasetest.ELF(elf.EM_X86_64, "0.2.0")
			sum := sha256.Sum256(body)
			s, err := release.Sign(key, release.Manifest{Product: release.Product, Kind: release.KindBinary, Version: "0.2.0", OS: "linux", Arch: "amd64",
				Name: "wacht-agent-linux-amd64", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body))})
			if err != nil {
				t.Fatal(err)
			}
			manifest, _ := json.Marshal(s)

			var refused struct {
				Code   string `json:"code"`
				Fields []struct {
					Field   string    `json:"field"`
					Message core.Text `json:"message"`
				} `json:"fields"`
			}
			if st := f.publish(t, "tech", manifest, body, true, &refused); st != http.StatusForbidden {
				t.Errorf("technician publishing: %d", st)
			}
			tampered := append([]byte{}, body...)
			tampered[66] ^= 1
			if st := f.publish(t, "admin", manifest, tampered, true, &refused); st != http.StatusBadRequest || refused.Fields[0].Field != "file" || refused.Fields[0].Message.DE == "" {
				t.Errorf("tampered: %d %+v", st, refused)
			}
			if st := f.publish(t, "admin", manifest, body, false, &refused); st != http.StatusBadRequest || refused.Fields[0].Field != "manifest" {
				t.Errorf("file before manifest: %d %+v", st, refused)
			}
			if st := f.publish(t, "admin", []byte(`{"manifest":`), body, true, &refused); st != http.StatusBadRequest || refused.Fields[0].Field != "manifest" {
				t.Errorf("broken manifest: %d %+v", st, refused)
			}
			var af core.AgentFile
			if st := f.publish(t, "admin", manifest, body, true, &af); st != http.StatusCreated || af.ID == 0 || af.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("publish: %d %+v", st, af)
			}
			var conflict struct {
				Code    string    `json:"code"`
				Message core.Text `json:"message"`
			}
			if st := f.publish(t, "admin", manifest, body, true, &conflict); st != http.StatusConflict || conflict.Message.DE == "" {
				t.Errorf("duplicate: %d %+v", st, conflict)
			}
			var files []core.AgentFile
			if st := f.do(t, "GET", "/api/v1/agent-files", "readonly", &files); st != http.StatusOK || len(files) != 1 {
				t.Errorf("read-only listing: %d %+v", st, files)
			}
			if st := f.do(t, "GET", "/api/v1/agent-versions", "tech", nil); st != http.StatusForbidden {
				t.Errorf("technician reading versions: %d", st)
			}
			var vs []core.VersionCount
			if st := f.do(t, "GET", "/api/v1/agent-versions", "admin", &vs); st != http.StatusOK || len(vs) != 1 || vs[0].Version != "0.1.0" || vs[0].Devices != 1 {
				t.Errorf("versions: %d %+v", st, vs)
			}

			// Rollouts.
			if st := f.post(t, "/api/v1/rollouts", "admin", `{"version":"0.2.0","pilot_percent":150}`, &refused); st != http.StatusBadRequest || refused.Fields[0].Field != "pilot_percent" {
				t.Errorf("bad percent: %d %+v", st, refused)
			}
			if st := f.post(t, "/api/v1/rollouts", "admin", `{"version":"0.2.0","bogus":1}`, nil); st != http.StatusBadRequest {
				t.Errorf("unknown field: %d", st)
			}
			var r core.Rollout
			if st := f.post(t, "/api/v1/rollouts", "admin", fmt.Sprintf(`{"version":"0.2.0","pilot_clients":[%d],"auto_promote":true}`, f.device.ClientID), &r); st != http.StatusCreated || r.Stage != core.StagePilot {
				t.Fatalf("start: %d %+v", st, r)
			}
			if st := f.post(t, "/api/v1/rollouts", "admin", `{"version":"0.2.0"}`, &conflict); st != http.StatusConflict || conflict.Message.EN == "" {
				t.Errorf("second rollout: %d %+v", st, conflict)
			}
			if st := f.sendJSON(t, "DELETE", fmt.Sprintf("/api/v1/agent-files/%d", af.ID), "admin", "", nil); st != http.StatusConflict {
				t.Errorf("deleting a file in use: %d", st)
			}
			id := fmt.Sprint(r.ID)
			if st := f.post(t, "/api/v1/rollouts/"+id+"/resume", "admin", "", nil); st != http.StatusConflict {
				t.Errorf("resume a running rollout: %d", st)
			}
			if st := f.post(t, "/api/v1/rollouts/"+id+"/pause", "tech", "", nil); st != http.StatusForbidden {
				t.Errorf("technician pausing: %d", st)
			}
			if st := f.post(t, "/api/v1/rollouts/"+id+"/pause", "admin", "", &r); st != http.StatusOK || r.State != core.RolloutPaused {
				t.Errorf("pause: %d %+v", st, r)
			}
			var view service.RolloutView
			if st := f.do(t, "GET", "/api/v1/rollouts/"+id, "admin", &view); st != http.StatusOK || view.Counts[service.CountPending] != 1 || view.State != core.RolloutPaused {
				t.Errorf("get: %d %+v", st, view)
			}
			if st := f.post(t, "/api/v1/rollouts/"+id+"/cancel", "admin", "", &r); st != http.StatusOK || r.State != core.RolloutCancelled {
				t.Errorf("cancel: %d %+v", st, r)
			}
			var rs []core.Rollout
			if st := f.do(t, "GET", "/api/v1/rollouts", "admin", &rs); st != http.StatusOK || len(rs) != 1 {
				t.Errorf("list: %d %+v", st, rs)
			}
			if st := f.sendJSON(t, "DELETE", fmt.Sprintf("/api/v1/agent-files/%d", af.ID), "admin", "", nil); st != http.StatusNoContent {
				t.Errorf("delete: %d", st)
			}
		})
	}
}
