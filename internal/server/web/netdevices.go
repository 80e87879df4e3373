package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netdev"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Network devices without an agent: the add/edit form of a site's
// network device (fields, probe, checks as rows like the policy form) and
// retiring it. The service.Service checks roles and client scope, validates,
// seals secrets and audits; secrets are never rendered back.

func init() { pageNames = append(pageNames, "netdevice") }

func (s *server) netDeviceRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /sites/{id}/network-devices/new", authz.Operate, s.withSession(s.newNetDevice))
	rt.HandleFunc("POST /sites/{id}/network-devices", authz.Operate, s.withSession(s.saveNetDevice(true)))
	rt.HandleFunc("GET /network-devices/{id}/edit", authz.Operate, s.withSession(s.editNetDevice))
	rt.HandleFunc("POST /network-devices/{id}", authz.Operate, s.withSession(s.saveNetDevice(false)))
	rt.HandleFunc("POST /network-devices/{id}/retire", authz.Operate, s.withSession(s.retireNetDevice))
}

type netDeviceForm struct {
	Site       core.Site
	Dev        service.NetDevice // ID 0 for a new one
	New        bool
	Types      []string
	CheckTypes []string
	Probes     []service.Device // the site's active agents
	Rows       []policyRow
	Errors     map[string]string // by field: name, address, type, probe_id, checks
}

// siteOf returns the site u may see, or core.ErrNotFound.
func (s *server) siteOf(ctx context.Context, u core.User, id int64) (core.Site, error) {
	sites, err := s.svc.ListSites(ctx, u)
	if err != nil {
		return core.Site{}, err
	}
	for _, st := range sites {
		if st.ID == id {
			return st, nil
		}
	}
	return core.Site{}, core.ErrNotFound
}

// probes lists the agents of a site that can run a network device's checks.
func (s *server) probes(ctx context.Context, u core.User, st core.Site) ([]service.Device, error) {
	ds, err := s.svc.ListDevicesFor(ctx, u, service.DeviceFilter{ClientID: st.ClientID})
	if err != nil {
		return nil, err
	}
	var out []service.Device
	for _, d := range ds {
		if d.SiteID == st.ID && d.State == core.DeviceActive && d.Role != core.KindNetwork {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *server) renderNetDevice(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, st core.Site, d service.NetDevice, ve *policy.ValidationError) {
	ps, err := s.probes(r.Context(), rc.user, st)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	f := netDeviceForm{Site: st, Dev: d, New: d.ID == 0, Types: core.NetDeviceTypes, CheckTypes: service.NetCheckTypes(),
		Probes: ps, Errors: map[string]string{}}
	checks := slices.Clone(d.Checks)
	for i := range checks {
		checks[i].SecretsSet = d.SecretsSet[checks[i].Name]
	}
	f.Rows = rowsOf(checks, ve, rc.lang, false, rc.user.Role == core.RoleAdmin)
	if ve != nil {
		var other []string
		for _, fe := range ve.Fields {
			switch {
			case slices.Contains([]string{"name", "address", "type", "probe_id"}, fe.Field):
				// The template names the field by its label.
				f.Errors[fe.Field] = fe.Message.In(rc.lang.Code())
			case !strings.HasPrefix(fe.Field, "checks["):
				other = append(other, fe.In(rc.lang.Code()))
			}
		}
		if len(other) > 0 {
			f.Errors["checks"] = strings.Join(other, "; ")
		}
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "netdev.title", f
	if ve != nil {
		v.Error = "policy.invalid"
	}
	s.render(w, status, "netdevice", v)
}

func (s *server) newNetDevice(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	st, err := s.siteOf(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	d := service.NetDevice{NetDevice: core.NetDevice{SiteID: st.ID, ClientID: st.ClientID, Type: "router"}}
	s.renderNetDevice(w, r, rc, http.StatusOK, st, d, nil)
}

func (s *server) editNetDevice(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	d, err := s.svc.GetNetDevice(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	st, err := s.siteOf(r.Context(), rc.user, d.SiteID)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.renderNetDevice(w, r, rc, http.StatusOK, st, d, nil)
}

// formNetDevice reads the form; the check rows are read like the policy
// form's.
func formNetDevice(r *http.Request) service.NetDeviceInput {
	in := service.NetDeviceInput{
		Name:    r.PostFormValue("name"),
		Address: r.PostFormValue("address"),
		Type:    r.PostFormValue("type"),
		Checks:  formPolicy(r).Checks,
	}
	if p := strings.TrimSpace(r.PostFormValue("probe_id")); p != "" {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			id = -1 // refused by validation, naming the field
		}
		in.ProbeID = id
	}
	return in
}

func (s *server) saveNetDevice(create bool) func(http.ResponseWriter, *http.Request, *reqCtx) {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		id, err := pathID(r)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		ctx := r.Context()
		siteID, devID := int64(0), id
		var old service.NetDevice
		if create {
			siteID, devID = id, 0
		} else if old, err = s.svc.GetNetDevice(ctx, rc.user, id); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		in := formNetDevice(r)
		d, err := s.svc.SaveNetDevice(ctx, rc.user, siteID, devID, in)
		var ve *policy.ValidationError
		status := http.StatusBadRequest
		if pe := (*policy.PrivilegeError)(nil); errors.As(err, &pe) {
			// A privileged parameter of a technician: the rows say which.
			ve, status = &policy.ValidationError{Fields: pe.Fields}, http.StatusForbidden
		}
		if ve != nil || errors.As(err, &ve) {
			if create {
				siteID = id
			} else {
				siteID = old.SiteID
			}
			st, serr := s.siteOf(ctx, rc.user, siteID)
			if serr != nil {
				s.renderError(w, r, rc.lang, serr)
				return
			}
			// Show the form as sent, but never a secret typed into it.
			checks := in.Checks
			if stripped, _, err := netdev.Split(in.Checks, nil); err == nil {
				checks = stripped
			}
			back := service.NetDevice{NetDevice: core.NetDevice{ID: devID, SiteID: st.ID, ClientID: st.ClientID,
				Name: in.Name, Address: in.Address, Type: in.Type, ProbeID: in.ProbeID, Checks: checks},
				SecretsSet: old.SecretsSet}
			s.renderNetDevice(w, r, rc, status, st, back, ve)
			return
		}
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		http.Redirect(w, r, "/devices/"+strconv.FormatInt(d.ID, 10), http.StatusSeeOther)
	}
}

func (s *server) retireNetDevice(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) {
		d, err := s.svc.GetNetDevice(r.Context(), rc.user, id)
		if err != nil {
			return "", err
		}
		return "/clients/" + strconv.FormatInt(d.ClientID, 10), s.svc.RetireNetDevice(r.Context(), rc.user, id)
	})
}

// netDeviceOf returns the network device behind a device page, nil for an
// agent.
func (s *server) netDeviceOf(ctx context.Context, u core.User, d service.Device) (*service.NetDevice, error) {
	if d.Role != core.KindNetwork {
		return nil, nil
	}
	nd, err := s.svc.GetNetDevice(ctx, u, d.ID)
	if errors.Is(err, core.ErrNotFound) {
		return nil, nil // retired
	}
	if err != nil {
		return nil, err
	}
	return &nd, nil
}

// addProbes names the probe of each network device in the overview.
func (s *server) addProbes(ctx context.Context, lang Lang, ds []service.Device, cs []clientView) error {
	nds, err := s.store.ListNetDevices(ctx, 0)
	if err != nil {
		return err
	}
	probe := make(map[int64]int64, len(nds))
	for _, nd := range nds {
		probe[nd.ID] = nd.ProbeID
	}
	host := make(map[int64]string, len(ds))
	for _, d := range ds {
		host[d.ID] = d.Hostname
	}
	for ci := range cs {
		for si := range cs[ci].Sites {
			for di := range cs[ci].Sites[si].Devices {
				dv := &cs[ci].Sites[si].Devices[di]
				p, ok := probe[dv.ID]
				switch {
				case !ok:
				case p == 0:
					dv.Probe = lang.T("netdev.server")
				default:
					dv.Probe = host[p]
				}
			}
		}
	}
	return nil
}
