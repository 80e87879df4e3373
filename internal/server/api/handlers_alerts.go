package api

import (
	"net/http"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// alertRoutes registers outages, acknowledgements, clearing checks,
// presence and the notification settings, recipients and outbox.
func (h *handler) alertRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/outages", authz.Read, h.listOutages)
	rt.HandleFunc("GET /api/v1/devices/{id}/outages", authz.Read, h.listDeviceOutages)
	rt.HandleFunc("POST /api/v1/outages/{id}/ack", authz.Operate, h.ackOutage)
	rt.HandleFunc("POST /api/v1/devices/{id}/checks/{check}/clear", authz.Operate, h.clearCheck)
	rt.HandleFunc("GET /api/v1/alerts/presence", authz.Read, h.listPresence)
	rt.HandleFunc("GET /api/v1/alerts/settings", authz.Admin, h.getAlertSettings)
	rt.HandleFunc("PUT /api/v1/alerts/settings", authz.Admin, h.putAlertSettings)
	rt.HandleFunc("POST /api/v1/alerts/settings/test", authz.Admin, h.testMail)
	rt.HandleFunc("GET /api/v1/alerts/recipients", authz.Admin, h.listRecipients)
	rt.HandleFunc("POST /api/v1/alerts/recipients", authz.Admin, h.createRecipient)
	rt.HandleFunc("DELETE /api/v1/alerts/recipients/{id}", authz.Admin, h.deleteRecipient)
	rt.HandleFunc("GET /api/v1/alerts/outbox", authz.Admin, h.listOutbox)
	rt.HandleFunc("POST /api/v1/alerts/outbox/{id}/retry", authz.Admin, h.retryOutbox)
}

// listOutages answers one page of the outages (service.OutageQuery's
// filters), newest opened first.
func (h *handler) listOutages(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		f, err := service.OutageQuery(r.URL.Query(), h.svc.Time())
		if err != nil {
			return nil, err
		}
		return h.outagePage(w, r, u, f)
	})
}

// listDeviceOutages answers one page of a device's outages (?open=true:
// the open ones).
func (h *handler) listDeviceOutages(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.outagePage(w, r, u, core.OutageFilter{DeviceID: id, OpenOnly: r.URL.Query().Get("open") == "true"})
	})
}

// outagePage lists the page of f that the request's paging asks for.
func (h *handler) outagePage(w http.ResponseWriter, r *http.Request, u core.User, f core.OutageFilter) (any, error) {
	return servePage(w, r, func(after core.PageKey, limit int) ([]core.Outage, error) {
		f.After, f.Limit = after, limit
		return h.svc.ListOutages(r.Context(), u, f)
	}, func(o core.Outage) core.PageKey { return core.PageKey{At: o.OpenedAt, ID: o.ID} },
		func() (int, error) { return h.svc.CountOutages(r.Context(), u, f) })
}

func (h *handler) ackOutage(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		var body struct {
			Comment string `json:"comment"`
		}
		if err := decode(w, r, &body); err != nil {
			return nil, err
		}
		return h.svc.AckOutage(r.Context(), u, id, body.Comment)
	})
}

func (h *handler) clearCheck(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		checkID, err := strconv.ParseInt(r.PathValue("check"), 10, 64)
		if err != nil || checkID <= 0 {
			return nil, core.ErrInvalid
		}
		var req service.ClearRequest
		if err := decode(w, r, &req); err != nil {
			return nil, err
		}
		return nil, h.svc.ClearCheck(r.Context(), u, id, checkID, req)
	})
}

func (h *handler) listPresence(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.ListPresence(r.Context(), u) })
}

func (h *handler) getAlertSettings(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.AlertSettings(r.Context(), u) })
}

func (h *handler) putAlertSettings(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		var s alert.Settings
		if err := decode(w, r, &s); err != nil {
			return nil, err
		}
		return h.svc.SetAlertSettings(r.Context(), u, s)
	})
}

func (h *handler) testMail(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		var req service.TestMailRequest
		if err := decode(w, r, &req); err != nil {
			return nil, err
		}
		return h.svc.SendTestMail(r.Context(), u, req)
	})
}

func (h *handler) listRecipients(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.ListRecipients(r.Context(), u) })
}

func (h *handler) createRecipient(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusCreated, func(u core.User) (any, error) {
		var req service.RecipientRequest
		if err := decode(w, r, &req); err != nil {
			return nil, err
		}
		req.Recipient.Secret = req.Secret
		return h.svc.CreateRecipient(r.Context(), u, req.Recipient)
	})
}

func (h *handler) deleteRecipient(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		return nil, h.svc.DeleteRecipient(r.Context(), u, id)
	})
}

// retryOutbox sends a given-up delivery back into the queue, as the
// dashboard's outbox does.
func (h *handler) retryOutbox(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		return nil, h.svc.RetryOutbox(r.Context(), u, id)
	})
}

func (h *handler) listOutbox(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		return servePage(w, r, func(after core.PageKey, limit int) ([]service.OutboxEntry, error) {
			return h.svc.OutboxPage(r.Context(), u, after, limit)
		}, func(e service.OutboxEntry) core.PageKey { return core.PageKey{ID: e.ID} }, nil)
	})
}
