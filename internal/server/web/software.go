package web

import (
	"net/http"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The software state of a device and of a client's devices (issue 17):
// per package what the policy wants, what the agent reports and the last
// deployment, from service.DeviceSoftwareState and ClientSoftwareState, so
// the API and the dashboard apply the same scope.

func init() { pageNames = append(pageNames, "software") }

func (s *server) softwareRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /devices/{id}/software", authz.Read, s.withSession(s.deviceSoftware))
	rt.HandleFunc("GET /clients/{id}/software", authz.Read, s.withSession(s.clientSoftware))
}

type softwarePage struct {
	ClientID   int64
	ClientName string
	Devices    []softwareDevice
	Client     bool // the client's page: one section per device
}

type softwareDevice struct {
	service.DeviceSoftware
	Rows []softwareStateRow
}

type softwareStateRow struct {
	service.SoftwareState
	Class string
}

func newSoftwareDevice(ds service.DeviceSoftware) softwareDevice {
	d := softwareDevice{DeviceSoftware: ds}
	for _, p := range ds.Packages {
		class := "unknown"
		if p.Status != service.SoftwarePending {
			class = statusClass(core.ParseStatus(p.Status))
		}
		d.Rows = append(d.Rows, softwareStateRow{SoftwareState: p, Class: class})
	}
	return d
}

func (s *server) deviceSoftware(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	d, err := s.svc.GetDevice(r.Context(), id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	ds, err := s.svc.DeviceSoftwareState(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "swstate.title"
	v.Device = newDeviceView(d, rc.lang)
	v.Page = softwarePage{Devices: []softwareDevice{newSoftwareDevice(ds)}}
	s.render(w, http.StatusOK, "software", v)
}

func (s *server) clientSoftware(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	c, err := s.svc.GetClient(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	all, err := s.svc.ClientSoftwareState(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	p := softwarePage{ClientID: c.ID, ClientName: c.Name, Client: true}
	for _, ds := range all {
		p.Devices = append(p.Devices, newSoftwareDevice(ds))
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "swstate.title"
	v.Page = p
	s.render(w, http.StatusOK, "software", v)
}
