package tray

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

//go:embed pages.html
var pagesFS embed.FS

// Page limits: pages live a day, and only the newest maxPages are kept.
const (
	pageLife = 24 * time.Hour
	maxPages = 20
	// maxForm bounds a form's body: every field percent-encoded.
	maxForm = 3*(core.MaxSupportMessage+3*core.MaxSupportContact) + 1024
)

var pageTemplates = map[string]*template.Template{"en": nil, "de": nil}

func init() {
	base := template.Must(template.New("").Funcs(pageFuncs("en")).ParseFS(pagesFS, "pages.html"))
	for lang := range pageTemplates {
		pageTemplates[lang] = template.Must(base.Clone()).Funcs(pageFuncs(lang))
	}
}

func pageFuncs(lang string) template.FuncMap {
	tr := func(en, de string) string { return core.Text{EN: en, DE: de}.In(lang) }
	return template.FuncMap{
		"lang": func() string { return lang },
		"tr":   tr,
		"date": func(t time.Time) string {
			return t.Local().Format(map[bool]string{true: "02.01.2006 15:04", false: "2006-01-02 15:04"}[lang == "de"])
		},
		"state": func(r trayipc.UserRequest) string {
			switch {
			case !r.Sent:
				return tr("will be sent when the PC is online", "wird gesendet, sobald der PC online ist")
			case r.State == core.SupportInProgress:
				return tr("in progress", "in Bearbeitung")
			case r.State == core.SupportDone:
				return tr("done", "erledigt")
			}
			return tr("received by IT", "bei der IT angekommen")
		},
	}
}

// Pages serves the contact form and the "My requests" page on loopback.
// Each page has its own URL with a random 128-bit token, so no other local
// user or web site can guess it; the Host and Origin headers are checked
// against DNS rebinding and cross-site posts, and a contact form sends
// once.
type Pages struct {
	Agent   *Agent
	Lang    string
	Product func() string       // the branded product name
	Contact core.SupportContact // prefilled from the OS account
	Seen    *Seen
	Changed func() // after a request was sent or replies seen: poll now
	Log     *slog.Logger

	mu     sync.Mutex
	srv    *http.Server
	host   string // "127.0.0.1:port"
	pages  map[string]*page
	tokens []string // oldest first
}

type page struct {
	contact    bool
	screenshot []byte // the picture taken when the form was opened; nil: none
	created    time.Time
	sending    bool
	sent       bool
}

// Start listens on a free loopback port.
func (p *Pages) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening for the tray's pages: %w", err)
	}
	p.mu.Lock()
	p.host = ln.Addr().String()
	p.pages = map[string]*page{}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	p.mu.Unlock()
	go p.srv.Serve(ln)
	return nil
}

// Close stops serving.
func (p *Pages) Close() error { return p.srv.Close() }

// NewContact makes a contact form with the screenshot taken when the user
// clicked (nil: none could be taken) and returns its URL.
func (p *Pages) NewContact(screenshot []byte) string {
	return p.add(&page{contact: true, screenshot: screenshot})
}

// NewRequests makes a "My requests" page and returns its URL.
func (p *Pages) NewRequests() string { return p.add(&page{}) }

func (p *Pages) add(pg *page) string {
	var b [16]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	pg.created = time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.tokens) > 0 && (len(p.tokens) >= maxPages || time.Since(p.pages[p.tokens[0]].created) > pageLife) {
		delete(p.pages, p.tokens[0])
		p.tokens = p.tokens[1:]
	}
	p.pages[token] = pg
	p.tokens = append(p.tokens, token)
	return "http://" + p.host + "/" + token + "/"
}

func (p *Pages) tr(en, de string) string { return core.Text{EN: en, DE: de}.In(p.Lang) }

// view is what a page template shows.
type view struct {
	Product, Title, Error, Done string
	Message                     string
	Contact                     core.SupportContact
	HasScreenshot               bool
	AttachChecked               bool
	MaxMessage, MaxContact      int
	Requests                    []trayipc.UserRequest
}

func (p *Pages) render(w http.ResponseWriter, status int, name string, v view) {
	v.Product = p.Product()
	v.MaxMessage, v.MaxContact = core.MaxSupportMessage, core.MaxSupportContact
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pageTemplates[Lang(p.Lang)].ExecuteTemplate(w, name, v); err != nil {
		p.Log.Warn("rendering a page", "page", name, "err", err)
	}
}

func (p *Pages) fail(w http.ResponseWriter, status int, msg string) {
	p.render(w, status, "error", view{Title: p.tr("Error", "Fehler"), Error: msg})
}

func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	// same-origin, not no-referrer: under no-referrer browsers send the
	// form's POST with "Origin: null", which the origin check refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if r.Host != p.host {
		p.fail(w, http.StatusMisdirectedRequest, p.tr("This page is only for this PC.", "Diese Seite ist nur für diesen PC."))
		return
	}
	token, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	p.mu.Lock()
	pg := p.pages[token]
	var shot []byte
	if pg != nil {
		shot = pg.screenshot
	}
	p.mu.Unlock()
	if pg == nil {
		p.fail(w, http.StatusNotFound, p.tr("This page has expired. Please open it again from the tray menu.",
			"Diese Seite ist abgelaufen. Bitte öffnen Sie sie erneut über das Menü in der Taskleiste."))
		return
	}
	switch {
	case rest == "" && r.Method == http.MethodGet && pg.contact:
		p.render(w, http.StatusOK, "contact", view{Title: p.tr("Contact IT", "IT kontaktieren"), Contact: p.Contact, HasScreenshot: shot != nil})
	case rest == "" && r.Method == http.MethodGet:
		p.requests(w, r)
	case rest == "" && r.Method == http.MethodPost && pg.contact:
		p.submit(w, r, pg, shot)
	case rest == "screenshot.png" && r.Method == http.MethodGet && shot != nil:
		h.Set("Content-Type", "image/png")
		w.Write(shot)
	default:
		p.fail(w, http.StatusNotFound, p.tr("Not found.", "Nicht gefunden."))
	}
}

func (p *Pages) submit(w http.ResponseWriter, r *http.Request, pg *page, shot []byte) {
	if r.Header.Get("Origin") != "http://"+p.host {
		p.fail(w, http.StatusForbidden, p.tr("The form was sent from another page.", "Das Formular wurde von einer anderen Seite gesendet."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		p.fail(w, http.StatusRequestEntityTooLarge, p.tr(
			fmt.Sprintf("Your message is too long: at most %d characters. Please go back and shorten it.", core.MaxSupportMessage),
			fmt.Sprintf("Ihre Nachricht ist zu lang: höchstens %d Zeichen. Bitte gehen Sie zurück und kürzen Sie sie.", core.MaxSupportMessage)))
		return
	}
	v := view{Title: p.tr("Contact IT", "IT kontaktieren"), Message: r.PostForm.Get("message"),
		Contact: core.SupportContact{Name: strings.TrimSpace(r.PostForm.Get("name")),
			Email: strings.TrimSpace(r.PostForm.Get("email")), Phone: strings.TrimSpace(r.PostForm.Get("phone"))},
		HasScreenshot: shot != nil, AttachChecked: r.PostForm.Get("screenshot") == "1"}
	switch {
	case strings.TrimSpace(v.Message) == "":
		v.Error = p.tr("Please describe what IT can do for you.", "Bitte beschreiben Sie, was die IT für Sie tun kann.")
	case len(v.Message) > core.MaxSupportMessage:
		v.Error = p.tr(fmt.Sprintf("Your message is too long: at most %d characters.", core.MaxSupportMessage),
			fmt.Sprintf("Ihre Nachricht ist zu lang: höchstens %d Zeichen.", core.MaxSupportMessage))
	case len(v.Contact.Name) > core.MaxSupportContact || len(v.Contact.Email) > core.MaxSupportContact || len(v.Contact.Phone) > core.MaxSupportContact:
		v.Error = p.tr(fmt.Sprintf("Name, e-mail and phone may have at most %d characters each.", core.MaxSupportContact),
			fmt.Sprintf("Name, E-Mail und Telefon dürfen je höchstens %d Zeichen haben.", core.MaxSupportContact))
	}
	if v.Error != "" {
		p.render(w, http.StatusUnprocessableEntity, "contact", v)
		return
	}
	p.mu.Lock()
	busy := pg.sending || pg.sent
	pg.sending = !busy
	p.mu.Unlock()
	if busy {
		p.fail(w, http.StatusConflict, p.tr("This request was already sent.", "Diese Anfrage wurde bereits gesendet."))
		return
	}
	args := trayipc.SupportArgs{Message: v.Message, Contact: v.Contact, Lang: Lang(p.Lang)}
	if v.AttachChecked {
		args.Screenshot = shot
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	var reply trayipc.SupportReply
	err := p.Agent.Call(ctx, trayipc.OpSupport, args, &reply)
	p.mu.Lock()
	pg.sending, pg.sent = false, err == nil
	if err == nil {
		pg.screenshot = nil
	}
	p.mu.Unlock()
	if err != nil {
		var ipcErr *trayipc.Error
		if errors.As(err, &ipcErr) {
			v.Error = ipcErr.Message.In(p.Lang)
		} else {
			v.Error = p.tr("The Wacht service on this PC is not reachable, so your request was not sent. Your text is still here: please try again in a moment, or call IT.",
				"Der Wacht-Dienst auf diesem PC ist nicht erreichbar, deshalb wurde Ihre Anfrage nicht gesendet. Ihr Text ist noch da: Bitte versuchen Sie es gleich noch einmal oder rufen Sie die IT an.")
		}
		p.Log.Warn("sending a support request", "err", err)
		p.render(w, http.StatusServiceUnavailable, "contact", v)
		return
	}
	p.Log.Info("support request sent", "ref", reply.Ref, "screenshot", len(args.Screenshot) > 0)
	p.Changed()
	var st trayipc.Status
	v.Done = p.tr("Your request will be sent as soon as the PC is online.", "Ihre Anfrage wird gesendet, sobald der PC online ist.")
	if p.Agent.Call(ctx, trayipc.OpStatus, nil, &st) == nil && st.Connected {
		v.Done = p.tr("Your request has reached your IT.", "Ihre Anfrage ist bei Ihrer IT angekommen.")
	}
	p.render(w, http.StatusOK, "done", v)
}

func (p *Pages) requests(w http.ResponseWriter, r *http.Request) {
	v := view{Title: p.tr("My requests", "Meine Anfragen")}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	var reqs trayipc.Requests
	if err := p.Agent.Call(ctx, trayipc.OpRequests, nil, &reqs); err != nil {
		p.Log.Warn("listing support requests", "err", err)
		v.Error = p.tr("The Wacht service on this PC is not reachable. Please try again in a moment.",
			"Der Wacht-Dienst auf diesem PC ist nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.")
		p.render(w, http.StatusServiceUnavailable, "requests", v)
		return
	}
	v.Requests = reqs.Requests
	p.render(w, http.StatusOK, "requests", v)
	if err := p.Seen.MarkAll(reqs.Requests); err != nil {
		p.Log.Warn("saving the seen replies", "err", err)
	}
	p.Changed()
}
