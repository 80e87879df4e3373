package service

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/vercmp"
)

// DeviceInventory is a device's stored inventory as shown: nil Stored when
// none arrived yet. Disk health is filled from the device's S.M.A.R.T.
// check state (check "smart", key = disk) where one exists; PublicIP is the
// address the server saw the agent connect from.
type DeviceInventory struct {
	Device       core.Device           `json:"device"`
	Stored       *core.StoredInventory `json:"stored"`
	PublicIP     string                `json:"public_ip,omitempty"`
	EndOfSupport *EndOfSupport         `json:"end_of_support,omitempty"`
}

// DeviceInventory returns device id's inventory (core.ErrNotFound if the
// device is unknown or outside u's clients).
func (s *Service) DeviceInventory(ctx context.Context, u core.User, id int64) (DeviceInventory, error) {
	if err := need(u, authz.Read); err != nil {
		return DeviceInventory{}, err
	}
	d, err := s.device(ctx, u, id)
	if err != nil {
		return DeviceInventory{}, err
	}
	out := DeviceInventory{Device: d}
	st, err := s.store.GetInventory(ctx, id)
	if errors.Is(err, core.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return DeviceInventory{}, fmt.Errorf("reading the inventory of device %d: %w", id, err)
	}
	out.PublicIP, st.Inventory.System.PublicIP = st.Inventory.System.PublicIP, ""
	states, err := s.store.ListCheckStates(ctx, id)
	if err != nil {
		return DeviceInventory{}, fmt.Errorf("reading the check states of device %d: %w", id, err)
	}
	for i := range st.Inventory.Hardware.Disks {
		disk := &st.Inventory.Hardware.Disks[i]
		for _, cs := range states {
			if cs.Name == "smart" && smartKeyIs(cs.Key, disk.Name) {
				disk.Health = cs.Status.String()
			}
		}
	}
	sys := st.Inventory.System
	out.Stored, out.EndOfSupport = &st, OSEndOfSupport(sys.OSName, sys.Version, sys.Build, s.now())
	return out, nil
}

// smartKeyIs reports whether a S.M.A.R.T. check's key ("/dev/sda",
// "\\.\PHYSICALDRIVE0") names the inventory's disk ("sda",
// "\\.\PHYSICALDRIVE0").
func smartKeyIs(key, disk string) bool {
	return disk != "" && (strings.EqualFold(key, disk) || strings.TrimPrefix(key, "/dev/") == disk)
}

// maxChangesPage bounds a page of inventory changes: the API's largest
// page and the row that tells another page follows.
const maxChangesPage = 1001

// InventoryChanges returns device id's inventory change history, newest
// first, IDs below before (0: from the newest), at most limit (1 to
// maxChangesPage, default 100).
func (s *Service) InventoryChanges(ctx context.Context, u core.User, id, before int64, limit int) ([]core.InventoryChange, error) {
	if err := need(u, authz.Read); err != nil {
		return nil, err
	}
	if _, err := s.device(ctx, u, id); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, maxChangesPage)
	cs, err := s.store.ListInventoryChanges(ctx, id, before, limit)
	if err != nil {
		return nil, fmt.Errorf("listing inventory changes of device %d: %w", id, err)
	}
	return cs, nil
}

// RefreshInventory asks device id's agent to collect and send its
// inventory now (full: the whole one, not a diff), as a signed action;
// the inventory follows on the agent's session. Technicians and
// administrators; audited as "device.inventory-refresh". An unconnected
// agent is core.ErrOffline.
func (s *Service) RefreshInventory(ctx context.Context, u core.User, id int64, full bool) error {
	if err := need(u, authz.Operate); err != nil {
		return err
	}
	d, err := s.device(ctx, u, id)
	if err != nil {
		return err
	}
	if d.State != core.DeviceActive {
		return fmt.Errorf("device %d is %s: %w", id, d.State, core.ErrConflict)
	}
	r, ok := s.cmd.(Remote)
	if !ok {
		err = fmt.Errorf("device %d: %w", id, core.ErrOffline)
	} else {
		err = r.Do(ctx, id, protocol.ActionInventoryRefresh, protocol.InventoryRefreshArgs{Full: full}, nil)
	}
	detail := "diff"
	if full {
		detail = "full"
	}
	if aerr := s.auditRemote(context.WithoutCancel(ctx), u, "device.inventory-refresh", id, detail, err); aerr != nil && err == nil {
		err = aerr
	}
	return err
}

// Search result bounds.
const (
	DefaultSearchLimit = 1000
	MaxSearchLimit     = 10000
)

func searchLimit(n int) int {
	if n <= 0 {
		return DefaultSearchLimit
	}
	return min(n, MaxSearchLimit)
}

// searchClients turns a client filter (0: every client) into the store's
// client list for u; none is true when u may see none of them.
func searchClients(u core.User, clientID int64) (ids []int64, none bool) {
	switch {
	case clientID != 0:
		return []int64{clientID}, !authz.CanSeeClient(u, clientID)
	case u.Scope.Restricted:
		return u.Scope.Clients, len(u.Scope.Clients) == 0
	}
	return nil, false
}

// SoftwareSearch finds programs across the fleet: Name is a
// case-insensitive substring, VersionBelow (optional) keeps programs with
// a known version below it (vercmp.Compare's order), ClientID (0: all)
// narrows to one client, Limit bounds the hits (DefaultSearchLimit,
// at most MaxSearchLimit).
type SoftwareSearch struct {
	Name, VersionBelow string
	ClientID           int64
	Limit              int
}

// SearchSoftware returns the programs q finds on the devices u may see,
// by client, hostname and program.
func (s *Service) SearchSoftware(ctx context.Context, u core.User, q SoftwareSearch) ([]core.SoftwareHit, error) {
	if err := need(u, authz.Read); err != nil {
		return nil, err
	}
	q.Name = strings.TrimSpace(q.Name)
	if q.Name == "" {
		return nil, fmt.Errorf("search software: no name: %w", core.ErrInvalid)
	}
	ids, none := searchClients(u, q.ClientID)
	if none {
		return []core.SoftwareHit{}, nil
	}
	limit := searchLimit(q.Limit)
	sq := core.SoftwareQuery{Name: q.Name, ClientIDs: ids, Limit: limit}
	if q.VersionBelow != "" {
		sq.Limit = 0 // version order is not SQL order: filter all
	}
	hits, err := s.store.SearchSoftware(ctx, sq)
	if err != nil {
		return nil, fmt.Errorf("searching software: %w", err)
	}
	if q.VersionBelow == "" {
		return hits, nil
	}
	out := hits[:0]
	for _, h := range hits {
		if h.Program.Version != "" && vercmp.Compare(h.Program.Version, q.VersionBelow) < 0 {
			out = append(out, h)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// InventorySearch finds devices by their inventory: OS is a
// case-insensitive substring of the OS name ("windows 10"), MemoryBelow
// bytes, BatteryBelow percent of design capacity (devices without a
// battery never match); zero fields do not filter.
type InventorySearch struct {
	ClientID     int64
	OS           string
	MemoryBelow  uint64
	BatteryBelow int
	Limit        int
}

// SearchInventories returns the inventory summaries of the devices u may
// see that q matches, by client and hostname.
func (s *Service) SearchInventories(ctx context.Context, u core.User, q InventorySearch) ([]core.InventorySummary, error) {
	if err := need(u, authz.Read); err != nil {
		return nil, err
	}
	if q.BatteryBelow < 0 || q.BatteryBelow > 100 {
		return nil, fmt.Errorf("battery below %d %%: want 0..100: %w", q.BatteryBelow, core.ErrInvalid)
	}
	ids, none := searchClients(u, q.ClientID)
	if none {
		return []core.InventorySummary{}, nil
	}
	vs, err := s.store.SearchInventories(ctx, core.DeviceQuery{ClientIDs: ids, OS: strings.TrimSpace(q.OS),
		MemoryBelow: q.MemoryBelow, BatteryBelow: q.BatteryBelow, Limit: searchLimit(q.Limit)})
	if err != nil {
		return nil, fmt.Errorf("searching inventories: %w", err)
	}
	return vs, nil
}

// WriteInventoryCSV writes the inventories of client clientID (0: every
// client u may see) for a spreadsheet: UTF-8 with a byte order mark,
// semicolons and CRLF (what German Excel opens as it is), one row per
// device and program with the device's columns repeated (a device without
// programs has one row), cells a spreadsheet would run as formulas quoted.
func (s *Service) WriteInventoryCSV(ctx context.Context, u core.User, clientID int64, w io.Writer) error {
	if err := need(u, authz.Read); err != nil {
		return err
	}
	ids, none := searchClients(u, clientID)
	var devices []core.InventorySummary
	var hits []core.SoftwareHit
	if !none {
		var err error
		if devices, err = s.store.SearchInventories(ctx, core.DeviceQuery{ClientIDs: ids}); err != nil {
			return fmt.Errorf("exporting inventories: %w", err)
		}
		if hits, err = s.store.SearchSoftware(ctx, core.SoftwareQuery{ClientIDs: ids}); err != nil {
			return fmt.Errorf("exporting inventories: %w", err)
		}
	}
	programs := map[int64][]core.Program{}
	for _, h := range hits {
		programs[h.DeviceID] = append(programs[h.DeviceID], h.Program)
	}
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma, cw.UseCRLF = ';', true
	cw.Write([]string{"Hostname", "Client", "OS", "Model", "Serial", "Memory GB", "Program", "Version", "Publisher", "Install date"})
	for _, d := range devices {
		dev := []string{safeCell(d.Hostname), safeCell(d.ClientName), safeCell(d.OSName), safeCell(strings.TrimSpace(d.Manufacturer + " " + d.Model)),
			safeCell(d.Serial), memoryGB(d.MemoryBytes)}
		ps := programs[d.DeviceID]
		if len(ps) == 0 {
			ps = []core.Program{{}}
		}
		for _, p := range ps {
			cw.Write(append(dev[:len(dev):len(dev)], safeCell(p.Name), safeCell(p.Version), safeCell(p.Publisher), safeCell(p.InstallDate)))
		}
	}
	cw.Flush()
	return cw.Error()
}

// memoryGB is bytes in GB (2³⁰) with one decimal and a decimal comma, as
// a German spreadsheet reads a number; "" when unknown.
func memoryGB(b uint64) string {
	if b == 0 {
		return ""
	}
	return strings.Replace(strconv.FormatFloat(float64(b)/(1<<30), 'f', 1, 64), ".", ",", 1)
}

// EndOfSupport says that the OS's vendor support ends (or ended) on Date
// (YYYY-MM-DD); Text says it in English and German.
type EndOfSupport struct {
	Date  string    `json:"date"`
	Ended bool      `json:"ended"`
	Text  core.Text `json:"text"`
}

// endOfSupportSoon is how long before the end a hint is shown.
const endOfSupportSoon = 180 * 24 * time.Hour

// osSupport is when vendor security support of an OS release ends. The
// dates are the vendors' own: Microsoft's lifecycle pages ("Windows 10
// Home and Pro", "Windows 11 Home and Pro", "Windows 11 Enterprise and
// Education", "Windows Server 2012", "… 2016", "… 2019", "… 2022"), Debian's
// LTS page (wiki.debian.org/LTS) and Ubuntu's release cycle
// (ubuntu.com/about/release-cycle, end of standard support). Apple
// announces no dates: a macOS release gets security updates until about
// two newer ones are out, so its date is the release of the third one
// after it (macOS 12: macOS 15 on 2024-09-16; macOS 13: macOS 26 on
// 2025-09-15).
var osSupport = []struct {
	match func(name, version string) bool
	label string
	date  string
}{
	{windows("Windows 10", ""), "Windows 10", "2025-10-14"},
	{windows("Windows 11", "21H2", "Enterprise", "Education"), "Windows 11 21H2", "2024-10-08"},
	{windows("Windows 11", "21H2"), "Windows 11 21H2", "2023-10-10"},
	{windows("Windows 11", "22H2", "Enterprise", "Education"), "Windows 11 22H2", "2025-10-14"},
	{windows("Windows 11", "22H2"), "Windows 11 22H2", "2024-10-08"},
	{windows("Windows 11", "23H2", "Enterprise", "Education"), "Windows 11 23H2", "2026-11-10"},
	{windows("Windows 11", "23H2"), "Windows 11 23H2", "2025-11-11"},
	{windows("Windows 11", "24H2", "Enterprise", "Education"), "Windows 11 24H2", "2027-10-12"},
	{windows("Windows 11", "24H2"), "Windows 11 24H2", "2026-10-13"},
	{windows("Windows Server 2012", ""), "Windows Server 2012", "2023-10-10"},
	{windows("Windows Server 2016", ""), "Windows Server 2016", "2027-01-12"},
	{windows("Windows Server 2019", ""), "Windows Server 2019", "2029-01-09"},
	{macOS("11"), "macOS 11", "2023-09-26"},
	{macOS("12"), "macOS 12", "2024-09-16"},
	{macOS("13"), "macOS 13", "2025-09-15"},
	{linux("Debian", "10"), "Debian 10", "2024-06-30"},
	{linux("Debian", "11"), "Debian 11", "2026-08-31"},
	{linux("Ubuntu", "18.04"), "Ubuntu 18.04", "2023-05-31"},
	{linux("Ubuntu", "20.04"), "Ubuntu 20.04", "2025-05-31"},
}

// windows matches a Windows OS name starting with prefix and, if version
// is set, that feature update, and, if editions are given, one of them.
// Long-term servicing editions (LTSC, LTSB) have other dates and match
// nothing.
func windows(prefix, version string, editions ...string) func(string, string) bool {
	return func(name, v string) bool {
		if !strings.HasPrefix(name, prefix) || strings.Contains(name, "LTS") || (version != "" && !strings.EqualFold(v, version)) {
			return false
		}
		if rest := strings.TrimPrefix(name, prefix); rest != "" && !strings.HasPrefix(rest, " ") {
			return false // "Windows 100"
		}
		if len(editions) == 0 {
			return true
		}
		for _, e := range editions {
			if strings.Contains(name, e) {
				return true
			}
		}
		return false
	}
}

// macOS matches a macOS major version ("12.7.4").
func macOS(major string) func(string, string) bool {
	return func(name, v string) bool {
		if !strings.HasPrefix(name, "macOS") && !strings.HasPrefix(name, "Mac OS") {
			return false
		}
		m, _, _ := strings.Cut(v, ".")
		return m == major
	}
}

// linux matches a distribution's release by name ("Debian GNU/Linux 10
// (buster)", "Ubuntu 20.04.6 LTS") and version ("10", "20.04").
func linux(distro, release string) func(string, string) bool {
	return func(name, v string) bool {
		return strings.HasPrefix(name, distro) && (v == release || strings.HasPrefix(v, release+"."))
	}
}

// windows11Builds names Windows 11's feature updates by build number, for
// an inventory that has the build but not the version.
var windows11Builds = map[string]string{"22000": "21H2", "22621": "22H2", "22631": "23H2", "26100": "24H2"}

// OSEndOfSupport returns the end of vendor support of the OS if it is
// known and has passed or comes within 180 days of now, else nil.
func OSEndOfSupport(osName, version, build string, now time.Time) *EndOfSupport {
	osName = strings.TrimPrefix(osName, "Microsoft ") // WMI's caption
	if version == "" && strings.HasPrefix(osName, "Windows 11") {
		version = windows11Builds[strings.SplitN(build, ".", 2)[0]]
	}
	if version == "" && strings.HasPrefix(osName, "macOS ") {
		version = strings.TrimPrefix(osName, "macOS ")
	}
	for _, o := range osSupport {
		if !o.match(osName, version) {
			continue
		}
		end, err := time.Parse(time.DateOnly, o.date)
		if err != nil || now.Add(endOfSupportSoon).Before(end) {
			return nil
		}
		de := end.Format("02.01.2006")
		if !now.Before(end) {
			return &EndOfSupport{Date: o.date, Ended: true, Text: core.Text{
				EN: fmt.Sprintf("Vendor support for %s ended on %s: it gets no more security updates.", o.label, o.date),
				DE: fmt.Sprintf("Der Herstellersupport für %s endete am %s: es gibt keine Sicherheitsupdates mehr.", o.label, de),
			}}
		}
		days := int(end.Sub(now).Hours()/24) + 1
		return &EndOfSupport{Date: o.date, Text: core.Text{
			EN: fmt.Sprintf("Vendor support for %s ends on %s (in %d days): plan the upgrade.", o.label, o.date, days),
			DE: fmt.Sprintf("Der Herstellersupport für %s endet am %s (in %d Tagen): planen Sie das Upgrade.", o.label, de, days),
		}}
	}
	return nil
}
