// Package tray is the end-user tray app of Wacht (issue 20): it shows the
// state of the local agent in the user's language, with the client's
// branding, and lets the user ask IT for help, start remote support and
// answer restart prompts. Everything here is testable without a desktop:
// the menu is a pure function of what the agent reports (Build), the icon
// is composed with image/draw, and the forms are served on loopback; only
// the thin systray glue in cmd/wacht-tray talks to the desktop.
package tray

import (
	"fmt"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

// Menu item keys. Keys lists them in menu order; the glue creates one item
// per key in this order once, so each item keeps its D-Bus id for the
// process's life, and hides the keys a model leaves out.
const (
	KeyStatus      = "status"
	KeyAntivirus   = "antivirus"
	KeyBackup      = "backup"
	KeyRebootInfo  = "reboot_info"
	KeyRebootNow   = "reboot_now"
	KeyRebootLater = "reboot_later"
	KeyContact     = "contact"
	KeyRequests    = "requests"
	KeyRemote      = "remote"
	KeyPhone       = "phone"
	KeyEmail       = "email"
	KeyWeb         = "web"
	KeyHours       = "hours"
	KeyAbout       = "about"
)

// Groups are the menu's sections in order, separated by separators; each
// group's first key is always present, so no two separators meet.
var Groups = [][]string{
	{KeyStatus, KeyAntivirus, KeyBackup, KeyRebootInfo, KeyRebootNow, KeyRebootLater},
	{KeyContact, KeyRequests, KeyRemote, KeyPhone, KeyEmail, KeyWeb, KeyHours},
	{KeyAbout},
}

// AboutLines is the number of lines of the About submenu.
const AboutLines = 4

// OfflineAfter is how long the agent may be without its server before the
// tray says that IT may not know of problems.
const OfflineAfter = 30 * time.Minute

// Badge is the status mark drawn on the icon.
type Badge string

const (
	BadgeNone        Badge = ""
	BadgeProblem     Badge = "problem"     // red
	BadgeReboot      Badge = "reboot"      // orange
	BadgeUnreachable Badge = "unreachable" // grey
)

// Input is everything the menu depends on.
type Input struct {
	// Status is the agent's last answer; nil before the first one.
	Status *trayipc.Status
	// Reachable: the last call to the agent succeeded. When it did not,
	// Status is the last known one (its branding still says whom to call).
	Reachable bool
	Requests  []trayipc.UserRequest
	Seen      map[int64]bool // reply IDs the user has seen
	Lang      string         // "de" or "en"
	Now       time.Time
	Loc       *time.Location // for dates; nil: time.Local
	// RemoteInstalled: the tool Branding.RemoteSupport names is installed.
	RemoteInstalled bool
	TrayVersion     string
}

// Item is one menu line.
type Item struct {
	Key      string `json:"key"`
	Title    string `json:"title"`
	Disabled bool   `json:"disabled,omitempty"`
}

// Model is the whole tray as the glue renders it.
type Model struct {
	Show    bool     `json:"show"` // false: the client hides the tray
	Tooltip string   `json:"tooltip"`
	Badge   Badge    `json:"badge"`
	Items   []Item   `json:"items"` // in Groups order, present items only
	About   []string `json:"about"` // AboutLines lines
	// NewReplies counts the replies in Requests the user has not seen.
	NewReplies int `json:"new_replies"`
}

// Item returns the item with key k and whether the model has it.
func (m Model) Item(k string) (Item, bool) {
	for _, it := range m.Items {
		if it.Key == k {
			return it, true
		}
	}
	return Item{}, false
}

// Build derives the menu from in; it is pure.
func Build(in Input) Model {
	lang, loc := in.Lang, in.Loc
	if loc == nil {
		loc = time.Local
	}
	tr := func(en, de string) string { return core.Text{EN: en, DE: de}.In(lang) }
	b := trayipc.Branding{Show: true, ProductName: core.DefaultProductName}
	if in.Status != nil {
		b = in.Status.Branding
		if b.ProductName == "" {
			b.ProductName = core.DefaultProductName
		}
	}
	m := Model{Show: b.Show}
	add := func(key, title string, disabled bool) {
		m.Items = append(m.Items, Item{Key: key, Title: title, Disabled: disabled})
	}

	st := in.Status
	line, badge := statusLine(in, tr, loc)
	m.Badge = badge
	add(KeyStatus, line, true)
	if in.Reachable && st != nil {
		if c := st.Antivirus; c != nil {
			add(KeyAntivirus, tr("Antivirus: ", "Virenschutz: ")+antivirusWord(c, tr), true)
		}
		if c := st.Backup; c != nil {
			add(KeyBackup, backupLine(c, tr, lang, loc), true)
		}
		if r := st.Reboot; r != nil {
			if m.Badge == BadgeNone {
				m.Badge = BadgeReboot
			}
			d := r.Deadline.In(loc)
			add(KeyRebootInfo, tr("Restart needed for updates – by "+d.Format("Jan 2, 15:04"),
				"Neustart für Updates nötig – spätestens "+d.Format("02.01. 15:04")), true)
			add(KeyRebootNow, tr("Restart now", "Jetzt neu starten"), false)
			if r.DeferralsLeft > 0 {
				add(KeyRebootLater, tr(fmt.Sprintf("Remind me later (%d left)", r.DeferralsLeft),
					fmt.Sprintf("Später erinnern (noch %d×)", r.DeferralsLeft)), false)
			}
		}
	}

	add(KeyContact, tr("Contact IT…", "IT kontaktieren…"), false)
	m.NewReplies = NewReplies(in.Requests, in.Seen)
	requests := tr("My requests", "Meine Anfragen")
	switch {
	case m.NewReplies == 1:
		requests += tr(" (1 new reply)", " (1 neue Antwort)")
	case m.NewReplies > 1:
		requests += tr(fmt.Sprintf(" (%d new replies)", m.NewReplies), fmt.Sprintf(" (%d neue Antworten)", m.NewReplies))
	}
	add(KeyRequests, requests, false)
	if b.RemoteSupport != "" && in.RemoteInstalled {
		add(KeyRemote, tr("Start remote support", "Fernwartung starten"), false)
	}
	if b.Phone != "" {
		add(KeyPhone, tr("Phone: ", "Telefon: ")+b.Phone, true)
	}
	if b.Email != "" {
		add(KeyEmail, tr("E-mail: ", "E-Mail: ")+b.Email, false)
	}
	if WebURL(b.URL) != "" {
		add(KeyWeb, tr("Website: ", "Webseite: ")+b.URL, false)
	}
	if h := oneLine(b.Hours.In(lang)); h != "" {
		add(KeyHours, tr("Hours: ", "Erreichbar: ")+h, true)
	}
	add(KeyAbout, tr("About ", "Über ")+b.ProductName, false)

	agentVersion, host := tr("unknown", "unbekannt"), tr("unknown", "unbekannt")
	if st != nil {
		agentVersion, host = st.AgentVersion, st.Hostname
	}
	m.About = []string{
		b.ProductName,
		"Tray " + in.TrayVersion,
		"Agent " + agentVersion,
		tr("Computer: ", "Computer: ") + host,
	}
	m.Tooltip = b.ProductName + " – " + line
	return m
}

// statusLine is the first line: the overall state in words, and its badge.
func statusLine(in Input, tr func(en, de string) string, loc *time.Location) (string, Badge) {
	st := in.Status
	switch {
	case !in.Reachable:
		return tr("Monitoring service not reachable – retrying", "Wacht-Dienst nicht erreichbar – neuer Versuch läuft"), BadgeUnreachable
	case st == nil:
		return tr("Checking status", "Status wird ermittelt"), BadgeNone
	case !st.Connected && (st.LastContact.IsZero() || in.Now.Sub(st.LastContact) >= OfflineAfter):
		if st.LastContact.IsZero() {
			return tr("No connection to IT yet – IT may not be informed", "Noch keine Verbindung zur IT – IT ist eventuell nicht informiert"), BadgeUnreachable
		}
		t := st.LastContact.In(loc)
		return tr("No connection to IT since "+t.Format("Jan 2, 15:04")+" – IT may not be informed",
			"Keine Verbindung zur IT seit "+t.Format("02.01. 15:04")+" – IT ist eventuell nicht informiert"), BadgeUnreachable
	}
	switch st.Overall {
	case trayipc.OverallOK:
		return tr("Your PC is monitored – everything is fine", "Ihr PC wird überwacht – alles in Ordnung"), BadgeNone
	case trayipc.OverallProblems:
		n := st.Problems
		if n == 0 {
			n = st.Warnings
		}
		switch n {
		case 0:
			return tr("IT is informed about problems", "IT ist über Probleme informiert"), BadgeProblem
		case 1:
			return tr("IT is informed about 1 problem", "IT ist über 1 Problem informiert"), BadgeProblem
		default:
			return tr(fmt.Sprintf("IT is informed about %d problems", n), fmt.Sprintf("IT ist über %d Probleme informiert", n)), BadgeProblem
		}
	}
	return tr("Checking status", "Status wird ermittelt"), BadgeNone
}

func antivirusWord(c *trayipc.Component, tr func(en, de string) string) string {
	switch core.ParseStatus(c.State) {
	case core.StatusOK:
		return tr("up to date", "aktuell")
	case core.StatusWarning:
		return tr("needs attention", "prüfen")
	case core.StatusFailure:
		return tr("problem – IT is informed", "Problem – IT ist informiert")
	}
	return tr("unknown", "unbekannt")
}

func backupLine(c *trayipc.Component, tr func(en, de string) string, lang string, loc *time.Location) string {
	var word string
	switch core.ParseStatus(c.State) {
	case core.StatusOK:
		word = tr("successful", "erfolgreich")
	case core.StatusWarning:
		word = tr("with warnings", "mit Warnungen")
	case core.StatusFailure:
		word = tr("failed", "fehlgeschlagen")
	default:
		word = tr("unknown", "unbekannt")
	}
	if c.At.IsZero() {
		return tr("Backup: ", "Sicherung: ") + word
	}
	at := c.At.In(loc)
	return tr("Last backup: "+at.Format("2006-01-02 15:04"), "Letzte Sicherung: "+at.Format("02.01.2006 15:04")) + " – " + word
}

// NewReplies counts the replies in reqs whose IDs are not in seen.
func NewReplies(reqs []trayipc.UserRequest, seen map[int64]bool) int {
	n := 0
	for _, r := range reqs {
		for _, rep := range r.Replies {
			if !seen[rep.ID] {
				n++
			}
		}
	}
	return n
}

// WebURL returns u if it is an http(s) link the tray may open, else "".
func WebURL(u string) string {
	l := strings.ToLower(u)
	if strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
		return u
	}
	return ""
}

// oneLine joins the lines of a free text for a menu label.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " · ")
}
