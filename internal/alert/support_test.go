package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
)

func TestSupportMessages(t *testing.T) {
	d := core.Device{ID: 7, Hostname: "PC-17", ClientID: 3, ClientName: "Müller GmbH", SiteID: 5, SiteName: "Hannover"}
	r := core.SupportRequest{ID: 12, DeviceID: 7, Ref: "tray-0001-abcd", OSUser: "MUELLER\\anna", Message: "Mein Drucker druckt nicht.",
		Lang: "de", CreatedAt: t0.Add(-time.Minute)}
	all := []core.Recipient{
		{ID: 1, Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "all@example.com", Lang: "de", Hours: core.HoursAlways},
		{ID: 2, Level: core.LevelSite, TargetID: 5, Channel: core.ChannelEmail, Target: "site@example.com", Lang: "en", Hours: core.HoursAlways},
		{ID: 3, Level: core.LevelSite, TargetID: 5, Channel: core.ChannelWebhook, Target: "https://chat.example.com/hook", Format: "chat",
			Secret: "s3", Lang: "de", Hours: core.HoursAlways},
		{ID: 4, Level: core.LevelSite, TargetID: 6, Channel: core.ChannelEmail, Target: "othersite@example.com", Lang: "de", Hours: core.HoursAlways},
	}
	s := Settings{}.WithDefaults()
	out, err := SupportMessages(all, s, "https://wacht.example.com/", d, r, t0)
	if err != nil {
		t.Fatal(err)
	}
	// The site's level replaces the default one.
	if len(out) != 2 || out[0].Target != "site@example.com" || out[1].Channel != core.ChannelWebhook {
		t.Fatalf("messages %+v", out)
	}
	var mail, hook notify.Message
	if err := json.Unmarshal(out[0].Payload, &mail); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out[1].Payload, &hook); err != nil {
		t.Fatal(err)
	}
	if mail.Subject != "[Wacht] Support request from MUELLER\\anna on PC-17 (Müller GmbH)" || mail.Lang != "en" ||
		!strings.Contains(mail.Text, "Screenshot:   none") || !strings.Contains(mail.Text, "https://wacht.example.com/support/12") ||
		!strings.Contains(mail.Text, "2026-03-16 09:59:00 CET") || mail.Format != "" || mail.Secret != "" {
		t.Errorf("mail: %+v", mail)
	}
	if hook.Format != "chat" || hook.Secret != "s3" || hook.Lang != "de" || !strings.HasPrefix(hook.Subject, "[Wacht] Supportanfrage von") ||
		hook.Event.Kind != notify.KindSupport || hook.Event.Message != r.Message || hook.Event.DeviceID != 7 {
		t.Errorf("webhook: %+v", hook)
	}
	if out[0].DedupeKey != "support-7-tray-0001-abcd:2" || mail.ID != notify.StableID(out[0].DedupeKey) || out[0].DedupeKey == out[1].DedupeKey {
		t.Errorf("keys %q %q, id %q", out[0].DedupeKey, out[1].DedupeKey, mail.ID)
	}
	// Without recipients nothing is queued.
	if out, err := SupportMessages(nil, s, "", d, r, t0); err != nil || len(out) != 0 {
		t.Errorf("no recipients: %v %v", out, err)
	}
}
