package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

// The tray app end to end on a real Linux desktop (issue 20): real wacht
// and wacht-agent processes on loopback, the client's branding set through
// the API, wacht-tray on the private desktop of desktop_linux_test.go, read
// and clicked over D-Bus as the tray host does, its contact form filled in
// headless Chromium, the request checked in the API, in a mail and on the
// dashboard, and a technician's reply shown back in the tray.

const (
	trayProduct = "Müller IT Rundum-Sorglos"
	trayPhone   = "+49 511 1234-56"
	trayEmail   = "hilfe@mueller-it.example"
	trayMessage = "Mein Drucker druckt nicht"
	trayReply   = "Wir schauen uns das gleich an – Ihr Müller-IT-Team"
)

// brandColour is the branding icon's colour, unlike any badge or the bar.
var brandColour = [3]uint8{0x28, 0x50, 0xd8}

// Status lines the tray shows (internal/tray.Build).
var (
	problemsDE    = regexp.MustCompile(`^IT ist über (1 Problem|\d+ Probleme) informiert$`)
	problemsEN    = regexp.MustCompile(`^IT is informed about (1 problem|\d+ problems)$`)
	unreachableDE = "Wacht-Dienst nicht erreichbar – neuer Versuch läuft"
)

// brandIcon is a square PNG in brandColour.
func brandIcon(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for i := 0; i < len(img.Pix); i += 4 {
		copy(img.Pix[i:], []byte{brandColour[0], brandColour[1], brandColour[2], 0xff})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// chromium returns a headless Chromium context that ends with the test,
// skipping (or failing where required) without Chromium.
func chromium(t *testing.T) context.Context {
	t.Helper()
	const path = "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("WACHT_REQUIRE_CHROMIUM") == "1" || os.Getenv("CI") != "" {
			t.Fatalf("Chromium is required but missing: %v", err)
		}
		t.Skipf("Chromium not installed (%v)", err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.Flag("accept-lang", "de-DE,de"),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()))
	t.Cleanup(cancelAlloc)
	bctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	ctx, tcancel := context.WithTimeout(bctx, 5*time.Minute) // a hang guard
	t.Cleanup(tcancel)
	return ctx
}

// browse runs actions, printing the page when they fail.
func browse(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.OuterHTML("body"))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
	}
}

// setTrayAddress points the enrolled agent in dir at its own tray socket.
func setTrayAddress(t *testing.T, dir, sock string) {
	t.Helper()
	path := filepath.Join(dir, "agent.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	c["tray_address"] = sock
	if b, err = json.Marshal(c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// putIcon uploads the branding icon of client id.
func (e *env) putIcon(id int64, icon []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("PUT", fmt.Sprintf("https://%s/api/v1/clients/%d/branding/icon", e.addr, id), bytes.NewReader(icon))
	req.Header.Set("Authorization", "Bearer "+e.apiToken)
	req.Header.Set("Content-Type", "image/png")
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("uploading the icon: HTTP %d: %s", resp.StatusCode, b)
	}
}

// clientID returns the ID of the client named name.
func (e *env) clientID(name string) int64 {
	e.t.Helper()
	var cs []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	e.api("GET", "/api/v1/clients", &cs)
	for _, c := range cs {
		if c.Name == name {
			return c.ID
		}
	}
	e.t.Fatalf("no client %q in %+v", name, cs)
	return 0
}

// supportRequests lists the support requests through the API.
func (e *env) supportRequests() []core.SupportRequest {
	e.t.Helper()
	var list struct {
		Requests []core.SupportRequest `json:"requests"`
	}
	e.api("GET", "/api/v1/support-requests", &list)
	return list.Requests
}

// trayApp is a running wacht-tray on the desktop.
type trayApp struct {
	p  *proc
	it sniItem
}

// startTray starts wacht-tray as the user on the desktop in lang (a LANG
// value); links it opens are appended to urls.
func startTray(t *testing.T, d *desktop, sock, lang, urls string) *trayApp {
	t.Helper()
	browser := filepath.Join(t.TempDir(), "browser")
	script := "#!/bin/sh\nprintf '%s\\n' \"$1\" >>'" + urls + "'\n"
	if err := os.WriteFile(browser, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(d.Env(), "LANG="+lang, "LC_ALL=", "LC_MESSAGES=", "LANGUAGE=", "BROWSER="+browser, "XDG_CONFIG_HOME="+t.TempDir())
	p := startEnv(t, env, "wacht-tray", "--agent", sock)
	pid := p.cmd.Process.Pid
	var it sniItem
	waitFor(t, "the tray's item registered with the watcher", time.Minute, func() bool {
		for _, i := range d.items() {
			if d.pidOf(i.service) == pid {
				it = i
				return true
			}
		}
		select {
		case <-p.done:
			t.Fatalf("wacht-tray exited:\n%s", p.output())
		default:
		}
		return false
	})
	return &trayApp{p: p, it: it}
}

// waitMenu waits until the tray's menu satisfies ok and returns it.
func waitMenu(t *testing.T, d *desktop, it sniItem, what string, ok func([]menuEntry) bool) []menuEntry {
	t.Helper()
	var m []menuEntry
	var err error
	waitFor(t, what, time.Minute, func() bool {
		m, err = d.menu(it)
		return err == nil && len(m) > 0 && ok(m)
	})
	return m
}

// firstLabel is the menu's first visible label: the status line.
func firstLabel(m []menuEntry) string {
	if l := labels(m); len(l) > 0 {
		return l[0]
	}
	return ""
}

// TestTrayLinuxDesktop: a customer's user sees the MSP's icon and name in
// the tray, reads in German that IT knows of the problem, sends "Mein
// Drucker druckt nicht" through the contact form, and the technician sees
// it in the API, the dashboard and a mail, and answers; the reply reaches
// the tray. The agent stopped and started again turns the status line to
// "not reachable" and back; an English user reads English.
func TestTrayLinuxDesktop(t *testing.T) {
	d := newDesktop(t)
	ctx := chromium(t)
	smtp := alerttest.Start(t, alerttest.Options{Mode: "none"})
	e := newAlertEnv(t)
	e.sendJSON("PUT", "/api/v1/alerts/settings", alertSettings(smtp, 600), nil)
	e.sendJSON("POST", "/api/v1/alerts/recipients", `{"level":"default","channel":"email","target":"technik@provider.example","lang":"de"}`, nil)
	// A disk check that fails on any machine: the tray has one problem to
	// tell of.
	e.assign("/api/v1/default/policies", e.createPolicy(failingDiskPolicy))

	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	sock := filepath.Join(t.TempDir(), "tray.sock")
	setTrayAddress(t, e.agentDir, sock)
	agentArgs := []string{"run", "--data", e.agentDir, "--interval", "1s"}
	agent := start(t, "wacht-agent", agentArgs...)
	var devices []apiDevice
	waitFor(t, "the device online", time.Minute, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	dev := devices[0]

	client := e.clientID("Müller GmbH")
	e.sendJSON("PUT", fmt.Sprintf("/api/v1/clients/%d/branding", client), fmt.Sprintf(`{"show":true,"product_name":%q,
		"phone":%q,"email":%q,"url":"https://mueller-it.example","hours":{"en":"Mon–Fri 8 am – 5 pm","de":"Mo–Fr 8–17 Uhr"}}`,
		trayProduct, trayPhone, trayEmail), nil)
	e.putIcon(client, brandIcon(t))

	// 1. German: the branded item with the status line and the contact.
	urls := filepath.Join(t.TempDir(), "urls")
	tray := startTray(t, d, sock, "de_DE.UTF-8", urls)
	m := waitMenu(t, d, tray.it, "the German status line with one problem and the branding", func(m []menuEntry) bool {
		_, phone := find(m, "Telefon: "+trayPhone)
		return problemsDE.MatchString(firstLabel(m)) && phone && strings.Contains(d.title(tray.it), trayProduct)
	})
	t.Logf("menu (de): %q", labels(m))
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tray.p.cmd.Process.Pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") {
				t.Logf("wacht-tray %s (target ≤ 20 MB)", strings.Join(strings.Fields(l), " "))
			}
		}
	}
	if m[0].Enabled {
		t.Errorf("the status line is clickable: %+v", m[0])
	}
	for _, want := range []string{"E-Mail: " + trayEmail, "Webseite: https://mueller-it.example", "Erreichbar: Mo–Fr 8–17 Uhr", "IT kontaktieren…", "Meine Anfragen", "Über " + trayProduct} {
		if _, ok := find(m, want); !ok {
			t.Errorf("no menu entry %q in %q", want, labels(m))
		}
	}
	if title, text := d.tooltip(tray.it); !strings.Contains(title+" "+text, trayProduct) {
		t.Errorf("tooltip %q %q does not name %q", title, text, trayProduct)
	}
	var icon *image.NRGBA
	waitFor(t, "the branding icon on the item", time.Minute, func() bool {
		var err error
		icon, err = d.icon(tray.it)
		// The badge covers a corner; the rest is the client's icon.
		return err == nil && countColour(icon, brandColour, icon.Bounds()) >= icon.Bounds().Dx()*icon.Bounds().Dy()/2
	})
	var shot image.Image
	waitFor(t, "the host to draw the branding icon", time.Minute, func() bool {
		shot = d.screenshot("tray-de.png")
		return countColour(shot, brandColour, image.Rect(0, 0, 1024, 40)) >= 100
	})
	d.openMenu("tray-de-menu.png")
	d.closeMenu()

	// 2. "IT kontaktieren…" opens the form in the user's browser.
	contact, _ := find(m, "IT kontaktieren…")
	d.click(tray.it, contact.ID)
	var formURL string
	waitFor(t, "the contact form's address in the browser", time.Minute, func() bool {
		b, _ := os.ReadFile(urls)
		formURL = strings.TrimSpace(string(b))
		return formURL != ""
	})
	if !strings.HasPrefix(formURL, "http://127.0.0.1:") {
		t.Fatalf("the contact form is at %q, want loopback", formURL)
	}
	browse(t, ctx, "open the contact form", chromedp.Navigate(formURL), chromedp.WaitVisible("#message"))
	// The tray took a screenshot for the form; it is offered, not sent
	// unless the user ticks the box.
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('input[name="screenshot"]:not(:checked)').length`)); n != 1 {
		t.Errorf("%d unticked screenshot boxes on the form, want 1", n)
	}
	browse(t, ctx, "send the contact form",
		chromedp.SendKeys("#message", trayMessage),
		chromedp.Click(`form button[type="submit"]`),
		chromedp.WaitVisible("p.ok"))
	if done := textOf(t, ctx, "p.ok"); !strings.Contains(done, "Ihre Anfrage ist bei Ihrer IT angekommen") && !strings.Contains(done, "sobald der PC online ist") {
		t.Errorf("the form's answer: %q", done)
	}

	// 3. The technician's side: the API, the mail, the dashboard.
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	var req core.SupportRequest
	waitFor(t, "the support request in the API", time.Minute, func() bool {
		rs := e.supportRequests()
		if len(rs) == 1 {
			req = rs[0]
		}
		return len(rs) == 1
	})
	if req.DeviceID != dev.ID || req.OSUser != me.Username || req.Message != trayMessage || req.State != core.SupportNew || req.Lang != "de" || req.HasScreenshot {
		t.Errorf("support request %+v, want device %d, user %q, message %q, new, de, no screenshot", req, dev.ID, me.Username, trayMessage)
	}
	var mail alerttest.Mail
	waitFor(t, "the support mail", time.Minute, func() bool {
		for _, m := range smtp.Mails() {
			if strings.Contains(m.Header("Subject"), "Supportanfrage von "+me.Username) {
				mail = m
				return true
			}
		}
		return false
	})
	if mail.To[0] != "technik@provider.example" || !strings.Contains(mail.Body(), trayMessage) ||
		!strings.Contains(mail.Body(), fmt.Sprintf("/support/%d", req.ID)) || !strings.Contains(mail.Header("Subject"), dev.Hostname) {
		t.Errorf("support mail to %v: %q\n%s", mail.To, mail.Header("Subject"), mail.Body())
	}
	browse(t, ctx, "log in to the dashboard",
		chromedp.Navigate("https://"+e.addr+"/login"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "admin@example.com"), chromedp.SendKeys("#password", adminPassword),
		chromedp.Click("#login"), chromedp.WaitNotPresent("#password"))
	browse(t, ctx, "open the support requests", chromedp.Navigate("https://"+e.addr+"/support"), chromedp.WaitReady("body"))
	if page := textOf(t, ctx, "body"); !strings.Contains(page, trayMessage) || !strings.Contains(page, dev.Hostname) {
		t.Errorf("/support does not list the request of %s:\n%s", dev.Hostname, page)
	}

	// 4. The technician answers; the tray shows the reply.
	e.sendJSON("PATCH", fmt.Sprintf("/api/v1/support-requests/%d", req.ID), fmt.Sprintf(`{"state":"in_progress","reply":%q}`, trayReply), nil)
	m = waitMenu(t, d, tray.it, "the tray to announce the reply", func(m []menuEntry) bool {
		_, ok := find(m, "Meine Anfragen (1 neue Antwort)")
		return ok
	})
	d.screenshot("tray-de-reply.png")
	requests, _ := find(m, "Meine Anfragen (1 neue Antwort)")
	os.Remove(urls)
	d.click(tray.it, requests.ID)
	var requestsURL string
	waitFor(t, "the requests page's address in the browser", time.Minute, func() bool {
		b, _ := os.ReadFile(urls)
		requestsURL = strings.TrimSpace(string(b))
		return requestsURL != ""
	})
	browse(t, ctx, "open the user's requests", chromedp.Navigate(requestsURL), chromedp.WaitReady("body"))
	if page := textOf(t, ctx, "body"); !strings.Contains(page, trayReply) || !strings.Contains(page, trayMessage) {
		t.Errorf("the user's requests page:\n%s", page)
	}
	waitMenu(t, d, tray.it, "the reply to count as seen", func(m []menuEntry) bool {
		_, ok := find(m, "Meine Anfragen")
		_, unseen := find(m, "Meine Anfragen (")
		return ok && !unseen
	})
	var mine trayipc.Requests
	waitFor(t, "the reply in the user's requests", time.Minute, func() bool {
		return callAgent(t, sock, trayipc.OpRequests, &mine) == nil && len(mine.Requests) == 1 &&
			mine.Requests[0].State == core.SupportInProgress && len(mine.Requests[0].Replies) == 1
	})
	if r := mine.Requests[0]; r.Message != trayMessage || r.Replies[0].Body != trayReply || !r.Sent {
		t.Errorf("the user's request as the tray sees it: %+v", r)
	}

	// 5. The agent stops: the tray says so, and recovers when it is back.
	agent.stop(t, syscall.SIGTERM)
	waitMenu(t, d, tray.it, "the unreachable status line", func(m []menuEntry) bool { return firstLabel(m) == unreachableDE })
	d.openMenu("tray-de-unreachable.png")
	d.closeMenu()
	start(t, "wacht-agent", agentArgs...)
	waitMenu(t, d, tray.it, "the status line after the agent is back", func(m []menuEntry) bool { return problemsDE.MatchString(firstLabel(m)) })
	tray.p.stop(t, syscall.SIGTERM)

	// 6. English.
	tray = startTray(t, d, sock, "en_US.UTF-8", urls)
	m = waitMenu(t, d, tray.it, "the English status line", func(m []menuEntry) bool { return problemsEN.MatchString(firstLabel(m)) })
	t.Logf("menu (en): %q", labels(m))
	for _, want := range []string{"Contact IT…", "Phone: " + trayPhone, "Hours: Mon–Fri 8 am – 5 pm"} {
		if _, ok := find(m, want); !ok {
			t.Errorf("no menu entry %q in %q", want, labels(m))
		}
	}
	d.screenshot("tray-en.png")
}

// textOf is the visible text of the first element sel matches.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// callAgent makes one tray call to the agent as this process's user.
func callAgent(t *testing.T, sock, op string, reply any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := trayipc.Dial(ctx, sock)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call(ctx, op, nil, reply)
}
