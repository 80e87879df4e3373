package api

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// supportRoutes serve the tray app (issue 20): each client's branding and
// icon, and the support requests its users send.
func (h *handler) supportRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/clients/{id}/branding", authz.Read, h.getBranding)
	rt.HandleFunc("PUT /api/v1/clients/{id}/branding", authz.Operate, h.setBranding)
	rt.HandleFunc("GET /api/v1/clients/{id}/branding/icon", authz.Read, h.getBrandingIcon)
	rt.HandleFunc("PUT /api/v1/clients/{id}/branding/icon", authz.Operate, h.setBrandingIcon)
	rt.HandleFunc("DELETE /api/v1/clients/{id}/branding/icon", authz.Operate, h.deleteBrandingIcon)
	rt.HandleFunc("GET /api/v1/support-requests", authz.Read, h.listSupportRequests)
	rt.HandleFunc("GET /api/v1/support-requests/{id}", authz.Read, h.getSupportRequest)
	rt.HandleFunc("GET /api/v1/support-requests/{id}/screenshot", authz.Read, h.supportScreenshot)
	rt.HandleFunc("PATCH /api/v1/support-requests/{id}", authz.Operate, h.updateSupportRequest)
}

func (h *handler) getBranding(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.svc.GetBranding(r.Context(), u, id) })
}

// brandingBody is what PUT sets: every field but the icon; show is
// required, so that a body without it does not hide the tray.
type brandingBody struct {
	Show          *bool     `json:"show"`
	ProductName   string    `json:"product_name"`
	Phone         string    `json:"phone"`
	Email         string    `json:"email"`
	URL           string    `json:"url"`
	Hours         core.Text `json:"hours"`
	RemoteSupport string    `json:"remote_support"`
}

func (h *handler) setBranding(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		var b brandingBody
		if err := decode(w, r, &b); err != nil {
			return nil, err
		}
		if b.Show == nil {
			return nil, requiredField("show", "true or false", "true oder false")
		}
		return h.svc.SetBranding(r.Context(), u, core.Branding{ClientID: id, Show: *b.Show, ProductName: b.ProductName,
			Phone: b.Phone, Email: b.Email, URL: b.URL, Hours: b.Hours, RemoteSupport: b.RemoteSupport})
	})
}

// iconTypes are the Content-Types an icon upload may have.
var iconTypes = map[string]bool{"image/png": true, "image/x-icon": true, "image/vnd.microsoft.icon": true}

// setBrandingIcon takes the PNG or ICO file as the raw body; the service
// refuses one over core.MaxIconBytes, so reading one byte more suffices.
func (h *handler) setBrandingIcon(w http.ResponseWriter, r *http.Request) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); !iconTypes[ct] {
		writeJSON(w, http.StatusUnsupportedMediaType, protocol.ErrorResponse{
			Error: "send the icon as image/png, image/x-icon or image/vnd.microsoft.icon", Code: "unsupported_media_type"})
		return
	}
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		data, err := io.ReadAll(io.LimitReader(r.Body, core.MaxIconBytes+1))
		if err != nil {
			return nil, fmt.Errorf("reading the icon: %v: %w", err, core.ErrInvalid)
		}
		if len(data) == 0 {
			return nil, fmt.Errorf("the icon is empty (DELETE removes it): %w", core.ErrInvalid)
		}
		return h.svc.SetBrandingIcon(r.Context(), u, id, data)
	})
}

func (h *handler) deleteBrandingIcon(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		_, err := h.svc.SetBrandingIcon(r.Context(), u, id, nil)
		return nil, err
	})
}

func (h *handler) getBrandingIcon(w http.ResponseWriter, r *http.Request) {
	h.servePNG(w, r, func(u core.User, id int64) ([]byte, error) { return h.svc.BrandingIcon(r.Context(), u, id) })
}

func (h *handler) supportScreenshot(w http.ResponseWriter, r *http.Request) {
	h.servePNG(w, r, func(u core.User, id int64) ([]byte, error) { return h.svc.SupportScreenshot(r.Context(), u, id) })
}

// servePNG answers with the PNG that fn returns for the route's {id}.
func (h *handler) servePNG(w http.ResponseWriter, r *http.Request, fn func(u core.User, id int64) ([]byte, error)) {
	b, err := func() ([]byte, error) {
		id, err := pathID(r)
		if err != nil {
			return nil, err
		}
		u, err := service.Caller(r.Context())
		if err != nil {
			return nil, err
		}
		return fn(u, id)
	}()
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// A screenshot is the tray's upload, checked only for its signature:
	// opened on its own, it may run nothing.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b) // the status is sent; a failed write has no one to tell
}

// supportList is the answer to a list: one page and the total.
type supportList struct {
	Requests []core.SupportRequest `json:"requests"`
	Total    int                   `json:"total"`
}

// maxSupportOffset: offset reaches the newest maxSupportOffset requests
// (after the cursor, if any).
const maxSupportOffset = 10000

// listSupportRequests: ?client=&device=&state=, paged by ?limit= and
// ?cursor= like the other lists, and still by ?offset=; the body keeps
// its shape, the page and the total.
func (h *handler) listSupportRequests(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		n, err := queryInts(r, "client", "device", "offset")
		if err != nil {
			return nil, err
		}
		offset := int(n[2])
		if offset > maxSupportOffset {
			return nil, fmt.Errorf("offset above %d: narrow the list with client, device or state: %w", maxSupportOffset, core.ErrInvalid)
		}
		p, after, err := readKeysetPage(r.URL.Query())
		if err != nil {
			return nil, err
		}
		// The store pages by limit only: read offset+limit, skip offset.
		rs, total, err := h.svc.ListSupportRequests(r.Context(), u, core.SupportFilter{ClientID: n[0], DeviceID: n[1],
			State: r.URL.Query().Get("state"), After: after, Limit: offset + p.fetch()})
		if err != nil {
			return nil, err
		}
		rs, next := keysetPage(rs[min(offset, len(rs)):], p, func(x core.SupportRequest) core.PageKey {
			return core.PageKey{At: x.ReceivedAt, ID: x.ID}
		})
		// The next page continues after the cursor: no offset again.
		rn := r.Clone(r.Context())
		q := rn.URL.Query()
		q.Del("offset")
		rn.URL.RawQuery = q.Encode()
		setPageHeaders(w, rn, next, total)
		return supportList{Requests: rs, Total: total}, nil
	})
}

func (h *handler) getSupportRequest(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.svc.GetSupportRequest(r.Context(), u, id) })
}

// updateSupportRequest takes {"state": "...", "reply": "..."}; either may
// be left out.
func (h *handler) updateSupportRequest(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		var b struct {
			State string `json:"state"`
			Reply string `json:"reply"`
		}
		if err := decode(w, r, &b); err != nil {
			return nil, err
		}
		return h.svc.UpdateSupportRequest(r.Context(), u, id, b.State, b.Reply)
	})
}
