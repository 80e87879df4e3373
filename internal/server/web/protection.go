package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Protection at a glance: antivirus and backup columns on the overview and
// the /protection page listing, per client, the machines without current
// protection or backup. The data comes from service.Service.Protection, so the
// API and the dashboard cannot differ.

func init() { pageNames = append(pageNames, "protection") }

func (s *server) protectionRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /protection", authz.Read, s.withSession(s.protectionPage))
}

// protCell is one compact protection column: a status-coloured badge with
// the short value and the messages as a tooltip.
type protCell struct {
	Class string // CSS colour class
	Text  string // "2 d", "5 h", the status, or "–" when not monitored
	Title string // the messages, one per line
}

func newProtCell(p service.Protection, lang Lang) protCell {
	if !p.Monitored {
		return protCell{Class: "unknown", Text: "–", Title: lang.T("protection.notMonitored")}
	}
	top := p.Top()
	c := protCell{Class: statusClass(p.Status), Text: lang.Status(p.Status)}
	if top.Value != nil {
		c.Text = lang.Value(top.Value, top.Unit)
	}
	var lines []string
	for _, it := range p.Items {
		line := lang.Message(it.Message)
		if len(p.Items) > 1 && it.Key != "" {
			line = it.Key + ": " + line
		}
		lines = append(lines, line)
	}
	c.Title = strings.Join(lines, "\n")
	return c
}

// addProtection fills the overview's protection columns of the devices ds
// (already scope-filtered) grouped in clients.
func (s *server) addProtection(ctx context.Context, lang Lang, ds []service.Device, clients []clientView) error {
	byID, err := s.protectionByID(ctx, ds)
	if err != nil {
		return err
	}
	for ci := range clients {
		for si := range clients[ci].Sites {
			devs := clients[ci].Sites[si].Devices
			for di := range devs {
				p := byID[devs[di].ID]
				devs[di].AV, devs[di].Backup = newProtCell(p.Antivirus, lang), newProtCell(p.Backup, lang)
			}
		}
	}
	return nil
}

// protectionByID is antivirus and backup of ds by device ID.
func (s *server) protectionByID(ctx context.Context, ds []service.Device) (map[int64]service.DeviceProtection, error) {
	ps, err := s.svc.ProtectionOf(ctx, ds)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]service.DeviceProtection, len(ps))
	for _, p := range ps {
		byID[p.DeviceID] = p
	}
	return byID, nil
}

// addListProtection sets antivirus and backup of a device list page's
// rows, reading the states of those rows only.
func (s *server) addListProtection(ctx context.Context, lang Lang, rows []listRow) error {
	ds := make([]service.Device, len(rows))
	for i, r := range rows {
		ds[i] = service.Device{Device: r.Device, Online: r.Online}
	}
	byID, err := s.protectionByID(ctx, ds)
	if err != nil {
		return err
	}
	for i := range rows {
		p := byID[rows[i].ID]
		rows[i].AV, rows[i].Backup = newProtCell(p.Antivirus, lang), newProtCell(p.Backup, lang)
	}
	return nil
}

// protectionView is the data of the /protection page.
type protectionView struct {
	Clients  []core.Client // the filter's choices
	ClientID int64         // selected; 0 = all
	Groups   []protGroup
}

// protGroup is one client's machines without current protection.
type protGroup struct {
	ClientID   int64
	ClientName string
	Total      int
	Count      string // "3 of 12 machines without current protection or backup"
	Devices    []protRow
}

type protRow struct {
	service.DeviceProtection
	AVCell, BackupCell protCell
}

func (s *server) protectionPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	v := s.view(r, rc.lang, rc)
	v.Title = "protection.title"
	var pv protectionView
	if c := r.URL.Query().Get("client"); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id <= 0 {
			s.renderError(w, r, rc.lang, core.ErrInvalid)
			return
		}
		pv.ClientID = id
	}
	clients, err := s.svc.ListClients(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	ps, err := s.svc.Protection(r.Context(), rc.user, pv.ClientID)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	pv.Clients = clients
	pv.Groups = groupProtection(ps, rc.lang)
	v.Page = pv
	s.render(w, http.StatusOK, "protection", v)
}

// groupProtection counts each client's machines and keeps those without
// current antivirus or backup (not OK or not monitored); ps is sorted by
// client.
func groupProtection(ps []service.DeviceProtection, lang Lang) []protGroup {
	var out []protGroup
	for _, p := range ps {
		if len(out) == 0 || out[len(out)-1].ClientID != p.ClientID {
			out = append(out, protGroup{ClientID: p.ClientID, ClientName: p.ClientName})
		}
		g := &out[len(out)-1]
		g.Total++
		if !p.Current {
			av, bk := newProtCell(p.Antivirus, lang), newProtCell(p.Backup, lang)
			g.Devices = append(g.Devices, protRow{DeviceProtection: p, AVCell: av, BackupCell: bk})
		}
	}
	for i := range out {
		g := &out[i]
		g.Count = lang.N("protection.count", g.Total, len(g.Devices), g.Total)
	}
	return out
}
