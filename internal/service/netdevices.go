package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netdev"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Network devices without an agent (docs/internals.md "Network devices").

// NetDeviceInput is what clients send to create or replace a network
// device. Secret parameters (community, auth_passphrase, priv_passphrase,
// password) are write-only: omitted or empty keeps the stored value, as
// long as the probe and the check's URL and host stay the same; after such
// a change they must be sent again, and a new check type drops them
// (netdev.Moves).
type NetDeviceInput struct {
	Name    string             `json:"name"`
	Address string             `json:"address"`
	Type    string             `json:"type"`
	ProbeID int64              `json:"probe_id"` // 0: the server runs the checks (website only)
	Checks  []core.PolicyCheck `json:"checks"`
}

// NetDevice is a network device as the API returns it: never with its
// secrets, only the names of those that are set.
type NetDevice struct {
	core.NetDevice
	ProbeName  string              `json:"probe_name"`
	Status     core.Status         `json:"status"` // unknown while the probe is offline
	SecretsSet map[string][]string `json:"secrets_set"`
}

// errNoSecretKey refuses secrets on a service built without the secret
// key (tests that do not need it).
var errNoSecretKey = errors.New("network devices: the server has no secret key")

func (s *Service) netView(ctx context.Context, d core.NetDevice) (NetDevice, error) {
	v := NetDevice{NetDevice: d, SecretsSet: map[string][]string{}, Status: core.StatusUnknown}
	if dev, err := s.store.GetDevice(ctx, d.ID); err == nil {
		v.Status = dev.Worst
	} else if !errors.Is(err, core.ErrNotFound) {
		return v, err
	}
	if d.ProbeID == 0 {
		v.ProbeName = "server"
	} else if p, err := s.store.GetDevice(ctx, d.ProbeID); err == nil {
		v.ProbeName = p.Hostname
	}
	sec, err := s.openSecrets(d.Sealed)
	if err != nil {
		return v, err
	}
	for check, fields := range sec {
		for f := range fields {
			v.SecretsSet[check] = append(v.SecretsSet[check], f)
		}
		slices.Sort(v.SecretsSet[check])
	}
	return v, nil
}

// openSecrets and sealSecrets need the key only when there are secrets.
func (s *Service) openSecrets(sealed []byte) (netdev.Secrets, error) {
	if len(sealed) == 0 {
		return netdev.Secrets{}, nil
	}
	if s.secrets == nil {
		return nil, errNoSecretKey
	}
	return netdev.OpenSecrets(s.secrets, sealed)
}

func (s *Service) sealSecrets(sec netdev.Secrets) ([]byte, error) {
	if len(sec) == 0 {
		return nil, nil
	}
	if s.secrets == nil {
		return nil, errNoSecretKey
	}
	return netdev.SealSecrets(s.secrets, sec)
}

// ListNetDevices returns the network devices of a site u may see.
func (s *Service) ListNetDevices(ctx context.Context, u core.User, siteID int64) ([]NetDevice, error) {
	if _, err := s.site(ctx, u, siteID); err != nil {
		return nil, err
	}
	ds, err := s.store.ListNetDevices(ctx, siteID)
	if err != nil {
		return nil, err
	}
	out := make([]NetDevice, 0, len(ds))
	for _, d := range ds {
		v, err := s.netView(ctx, d)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Service) netDevice(ctx context.Context, u core.User, id int64) (core.NetDevice, error) {
	d, err := s.store.GetNetDevice(ctx, id)
	if err != nil {
		return core.NetDevice{}, fmt.Errorf("getting network device %d: %w", id, err)
	}
	if !authz.CanSeeClient(u, d.ClientID) {
		return core.NetDevice{}, fmt.Errorf("network device %d: %w", id, core.ErrNotFound)
	}
	return d, nil
}

// GetNetDevice returns one network device u may see.
func (s *Service) GetNetDevice(ctx context.Context, u core.User, id int64) (NetDevice, error) {
	d, err := s.netDevice(ctx, u, id)
	if err != nil {
		return NetDevice{}, err
	}
	return s.netView(ctx, d)
}

// SaveNetDevice creates (id 0, in siteID) or replaces a network device
// after validating it; secrets are sealed before they reach the store.
func (s *Service) SaveNetDevice(ctx context.Context, u core.User, siteID, id int64, in NetDeviceInput) (NetDevice, error) {
	if err := need(u, authz.Operate); err != nil {
		return NetDevice{}, err
	}
	var d core.NetDevice
	old := netdev.Secrets{}
	if id == 0 {
		st, err := s.site(ctx, u, siteID)
		if err != nil {
			return NetDevice{}, err
		}
		d = core.NetDevice{SiteID: st.ID, ClientID: st.ClientID}
	} else {
		var err error
		if d, err = s.netDevice(ctx, u, id); err != nil {
			return NetDevice{}, err
		}
		if old, err = s.openSecrets(d.Sealed); err != nil {
			return NetDevice{}, err
		}
	}
	in.Name, in.Address, in.Type = strings.TrimSpace(in.Name), strings.TrimSpace(in.Address), strings.TrimSpace(in.Type)
	before := d
	d.Name, d.Address, d.Type, d.ProbeID, d.Checks = in.Name, in.Address, in.Type, in.ProbeID, in.Checks
	// A stored secret never follows its check to a new target.
	moves := netdev.Moves(before, d, old)
	for _, m := range moves {
		delete(old, m.Check)
	}
	checks, secrets, err := netdev.Split(in.Checks, old)
	if err != nil {
		return NetDevice{}, &policy.ValidationError{Fields: []policy.FieldError{{Field: "checks",
			Message: core.Text{EN: err.Error(), DE: "ungültige Parameter: " + err.Error()}}}}
	}
	// before.Checks are the stored checks (none for a new device).
	at := "device:" + strconv.FormatInt(id, 10)
	if id == 0 {
		at = "site:" + strconv.FormatInt(d.SiteID, 10)
	}
	if err := s.authorizePrivileged(ctx, u, at, before.Checks, checks); err != nil {
		return NetDevice{}, err
	}
	d.Checks = checks
	if err := s.validateNetDevice(ctx, d, secrets, moves); err != nil {
		return NetDevice{}, err
	}
	if d.Sealed, err = s.sealSecrets(secrets); err != nil {
		return NetDevice{}, err
	}
	action := "netdevice.update"
	if id == 0 {
		action = "netdevice.create"
		err = s.store.CreateNetDevice(ctx, &d)
	} else {
		err = s.store.UpdateNetDevice(ctx, &d)
	}
	if err != nil {
		return NetDevice{}, err
	}
	if err := s.record(ctx, u, action, "device:"+strconv.FormatInt(d.ID, 10), d.Name, "ok"); err != nil {
		return NetDevice{}, err
	}
	s.pushPolicies() // the probe's policy changed
	return s.netView(ctx, d)
}

// RetireNetDevice retires a network device u may operate on.
func (s *Service) RetireNetDevice(ctx context.Context, u core.User, id int64) error {
	if err := need(u, authz.Operate); err != nil {
		return err
	}
	d, err := s.netDevice(ctx, u, id)
	if err != nil {
		return err
	}
	if err := s.store.RetireNetDevice(ctx, id); err != nil {
		return err
	}
	s.pushPolicies()
	return s.record(ctx, u, "netdevice.retire", "device:"+strconv.FormatInt(id, 10), d.Name, "ok")
}

// NetCheckTypes lists the check types a network device may run, sorted:
// every declared type but the script check, which runs on its own device
// only (validateNetDevice refuses it).
func NetCheckTypes() []string {
	return slices.DeleteFunc(checkspec.Names(), func(n string) bool { return n == protocol.CheckScript })
}

// authorizePrivileged refuses privileged check parameters (those naming a
// program, a file to read, or restarting something) that u, not an
// administrator, sets or changes (policy.AuthorizePrivileged), and audits
// the refusal.
func (s *Service) authorizePrivileged(ctx context.Context, u core.User, target string, stored, checks []core.PolicyCheck) error {
	err := policy.AuthorizePrivileged(u.Role == core.RoleAdmin, stored, checks)
	if pe := (*policy.PrivilegeError)(nil); errors.As(err, &pe) {
		fields := make([]string, len(pe.Fields))
		for i, f := range pe.Fields {
			fields[i] = f.Field
		}
		if aerr := s.record(ctx, u, "privileged.denied", target, strings.Join(fields, ","), core.AuditDenied); aerr != nil {
			return aerr
		}
	}
	return err
}

func fieldErr(field, en, de string) policy.FieldError {
	return policy.FieldError{Field: field, Message: core.Text{EN: en, DE: de}}
}

// validateNetDevice checks the fields and builds every check with its full
// parameters (address as host, secrets included), as the probe will. The
// moved checks must have all their secrets sent again.
func (s *Service) validateNetDevice(ctx context.Context, d core.NetDevice, secrets netdev.Secrets, moves []netdev.Move) error {
	var fs []policy.FieldError
	if _, fe := policy.CleanName("name", d.Name, 128); fe != nil {
		fs = append(fs, *fe)
	}
	if !slices.Contains(core.NetDeviceTypes, d.Type) {
		fs = append(fs, fieldErr("type", "must be one of "+strings.Join(core.NetDeviceTypes, ", "),
			"muss eines von "+strings.Join(core.NetDeviceTypes, ", ")+" sein"))
	}
	if len(d.Address) > 253 || strings.ContainsAny(d.Address, " /\\") {
		fs = append(fs, fieldErr("address", "must be a host name or IP address", "muss ein Hostname oder eine IP-Adresse sein"))
	}
	if d.ProbeID != 0 {
		// A missing device and another site's get the same answer, so
		// that probe_id is no oracle for device IDs.
		p, err := s.store.GetDevice(ctx, d.ProbeID)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			return err
		}
		if err != nil || p.SiteID != d.SiteID || p.State != core.DeviceActive || p.Role == core.KindNetwork {
			fs = append(fs, fieldErr("probe_id", "must be an active agent of the same site", "muss ein aktiver Agent desselben Standorts sein"))
		}
	}
	for _, m := range moves {
		i := slices.IndexFunc(d.Checks, func(c core.PolicyCheck) bool { return c.Name == m.Check })
		for _, f := range m.Need {
			if _, sent := secrets[m.Check][f]; !sent {
				fs = append(fs, secretAgain(fmt.Sprintf("checks[%d].params.%s", i, f), f, m.What))
			}
		}
	}
	full := make([]core.PolicyCheck, len(d.Checks))
	for i, c := range d.Checks {
		at := fmt.Sprintf("checks[%d]", i)
		if len(c.Name) > netdev.MaxCheckNameLen {
			fs = append(fs, fieldErr(at+".name", fmt.Sprintf("must be at most %d characters", netdev.MaxCheckNameLen),
				fmt.Sprintf("darf höchstens %d Zeichen lang sein", netdev.MaxCheckNameLen)))
		}
		if c.Exclude {
			fs = append(fs, fieldErr(at+".exclude", "is not allowed here", "ist hier nicht erlaubt"))
		}
		if c.Type == protocol.CheckScript {
			// A script runs on its own device through its policy, never on
			// a probe for another device.
			fs = append(fs, fieldErr(at+".type", "script checks belong in a policy of the device, not on a network device",
				"Skript-Prüfungen gehören in eine Richtlinie des Geräts, nicht zu einem Netzwerkgerät"))
		}
		if d.ProbeID == 0 && c.Type != "website" {
			fs = append(fs, fieldErr(at+".type", "the server runs only website checks; choose a probe agent",
				"der Server führt nur Website-Prüfungen aus; wählen Sie einen Prüf-Agenten"))
		}
		if d.ProbeID == 0 && c.Type == "website" {
			refused, err := s.refusedURL(ctx, c.Params)
			if err != nil {
				return err
			}
			if refused != nil {
				fs = append(fs, policy.FieldError{Field: at + ".params.url", Message: refused.Localized()})
			}
		}
		full[i] = c
		if p, err := netdev.Params(d, c, secrets); err == nil {
			full[i].Params = p
		}
	}
	if err := validateChecks(core.Policy{Name: "network device", Checks: full}); err != nil {
		var ve *policy.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		// Never echo a secret: messages name fields, not values.
		fs = append(fs, ve.Fields...)
	}
	if len(fs) > 0 {
		return &policy.ValidationError{Fields: fs}
	}
	return nil
}
