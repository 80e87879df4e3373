package tray

import (
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

var now = time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)

func okStatus() *trayipc.Status {
	return &trayipc.Status{
		Version: trayipc.Version, AgentVersion: "1.4.0", Hostname: "pc-anna",
		Connected: true, LastContact: now, Overall: trayipc.OverallOK,
		Branding: trayipc.Branding{Show: true, ProductName: "Müller IT"},
	}
}

func title(t *testing.T, m Model, key string) string {
	t.Helper()
	it, ok := m.Item(key)
	if !ok {
		t.Fatalf("no item %q in %+v", key, m.Items)
	}
	return it.Title
}

func TestStatusLine(t *testing.T) {
	problems := func(n int) *trayipc.Status {
		s := okStatus()
		s.Overall, s.Problems = trayipc.OverallProblems, n
		return s
	}
	offline := okStatus()
	offline.Connected, offline.LastContact = false, now.Add(-2*time.Hour)
	briefly := okStatus()
	briefly.Connected, briefly.LastContact = false, now.Add(-time.Minute)
	never := okStatus()
	never.Connected, never.LastContact = false, time.Time{}
	unknown := okStatus()
	unknown.Overall = trayipc.OverallUnknown
	tests := []struct {
		name      string
		st        *trayipc.Status
		reachable bool
		en, de    string
		badge     Badge
	}{
		{"ok", okStatus(), true, "Your PC is monitored – everything is fine", "Ihr PC wird überwacht – alles in Ordnung", BadgeNone},
		{"one problem", problems(1), true, "IT is informed about 1 problem", "IT ist über 1 Problem informiert", BadgeProblem},
		{"three problems", problems(3), true, "IT is informed about 3 problems", "IT ist über 3 Probleme informiert", BadgeProblem},
		{"unknown", unknown, true, "Checking status", "Status wird ermittelt", BadgeNone},
		{"no answer yet", nil, true, "Checking status", "Status wird ermittelt", BadgeNone},
		{"unreachable", okStatus(), false, "Monitoring service not reachable – retrying", "Wacht-Dienst nicht erreichbar – neuer Versuch läuft", BadgeUnreachable},
		{"unreachable never reached", nil, false, "Monitoring service not reachable – retrying", "Wacht-Dienst nicht erreichbar – neuer Versuch läuft", BadgeUnreachable},
		{"offline long", offline, true, "No connection to IT since Dec 6, 15:00 – IT may not be informed", "Keine Verbindung zur IT seit 06.12. 15:00 – IT ist eventuell nicht informiert", BadgeUnreachable},
		{"offline briefly", briefly, true, "Your PC is monitored – everything is fine", "Ihr PC wird überwacht – alles in Ordnung", BadgeNone},
		{"never connected", never, true, "No connection to IT yet – IT may not be informed", "Noch keine Verbindung zur IT – IT ist eventuell nicht informiert", BadgeUnreachable},
	}
	for _, tt := range tests {
		for lang, want := range map[string]string{"en": tt.en, "de": tt.de} {
			m := Build(Input{Status: tt.st, Reachable: tt.reachable, Lang: lang, Now: now, Loc: time.UTC})
			if got := title(t, m, KeyStatus); got != want {
				t.Errorf("%s/%s: status %q, want %q", tt.name, lang, got, want)
			}
			if m.Badge != tt.badge {
				t.Errorf("%s/%s: badge %q, want %q", tt.name, lang, m.Badge, tt.badge)
			}
			if it, _ := m.Item(KeyStatus); !it.Disabled {
				t.Errorf("%s: the status line is clickable", tt.name)
			}
			name := core.DefaultProductName
			if tt.st != nil {
				name = "Müller IT"
			}
			if m.Tooltip != name+" – "+want {
				t.Errorf("%s/%s: tooltip %q", tt.name, lang, m.Tooltip)
			}
		}
	}
}

func TestProtection(t *testing.T) {
	st := okStatus()
	in := Input{Status: st, Reachable: true, Lang: "de", Now: now, Loc: time.UTC}
	m := Build(in)
	for _, k := range []string{KeyAntivirus, KeyBackup} {
		if _, ok := m.Item(k); ok {
			t.Errorf("%s shown although not monitored", k)
		}
	}
	st.Antivirus = &trayipc.Component{State: "ok"}
	st.Backup = &trayipc.Component{State: "ok", At: time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC)}
	m = Build(in)
	if got := title(t, m, KeyAntivirus); got != "Virenschutz: aktuell" {
		t.Errorf("antivirus %q", got)
	}
	if got := title(t, m, KeyBackup); got != "Letzte Sicherung: 05.12.2026 22:00 – erfolgreich" {
		t.Errorf("backup %q", got)
	}
	st.Antivirus.State, st.Backup.State, st.Backup.At = "failure", "failure", time.Time{}
	in.Lang = "en"
	m = Build(in)
	if got := title(t, m, KeyAntivirus); got != "Antivirus: problem – IT is informed" {
		t.Errorf("antivirus %q", got)
	}
	if got := title(t, m, KeyBackup); got != "Backup: failed" {
		t.Errorf("backup %q", got)
	}
	// Stale protection is not shown while the agent does not answer.
	in.Reachable = false
	m = Build(in)
	if _, ok := m.Item(KeyAntivirus); ok {
		t.Error("antivirus shown while the agent is unreachable")
	}
}

func TestReboot(t *testing.T) {
	st := okStatus()
	st.Reboot = &trayipc.Reboot{Deadline: time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC), DeferralsLeft: 2}
	m := Build(Input{Status: st, Reachable: true, Lang: "de", Now: now, Loc: time.UTC})
	want := map[string]string{
		KeyRebootInfo:  "Neustart für Updates nötig – spätestens 06.12. 18:00",
		KeyRebootNow:   "Jetzt neu starten",
		KeyRebootLater: "Später erinnern (noch 2×)",
	}
	for k, w := range want {
		if got := title(t, m, k); got != w {
			t.Errorf("%s: %q, want %q", k, got, w)
		}
	}
	if m.Badge != BadgeReboot {
		t.Errorf("badge %q", m.Badge)
	}
	m = Build(Input{Status: st, Reachable: true, Lang: "en", Now: now, Loc: time.UTC})
	if got := title(t, m, KeyRebootLater); got != "Remind me later (2 left)" {
		t.Errorf("later %q", got)
	}
	st.Reboot.DeferralsLeft = 0
	st.Overall, st.Problems = trayipc.OverallProblems, 2
	m = Build(Input{Status: st, Reachable: true, Lang: "en", Now: now, Loc: time.UTC})
	if _, ok := m.Item(KeyRebootLater); ok {
		t.Error("remind later offered without deferrals left")
	}
	if m.Badge != BadgeProblem {
		t.Errorf("problems and reboot: badge %q, want the problem", m.Badge)
	}
}

func TestRequestsAndContact(t *testing.T) {
	st := okStatus()
	st.Branding = trayipc.Branding{Show: true, ProductName: "", Phone: "0711 123", Email: "it@mueller.example",
		URL: "javascript:alert(1)", Hours: core.Text{EN: "Mon–Fri\n8–17", DE: "Mo–Fr\n8–17 Uhr"}, RemoteSupport: core.RemoteSupportAnyDesk}
	reqs := []trayipc.UserRequest{
		{Ref: "aaaaaaaa", Replies: []core.SupportReply{{ID: 1}, {ID: 2}}},
		{Ref: "bbbbbbbb", Replies: []core.SupportReply{{ID: 3}}},
	}
	in := Input{Status: st, Reachable: true, Requests: reqs, Seen: map[int64]bool{1: true}, Lang: "de", Now: now, TrayVersion: "1.4.0"}
	m := Build(in)
	if got := title(t, m, KeyRequests); got != "Meine Anfragen (2 neue Antworten)" {
		t.Errorf("requests %q", got)
	}
	if _, ok := m.Item(KeyRemote); ok {
		t.Error("remote support offered although the tool is not installed")
	}
	if _, ok := m.Item(KeyWeb); ok {
		t.Error("a javascript: link is offered")
	}
	if got := title(t, m, KeyHours); got != "Erreichbar: Mo–Fr · 8–17 Uhr" {
		t.Errorf("hours %q", got)
	}
	if got := title(t, m, KeyAbout); got != "Über Wacht" {
		t.Errorf("about %q", got)
	}
	if strings.Join(m.About, "|") != "Wacht|Tray 1.4.0|Agent 1.4.0|Computer: pc-anna" {
		t.Errorf("about lines %q", m.About)
	}
	in.Seen, in.Lang, in.RemoteInstalled = map[int64]bool{1: true, 2: true}, "en", true
	st.Branding.URL = "https://mueller.example"
	m = Build(in)
	for k, w := range map[string]string{
		KeyRequests: "My requests (1 new reply)", KeyRemote: "Start remote support", KeyPhone: "Phone: 0711 123",
		KeyEmail: "E-mail: it@mueller.example", KeyWeb: "Website: https://mueller.example", KeyContact: "Contact IT…",
	} {
		if got := title(t, m, k); got != w {
			t.Errorf("%s: %q, want %q", k, got, w)
		}
	}
	in.Seen = map[int64]bool{1: true, 2: true, 3: true}
	if got := title(t, Build(in), KeyRequests); got != "My requests" {
		t.Errorf("requests with everything seen: %q", got)
	}
}

// The items come in Groups order, and each group's first item is there.
func TestOrderAndHidden(t *testing.T) {
	order := map[string]int{}
	for _, g := range Groups {
		for _, k := range g {
			order[k] = len(order)
		}
	}
	st := okStatus()
	st.Reboot = &trayipc.Reboot{Deadline: now, DeferralsLeft: 1}
	st.Backup = &trayipc.Component{State: "ok"}
	st.Branding.Phone = "1"
	st.Branding.Show = false
	for _, in := range []Input{{Lang: "en"}, {Status: st, Reachable: true, Lang: "en"}} {
		m := Build(in)
		last := -1
		for _, it := range m.Items {
			o, ok := order[it.Key]
			if !ok || o <= last {
				t.Fatalf("item %q out of order in %+v", it.Key, m.Items)
			}
			last = o
		}
		for _, g := range Groups {
			if _, ok := m.Item(g[0]); !ok {
				t.Errorf("group head %q missing", g[0])
			}
		}
		if len(m.About) != AboutLines {
			t.Errorf("%d about lines", len(m.About))
		}
	}
	if Build(Input{Status: st, Reachable: true}).Show {
		t.Error("shown although the branding hides the tray")
	}
	if !Build(Input{}).Show {
		t.Error("hidden before the agent answered")
	}
}
