//go:build linux

package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/agent/agenttest"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// termFixture is the dashboard with a real gateway on one TLS server and
// real agents connected: dev, and locked, whose owner disabled the
// terminal. Users: admin, tech (of the devices' client), readonly.
type termFixture struct {
	st          *store.DB
	svc         *service.Service
	gw          *gateway.Gateway
	srv         *httptest.Server
	dev, locked int64
}

func newTermFixture(t testing.TB) *termFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("real agents and shells: skipped in -short mode")
	}
	t.Setenv("HOME", t.TempDir()) // the login shells' profile
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	gw := agenttest.NewGateway(st)
	svc := service.New(service.Deps{Store: st, Commander: gw.Hub()})
	webH, err := New(Deps{Store: st, Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/agent/", gw)
	mux.Handle("/", webH)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		gw.Hub().Shutdown(ctx)
		srv.Close()
	})
	c, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	h, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	for email, role := range map[string]string{"admin@example.com": core.RoleAdmin, "tech@example.com": core.RoleTechnician, "readonly@example.com": core.RoleReadOnly} {
		u := core.User{Email: email, PasswordHash: h, Role: role}
		if role != core.RoleAdmin {
			u.Scope = core.Only(c.ID)
		}
		if err := st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	f := &termFixture{st: st, svc: svc, gw: gw, srv: srv}
	f.dev = agenttest.Start(t, st, gw, srv, site.ID, agenttest.Options{})
	f.locked = agenttest.Start(t, st, gw, srv, site.ID, agenttest.Options{Disable: []string{protocol.LockTerminal}})
	return f
}

// deKey is one key of a German (de-DE) keyboard as Chromium on Linux
// reports it: AltGr is a key of its own (ISO_Level3_Shift) that changes
// what the next key produces, without Ctrl or Alt in the modifiers.
type deKey struct {
	key, code string
	vk        int64 // windowsVirtualKeyCode
	shift     bool
	altGr     bool
	ctrl      bool
	commands  []string // editing commands the key runs (Chromium's paste)
}

// deKeys maps characters to the keys that type them on a German layout.
var deKeys = func() map[rune]deKey {
	m := map[rune]deKey{
		' ':  {key: " ", code: "Space", vk: 32},
		'\r': {key: "Enter", code: "Enter", vk: 13},
		'ü':  {key: "ü", code: "BracketLeft", vk: 186},
		'ö':  {key: "ö", code: "Semicolon", vk: 192},
		'ä':  {key: "ä", code: "Quote", vk: 222},
		'ß':  {key: "ß", code: "Minus", vk: 219},
		'\'': {key: "'", code: "Backslash", vk: 191, shift: true}, // Shift+#
		'@':  {key: "@", code: "KeyQ", vk: 81, altGr: true},
		'\\': {key: "\\", code: "Minus", vk: 219, altGr: true}, // AltGr+ß
		'|':  {key: "|", code: "IntlBackslash", vk: 226, altGr: true},
		'{':  {key: "{", code: "Digit7", vk: 55, altGr: true},
		'[':  {key: "[", code: "Digit8", vk: 56, altGr: true},
		']':  {key: "]", code: "Digit9", vk: 57, altGr: true},
		'}':  {key: "}", code: "Digit0", vk: 48, altGr: true},
		'~':  {key: "~", code: "BracketRight", vk: 187, altGr: true}, // AltGr++
		'-':  {key: "-", code: "Slash", vk: 189},
		'Ä':  {key: "Ä", code: "Quote", vk: 222, shift: true},
		'Ö':  {key: "Ö", code: "Semicolon", vk: 192, shift: true},
		'Ü':  {key: "Ü", code: "BracketLeft", vk: 186, shift: true},
	}
	for c := 'a'; c <= 'z'; c++ {
		code := "Key" + strings.ToUpper(string(c))
		switch c { // QWERTZ
		case 'y':
			code = "KeyZ"
		case 'z':
			code = "KeyY"
		}
		vk := int64(c - 'a' + 'A')
		m[c] = deKey{key: string(c), code: code, vk: vk}
		m[c-'a'+'A'] = deKey{key: strings.ToUpper(string(c)), code: code, vk: vk, shift: true}
	}
	return m
}()

// typeDE types s key by key as a German keyboard sends it.
func typeDE(s string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for _, r := range s {
			k, ok := deKeys[r]
			if !ok {
				return chromedp.Void{}, fmt.Errorf("no German key for %q", r)
			}
			if err := pressDE(ctx, t, k); err != nil {
				return chromedp.Void{}, err
			}
		}
		return chromedp.Void{}, nil
	}
}

// pressDE presses one key: its modifiers down, the key, all up again.
func pressDE(ctx context.Context, t *chromedp.Target, k deKey) error {
	send := func(p input.DispatchKeyEventParams) error {
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, p)
		return err
	}
	type mod struct {
		on       bool
		key, loc string
		vk, bit  int64
	}
	mods := []mod{
		{k.shift, "Shift", "ShiftLeft", 16, 8},
		{k.ctrl, "Control", "ControlLeft", 17, 2},
		{k.altGr, "AltGraph", "AltRight", 225, 0}, // no modifier bit: Linux's ISO_Level3_Shift
	}
	var bits int64
	for _, m := range mods {
		if m.on {
			bits |= m.bit
			if err := send(input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeRawKeyDown, Key: m.key, Code: m.loc,
				WindowsVirtualKeyCode: m.vk, Modifiers: bits}); err != nil {
				return err
			}
		}
	}
	text := k.key
	switch {
	case k.key == "Enter":
		text = "\r"
	case k.ctrl:
		text = ""
	}
	if err := send(input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: k.key, Code: k.code,
		WindowsVirtualKeyCode: k.vk, NativeVirtualKeyCode: k.vk, Modifiers: bits, Text: text, UnmodifiedText: text,
		Commands: k.commands}); err != nil {
		return err
	}
	if err := send(input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: k.key, Code: k.code,
		WindowsVirtualKeyCode: k.vk, NativeVirtualKeyCode: k.vk, Modifiers: bits}); err != nil {
		return err
	}
	for i := len(mods) - 1; i >= 0; i-- {
		if m := mods[i]; m.on {
			bits &^= m.bit
			if err := send(input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: m.key, Code: m.loc,
				WindowsVirtualKeyCode: m.vk, Modifiers: bits}); err != nil {
				return err
			}
		}
	}
	return nil
}

// screenJS returns the text of an xterm.js terminal's buffer, line by line.
const screenJS = `(() => { const t = document.getElementById(%q).wachtTerminal; if (!t) return "";
  const b = t.buffer.active; const out = [];
  for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
  return out.join("\n"); })()`

// waitScreen waits until the text of terminal id matches re.
func waitScreen(id, re string) chromedp.Action[chromedp.Void] {
	rx := regexp.MustCompile(re)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		var last string
		for {
			s, err := chromedp.Evaluate[string](fmt.Sprintf(screenJS, id))(ctx, t)
			if err != nil {
				return chromedp.Void{}, err
			}
			if last = s; rx.MatchString(s) {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("terminal never showed %q; it shows:\n%s", re, last)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func gonePID(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

// TestBrowserTerminal: a technician opens the terminal from the device
// page, types with a German keyboard (umlauts, AltGr characters) and sees
// the shell echo it; resizes it, copies a line and pastes it back; closing the tab ends the shell on the device; an
// administrator replays the recording from the audit log, the technician
// may not.
func TestBrowserTerminal(t *testing.T) {
	needChromium(t)
	f := newTermFixture(t)
	if !hasAsset(t, "vendor/xterm.js") || !hasAsset(t, "vendor/addon-fit.js") {
		t.Skip("xterm.js not built in (web/build.sh)")
	}
	c := newChrome(t, f.srv.URL)
	c.login("tech@example.com", "tr.device")
	dev := strconv.FormatInt(f.dev, 10)

	// The terminal in a tab of its own, to close it later.
	tab, closeTab := chromedp.NewContext(c.ctx)
	defer closeTab()
	if err := chromedp.Do(tab); err != nil { // the tab lives as long as tab
		t.Fatal(err)
	}
	run := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 45*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			body, _ := chromedp.Run(tab, chromedp.OuterHTML("body"))
			t.Fatalf("%s: %v\n%s", name, err, body)
		}
	}
	run("open the terminal from the device page",
		chromedp.Navigate(f.srv.URL+"/devices/"+dev), chromedp.Click("#remote-terminal"),
		chromedp.WaitVisible("#terminal .xterm-screen"),
		chromedp.WaitVisible(`#terminal[data-pid]`),
		chromedp.Click("#terminal"),
	)
	attr, err := chromedp.Run(tab, chromedp.AttributeValue("#terminal", "data-pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid := attr.Value
	pidN, _ := strconv.Atoi(pid)
	if pidN <= 0 || gonePID(pidN) {
		t.Fatalf("shell pid %q not running", pid)
	}
	run("type on a German keyboard",
		// The first command only once the shell reads.
		typeDE("echo 'RE''ADY'\r"),
		waitScreen("terminal", `(?m)^READY$`),
		typeDE(`echo Grüße @ \ |`),
		waitScreen("terminal", regexp.QuoteMeta(`echo Grüße @ \ |`)),
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) { // Ctrl+U: erase the line
			return chromedp.Void{}, pressDE(ctx, t, deKey{key: "u", code: "KeyU", vk: 85, ctrl: true})
		},
		typeDE("echo 'Grüße @ \\ | { } [ ] ~ äöß'\r"),
		waitScreen("terminal", `(?m)^`+regexp.QuoteMeta(`Grüße @ \ | { } [ ] ~ äöß`)+`$`),
	)
	// A smaller window: the fit addon resizes the terminal, and the new
	// size reaches the device's PTY.
	sizeJS := `(() => { const t = document.getElementById("terminal").wachtTerminal; return [t.rows, t.cols]; })()`
	before, err := chromedp.Run(tab, chromedp.Evaluate[[]int](sizeJS))
	if err != nil || len(before) != 2 {
		t.Fatalf("terminal size %v %v", before, err)
	}
	var size []int
	run("resize the window", chromedp.EmulateViewport(800, 600),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			for {
				s, err := chromedp.Evaluate[[]int](sizeJS)(ctx, tg)
				if err != nil {
					return chromedp.Void{}, err
				}
				if s[1] < before[1] && s[0] >= 5 {
					size = s
					return chromedp.Void{}, nil
				}
				select {
				case <-ctx.Done():
					return chromedp.Void{}, fmt.Errorf("terminal stayed %v after the resize", s)
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	run("the new size reached the device", typeDE("stty size\r"),
		waitScreen("terminal", fmt.Sprintf(`(?m)^%d %d$`, size[0], size[1])))

	// Copy and paste: Ctrl+Shift+C copies the selection to the clipboard,
	// Ctrl+Shift+V pastes it into the shell (the browser's paste, which
	// Chromium runs as the key's editing command).
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.Run(tab, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
				Setting:    cdpbrowser.PermissionSettingGranted, Origin: f.srv.URL})
			return err
		})); err != nil {
			t.Fatalf("granting %s: %v", name, err)
		}
	}
	run("copy a line", typeDE("echo kopie-'ÄÖÜ'-ende\r"), waitScreen("terminal", `(?m)^kopie-ÄÖÜ-ende$`),
		chromedp.Evaluate[chromedp.Void](`(() => { const t = document.getElementById("terminal").wachtTerminal, b = t.buffer.active;
			for (let i = b.length - 1; i >= 0; i--) if (b.getLine(i).translateToString(true) === "kopie-ÄÖÜ-ende") { t.select(0, i, 14); return; }
			throw new Error("line not found"); })()`),
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			return chromedp.Void{}, pressDE(ctx, t, deKey{key: "C", code: "KeyC", vk: 67, ctrl: true, shift: true})
		},
		chromedp.Poll[chromedp.Void](`navigator.clipboard.readText().then(s => s === "kopie-ÄÖÜ-ende")`))
	run("paste it", chromedp.Click("#terminal"), typeDE("echo neu-"),
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			return chromedp.Void{}, pressDE(ctx, t, deKey{key: "V", code: "KeyV", vk: 86, ctrl: true, shift: true, commands: []string{"paste"}})
		},
		typeDE("\r"), waitScreen("terminal", `(?m)^neu-kopie-ÄÖÜ-ende$`))
	c.checkConsole()

	closeTab()
	agenttest.Wait(t, "the shell gone after the tab closed", func() bool { return gonePID(pidN) })
	agenttest.Wait(t, "the session ended", func() bool { return f.svc.OpenTerminals(f.dev) == 0 })

	// The recording, from the audit log's link.
	ctx := context.Background()
	var es []core.AuditEntry
	agenttest.Wait(t, "the end of the session audited", func() bool {
		es, _ = f.st.QueryAudit(ctx, core.AuditQuery{Action: "device.terminal.end"})
		return len(es) > 0
	})
	if len(es) != 1 {
		t.Fatalf("end of session audited: %+v", es)
	}
	rec := auditRows(es)[0].Recording
	if rec == 0 {
		t.Fatalf("no recording in %q", es[0].Detail)
	}
	recS := strconv.FormatInt(rec, 10)
	tech := (&fixture{srv: f.srv}).browser(t, "en")
	tech.login("tech@example.com", testPassword)
	for _, p := range []string{"/recordings/" + recS, "/recordings/" + recS + "/cast"} {
		if r := tech.do("GET", p, nil); r.status != http.StatusForbidden {
			t.Errorf("technician GET %s: %d", p, r.status)
		}
	}

	admin := newChrome(t, f.srv.URL)
	admin.login("admin@example.com", "tr.device")
	admin.step("replay from the audit log",
		chromedp.Navigate(f.srv.URL+"/audit"), chromedp.Click("#replay-"+recS),
		chromedp.WaitVisible(`#replay[data-loaded="true"]`),
		chromedp.Click("#replay-end"),
		chromedp.WaitVisible(`#replay[data-done="true"]`),
		waitScreen("replay", `(?m)^`+regexp.QuoteMeta(`Grüße @ \ | { } [ ] ~ äöß`)+`$`),
	)
	admin.checkConsole()
	if es, _ := f.st.QueryAudit(ctx, core.AuditQuery{Action: "recording.replay"}); len(es) != 1 || es[0].Actor != "user:admin@example.com" {
		t.Errorf("replay audited: %+v", es)
	}
}

// TestTerminalWebsocketRules: the websocket refuses another site's page
// (Origin), read-only users and a device whose terminal is locked, whose
// page says why.
func TestTerminalWebsocketRules(t *testing.T) {
	f := newTermFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wsURL := func(id int64) string {
		return "wss" + strings.TrimPrefix(f.srv.URL, "https") + fmt.Sprintf("/devices/%d/terminal/ws?shell=sh", id)
	}
	dial := func(b *browser, id int64, origin string) (*websocket.Conn, int, error) {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		c, resp, err := websocket.Dial(ctx, wsURL(id), &websocket.DialOptions{HTTPClient: b.c, HTTPHeader: h})
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		return c, status, err
	}
	fx := &fixture{srv: f.srv}
	tech := fx.browser(t, "de")
	tech.login("tech@example.com", testPassword)

	if _, status, err := dial(tech, f.dev, "https://evil.example"); err == nil || status != http.StatusForbidden {
		t.Errorf("another site's origin: %d %v", status, err)
	}
	ro := fx.browser(t, "en")
	ro.login("readonly@example.com", testPassword)
	if _, status, err := dial(ro, f.dev, f.srv.URL); err == nil || status != http.StatusForbidden {
		t.Errorf("read-only: %d %v", status, err)
	}
	if _, status, err := dial(tech, f.locked, f.srv.URL); err == nil || status != http.StatusForbidden {
		t.Errorf("locked device: %d %v", status, err)
	}
	if p := tech.do("GET", fmt.Sprintf("/devices/%d/terminal", f.locked), nil); p.status != http.StatusOK ||
		!strings.Contains(p.body, `id="term-refused"`) || !strings.Contains(p.body, "auf diesem Gerät gesperrt") {
		t.Errorf("locked device's page: %d %s", p.status, p.body)
	}

	// The same origin works: the shell answers, and the exit message
	// follows the shell's end.
	c, status, err := dial(tech, f.dev, f.srv.URL)
	if err != nil {
		t.Fatalf("same origin: %d %v", status, err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageBinary, append([]byte{'i'}, "echo 'O''K'; exit 3\r"...)); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var exit string
	for exit == "" {
		typ, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v; output %q", err, out.String())
		}
		if typ == websocket.MessageText {
			if strings.Contains(string(b), `"type":"exit"`) {
				exit = string(b)
			}
			continue
		}
		out.Write(b)
	}
	if !strings.Contains(out.String(), "OK\r\n") || !strings.Contains(exit, `"code":"exited"`) {
		t.Errorf("output %q, exit %s", out.String(), exit)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure && !errors.Is(err, context.Canceled) {
		t.Errorf("after exit: %v", err)
	}
}
