package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// raw sends body with contentType and returns the status, Content-Type and
// body of the answer.
func (f *fixture) raw(t *testing.T, method, path, token, contentType string, body []byte) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.tokens[token])
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// foreignUser adds a technician of another client with a token named
// "foreign".
func (f *fixture) foreignUser(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	other, _, err := f.st.EnsureClientSite(ctx, "Fremde AG", "Lager")
	if err != nil {
		t.Fatal(err)
	}
	u := core.User{Email: "foreign@example.com", PasswordHash: "x", Role: core.RoleTechnician, Scope: core.Only(other.ID)}
	if err := f.st.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	sec := auth.NewSecret(auth.APITokenPrefix)
	if err := f.st.CreateAPIToken(ctx, &core.APIToken{UserID: u.ID, Name: "foreign", Hash: auth.HashSecret(sec)}); err != nil {
		t.Fatal(err)
	}
	f.tokens["foreign"] = sec
}

func TestBrandingAPI(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			f := newFixtureOn(t, e.open)
			f.foreignUser(t)
			base := "/api/v1/clients/" + itoa(f.device.ClientID) + "/branding"
			var b core.Branding
			if st := f.do(t, "GET", base, "readonly", &b); st != 200 || !b.Show || b.ProductName != "" {
				t.Fatalf("default branding: %d %+v", st, b)
			}
			if st := f.do(t, "GET", base, "foreign", nil); st != 404 {
				t.Errorf("another client's branding: %d, want 404", st)
			}
			body := `{"show":true,"product_name":"Müller IT","phone":"+49 511 123456","email":"hilfe@mueller-it.de",
				"url":"https://hilfe.mueller-it.de","hours":{"de":"Mo–Fr 8–17 Uhr","en":"Mon–Fri 8am–5pm"},"remote_support":"rustdesk"}`
			if st := f.sendJSON(t, "PUT", base, "readonly", body, nil); st != 403 {
				t.Errorf("read-only PUT: %d, want 403", st)
			}
			if st := f.sendJSON(t, "PUT", base, "tech", body, &b); st != 200 || b.ProductName != "Müller IT" || b.RemoteSupport != "rustdesk" {
				t.Fatalf("PUT: %d %+v", st, b)
			}
			var verr struct {
				Code   string              `json:"code"`
				Fields []policy.FieldError `json:"fields"`
			}
			if st := f.sendJSON(t, "PUT", base, "tech", `{"show":true,"url":"javascript:alert(1)"}`, &verr); st != 400 ||
				len(verr.Fields) != 1 || verr.Fields[0].Field != "url" || verr.Fields[0].Message.DE == "" {
				t.Errorf("bad url: %d %+v", st, verr)
			}
			if st := f.sendJSON(t, "PUT", base, "tech", `{"product_name":"x"}`, nil); st != 400 {
				t.Errorf("without show: %d, want 400", st)
			}

			// The icon.
			var pic bytes.Buffer
			if err := png.Encode(&pic, image.NewNRGBA(image.Rect(0, 0, 32, 32))); err != nil {
				t.Fatal(err)
			}
			if st, _, _ := f.raw(t, "PUT", base+"/icon", "tech", "image/gif", pic.Bytes()); st != http.StatusUnsupportedMediaType {
				t.Errorf("icon as image/gif: %d, want 415", st)
			}
			if st, _, _ := f.raw(t, "PUT", base+"/icon", "foreign", "image/png", pic.Bytes()); st != 404 {
				t.Errorf("icon by another client's technician: %d, want 404", st)
			}
			if st, _, _ := f.raw(t, "PUT", base+"/icon", "readonly", "image/png", pic.Bytes()); st != 403 {
				t.Errorf("icon by read-only: %d, want 403", st)
			}
			if st, _, out := f.raw(t, "PUT", base+"/icon", "tech", "image/png", make([]byte, core.MaxIconBytes+10)); st != 400 ||
				!strings.Contains(string(out), "262144") {
				t.Errorf("huge icon: %d %s", st, out)
			}
			if st, _, out := f.raw(t, "PUT", base+"/icon", "tech", "image/png", []byte("\x89PNG\r\n\x1a\ndamaged")); st != 400 ||
				!strings.Contains(string(out), "beschädigt") {
				t.Errorf("damaged icon: %d %s", st, out)
			}
			st, _, out := f.raw(t, "PUT", base+"/icon", "tech", "image/vnd.microsoft.icon; charset=binary", pic.Bytes())
			if err := json.Unmarshal(out, &b); st != 200 || err != nil || len(b.IconSHA256) != 64 || b.ProductName != "Müller IT" {
				t.Fatalf("icon PUT: %d %s", st, out)
			}
			st, ct, icon := f.raw(t, "GET", base+"/icon", "readonly", "", nil)
			if cfg, err := png.DecodeConfig(bytes.NewReader(icon)); st != 200 || ct != "image/png" || err != nil || cfg.Width != 32 {
				t.Errorf("icon GET: %d %s %v", st, ct, err)
			}
			if st, _, _ := f.raw(t, "GET", base+"/icon", "foreign", "", nil); st != 404 {
				t.Errorf("another client's icon: %d, want 404", st)
			}
			if st, _, _ := f.raw(t, "DELETE", base+"/icon", "tech", "", nil); st != 204 {
				t.Errorf("icon DELETE: %d", st)
			}
			if st, _, _ := f.raw(t, "GET", base+"/icon", "readonly", "", nil); st != 404 {
				t.Errorf("removed icon: %d, want 404", st)
			}
		})
	}
}

func TestSupportRequestsAPI(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			f := newFixtureOn(t, e.open)
			f.foreignUser(t)
			ctx := context.Background()
			// A German recipient for the client, a real SMTP server.
			srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
			settings := `{"smtp":{"host":"127.0.0.1","port":` + itoa(int64(srv.Port())) + `,"tls":"none","from":"wacht@provider.example"},
				"office_hours":{"days":[0,1,2,3,4,5,6],"start":"00:00","end":"23:59"}}`
			if st := f.sendJSON(t, "PUT", "/api/v1/alerts/settings", "admin", settings, nil); st != 200 {
				t.Fatalf("settings: %d", st)
			}
			if err := f.st.SetSetting(ctx, alert.SettingServerURL, "https://wacht.example.com"); err != nil {
				t.Fatal(err)
			}
			if st := f.sendJSON(t, "POST", "/api/v1/alerts/recipients", "admin", `{"level":"client","target_id":`+itoa(f.device.ClientID)+
				`,"channel":"email","target":"support@provider.example","lang":"de","hours":"always"}`, nil); st != 201 {
				t.Fatalf("recipient: %d", st)
			}
			// The requests arrive as the gateway hands them over.
			svc := service.New(service.Deps{Store: f.st})
			shot := []byte("\x89PNG\r\n\x1a\nscreen")
			var ids []int64
			for i, msg := range []string{"Mein Drucker druckt nicht.", "Outlook startet nicht.", "Das WLAN ist langsam."} {
				in := protocol.SupportRequest{Ref: "tray-000" + itoa(int64(i)) + "-abcd", OSUser: "MUELLER\\anna", Message: msg, Lang: "de",
					Contact: core.SupportContact{Name: "anna", Phone: "0511 4711"}, CreatedAt: time.Now().Add(time.Duration(i) * time.Second)}
				if i == 0 {
					in.Screenshot = shot
				}
				r, err := svc.ReceiveSupportRequest(ctx, f.device.ID, in)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
			}
			first := itoa(ids[0])

			// The outbox holds the mails, in the recipient's language.
			out, err := f.st.ListOutbox(ctx, 10)
			if err != nil || len(out) != 3 {
				t.Fatalf("outbox: %d items, %v", len(out), err)
			}
			var found bool
			for _, o := range out {
				var m notify.Message
				if err := json.Unmarshal(o.Payload, &m); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(m.Text, "Mein Drucker druckt nicht.") {
					found = true
					if m.Subject != "[Wacht] Supportanfrage von anna auf pc-01 (Acme)" || !strings.Contains(m.Text, "https://wacht.example.com/support/"+first) ||
						!strings.Contains(m.Text, "Telefon:") || !strings.Contains(m.Text, "im Dashboard einsehbar") {
						t.Errorf("German mail: %s\n%s", m.Subject, m.Text)
					}
				}
			}
			if !found {
				t.Error("no mail about the first request")
			}
			// Delivered by the outbox over real SMTP.
			eng := alert.New(alert.Options{Store: f.st})
			if _, err := eng.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
			mails := srv.WaitFor(t, 3, 30*time.Second)
			var subjects []string
			for _, m := range mails {
				subjects = append(subjects, m.Header("Subject"))
				if m.To[0] != "support@provider.example" {
					t.Errorf("mail to %v", m.To)
				}
			}
			if !strings.Contains(strings.Join(subjects, "|"), "[Wacht] Supportanfrage von anna auf pc-01 (Acme)") {
				t.Errorf("subjects %q", subjects)
			}

			// Lists, filters and paging.
			var list struct {
				Requests []core.SupportRequest `json:"requests"`
				Total    int                   `json:"total"`
			}
			if st := f.do(t, "GET", "/api/v1/support-requests?client="+itoa(f.device.ClientID)+"&state=new&limit=2&offset=2", "readonly", &list); st != 200 ||
				list.Total != 3 || len(list.Requests) != 1 || list.Requests[0].ID != ids[0] {
				t.Fatalf("page 2: %d %+v", st, list)
			}
			if st := f.do(t, "GET", "/api/v1/support-requests?device="+itoa(f.device.ID)+"&limit=2", "readonly", &list); st != 200 ||
				list.Total != 3 || len(list.Requests) != 2 || list.Requests[0].ID != ids[2] {
				t.Fatalf("page 1: %d %+v", st, list)
			}
			if st := f.do(t, "GET", "/api/v1/support-requests", "foreign", &list); st != 200 || list.Total != 0 || len(list.Requests) != 0 {
				t.Errorf("another client's technician: %d %+v", st, list)
			}
			if st := f.do(t, "GET", "/api/v1/support-requests?state=open", "readonly", nil); st != 400 {
				t.Errorf("unknown state: %d, want 400", st)
			}
			var r core.SupportRequest
			if st := f.do(t, "GET", "/api/v1/support-requests/"+first, "readonly", &r); st != 200 || r.Message != "Mein Drucker druckt nicht." ||
				!r.HasScreenshot || r.Hostname != "pc-01" || r.OSUser != "MUELLER\\anna" {
				t.Fatalf("get: %d %+v", st, r)
			}
			if st := f.do(t, "GET", "/api/v1/support-requests/"+first, "foreign", nil); st != 404 {
				t.Errorf("another client's request: %d, want 404", st)
			}
			if st, ct, b := f.raw(t, "GET", "/api/v1/support-requests/"+first+"/screenshot", "readonly", "", nil); st != 200 || ct != "image/png" || !bytes.Equal(b, shot) {
				t.Errorf("screenshot: %d %s %q", st, ct, b)
			}
			if st, _, _ := f.raw(t, "GET", "/api/v1/support-requests/"+itoa(ids[1])+"/screenshot", "readonly", "", nil); st != 404 {
				t.Errorf("no screenshot: %d, want 404", st)
			}

			// Answering.
			if st := f.sendJSON(t, "PATCH", "/api/v1/support-requests/"+first, "readonly", `{"state":"done"}`, nil); st != 403 {
				t.Errorf("read-only PATCH: %d, want 403", st)
			}
			if st := f.sendJSON(t, "PATCH", "/api/v1/support-requests/"+first, "foreign", `{"state":"done"}`, nil); st != 404 {
				t.Errorf("another client's PATCH: %d, want 404", st)
			}
			if st := f.sendJSON(t, "PATCH", "/api/v1/support-requests/"+first, "tech", `{"state":"closed"}`, nil); st != 400 {
				t.Errorf("bad state: %d, want 400", st)
			}
			if st := f.sendJSON(t, "PATCH", "/api/v1/support-requests/"+first, "tech", `{"state":"in_progress","reply":"Wir melden uns gleich."}`, &r); st != 200 ||
				r.State != core.SupportInProgress || len(r.Replies) != 1 || r.Replies[0].Author != "tech@example.com" {
				t.Fatalf("PATCH: %d %+v", st, r)
			}
			if st := f.do(t, "GET", "/api/v1/support-requests?state=new", "tech", &list); st != 200 || list.Total != 2 {
				t.Errorf("new after the answer: %d %+v", st, list)
			}
		})
	}
}
