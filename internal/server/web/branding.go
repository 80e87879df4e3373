package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The "Tray app" card of the client page (issue 20): the client's
// branding of the tray — shown or not, product name, contact, opening
// hours, remote-support tool and icon — with a preview of the tray's menu.
// The service validates, authorizes (reading: every role in scope;
// changing: Operate) and audits; a refused save shows the card again with
// what was typed and each message beside its field.

// remoteSupportTools are the choices of the remote-support select, "" (none)
// first.
var remoteSupportTools = []string{"", core.RemoteSupportTeamViewer, core.RemoteSupportAnyDesk, core.RemoteSupportRustDesk}

func (s *server) brandingRoutes(rt *auth.Router) {
	rt.HandleFunc("POST /clients/{id}/branding", authz.Operate, s.withSession(s.saveBranding))
	rt.HandleFunc("GET /clients/{id}/branding/icon", authz.Read, s.withSession(s.brandingIcon))
	rt.HandleFunc("POST /clients/{id}/branding/icon", authz.Operate, s.withSession(s.uploadBrandingIcon))
	rt.HandleFunc("POST /clients/{id}/branding/icon/delete", authz.Operate, s.withSession(s.deleteBrandingIcon))
}

// iconUpload reports whether r is an icon upload, whose body may be bigger
// than an ordinary form's (bigForm): a too big icon is then refused beside
// its field rather than as a broken form.
func iconUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/clients/") && strings.HasSuffix(r.URL.Path, "/branding/icon")
}

// trayForm is the card as shown: the stored branding, or after a refused
// save what was posted.
type trayForm struct {
	core.Branding
	// Errors are the messages per field (product_name, phone, email, url,
	// hours.de, hours.en, remote_support, icon); Error the rest.
	Errors map[string]string
	Error  string
	Notice string // catalog key after a successful change
}

// Tools are the remote-support choices.
func (trayForm) Tools() []string { return remoteSupportTools }

// DefaultName is the product name the tray shows when none is set.
func (trayForm) DefaultName() string { return core.DefaultProductName }

// Name is the product name as the tray shows it.
func (f trayForm) Name() string {
	if f.ProductName == "" {
		return core.DefaultProductName
	}
	return f.ProductName
}

// Err is the message of one field, "" if none.
func (f trayForm) Err(field string) string { return f.Errors[field] }

// MinSide, MaxSide and MaxKB are the icon's limits as the field's help
// shows them.
func (trayForm) MinSide() int { return core.MinIconSide }
func (trayForm) MaxSide() int { return core.MaxIconSide }
func (trayForm) MaxKB() int   { return core.MaxIconBytes >> 10 }

// brandingFormPosted reads the card's fields.
func brandingFormPosted(r *http.Request, clientID int64) core.Branding {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return core.Branding{ClientID: clientID, Show: r.PostFormValue("show") == "on", ProductName: v("product_name"),
		Phone: v("phone"), Email: v("email"), URL: v("url"),
		Hours:         core.Text{DE: v("hours_de"), EN: v("hours_en")},
		RemoteSupport: v("remote_support")}
}

// brandingFields are the fields a message may name, by the names the
// service's validation uses.
var brandingFields = map[string]string{
	"product_name": "product_name", "phone": "phone", "email": "email", "url": "url",
	"hours.de": "hours.de", "hours.en": "hours.en", "remote_support": "remote_support", "icon": "icon",
}

// brandingRefusal places a refusal's messages beside their fields (field
// is where a message without one goes: "" the card's top). It reports
// false for an error that is not a refusal of the input.
func brandingRefusal(f *trayForm, lang Lang, err error, field string) bool {
	f.Errors = map[string]string{}
	place := func(name string, msg core.Text) {
		text := msg.In(lang.Code())
		if k, ok := brandingFields[name]; ok {
			name = k
		} else if name != "" {
			text = name + ": " + text // a field the card does not show
			name = field
		} else {
			name = field
		}
		if name == "" {
			f.Error = joinMsg(f.Error, text)
			return
		}
		f.Errors[name] = joinMsg(f.Errors[name], text)
	}
	var ve *policy.ValidationError
	switch t, ok := service.Reason(err); {
	case errors.As(err, &ve):
		for _, fe := range ve.Fields {
			place(fe.Field, fe.Message)
		}
	case ok:
		place("", t)
	default:
		return false
	}
	return true
}

// trayCard loads the client's branding for the client page.
func (s *server) trayCard(r *http.Request, rc *reqCtx, id int64) (*trayForm, error) {
	b, err := s.svc.GetBranding(r.Context(), rc.user, id)
	if err != nil {
		return nil, err
	}
	f := &trayForm{Branding: b}
	switch r.URL.Query().Get("tray") {
	case "saved", "icon", "iconRemoved":
		f.Notice = "tray.notice." + r.URL.Query().Get("tray")
	}
	return f, nil
}

func (s *server) saveBranding(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	b := brandingFormPosted(r, id)
	if _, err := s.svc.SetBranding(r.Context(), rc.user, b); err != nil {
		s.brandingRefused(w, r, rc, id, b, err, "")
		return
	}
	http.Redirect(w, r, trayPath(id, "saved"), http.StatusSeeOther)
}

// brandingRefused shows the client page with the card as posted (b) and
// the refusal's messages, or the error page for anything else.
func (s *server) brandingRefused(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, b core.Branding, err error, field string) {
	f := &trayForm{Branding: b}
	if !brandingRefusal(f, rc.lang, err, field) {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.clientPageWith(w, r, rc, id, http.StatusBadRequest, "", 0, f)
}

func trayPath(id int64, done string) string {
	return "/clients/" + strconv.FormatInt(id, 10) + "?tray=" + done + "#tray"
}

// brandingIcon serves the client's icon (the service re-encoded it as a
// PNG); 404 without one.
func (s *server) brandingIcon(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	png, err := s.svc.BrandingIcon(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	servePNG(w, png)
}

// servePNG answers with an image the service stored as PNG; nosniff
// (securityHeaders) keeps a browser from reading it as anything else, and
// a screenshot (checked only for its signature) opened on its own runs
// nothing in the sandbox.
func servePNG(w http.ResponseWriter, png []byte) {
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Content-Disposition", "inline")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	_, _ = w.Write(png)
}

// uploadBrandingIcon takes the card's file field "icon" (PNG or ICO).
func (s *server) uploadBrandingIcon(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	data, err := formFile(r, "icon", core.MaxIconBytes)
	switch {
	case err != nil || len(data) == 0:
		err = iconRefusal("choose a PNG or ICO file", "wählen Sie eine PNG- oder ICO-Datei")
	case len(data) > core.MaxIconBytes:
		err = iconRefusal(fmt.Sprintf("the icon is larger than %d KB", core.MaxIconBytes>>10),
			fmt.Sprintf("das Symbol ist größer als %d KB", core.MaxIconBytes>>10))
	default:
		_, err = s.svc.SetBrandingIcon(r.Context(), rc.user, id, data)
	}
	if err != nil {
		s.iconRefused(w, r, rc, id, err)
		return
	}
	http.Redirect(w, r, trayPath(id, "icon"), http.StatusSeeOther)
}

func (s *server) deleteBrandingIcon(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if _, err := s.svc.SetBrandingIcon(r.Context(), rc.user, id, nil); err != nil {
		s.iconRefused(w, r, rc, id, err)
		return
	}
	http.Redirect(w, r, trayPath(id, "iconRemoved"), http.StatusSeeOther)
}

// iconRefused shows the card with the stored branding and the refusal
// beside the icon field.
func (s *server) iconRefused(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, err error) {
	b, gerr := s.svc.GetBranding(r.Context(), rc.user, id)
	if gerr != nil {
		s.renderError(w, r, rc.lang, gerr)
		return
	}
	s.brandingRefused(w, r, rc, id, b, err, "icon")
}

func iconRefusal(en, de string) error {
	return &policy.ValidationError{Fields: []policy.FieldError{{Field: "icon", Message: core.Text{EN: en, DE: de}}}}
}

// formFile reads one file field of a multipart form, at most limit+1
// bytes of it (so that a caller sees it was too big); no file gives nil,
// a form that is not multipart core.ErrInvalid.
func formFile(r *http.Request, field string, limit int) ([]byte, error) {
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		return nil, core.ErrInvalid
	}
	f, _, err := r.FormFile(field)
	if errors.Is(err, http.ErrMissingFile) {
		return nil, nil
	}
	if err != nil {
		return nil, core.ErrInvalid
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, int64(limit)+1))
}
