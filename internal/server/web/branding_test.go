package web

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func clientPath(id int64) string { return "/clients/" + strconv.FormatInt(id, 10) }

func brandingForm(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "show": {"on"}, "product_name": {"Müller IT Rundum-Sorglos"}, "phone": {"+49 30 1234567"},
		"email": {"support@mueller-it.example"}, "url": {"https://mueller-it.example/hilfe"},
		"hours_de": {"Mo–Fr 8–17 Uhr"}, "hours_en": {"Mon–Fri 8 am–5 pm"}, "remote_support": {core.RemoteSupportRustDesk}}
}

// TestTrayCard: the client page's tray card shows the defaults, saves
// the branding (technicians), shows it to read-only users without a form,
// and keeps what was typed beside the refusal.
func TestTrayCard(t *testing.T) {
	f := newSupportFixture(t)
	ctx := context.Background()
	client := clientPath(f.device.ClientID)
	tech := f.browser(t, "en")
	_, csrf := tech.login("tech@example.com", testPassword)

	p := tech.do("GET", client, nil)
	if p.status != http.StatusOK {
		t.Fatalf("client page: %d", p.status)
	}
	for _, want := range []string{`id="tray"`, "Tray app", `id="tray-show" name="show" value="on" checked`, `placeholder="Wacht"`,
		"Your PC is monitored – everything is fine", "square, 16–256 px, at most 256 KB", `id="tray-icon-none"`, `<option value="" selected>None</option>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("tray card lacks %q", want)
		}
	}
	if strings.Contains(p.body, `id="tp-remote">`) {
		t.Error("the preview offers remote support without a tool")
	}

	p = tech.do("POST", client+"/branding", brandingForm(csrf))
	if p.status != http.StatusSeeOther || p.header.Get("Location") != client+"?tray=saved#tray" {
		t.Fatalf("save: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	b, err := f.st.GetBranding(ctx, f.device.ClientID)
	if err != nil || !b.Show || b.ProductName != "Müller IT Rundum-Sorglos" || b.Hours.DE != "Mo–Fr 8–17 Uhr" || b.RemoteSupport != core.RemoteSupportRustDesk || b.URL != "https://mueller-it.example/hilfe" {
		t.Fatalf("stored: %v %+v", err, b)
	}
	p = tech.do("GET", client+"?tray=saved", nil)
	for _, want := range []string{`id="tray-notice"`, `value="Müller IT Rundum-Sorglos"`, `<option value="rustdesk" selected>`,
		`<span id="tp-name">Müller IT Rundum-Sorglos</span>`, `id="tp-remote">Start remote support`, "Mon–Fri 8 am–5 pm</div>"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("after saving the card lacks %q", want)
		}
	}

	// Hidden: the checkbox unticked is stored as such and the preview says so.
	form := brandingForm(csrf)
	form.Del("show")
	if p := tech.do("POST", client+"/branding", form); p.status != http.StatusSeeOther {
		t.Fatalf("hide: %d", p.status)
	}
	if b, _ := f.st.GetBranding(ctx, f.device.ClientID); b.Show {
		t.Error("show still on")
	}
	if p := tech.do("GET", client, nil); !strings.Contains(p.body, `tray-preview tp-hidden`) || strings.Contains(p.body, `id="tp-hidden-note" hidden`) {
		t.Error("the preview does not show the tray as hidden")
	}

	// A refusal: the typed values stay, each message beside its field.
	form = brandingForm(csrf)
	form.Set("url", "ftp://mueller-it.example")
	form.Set("phone", "0800-HILFE")
	form.Set("product_name", "Neuer Name")
	p = tech.do("POST", client+"/branding", form)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `value="ftp://mueller-it.example"`) || !strings.Contains(p.body, `value="Neuer Name"`) {
		t.Errorf("refused save: %d\n%s", p.status, p.body)
	}
	besides(t, p.body, `id="tray-phone"`, "may contain only digits", `id="tray-email"`)
	besides(t, p.body, `id="tray-url"`, "must be an http:// or https:// address", `id="tray-hours-de"`)
	if b, _ := f.st.GetBranding(ctx, f.device.ClientID); b.ProductName != "Müller IT Rundum-Sorglos" {
		t.Errorf("a refused save changed the branding: %+v", b)
	}

	// Read-only users see the branding, no form, and may not change it.
	ro := f.browser(t, "de")
	_, rcsrf := ro.login("readonly@example.com", testPassword)
	p = ro.do("GET", client, nil)
	if strings.Contains(p.body, `id="tray-form"`) || strings.Contains(p.body, `id="tray-icon-form"`) || !strings.Contains(p.body, `id="tray-facts"`) ||
		!strings.Contains(p.body, "Müller IT Rundum-Sorglos") || !strings.Contains(p.body, "Tray-App") {
		t.Error("read-only tray card")
	}
	if p := ro.do("POST", client+"/branding", brandingForm(rcsrf)); p.status != http.StatusForbidden {
		t.Errorf("read-only save: %d", p.status)
	}
	// Another client's branding does not exist for the technician.
	other := clientPath(f.foreign.ClientID)
	if p := tech.do("POST", other+"/branding", brandingForm(csrf)); p.status != http.StatusNotFound {
		t.Errorf("foreign save: %d", p.status)
	}
	if _, err := f.st.GetBranding(ctx, f.foreign.ClientID); err == nil {
		t.Error("the technician branded another client")
	}
}

// besides checks that msg is shown as a field error between the markers
// before and after (the field and the next one).
func besides(t *testing.T, body, before, msg, after string) {
	t.Helper()
	i, j, k := strings.Index(body, before), strings.Index(body, `<p class="field-error" role="alert">`+msg), strings.Index(body, after)
	if i < 0 || j < i || k < j {
		t.Errorf("%q is not shown beside %s (%d %d %d)", msg, before, i, j, k)
	}
}

// TestTrayIcon uploads, shows, serves and removes the icon, and refuses
// what is not a square icon of the allowed size, beside the field.
func TestTrayIcon(t *testing.T) {
	f := newSupportFixture(t)
	ctx := context.Background()
	client := clientPath(f.device.ClientID)
	tech := f.browser(t, "en")
	_, csrf := tech.login("tech@example.com", testPassword)

	icon := testPNG(t, 64, 64)
	p := tech.postFiles(client+"/branding/icon", csrf, "icon", map[string][]byte{"logo.png": icon})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != client+"?tray=icon#tray" {
		t.Fatalf("upload: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	b, err := f.st.GetBranding(ctx, f.device.ClientID)
	if err != nil || len(b.Icon) == 0 || b.IconSHA256 == "" {
		t.Fatalf("stored icon: %v %d bytes", err, len(b.Icon))
	}
	p = tech.do("GET", client+"?tray=icon", nil)
	src := `src="` + client + `/branding/icon?v=` + b.IconSHA256 + `"`
	if !strings.Contains(p.body, src) || !strings.Contains(p.body, `id="tray-icon-remove"`) || !strings.Contains(p.body, "Icon uploaded.") {
		t.Errorf("the card does not show the icon")
	}
	got := tech.do("GET", client+"/branding/icon", nil)
	if got.status != http.StatusOK || got.header.Get("Content-Type") != "image/png" || !bytes.Equal([]byte(got.body), b.Icon) {
		t.Errorf("icon route: %d %s", got.status, got.header.Get("Content-Type"))
	}
	ro := f.browser(t, "en")
	_, rcsrf := ro.login("readonly@example.com", testPassword)
	if p := ro.do("GET", client+"/branding/icon", nil); p.status != http.StatusOK {
		t.Errorf("read-only icon: %d", p.status)
	}
	if p := ro.postFiles(client+"/branding/icon", rcsrf, "icon", map[string][]byte{"logo.png": icon}); p.status != http.StatusForbidden {
		t.Errorf("read-only upload: %d", p.status)
	}
	if p := tech.do("GET", clientPath(f.foreign.ClientID)+"/branding/icon", nil); p.status != http.StatusNotFound {
		t.Errorf("foreign icon: %d", p.status)
	}

	// Refusals, shown beside the field; the stored icon stays.
	for name, data := range map[string][]byte{
		"none.png":      nil,
		"text.png":      []byte("not a picture at all"),
		"wide.png":      testPNG(t, 64, 32),
		"tiny.png":      testPNG(t, 8, 8),
		"huge.png":      append(testPNG(t, 64, 64), make([]byte, core.MaxIconBytes)...),
		"too-large.png": testPNG(t, 512, 512),
	} {
		files := map[string][]byte{name: data}
		if data == nil {
			files = nil
		}
		p := tech.postFiles(client+"/branding/icon", csrf, "icon", files)
		if p.status != http.StatusBadRequest {
			t.Errorf("%s: %d\n%s", name, p.status, p.body)
		}
		besides(t, p.body, `id="tray-icon-help"`, "", `id="tray-icon-remove"`)
	}
	if after, _ := f.st.GetBranding(ctx, f.device.ClientID); after.IconSHA256 != b.IconSHA256 {
		t.Error("a refused upload changed the icon")
	}

	if p := tech.do("POST", client+"/branding/icon/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", p.status)
	}
	if after, _ := f.st.GetBranding(ctx, f.device.ClientID); len(after.Icon) != 0 || after.IconSHA256 != "" {
		t.Error("icon not removed")
	}
	if p := tech.do("GET", client+"/branding/icon", nil); p.status != http.StatusNotFound {
		t.Errorf("removed icon: %d", p.status)
	}
	if p := tech.do("GET", client, nil); !strings.Contains(p.body, `id="tray-icon-none"`) {
		t.Error("the card still shows an icon")
	}
}
