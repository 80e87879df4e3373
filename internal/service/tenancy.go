package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// Authorization in the Service: the route's guard has checked the role; the
// Service checks the client of every object. An object of a client outside
// the caller's scope is core.ErrNotFound (404), never ErrForbidden, so that
// IDs of other customers cannot be probed.

// Caller returns the authenticated user of ctx, or ErrUnauthorized.
func Caller(ctx context.Context) (core.User, error) {
	u, ok := auth.UserFrom(ctx)
	if !ok || u.ID == 0 {
		return core.User{}, core.ErrUnauthorized
	}
	return u, nil
}

// need checks u's role for p; ErrForbidden otherwise.
func need(u core.User, p authz.Perm) error {
	if !authz.Allows(u, p) {
		return core.ErrForbidden
	}
	return nil
}

// record writes an audit entry for u's action. Errors are returned: a
// change that cannot be audited is reported as failed.
func (s *Service) record(ctx context.Context, u core.User, action, target, detail, result string) error {
	if err := s.store.Audit(ctx, s.auditEntry(ctx, u, action, target, detail, result)); err != nil {
		return fmt.Errorf("auditing %s: %w", action, err)
	}
	return nil
}

// cliID is the ID of CLI; stored users have positive IDs.
const cliID = -1

// CLI is the caller of the admin command line (`wacht user add`, `wacht
// apitoken create`…). Whoever runs it holds the database and its key, so it
// may do what an administrator of every client may; the audit log names it
// "cli", apart from every user.
var CLI = core.User{ID: cliID, Email: "cli", Role: core.RoleAdmin}

// Actor names u in the audit log and in "acknowledged by" fields:
// "user:<e-mail>", "cli" for the command line, "anonymous" for nobody.
func Actor(u core.User) string {
	switch u.ID {
	case cliID:
		return "cli"
	case 0:
		return "anonymous"
	}
	return "user:" + u.Email
}

// auditEntry is the audit entry of u's action, at the Service's now.
func (s *Service) auditEntry(ctx context.Context, u core.User, action, target, detail, result string) core.AuditEntry {
	return core.AuditEntry{
		At: s.now().UTC().Truncate(time.Millisecond), Actor: Actor(u), Remote: auth.RemoteFrom(ctx),
		Action: action, Target: target, Detail: detail, Result: result,
	}
}

// RecordDenied audits a change that u's role may not make (the route's
// guard refused it); a failed audit write is logged only.
func (s *Service) RecordDenied(ctx context.Context, u core.User, method, path string) {
	if err := s.record(ctx, u, "access.denied", method+" "+path, "role "+u.Role, core.AuditDenied); err != nil {
		s.log.Error("auditing a denied request", "err", err)
	}
}

func target(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }

// DeviceFilter narrows ListDevicesFor.
type DeviceFilter struct {
	Tag           string // only devices with this tag
	ClientID      int64  // only this client's devices
	IncludeRetire bool   // retired devices too (hidden by default)
}

// ListDevicesFor returns every device u may see that match f, by ID: the
// device list's query (DeviceList) unpaged, in the order its callers have
// always had.
func (s *Service) ListDevicesFor(ctx context.Context, u core.User, f DeviceFilter) ([]Device, error) {
	if u.ID == 0 || !core.ValidRole(u.Role) {
		return []Device{}, nil // sees no client (authz.CanSeeClient)
	}
	q := core.DeviceListQuery{Retired: f.IncludeRetire, Scope: u.Scope, Now: s.now(), OnlineWindow: s.onlineWindow}
	if f.Tag != "" {
		q.Tags = []string{f.Tag}
	}
	if f.ClientID != 0 {
		q.ClientIDs = []int64{f.ClientID}
	}
	p, err := s.store.QueryDevices(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	out := make([]Device, len(p.Devices))
	for i, r := range p.Devices {
		out[i] = deviceFor(u, r.Device, r.Online)
	}
	slices.SortFunc(out, func(a, b Device) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// deviceFor is d as u sees it. The machine ID is shown only to users who
// may operate devices: it is not needed to watch them, and it used to be
// half of what took a device over (issue 12, M4).
func deviceFor(u core.User, d core.Device, online bool) Device {
	if !authz.Allows(u, authz.Operate) {
		d.MachineID = ""
	}
	return Device{Device: d, Online: online}
}

// device returns a device u may see; core.ErrNotFound otherwise.
func (s *Service) device(ctx context.Context, u core.User, id int64) (core.Device, error) {
	d, err := s.store.GetDevice(ctx, id)
	if err != nil {
		return core.Device{}, fmt.Errorf("getting device %d: %w", id, err)
	}
	if !authz.CanSeeClient(u, d.ClientID) {
		return core.Device{}, fmt.Errorf("device %d: %w", id, core.ErrNotFound)
	}
	return d, nil
}

// ListClients returns the clients u may see.
func (s *Service) ListClients(ctx context.Context, u core.User) ([]core.Client, error) {
	cs, err := s.store.ListClients(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing clients: %w", err)
	}
	out := []core.Client{}
	for _, c := range cs {
		if authz.CanSeeClient(u, c.ID) {
			out = append(out, c)
		}
	}
	return out, nil
}

// GetClient returns a client u may see.
func (s *Service) GetClient(ctx context.Context, u core.User, id int64) (core.Client, error) {
	if !authz.CanSeeClient(u, id) {
		return core.Client{}, fmt.Errorf("client %d: %w", id, core.ErrNotFound)
	}
	c, err := s.store.GetClient(ctx, id)
	if err != nil {
		return core.Client{}, fmt.Errorf("getting client %d: %w", id, err)
	}
	return c, nil
}

// CreateClient creates a client (administrators only: a new client is
// outside every restricted scope).
func (s *Service) CreateClient(ctx context.Context, u core.User, c *core.Client) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	if err := cleanClient(c); err != nil {
		return err
	}
	c.CreatedAt = s.now() // the report schedule begins here
	if err := s.store.CreateClient(ctx, c); err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	return s.record(ctx, u, "client.create", target("client", c.ID), c.Name, core.AuditOK)
}

// UpdateClient renames a client and sets its contact details.
func (s *Service) UpdateClient(ctx context.Context, u core.User, c core.Client) error {
	if err := need(u, authz.Operate); err != nil {
		return err
	}
	old, err := s.GetClient(ctx, u, c.ID)
	if err != nil {
		return err
	}
	if err := cleanClient(&c); err != nil {
		return err
	}
	if c.ReportLang == "" {
		c.ReportLang = old.ReportLang
	}
	if err := s.store.UpdateClient(ctx, c); err != nil {
		return fmt.Errorf("updating client %d: %w", c.ID, err)
	}
	return s.record(ctx, u, "client.update", target("client", c.ID), old.Name+" → "+c.Name, core.AuditOK)
}

// DeleteClient deletes a client (administrators only). With devices left it
// returns core.ErrConflict unless confirm, and then retires them.
func (s *Service) DeleteClient(ctx context.Context, u core.User, id int64, confirm bool) (int, error) {
	if err := need(u, authz.Admin); err != nil {
		return 0, err
	}
	c, err := s.GetClient(ctx, u, id)
	if err != nil {
		return 0, err
	}
	ids, err := s.deviceIDs(ctx, func(d core.Device) bool { return d.ClientID == id })
	if err != nil {
		return 0, err
	}
	n, err := s.store.DeleteClient(ctx, id, confirm, s.now())
	if err != nil {
		return 0, fmt.Errorf("deleting client %d: %w", id, err)
	}
	s.uninstallAll(ctx, ids)
	return n, s.record(ctx, u, "client.delete", target("client", id), fmt.Sprintf("%s; %d devices retired", c.Name, n), core.AuditOK)
}

// cleanName trims *v and checks it with policy.CleanName; the error is a
// *policy.ValidationError naming field.
func cleanName(field string, v *string) error {
	var fe *policy.FieldError
	if *v, fe = policy.CleanName(field, *v, policy.MaxLabelLen); fe != nil {
		return validation([]policy.FieldError{*fe})
	}
	return nil
}

// cleanClient trims a client's name and contact details and refuses
// control characters and overlong values in any of them, listing every
// refused field.
func cleanClient(c *core.Client) error {
	var fs []policy.FieldError
	for _, f := range []struct {
		name     string
		v        *string
		optional bool
	}{{"name", &c.Name, false}, {"contact_name", &c.ContactName, true},
		{"contact_email", &c.ContactEmail, true}, {"contact_phone", &c.ContactPhone, true}} {
		if f.optional && strings.TrimSpace(*f.v) == "" {
			*f.v = ""
			continue
		}
		if err := cleanName(f.name, f.v); err != nil {
			fs = append(fs, err.(*policy.ValidationError).Fields...)
		}
	}
	return validation(fs)
}

// ListSites returns the sites u may see.
func (s *Service) ListSites(ctx context.Context, u core.User) ([]core.Site, error) {
	ss, err := s.store.ListSites(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing sites: %w", err)
	}
	out := []core.Site{}
	for _, st := range ss {
		if authz.CanSeeClient(u, st.ClientID) {
			out = append(out, st)
		}
	}
	return out, nil
}

func (s *Service) site(ctx context.Context, u core.User, id int64) (core.Site, error) {
	st, err := s.store.GetSite(ctx, id)
	if err != nil {
		return core.Site{}, fmt.Errorf("getting site %d: %w", id, err)
	}
	if !authz.CanSeeClient(u, st.ClientID) {
		return core.Site{}, fmt.Errorf("site %d: %w", id, core.ErrNotFound)
	}
	return st, nil
}

// GetSite returns a site u may see.
func (s *Service) GetSite(ctx context.Context, u core.User, id int64) (core.Site, error) {
	return s.site(ctx, u, id)
}

// CreateSite creates a site of a client u may operate on.
func (s *Service) CreateSite(ctx context.Context, u core.User, st *core.Site) error {
	if err := need(u, authz.Operate); err != nil {
		return err
	}
	if _, err := s.GetClient(ctx, u, st.ClientID); err != nil {
		return err
	}
	if err := cleanName("name", &st.Name); err != nil {
		return err
	}
	if err := s.store.CreateSite(ctx, st); err != nil {
		return fmt.Errorf("creating site: %w", err)
	}
	return s.record(ctx, u, "site.create", target("site", st.ID), st.ClientName+" / "+st.Name, core.AuditOK)
}

// RenameSite renames a site.
func (s *Service) RenameSite(ctx context.Context, u core.User, id int64, name string) error {
	if err := need(u, authz.Operate); err != nil {
		return err
	}
	st, err := s.site(ctx, u, id)
	if err != nil {
		return err
	}
	if err := cleanName("name", &name); err != nil {
		return err
	}
	if err := s.store.RenameSite(ctx, id, name); err != nil {
		return fmt.Errorf("renaming site %d: %w", id, err)
	}
	return s.record(ctx, u, "site.rename", target("site", id), st.Name+" → "+name, core.AuditOK)
}

// DeleteSite deletes a site; like DeleteClient it needs confirm to retire
// devices.
func (s *Service) DeleteSite(ctx context.Context, u core.User, id int64, confirm bool) (int, error) {
	if err := need(u, authz.Operate); err != nil {
		return 0, err
	}
	st, err := s.site(ctx, u, id)
	if err != nil {
		return 0, err
	}
	ids, err := s.deviceIDs(ctx, func(d core.Device) bool { return d.SiteID == id })
	if err != nil {
		return 0, err
	}
	n, err := s.store.DeleteSite(ctx, id, confirm, s.now())
	if err != nil {
		return 0, fmt.Errorf("deleting site %d: %w", id, err)
	}
	s.uninstallAll(ctx, ids)
	return n, s.record(ctx, u, "site.delete", target("site", id), fmt.Sprintf("%s; %d devices retired", st.Name, n), core.AuditOK)
}

// DeviceChange is a partial update of a device; nil fields stay.
type DeviceChange struct {
	SiteID *int64    `json:"site_id,omitempty"`
	Role   *string   `json:"role,omitempty"`
	Tags   *[]string `json:"tags,omitempty"`
}

// UpdateDevice moves a device (within u's scope), sets its role or tags.
func (s *Service) UpdateDevice(ctx context.Context, u core.User, id int64, ch DeviceChange) (Device, error) {
	if err := need(u, authz.Operate); err != nil {
		return Device{}, err
	}
	d, err := s.device(ctx, u, id)
	if err != nil {
		return Device{}, err
	}
	if d.State == core.DeviceRetired {
		return Device{}, fmt.Errorf("device %d is retired: %w", id, core.ErrConflict)
	}
	t := target("device", id)
	if ch.SiteID != nil && *ch.SiteID != d.SiteID {
		st, err := s.site(ctx, u, *ch.SiteID)
		if err != nil {
			return Device{}, err
		}
		if err := s.store.MoveDevice(ctx, id, st.ID); err != nil {
			return Device{}, fmt.Errorf("moving device %d: %w", id, err)
		}
		if err := s.record(ctx, u, "device.move", t, d.SiteName+" → "+st.ClientName+" / "+st.Name, core.AuditOK); err != nil {
			return Device{}, err
		}
	}
	if ch.Role != nil && *ch.Role != d.Role {
		if err := s.store.SetDeviceRole(ctx, id, *ch.Role); err != nil {
			return Device{}, fmt.Errorf("setting role of device %d: %w", id, err)
		}
		if err := s.record(ctx, u, "device.role", t, d.Role+" → "+*ch.Role, core.AuditOK); err != nil {
			return Device{}, err
		}
	}
	if ch.Tags != nil {
		if err := s.store.SetDeviceTags(ctx, id, *ch.Tags); err != nil {
			return Device{}, fmt.Errorf("setting tags of device %d: %w", id, err)
		}
		if err := s.record(ctx, u, "device.tags", t, fmt.Sprint(*ch.Tags), core.AuditOK); err != nil {
			return Device{}, err
		}
	}
	nd, err := s.device(ctx, u, id)
	if err != nil {
		return Device{}, err
	}
	return deviceFor(u, nd, s.online(nd, s.now())), nil
}

// RetireDevice takes a device out of service: it stops counting, its agent
// is told to uninstall itself now if connected (else on its next connect,
// when the gateway refuses it as retired), and its sessions are refused.
func (s *Service) RetireDevice(ctx context.Context, u core.User, id int64) error {
	if err := need(u, authz.Operate); err != nil {
		return err
	}
	d, err := s.device(ctx, u, id)
	if err != nil {
		return err
	}
	if err := s.store.RetireDevice(ctx, id, s.now()); err != nil {
		return fmt.Errorf("retiring device %d: %w", id, err)
	}
	detail := d.Hostname + "; uninstall " + s.uninstall(ctx, id)
	return s.record(ctx, u, "device.retire", target("device", id), detail, core.AuditOK)
}

// uninstall tells a connected agent to uninstall itself and says how that
// went, for the audit log.
func (s *Service) uninstall(ctx context.Context, id int64) string {
	if s.cmd == nil {
		return "pending (agent offline)"
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	res, err := s.cmd.Command(cctx, id, protocol.Command{Name: protocol.CommandUninstall})
	// End the session too: an agent that ignored the command reconnects,
	// is refused as retired, and uninstalls then.
	if d, ok := s.cmd.(interface{ Disconnect(int64, string) }); ok {
		d.Disconnect(id, "device retired")
	}
	switch {
	case errors.Is(err, core.ErrOffline):
		return "pending (agent offline)"
	case err != nil:
		return "pending (" + err.Error() + ")"
	case !res.OK:
		return "failed: " + res.Error
	}
	return "sent"
}

func (s *Service) uninstallAll(ctx context.Context, ids []int64) {
	for _, id := range ids {
		s.log.Info("retired device", "device", id, "uninstall", s.uninstall(ctx, id))
	}
}

func (s *Service) deviceIDs(ctx context.Context, keep func(core.Device) bool) ([]int64, error) {
	ds, err := s.store.ListDevices(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	var ids []int64
	for _, d := range ds {
		if d.State != core.DeviceRetired && keep(d) {
			ids = append(ids, d.ID)
		}
	}
	return ids, nil
}
