package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// supportPusher records the pushes of policies and support states.
type supportPusher struct {
	*fakeRemote
	policies int
	states   []int64
}

func (p *supportPusher) PushPolicies()                 { p.policies++ }
func (p *supportPusher) PushSupportState(device int64) { p.states = append(p.states, device) }

func newSupportFixture(t *testing.T) (*remoteFixture, *supportPusher) {
	f := newRemoteFixture(t)
	p := &supportPusher{fakeRemote: f.remote}
	f.svc = New(Deps{Store: f.st, Commander: p})
	return f, p
}

func fieldsOf(err error) []string {
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	for _, f := range ve.Fields {
		if f.Message.DE == "" || f.Message.EN == "" {
			out = append(out, f.Field+" (untranslated)")
		}
		out = append(out, f.Field)
	}
	return out
}

func lastAudit(t *testing.T, f *remoteFixture) core.AuditEntry {
	t.Helper()
	as, err := f.st.ListAudit(context.Background(), 1)
	if err != nil || len(as) == 0 {
		t.Fatalf("audit: %v %v", as, err)
	}
	return as[0]
}

func TestBranding(t *testing.T) {
	f, pusher := newSupportFixture(t)
	ctx := context.Background()
	client := f.dev.ClientID

	// Unset: the defaults, for every role in scope.
	b, err := f.svc.GetBranding(ctx, f.readonly, client)
	if err != nil || !b.Show || b.ProductName != "" || b.ClientID != client {
		t.Fatalf("default branding %+v, %v", b, err)
	}
	if _, err := f.svc.GetBranding(ctx, f.foreign, client); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("another client's technician read the branding: %v", err)
	}
	want := core.Branding{ClientID: client, Show: true, ProductName: "  Müller IT Rundum-Sorglos ", Phone: "+49 (511) 123-456",
		Email: "hilfe@mueller-it.de", URL: "https://hilfe.mueller-it.de/", Hours: core.Text{DE: "Mo–Fr\r\n8–17 Uhr", EN: "Mon–Fri 8am–5pm"},
		RemoteSupport: core.RemoteSupportAnyDesk}
	if _, err := f.svc.SetBranding(ctx, f.readonly, want); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("read-only set the branding: %v", err)
	}
	if _, err := f.svc.SetBranding(ctx, f.foreign, want); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("another client's technician set the branding: %v", err)
	}
	if pusher.policies != 0 {
		t.Fatalf("refused changes pushed policies")
	}
	got, err := f.svc.SetBranding(ctx, f.tech, want)
	if err != nil {
		t.Fatal(err)
	}
	if got.ProductName != "Müller IT Rundum-Sorglos" || got.Hours.DE != "Mo–Fr\n8–17 Uhr" || got.UpdatedBy != "user:tech@example.com" {
		t.Errorf("saved %+v", got)
	}
	if pusher.policies != 1 {
		t.Errorf("%d policy pushes after a change, want 1", pusher.policies)
	}
	if a := lastAudit(t, f); a.Action != "client.branding" || a.Target != "client:"+strconv.FormatInt(client, 10) {
		t.Errorf("audit %+v", a)
	}

	// Every refused field is named, in English and German.
	for _, c := range []struct {
		name   string
		mod    func(*core.Branding)
		fields []string
	}{
		{"long name", func(b *core.Branding) { b.ProductName = strings.Repeat("ä", 101) }, []string{"product_name"}},
		{"name with a line break", func(b *core.Branding) { b.ProductName = "a\nb" }, []string{"product_name"}},
		{"phone letters", func(b *core.Branding) { b.Phone = "call me" }, []string{"phone"}},
		{"e-mail", func(b *core.Branding) { b.Email = "hilfe at mueller" }, []string{"email"}},
		{"javascript url", func(b *core.Branding) { b.URL = "javascript:alert(1)" }, []string{"url"}},
		{"url without host", func(b *core.Branding) { b.URL = "https://" }, []string{"url"}},
		{"file url", func(b *core.Branding) { b.URL = "file:///etc/passwd" }, []string{"url"}},
		{"long hours", func(b *core.Branding) { b.Hours.EN = strings.Repeat("x", core.MaxBrandingHours+1) }, []string{"hours.en"}},
		{"hours with control characters", func(b *core.Branding) { b.Hours.DE = "a\x1b[31m" }, []string{"hours.de"}},
		{"remote tool", func(b *core.Branding) { b.RemoteSupport = "C:\\evil.exe" }, []string{"remote_support"}},
		{"several", func(b *core.Branding) { b.Phone, b.Email = "x", "y" }, []string{"phone", "email"}},
	} {
		b := want
		c.mod(&b)
		_, err := f.svc.SetBranding(ctx, f.tech, b)
		if !errors.Is(err, core.ErrInvalid) || !slices.Equal(fieldsOf(err), c.fields) {
			t.Errorf("%s: %v (fields %v), want %v", c.name, err, fieldsOf(err), c.fields)
		}
	}

	// The icon: normalized, kept by SetBranding, removed with no data.
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewNRGBA(image.Rect(0, 0, 64, 64))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetBrandingIcon(ctx, f.readonly, client, buf.Bytes()); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("read-only set the icon: %v", err)
	}
	if _, err := f.svc.SetBrandingIcon(ctx, f.tech, client, []byte("GIF89a")); !slices.Equal(fieldsOf(err), []string{"icon"}) {
		t.Errorf("a GIF: %v", err)
	}
	if _, err := f.svc.SetBrandingIcon(ctx, f.tech, client, make([]byte, core.MaxIconBytes+1)); !slices.Equal(fieldsOf(err), []string{"icon"}) {
		t.Errorf("a huge icon: %v", err)
	}
	withIcon, err := f.svc.SetBrandingIcon(ctx, f.tech, client, buf.Bytes())
	if err != nil || len(withIcon.IconSHA256) != 64 || withIcon.ProductName != got.ProductName {
		t.Fatalf("icon set: %+v, %v", withIcon, err)
	}
	if a := lastAudit(t, f); a.Action != "client.branding.icon" {
		t.Errorf("audit %+v", a)
	}
	if _, err := f.svc.SetBranding(ctx, f.tech, want); err != nil {
		t.Fatal(err)
	}
	icon, err := f.svc.BrandingIcon(ctx, f.readonly, client)
	if err != nil || !bytes.Equal(icon, withIcon.Icon) {
		t.Fatalf("icon after a branding change: %d bytes, %v", len(icon), err)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(icon)); err != nil || cfg.Width != 64 {
		t.Errorf("stored icon: %+v %v", cfg, err)
	}
	if _, err := f.svc.SetBrandingIcon(ctx, f.tech, client, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.BrandingIcon(ctx, f.readonly, client); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("removed icon: %v", err)
	}
	if pusher.policies != 4 {
		t.Errorf("%d policy pushes, want 4", pusher.policies)
	}
}

func TestSupportRequestsInService(t *testing.T) {
	f, pusher := newSupportFixture(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC) // a Monday, in office hours
	f.svc.Now = func() time.Time { return at }
	if err := f.st.SetSetting(ctx, alert.SettingServerURL, "https://wacht.example.com/"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []core.Recipient{
		{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "zentrale@example.com", Lang: "en", Hours: core.HoursAlways},
		{Level: core.LevelClient, TargetID: f.dev.ClientID, Channel: core.ChannelEmail, Target: "kunde@example.com", Lang: "de", Hours: core.HoursAlways},
		{Level: core.LevelClient, TargetID: f.dev.ClientID, Channel: core.ChannelEmail, Target: "night@example.com", Lang: "en", Hours: core.HoursAfter},
		{Level: core.LevelClient, TargetID: f.dev.ClientID, Channel: core.ChannelEmail, Target: "office@example.com", Lang: "en", Hours: core.HoursOffice},
	} {
		if err := f.st.CreateRecipient(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	shot := []byte("\x89PNG\r\n\x1a\nscreen")
	in := protocol.SupportRequest{Ref: "tray-0001-abcd", OSUser: "anna", Contact: core.SupportContact{Name: "Anna\r\nBcc: x@evil", Email: "anna@mueller.de"},
		Message: "Mein Drucker druckt nicht.", Lang: "de", Screenshot: shot, CreatedAt: at.Add(-time.Minute)}
	r, err := f.svc.ReceiveSupportRequest(ctx, f.dev.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == 0 || r.State != core.SupportNew || !r.HasScreenshot || r.Hostname != "pc-01" || r.ClientName != "Müller GmbH" {
		t.Fatalf("stored %+v", r)
	}
	// Sent again: stored once, mailed once.
	if again, err := f.svc.ReceiveSupportRequest(ctx, f.dev.ID, in); err != nil || again.ID != r.ID {
		t.Fatalf("resent: %+v, %v", again, err)
	}
	out, err := f.st.ListOutbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	// The client's level replaces the default one; the night recipient
	// is outside office hours.
	byTarget := map[string]notify.Message{}
	for _, o := range out {
		var m notify.Message
		if err := json.Unmarshal(o.Payload, &m); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(o.DedupeKey, "support-"+strconv.FormatInt(f.dev.ID, 10)+"-tray-0001-abcd:") {
			t.Errorf("dedupe key %q", o.DedupeKey)
		}
		byTarget[o.Target] = m
	}
	if len(out) != 2 || len(byTarget) != 2 {
		t.Fatalf("%d messages to %v, want one each to kunde@ and office@", len(out), byTarget)
	}
	de, en := byTarget["kunde@example.com"], byTarget["office@example.com"]
	link := "https://wacht.example.com/support/" + strconv.FormatInt(r.ID, 10)
	if de.Subject != "[Wacht] Supportanfrage von Anna Bcc: x@evil auf pc-01 (Müller GmbH)" ||
		!strings.Contains(de.Text, "Mein Drucker druckt nicht.") || !strings.Contains(de.Text, "im Dashboard einsehbar") ||
		!strings.Contains(de.Text, link) || !strings.Contains(de.Text, "anna@mueller.de") || !strings.Contains(de.Text, "07.12.2026 11:29:00 CET") {
		t.Errorf("German message:\n%s\n%s", de.Subject, de.Text)
	}
	if en.Subject != "[Wacht] Support request from Anna Bcc: x@evil on pc-01 (Müller GmbH)" || !strings.Contains(en.Text, "see it in the dashboard") ||
		en.Event.Kind != notify.KindSupport || en.Event.Link != link {
		t.Errorf("English message:\n%s\n%s\n%+v", en.Subject, en.Text, en.Event)
	}

	// Reading: scope decides.
	if rs, n, err := f.svc.ListSupportRequests(ctx, f.readonly, core.SupportFilter{}); err != nil || n != 1 || len(rs) != 1 {
		t.Errorf("read-only list: %d %v", n, err)
	}
	if rs, n, err := f.svc.ListSupportRequests(ctx, f.foreign, core.SupportFilter{}); err != nil || n != 0 || len(rs) != 0 {
		t.Errorf("another client's technician listed %d", n)
	}
	if _, _, err := f.svc.ListSupportRequests(ctx, f.tech, core.SupportFilter{State: "open"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("unknown state filter: %v", err)
	}
	if _, err := f.svc.GetSupportRequest(ctx, f.foreign, r.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("another client's technician read it: %v", err)
	}
	if _, err := f.svc.SupportScreenshot(ctx, f.foreign, r.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("another client's technician read the screenshot: %v", err)
	}
	if b, err := f.svc.SupportScreenshot(ctx, f.readonly, r.ID); err != nil || !bytes.Equal(b, shot) {
		t.Errorf("screenshot %q, %v", b, err)
	}
	if n, err := f.svc.CountNewSupportRequests(ctx, f.tech); err != nil || n != 1 {
		t.Errorf("new: %d, %v", n, err)
	}

	// Changing: operate role within scope, valid input.
	if _, err := f.svc.UpdateSupportRequest(ctx, f.readonly, r.ID, core.SupportDone, ""); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("read-only updated: %v", err)
	}
	if _, err := f.svc.UpdateSupportRequest(ctx, f.foreign, r.ID, core.SupportDone, ""); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("another client's technician updated: %v", err)
	}
	for _, c := range []struct {
		state, reply string
		fields       []string
	}{
		{"closed", "", []string{"state"}},
		{"", "", []string{"reply"}},
		{"", strings.Repeat("x", core.MaxSupportReply+1), []string{"reply"}},
		{"", "bad \x00 byte", []string{"reply"}},
	} {
		if _, err := f.svc.UpdateSupportRequest(ctx, f.tech, r.ID, c.state, c.reply); !slices.Equal(fieldsOf(err), c.fields) {
			t.Errorf("update %q %q: %v, want fields %v", c.state, c.reply, err, c.fields)
		}
	}
	if len(pusher.states) != 0 {
		t.Fatalf("refused updates pushed states: %v", pusher.states)
	}
	up, err := f.svc.UpdateSupportRequest(ctx, f.tech, r.ID, core.SupportInProgress, " Wir kümmern uns darum.\r\n ")
	if err != nil {
		t.Fatal(err)
	}
	if up.State != core.SupportInProgress || len(up.Replies) != 1 || up.Replies[0].Author != "tech@example.com" || up.Replies[0].Body != "Wir kümmern uns darum." {
		t.Errorf("updated %+v", up)
	}
	if !slices.Equal(pusher.states, []int64{f.dev.ID}) {
		t.Errorf("state pushes %v, want the device's", pusher.states)
	}
	if a := lastAudit(t, f); a.Action != "support.update" || !strings.Contains(a.Detail, "new → in_progress") {
		t.Errorf("audit %+v", a)
	}
	// A reply alone keeps the state.
	if up, err = f.svc.UpdateSupportRequest(ctx, f.tech, r.ID, "", "Erledigt?"); err != nil || up.State != core.SupportInProgress || len(up.Replies) != 2 {
		t.Errorf("reply only: %+v, %v", up, err)
	}
	if n, err := f.svc.CountNewSupportRequests(ctx, f.tech); err != nil || n != 0 {
		t.Errorf("new after the update: %d, %v", n, err)
	}
}
