package tray

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

// fakeAgent answers like the agent would, through JSON as on the wire.
type fakeAgent struct {
	mu        sync.Mutex
	down      bool
	sent      []trayipc.SupportArgs
	connected bool
	requests  []trayipc.UserRequest
}

type fakeConn struct{ a *fakeAgent }

func (f *fakeAgent) dial(context.Context) (Caller, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errors.New("dial unix /run/wacht-agent/tray.sock: connect: no such file or directory")
	}
	return fakeConn{f}, nil
}

func (c fakeConn) Close() error { return nil }

func (c fakeConn) Call(ctx context.Context, op string, args, reply any) error {
	f := c.a
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return io.EOF
	}
	var out any
	switch op {
	case trayipc.OpSupport:
		var a trayipc.SupportArgs
		b, _ := json.Marshal(args)
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		if a.Lang != "de" && a.Lang != "en" {
			return &trayipc.Error{Code: trayipc.CodeBadRequest, Message: core.Text{EN: "bad language", DE: "falsche Sprache"}}
		}
		f.sent = append(f.sent, a)
		out = trayipc.SupportReply{Ref: "ref-0001"}
	case trayipc.OpStatus:
		out = trayipc.Status{Connected: f.connected, Overall: trayipc.OverallOK}
	case trayipc.OpRequests:
		out = trayipc.Requests{Requests: f.requests}
	default:
		return &trayipc.Error{Code: trayipc.CodeUnknownOp}
	}
	b, _ := json.Marshal(out)
	return json.Unmarshal(b, reply)
}

// set changes the fake under its lock.
func (f *fakeAgent) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func startPages(t *testing.T, lang string) (*Pages, *fakeAgent, *atomic.Int32) {
	t.Helper()
	fa := &fakeAgent{connected: true}
	changed := new(atomic.Int32)
	p := &Pages{Agent: NewAgent(fa.dial), Lang: lang, Product: func() string { return "Müller IT" },
		Contact: core.SupportContact{Name: "Anna Muster"}, Seen: OpenSeen(filepath.Join(t.TempDir(), "seen.json")),
		Changed: func() { changed.Add(1) }, Log: slog.New(slog.DiscardHandler)}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, fa, changed
}

func post(t *testing.T, u string, form url.Values, origin string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return do(t, req)
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func origin(u string) string {
	pu, _ := url.Parse(u)
	return "http://" + pu.Host
}

func TestContactForm(t *testing.T) {
	p, fa, changed := startPages(t, "de")
	shot := solid(32, rgba(wachtBlue))
	u := p.NewContact(shot)
	code, body := get(t, u)
	if code != 200 || !strings.Contains(body, "Bildschirmfoto anhängen") || !strings.Contains(body, `value="Anna Muster"`) {
		t.Fatalf("form %d: %s", code, body)
	}
	if strings.Contains(body, "checked") {
		t.Error("the screenshot box is ticked by default")
	}
	if code, img := get(t, u+"screenshot.png"); code != 200 || img != string(shot) {
		t.Errorf("preview %d", code)
	}

	// Without the tick no screenshot goes out.
	form := url.Values{"message": {"Mein Drucker druckt nicht"}, "name": {"Anna"}, "email": {"anna@example.com"}}
	code, body = post(t, u, form, origin(u))
	if code != 200 || !strings.Contains(body, "Ihre Anfrage ist bei Ihrer IT angekommen") {
		t.Fatalf("submit %d: %s", code, body)
	}
	if len(fa.sent) != 1 || fa.sent[0].Screenshot != nil || fa.sent[0].Message != "Mein Drucker druckt nicht" ||
		fa.sent[0].Contact != (core.SupportContact{Name: "Anna", Email: "anna@example.com"}) || fa.sent[0].Lang != "de" {
		t.Fatalf("sent %+v", fa.sent)
	}
	if changed.Load() != 1 {
		t.Errorf("no poll after sending")
	}
	// One request per form.
	if code, _ := post(t, u, form, origin(u)); code != http.StatusConflict || len(fa.sent) != 1 {
		t.Errorf("second post: %d, %d sent", code, len(fa.sent))
	}

	// With the tick, and offline.
	fa.set(func() { fa.connected = false })
	u = p.NewContact(shot)
	form.Set("screenshot", "1")
	code, body = post(t, u, form, origin(u))
	if code != 200 || !strings.Contains(body, "wird gesendet, sobald der PC online ist") {
		t.Fatalf("submit %d: %s", code, body)
	}
	if len(fa.sent) != 2 || string(fa.sent[1].Screenshot) != string(shot) {
		t.Errorf("screenshot not sent with consent")
	}
	// A tick without a screenshot sends none.
	u = p.NewContact(nil)
	if code, body := get(t, u); !strings.Contains(body, "nicht verfügbar") || code != 200 {
		t.Errorf("no screenshot: %d %s", code, body)
	}
	post(t, u, form, origin(u))
	if len(fa.sent) != 3 || fa.sent[2].Screenshot != nil {
		t.Errorf("sent a screenshot that was never shown")
	}
}

func TestContactFormRefuses(t *testing.T) {
	p, fa, _ := startPages(t, "en")
	u := p.NewContact(nil)
	good := url.Values{"message": {"printer"}}
	tests := []struct {
		name   string
		u      string
		form   url.Values
		origin string
		code   int
		text   string
	}{
		{"no origin", u, good, "", http.StatusForbidden, "another page"},
		{"other origin", u, good, "http://evil.example", http.StatusForbidden, "another page"},
		{"wrong token", origin(u) + "/0123456789abcdef0123456789abcdef/", good, origin(u), http.StatusNotFound, "expired"},
		{"empty message", u, url.Values{"message": {"  \n"}}, origin(u), http.StatusUnprocessableEntity, "Please describe"},
		{"long message", u, url.Values{"message": {strings.Repeat("x", core.MaxSupportMessage+1)}}, origin(u), http.StatusUnprocessableEntity, "too long"},
		{"huge body", u, url.Values{"message": {strings.Repeat("x", 1<<20)}}, origin(u), http.StatusRequestEntityTooLarge, "too long"},
		{"long name", u, url.Values{"message": {"x"}, "name": {strings.Repeat("n", core.MaxSupportContact+1)}}, origin(u), http.StatusUnprocessableEntity, "at most 200"},
	}
	for _, tt := range tests {
		code, body := post(t, tt.u, tt.form, tt.origin)
		if code != tt.code || !strings.Contains(body, tt.text) {
			t.Errorf("%s: %d %q", tt.name, code, body)
		}
	}
	if len(fa.sent) != 0 {
		t.Fatalf("sent %d", len(fa.sent))
	}
	// The text the user typed is kept on an error.
	_, body := post(t, u, url.Values{"message": {"x"}, "name": {strings.Repeat("n", 201)}, "email": {"a@b.example"}}, origin(u))
	if !strings.Contains(body, `value="a@b.example"`) {
		t.Error("the e-mail typed was lost")
	}
	// A request with another Host (DNS rebinding) is refused.
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Host = "rebind.example:80"
	if code, _ := do(t, req); code != http.StatusMisdirectedRequest {
		t.Errorf("foreign host: %d", code)
	}
	// The form still works after all that.
	if code, _ := post(t, u, good, origin(u)); code != 200 || len(fa.sent) != 1 {
		t.Errorf("good post after refusals: %d", code)
	}
}

func TestContactFormAgentDown(t *testing.T) {
	p, fa, _ := startPages(t, "en")
	fa.set(func() { fa.down = true })
	u := p.NewContact(nil)
	code, body := post(t, u, url.Values{"message": {"my printer <b>does not print</b>"}}, origin(u))
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not reachable") ||
		!strings.Contains(body, "my printer &lt;b&gt;does not print&lt;/b&gt;</textarea>") {
		t.Fatalf("%d %s", code, body)
	}
	fa.set(func() { fa.down = false })
	if code, _ := post(t, u, url.Values{"message": {"again"}}, origin(u)); code != 200 || len(fa.sent) != 1 {
		t.Errorf("retry after the agent is back: %d", code)
	}
}

func TestRequestsPage(t *testing.T) {
	p, fa, changed := startPages(t, "en")
	fa.requests = []trayipc.UserRequest{
		{Ref: "r1", Message: "printer", Sent: true, State: core.SupportInProgress, Replies: []core.SupportReply{{ID: 7, Author: "Tom", Body: "I am on it"}}},
		{Ref: "r2", Message: "mail", Sent: false},
	}
	u := p.NewRequests()
	code, body := get(t, u)
	for _, want := range []string{"printer", "in progress", "I am on it", "Tom", "will be sent when the PC is online"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q: %d %s", want, code, body)
		}
	}
	if !p.Seen.IDs()[7] || changed.Load() != 1 {
		t.Errorf("reply not marked seen")
	}
	if code, _ := post(t, u, url.Values{"message": {"x"}}, origin(u)); code != http.StatusNotFound || len(fa.sent) != 0 {
		t.Errorf("post to the requests page: %d", code)
	}
	fa.set(func() { fa.down = true })
	if code, body := get(t, u); code != http.StatusServiceUnavailable || !strings.Contains(body, "not reachable") {
		t.Errorf("agent down: %d", code)
	}
}
