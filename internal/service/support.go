package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/brandicon"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The tray app (issue 20): each client's branding, which reaches its
// agents in the signed policy (gateway.TrayPolicies), and the support
// requests its users send, which arrive over the agents' websockets
// (ReceiveSupportRequest), are mailed to the technicians and answered in
// the dashboard. Reading needs any role within the client scope; changing
// needs Operate.

// SupportPusher sends a device's support requests to its agent, wherever
// it is connected (gateway.Hub implements it). The Service finds it on its
// Commander.
type SupportPusher interface {
	PushSupportState(deviceID int64)
}

// GetBranding returns a client's branding with its icon; a client that
// never set one gets the defaults (shown, no product name: the tray shows
// core.DefaultProductName).
func (s *Service) GetBranding(ctx context.Context, u core.User, clientID int64) (core.Branding, error) {
	if _, err := s.GetClient(ctx, u, clientID); err != nil {
		return core.Branding{}, err
	}
	b, err := s.store.GetBranding(ctx, clientID)
	if errors.Is(err, core.ErrNotFound) {
		return core.Branding{ClientID: clientID, Show: true}, nil
	}
	if err != nil {
		return core.Branding{}, fmt.Errorf("reading the branding of client %d: %w", clientID, err)
	}
	return b, nil
}

// SetBranding sets every field of a client's branding but the icon, which
// it keeps, and pushes the agents' policies.
func (s *Service) SetBranding(ctx context.Context, u core.User, b core.Branding) (core.Branding, error) {
	if err := need(u, authz.Operate); err != nil {
		return core.Branding{}, err
	}
	old, err := s.GetBranding(ctx, u, b.ClientID)
	if err != nil {
		return core.Branding{}, err
	}
	if err := cleanBranding(&b); err != nil {
		return core.Branding{}, err
	}
	b.Icon, b.IconSHA256 = old.Icon, old.IconSHA256
	return s.saveBranding(ctx, u, b, "client.branding", brandingDetail(b))
}

// SetBrandingIcon sets a client's tray icon from an uploaded PNG or ICO
// (brandicon.Normalize: checked, converted to a PNG without metadata);
// empty data removes it.
func (s *Service) SetBrandingIcon(ctx context.Context, u core.User, clientID int64, data []byte) (core.Branding, error) {
	if err := need(u, authz.Operate); err != nil {
		return core.Branding{}, err
	}
	b, err := s.GetBranding(ctx, u, clientID)
	if err != nil {
		return core.Branding{}, err
	}
	detail := "removed"
	b.Icon, b.IconSHA256 = nil, ""
	if len(data) > 0 {
		png, err := brandicon.Normalize(data)
		var be *brandicon.Error
		if errors.As(err, &be) {
			return core.Branding{}, &policy.ValidationError{Fields: []policy.FieldError{{Field: "icon", Message: be.Message}}}
		}
		if err != nil {
			return core.Branding{}, err
		}
		sum := sha256.Sum256(png)
		b.Icon, b.IconSHA256 = png, hex.EncodeToString(sum[:])
		detail = fmt.Sprintf("sha256 %s, %d bytes", b.IconSHA256, len(png))
	}
	return s.saveBranding(ctx, u, b, "client.branding.icon", detail)
}

func (s *Service) saveBranding(ctx context.Context, u core.User, b core.Branding, action, detail string) (core.Branding, error) {
	b.UpdatedAt, b.UpdatedBy = s.now().UTC(), Actor(u)
	if err := s.store.SetBranding(ctx, b); err != nil {
		return core.Branding{}, fmt.Errorf("saving the branding of client %d: %w", b.ClientID, err)
	}
	if err := s.record(ctx, u, action, target("client", b.ClientID), detail, core.AuditOK); err != nil {
		return core.Branding{}, err
	}
	s.pushPolicies()
	return b, nil
}

// BrandingIcon returns a client's tray icon (PNG); core.ErrNotFound
// without one.
func (s *Service) BrandingIcon(ctx context.Context, u core.User, clientID int64) ([]byte, error) {
	b, err := s.GetBranding(ctx, u, clientID)
	if err != nil {
		return nil, err
	}
	if len(b.Icon) == 0 {
		return nil, fmt.Errorf("icon of client %d: %w", clientID, core.ErrNotFound)
	}
	return b.Icon, nil
}

func brandingDetail(b core.Branding) string {
	return fmt.Sprintf("show=%t name=%q phone=%q email=%q url=%q remote=%q", b.Show, b.ProductName, b.Phone, b.Email, b.URL, b.RemoteSupport)
}

// cleanBranding trims b's texts and refuses what the tray could not show
// or should not open, listing every refused field.
func cleanBranding(b *core.Branding) error {
	var fs []policy.FieldError
	add := func(field, en, de string) { fs = append(fs, fieldErr(field, en, de)) }
	for _, f := range []struct {
		name string
		v    *string
	}{{"product_name", &b.ProductName}, {"phone", &b.Phone}, {"email", &b.Email}, {"url", &b.URL}} {
		*f.v = strings.TrimSpace(*f.v)
		if *f.v == "" {
			continue
		}
		if _, fe := policy.CleanName(f.name, *f.v, core.MaxBrandingText); fe != nil {
			fs = append(fs, *fe)
		} else if len(*f.v) > core.MaxBrandingText {
			add(f.name, fmt.Sprintf("must be at most %d bytes", core.MaxBrandingText), fmt.Sprintf("darf höchstens %d Bytes lang sein", core.MaxBrandingText))
		}
	}
	if b.Phone != "" && strings.TrimFunc(b.Phone, phoneChar) != "" {
		add("phone", "may contain only digits, spaces and + ( ) - / .", "darf nur Ziffern, Leerzeichen und + ( ) - / . enthalten")
	}
	if b.Email != "" {
		if _, err := NormalizeEmail(b.Email); err != nil {
			add("email", "is not an e-mail address", "ist keine E-Mail-Adresse")
		}
	}
	if b.URL != "" {
		if u, err := url.Parse(b.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			add("url", "must be an http:// or https:// address with a host", "muss eine http://- oder https://-Adresse mit Host sein")
		}
	}
	for _, h := range []struct {
		field string
		v     *string
	}{{"hours.en", &b.Hours.EN}, {"hours.de", &b.Hours.DE}} {
		*h.v = strings.TrimSpace(strings.ReplaceAll(*h.v, "\r\n", "\n"))
		switch {
		case len(*h.v) > core.MaxBrandingHours:
			add(h.field, fmt.Sprintf("must be at most %d bytes", core.MaxBrandingHours), fmt.Sprintf("darf höchstens %d Bytes lang sein", core.MaxBrandingHours))
		case !utf8.ValidString(*h.v) || strings.IndexFunc(*h.v, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) >= 0:
			add(h.field, "must be text without control characters", "muss Text ohne Steuerzeichen sein")
		}
	}
	switch b.RemoteSupport {
	case "", core.RemoteSupportTeamViewer, core.RemoteSupportAnyDesk, core.RemoteSupportRustDesk:
	default:
		add("remote_support", "must be teamviewer, anydesk, rustdesk or empty", "muss teamviewer, anydesk, rustdesk oder leer sein")
	}
	return validation(fs)
}

func phoneChar(r rune) bool {
	return r >= '0' && r <= '9' || strings.ContainsRune(" +()-/.", r)
}

// ListSupportRequests lists the support requests f selects within u's
// scope, newest first, with the total before f.Limit.
func (s *Service) ListSupportRequests(ctx context.Context, u core.User, f core.SupportFilter) ([]core.SupportRequest, int, error) {
	if u.ID == 0 {
		return nil, 0, core.ErrUnauthorized
	}
	if f.State != "" && !core.ValidSupportState(f.State) {
		return nil, 0, invalid("state", "must be new, in_progress or done", "muss new, in_progress oder done sein")
	}
	f.Scope = u.Scope
	rs, n, err := s.store.ListSupportRequests(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("listing support requests: %w", err)
	}
	if rs == nil {
		rs = []core.SupportRequest{}
	}
	return rs, n, nil
}

// CountNewSupportRequests counts the new requests in u's scope (the
// dashboard's badge).
func (s *Service) CountNewSupportRequests(ctx context.Context, u core.User) (int, error) {
	_, n, err := s.ListSupportRequests(ctx, u, core.SupportFilter{State: core.SupportNew, Limit: 1})
	return n, err
}

// GetSupportRequest returns one request with its replies; one outside u's
// scope is core.ErrNotFound.
func (s *Service) GetSupportRequest(ctx context.Context, u core.User, id int64) (core.SupportRequest, error) {
	r, err := s.store.GetSupportRequest(ctx, id)
	if err != nil {
		return core.SupportRequest{}, fmt.Errorf("getting support request %d: %w", id, err)
	}
	if !authz.CanSeeClient(u, r.ClientID) {
		return core.SupportRequest{}, fmt.Errorf("support request %d: %w", id, core.ErrNotFound)
	}
	return r, nil
}

// SupportScreenshot returns the screenshot (PNG) the user sent with a
// request; core.ErrNotFound without one.
func (s *Service) SupportScreenshot(ctx context.Context, u core.User, id int64) ([]byte, error) {
	if _, err := s.GetSupportRequest(ctx, u, id); err != nil {
		return nil, err
	}
	b, err := s.store.SupportScreenshot(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("screenshot of support request %d: %w", id, err)
	}
	return b, nil
}

// UpdateSupportRequest sets a request's state (unless state is "") and
// adds a reply (unless reply is ""), signed with u's e-mail address, and
// sends the device's requests to its agent, so that the user sees it.
func (s *Service) UpdateSupportRequest(ctx context.Context, u core.User, id int64, state, reply string) (core.SupportRequest, error) {
	if err := need(u, authz.Operate); err != nil {
		return core.SupportRequest{}, err
	}
	old, err := s.GetSupportRequest(ctx, u, id)
	if err != nil {
		return core.SupportRequest{}, err
	}
	reply = strings.TrimSpace(strings.ReplaceAll(reply, "\r\n", "\n"))
	var fs []policy.FieldError
	if state != "" && !core.ValidSupportState(state) {
		fs = append(fs, fieldErr("state", "must be new, in_progress or done", "muss new, in_progress oder done sein"))
	}
	switch {
	case len(reply) > core.MaxSupportReply:
		fs = append(fs, fieldErr("reply", fmt.Sprintf("must be at most %d bytes", core.MaxSupportReply),
			fmt.Sprintf("darf höchstens %d Bytes lang sein", core.MaxSupportReply)))
	case !utf8.ValidString(reply) || strings.IndexFunc(reply, func(r rune) bool { return r != '\n' && r != '\t' && unicode.IsControl(r) }) >= 0:
		fs = append(fs, fieldErr("reply", "must be text without control characters", "muss Text ohne Steuerzeichen sein"))
	}
	if state == "" && reply == "" {
		fs = append(fs, fieldErr("reply", "give a state or a reply", "Bitte einen Status oder eine Antwort angeben"))
	}
	if err := validation(fs); err != nil {
		return core.SupportRequest{}, err
	}
	author := u.Email
	if u.ID == cliID {
		author = "cli"
	}
	now := s.now().UTC()
	r, err := s.store.UpdateSupportRequest(ctx, id, core.SupportUpdate{State: state, At: now,
		Reply: core.SupportReply{Author: author, Body: reply, CreatedAt: now}})
	if err != nil {
		return core.SupportRequest{}, fmt.Errorf("updating support request %d: %w", id, err)
	}
	detail := old.State + " → " + r.State
	if reply != "" {
		detail += fmt.Sprintf("; reply of %d bytes", len(reply))
	}
	if err := s.record(ctx, u, "support.update", target("support", id), detail, core.AuditOK); err != nil {
		return core.SupportRequest{}, err
	}
	if p, ok := s.cmd.(SupportPusher); ok {
		p.PushSupportState(r.DeviceID)
	}
	return r, nil
}

// ReceiveSupportRequest stores a support request that device's agent
// sent (validated by the gateway) and queues its notifications, both
// before the agent's ack: a request sent again (after a lost ack) is
// stored once and its messages too (their dedupe keys). The messages go
// to the outbox after the request is stored, as they link to its ID.
func (s *Service) ReceiveSupportRequest(ctx context.Context, deviceID int64, pr protocol.SupportRequest) (core.SupportRequest, error) {
	d, err := s.store.GetDevice(ctx, deviceID)
	if err != nil {
		return core.SupportRequest{}, fmt.Errorf("reading device %d: %w", deviceID, err)
	}
	r := core.SupportRequest{DeviceID: d.ID, Hostname: d.Hostname, ClientID: d.ClientID, ClientName: d.ClientName, SiteName: d.SiteName,
		Ref: pr.Ref, OSUser: pr.OSUser, Contact: pr.Contact, Message: pr.Message, Lang: pr.Lang,
		HasScreenshot: len(pr.Screenshot) > 0, State: core.SupportNew, CreatedAt: pr.CreatedAt.UTC()}
	if _, err := s.store.SaveSupportRequest(ctx, &r, pr.Screenshot, nil); err != nil {
		return core.SupportRequest{}, fmt.Errorf("storing support request %s of device %d: %w", pr.Ref, deviceID, err)
	}
	settings, err := alert.LoadSettings(ctx, s.store)
	if err != nil {
		return core.SupportRequest{}, err
	}
	all, err := s.store.ListRecipients(ctx)
	if err != nil {
		return core.SupportRequest{}, fmt.Errorf("listing recipients: %w", err)
	}
	serverURL, err := s.store.GetSetting(ctx, alert.SettingServerURL)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return core.SupportRequest{}, fmt.Errorf("reading the server URL: %w", err)
	}
	msgs, err := alert.SupportMessages(all, settings, serverURL, d, r, s.now())
	if err != nil || len(msgs) == 0 {
		return r, err
	}
	if err := s.store.ApplyAlertChange(ctx, core.AlertChange{Outbox: msgs}); err != nil {
		return core.SupportRequest{}, fmt.Errorf("queueing the messages of support request %d: %w", r.ID, err)
	}
	return r, nil
}
