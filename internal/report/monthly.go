package report

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
)

// The monthly customer report (issue 22): availability per server from
// the offline outages, outages with durations, the checks that failed
// most, antivirus and backup status, patch compliance, an inventory
// summary and failed log-ins over one calendar month, rendered as PDF in
// German or English with the MSP's logo, and mailed on the first of the
// next month.
//
// LoadMonthly reads a client's month; BuildMonthly turns it into a
// Monthly without touching the store; RenderPDF writes the PDF
// (monthly_pdf.go); the Scheduler mails it (monthly_schedule.go).

// SettingLogo is the setting that holds the MSP's logo for the monthly
// report: the image's bytes (PNG or JPEG), base64.
const SettingLogo = "report.logo"

// MaxLogoBytes bounds the logo.
const MaxLogoBytes = 512 << 10

// Check names the monthly report reads the current state of, and the
// failed log-in check whose values it sums.
const (
	AntivirusCheck = "antivirus"
	BackupCheck    = "backup"
	LoginsCheck    = "logins"
)

// TopChecks is how many of the most failing checks the report lists.
const TopChecks = 10

// MaxMonthlyOutages bounds the outages listed; the rest are counted.
const MaxMonthlyOutages = 200

// MonthlyStore is what the monthly report reads beyond Store; the store
// (*store.DB) has it. Without it, retired devices are left out and no
// failed log-ins are read.
type MonthlyStore interface {
	// DeviceRetirements returns when each retired device of the client
	// was retired.
	DeviceRetirements(ctx context.Context, clientID int64) (map[int64]time.Time, error)
	// SumClientCheckValues sums the values of check name's results per
	// device in [since, until), retired devices included.
	SumClientCheckValues(ctx context.Context, clientID int64, name string, since, until time.Time) (map[int64]float64, error)
}

// MonthDevice is a device that existed at some time in the month.
type MonthDevice struct {
	core.Device
	RetiredAt time.Time // zero: not retired
}

// MonthlyData is what a monthly report is built from: one client's
// devices that existed in [Month, End) and what happened to them up to
// Until (End, or now for the month under way), as LoadMonthly reads it.
type MonthlyData struct {
	Client   core.Client
	Month    time.Time // midnight of the first day, in Location
	End      time.Time // midnight of the first day of the next month
	Until    time.Time // End, or earlier while the month is under way
	Location *time.Location
	Devices  []MonthDevice
	// Outages are the offline and check outages open at some time in
	// the month.
	Outages  []core.Outage
	Failures []core.CheckFailures
	// States are the devices' current antivirus and backup states.
	States map[int64][]core.CheckState
	// Patches and PatchApproved as in Data, of the devices not retired.
	Patches       []core.DevicePatchStatus
	PatchApproved map[int64]int
	// Logins sums each device's failed log-ins (nil: not read).
	Logins map[int64]float64
}

// MonthStart is midnight of the first day of t's month in loc.
func MonthStart(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
}

// LoadMonthly reads client c's data for the calendar month that contains
// month (in env.Location), up to now.
func LoadMonthly(ctx context.Context, st Store, env Env, c core.Client, month, now time.Time) (MonthlyData, error) {
	loc := env.Location
	if loc == nil {
		loc = time.UTC
	}
	start := MonthStart(month, loc)
	end := start.AddDate(0, 1, 0)
	d := MonthlyData{Client: c, Month: start, End: end, Until: end, Location: loc, States: map[int64][]core.CheckState{}}
	if !now.IsZero() && now.Before(end) {
		d.Until = now
	}
	if !d.Until.After(start) {
		return d, fmt.Errorf("%w: month %s has not begun", core.ErrInvalid, start.Format("2006-01"))
	}
	ms, _ := st.(MonthlyStore)
	var retired map[int64]time.Time
	if ms != nil {
		var err error
		if retired, err = ms.DeviceRetirements(ctx, c.ID); err != nil {
			return d, fmt.Errorf("reading retired devices of client %d: %w", c.ID, err)
		}
	}
	devices, err := st.ListDevices(ctx)
	if err != nil {
		return d, fmt.Errorf("listing devices: %w", err)
	}
	var current []core.Device
	for _, dev := range devices {
		if dev.ClientID != c.ID || !dev.EnrolledAt.Before(d.Until) {
			continue
		}
		md := MonthDevice{Device: dev}
		if dev.State == core.DeviceRetired {
			at, ok := retired[dev.ID]
			if !ok || !at.After(start) {
				continue // retired before the month (or unknown when)
			}
			md.RetiredAt = at
		} else {
			current = append(current, dev)
		}
		d.Devices = append(d.Devices, md)
	}
	if d.Outages, err = st.ListClientOutages(ctx, c.ID, start, d.Until); err != nil {
		return d, fmt.Errorf("reading outages of client %d: %w", c.ID, err)
	}
	if d.Failures, err = st.ListClientFailures(ctx, c.ID, start, d.Until); err != nil {
		return d, fmt.Errorf("reading failed checks of client %d: %w", c.ID, err)
	}
	for _, dev := range current {
		states, err := st.ListCheckStates(ctx, dev.ID)
		if err != nil {
			return d, fmt.Errorf("reading check states of device %d: %w", dev.ID, err)
		}
		for _, s := range states {
			if s.Name == AntivirusCheck || s.Name == BackupCheck {
				d.States[dev.ID] = append(d.States[dev.ID], s)
			}
		}
	}
	pd := Data{Client: c, Devices: current}
	if err := loadPatches(ctx, st, &pd); err != nil {
		return d, err
	}
	d.Patches, d.PatchApproved = pd.Patches, pd.PatchApproved
	if ms != nil {
		if d.Logins, err = ms.SumClientCheckValues(ctx, c.ID, LoginsCheck, start, d.Until); err != nil {
			return d, fmt.Errorf("reading failed log-ins of client %d: %w", c.ID, err)
		}
	}
	return d, nil
}

// Monthly is one client's monthly report in one language.
type Monthly struct {
	Lang     string    `json:"lang"`
	ClientID int64     `json:"client_id"`
	Client   string    `json:"client"`
	Month    time.Time `json:"month"`
	End      time.Time `json:"end"`
	Until    time.Time `json:"until"`
	TimeZone string    `json:"time_zone"`
	// Availability of each server that existed in the month.
	Availability []Availability `json:"availability"`
	Outages      []MonthOutage  `json:"outages"`
	MoreOutages  int            `json:"more_outages"`
	TopChecks    []TopCheck     `json:"top_checks"`
	Protection   []Protection   `json:"protection"`
	// Patches is nil when no device has a patch status.
	Patches   *PatchCompliance `json:"patches,omitempty"`
	Inventory Inventory        `json:"inventory"`
	// Logins are the devices with failed log-in results, most first;
	// LoginsRead is false when none were read.
	Logins      []LoginCount `json:"logins"`
	LoginsTotal int          `json:"logins_total"`
	LoginsRead  bool         `json:"logins_read"`

	loc *time.Location
}

// Availability is one server's uptime over the part of the month it
// existed in.
type Availability struct {
	DeviceID int64  `json:"device_id"`
	Hostname string `json:"hostname"`
	// UptimeBP is the uptime in hundredths of a percent (9900 = 99,00 %),
	// rounded half away from zero.
	UptimeBP int           `json:"uptime_bp"`
	Offline  alert.Seconds `json:"offline_seconds"`
	Existed  alert.Seconds `json:"existed_seconds"`
	Outages  int           `json:"outages"`
	// From and To bound the time it existed in the month (up to the
	// report's end); Partial: enrolled or retired during the month.
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Partial bool      `json:"partial"`
}

// MonthOutage is an outage open at some time in the month.
type MonthOutage struct {
	DeviceID int64      `json:"device_id"`
	Hostname string     `json:"hostname"`
	Offline  bool       `json:"offline"`
	Check    string     `json:"check,omitempty"`
	Key      string     `json:"key,omitempty"`
	Message  string     `json:"message"`
	Start    time.Time  `json:"start"`
	End      *time.Time `json:"end,omitempty"` // nil: still open at the report's end
	// Duration is the part within the month (and the report's end).
	Duration alert.Seconds `json:"duration_seconds"`
}

// TopCheck is a check instance with its failed results in the month.
type TopCheck struct {
	DeviceID int64  `json:"device_id"`
	Hostname string `json:"hostname"`
	Check    string `json:"check"`
	Key      string `json:"key,omitempty"`
	Failures int    `json:"failures"`
}

// Protection is a device's current antivirus and backup state; an
// empty status: no such check.
type Protection struct {
	DeviceID         int64  `json:"device_id"`
	Hostname         string `json:"hostname"`
	Antivirus        string `json:"antivirus,omitempty"`
	AntivirusMessage string `json:"antivirus_message,omitempty"`
	Backup           string `json:"backup,omitempty"`
	BackupMessage    string `json:"backup_message,omitempty"`
}

// Inventory sums up the devices not retired at the report's end.
type Inventory struct {
	Devices   int            `json:"devices"`
	ByRole    []Count        `json:"by_role"`
	Platforms []PlatformInfo `json:"platforms"`
	// OutOfSupport are the host names whose OS is past its end of
	// support.
	OutOfSupport []string `json:"out_of_support"`
}

// Count is a number of devices with one value.
type Count struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// OS support states.
const (
	SupportUnknown   = "unknown"
	SupportCurrent   = "supported"
	SupportEnded     = "ended"
	unknownPlatform  = "?"
	maxProtectionMsg = 60
)

// PlatformInfo is an OS version with its devices and support state.
type PlatformInfo struct {
	Platform string `json:"platform"`
	Count    int    `json:"count"`
	Support  string `json:"support"` // Support*
	// SupportEnd is the vendor's end of support (zero: unknown).
	SupportEnd time.Time `json:"support_end,omitzero"`
}

// LoginCount is one device's failed log-ins in the month.
type LoginCount struct {
	DeviceID int64  `json:"device_id"`
	Hostname string `json:"hostname"`
	Failures int    `json:"failures"`
}

// Location returns the zone the report's times are shown in.
func (m Monthly) Location() *time.Location {
	if m.loc == nil {
		return time.UTC
	}
	return m.loc
}

// uptimeBP is 10000·(1 − off/existed) rounded half away from zero.
func uptimeBP(off, existed time.Duration) int {
	if existed <= 0 {
		return 10000
	}
	up := existed - min(off, existed)
	return int(math.Round(float64(up) * 10000 / float64(existed)))
}

// span is a half-open time interval.
type span struct{ from, to time.Time }

// covered is the length of the union of spans, each clipped to [from, to).
func covered(spans []span, from, to time.Time) time.Duration {
	var cl []span
	for _, s := range spans {
		if s.from.Before(from) {
			s.from = from
		}
		if s.to.After(to) {
			s.to = to
		}
		if s.to.After(s.from) {
			cl = append(cl, s)
		}
	}
	slices.SortFunc(cl, func(a, b span) int { return a.from.Compare(b.from) })
	var total time.Duration
	var cur span
	for i, s := range cl {
		switch {
		case i == 0:
			cur = s
		case !s.from.After(cur.to):
			if s.to.After(cur.to) {
				cur.to = s.to
			}
		default:
			total += cur.to.Sub(cur.from)
			cur = s
		}
	}
	if len(cl) > 0 {
		total += cur.to.Sub(cur.from)
	}
	return total
}

// existence is the part of [d.Month, d.Until) the device existed in.
func (d MonthlyData) existence(dev MonthDevice) (time.Time, time.Time) {
	from, to := d.Month, d.Until
	if dev.EnrolledAt.After(from) {
		from = dev.EnrolledAt
	}
	if !dev.RetiredAt.IsZero() && dev.RetiredAt.Before(to) {
		to = dev.RetiredAt
	}
	return from, to
}

// BuildMonthly turns d into the report in lang ("de" or "en"). It reads
// nothing but d.
func BuildMonthly(d MonthlyData, lang string) Monthly {
	if lang != "de" {
		lang = "en"
	}
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	until := d.Until
	if until.IsZero() {
		until = d.End
	}
	d.Until = until
	m := Monthly{Lang: lang, ClientID: d.Client.ID, Client: d.Client.Name, Month: d.Month, End: d.End, Until: until,
		TimeZone: loc.String(), Availability: []Availability{}, Outages: []MonthOutage{}, TopChecks: []TopCheck{},
		Protection: []Protection{}, Logins: []LoginCount{}, loc: loc}
	host := map[int64]MonthDevice{}
	current := map[int64]core.Device{}
	for _, dev := range d.Devices {
		host[dev.ID] = dev
		if dev.RetiredAt.IsZero() {
			current[dev.ID] = dev.Device
		}
	}
	offline := map[int64][]span{}
	for _, o := range d.Outages {
		dev, ok := host[o.DeviceID]
		if !ok || !o.OpenedAt.Before(until) || (o.ClosedAt != nil && o.ClosedAt.Before(d.Month)) {
			continue
		}
		end := until
		var closed *time.Time
		if o.ClosedAt != nil && o.ClosedAt.Before(until) {
			end, closed = *o.ClosedAt, o.ClosedAt
		}
		isOff := o.Kind == core.OutageOffline
		if isOff {
			offline[o.DeviceID] = append(offline[o.DeviceID], span{o.OpenedAt, end})
		}
		from := o.OpenedAt
		if from.Before(d.Month) {
			from = d.Month
		}
		mo := MonthOutage{DeviceID: dev.ID, Hostname: dev.Hostname, Offline: isOff, Message: o.Message.In(lang),
			Start: o.OpenedAt, End: closed, Duration: seconds(max(end.Sub(from), 0))}
		if !isOff {
			mo.Check, mo.Key = o.CheckName, o.CheckKey
		}
		m.Outages = append(m.Outages, mo)
	}
	slices.SortStableFunc(m.Outages, func(a, b MonthOutage) int {
		return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.Hostname, b.Hostname))
	})
	if len(m.Outages) > MaxMonthlyOutages {
		m.MoreOutages = len(m.Outages) - MaxMonthlyOutages
		m.Outages = m.Outages[:MaxMonthlyOutages]
	}
	for _, dev := range d.Devices {
		if dev.Role != core.DeviceRoleServer {
			continue
		}
		from, to := d.existence(dev)
		if !to.After(from) {
			continue
		}
		off := covered(offline[dev.ID], from, to)
		a := Availability{DeviceID: dev.ID, Hostname: dev.Hostname, UptimeBP: uptimeBP(off, to.Sub(from)),
			Offline: seconds(off), Existed: seconds(to.Sub(from)), From: from, To: to, Partial: from.After(d.Month) || to.Before(until)}
		for _, s := range offline[dev.ID] {
			if s.from.Before(to) && s.to.After(from) {
				a.Outages++
			}
		}
		m.Availability = append(m.Availability, a)
	}
	slices.SortFunc(m.Availability, func(a, b Availability) int {
		return cmp.Or(cmp.Compare(a.UptimeBP, b.UptimeBP), strings.Compare(a.Hostname, b.Hostname))
	})
	for _, f := range d.Failures {
		dev, ok := host[f.DeviceID]
		if !ok || f.Count == 0 {
			continue
		}
		m.TopChecks = append(m.TopChecks, TopCheck{DeviceID: dev.ID, Hostname: dev.Hostname, Check: f.Check, Key: f.Key, Failures: f.Count})
	}
	slices.SortFunc(m.TopChecks, func(a, b TopCheck) int {
		return cmp.Or(cmp.Compare(b.Failures, a.Failures), strings.Compare(a.Hostname, b.Hostname),
			strings.Compare(a.Check, b.Check), strings.Compare(a.Key, b.Key))
	})
	if len(m.TopChecks) > TopChecks {
		m.TopChecks = m.TopChecks[:TopChecks]
	}
	for id, states := range d.States {
		dev, ok := current[id]
		if !ok {
			continue
		}
		p := Protection{DeviceID: id, Hostname: dev.Hostname}
		for _, s := range states {
			msg := oneLine(s.Message.In(lang))
			if r := []rune(msg); len(r) > maxProtectionMsg {
				msg = string(r[:maxProtectionMsg-1]) + "…"
			}
			switch s.Name {
			case AntivirusCheck:
				if p.Antivirus == "" || s.Status.Severity() > core.ParseStatus(p.Antivirus).Severity() {
					p.Antivirus, p.AntivirusMessage = s.Status.String(), msg
				}
			case BackupCheck:
				if p.Backup == "" || s.Status.Severity() > core.ParseStatus(p.Backup).Severity() {
					p.Backup, p.BackupMessage = s.Status.String(), msg
				}
			}
		}
		if p.Antivirus != "" || p.Backup != "" {
			m.Protection = append(m.Protection, p)
		}
	}
	slices.SortFunc(m.Protection, func(a, b Protection) int { return strings.Compare(a.Hostname, b.Hostname) })
	m.Patches = BuildPatchCompliance(d.Patches, d.PatchApproved, current, lang)
	m.Inventory = buildInventory(current, d.End)
	if d.Logins != nil {
		m.LoginsRead = true
		for id, v := range d.Logins {
			dev, ok := host[id]
			if !ok {
				continue
			}
			n := int(math.Round(v))
			m.Logins = append(m.Logins, LoginCount{DeviceID: id, Hostname: dev.Hostname, Failures: n})
			m.LoginsTotal += n
		}
		slices.SortFunc(m.Logins, func(a, b LoginCount) int {
			return cmp.Or(cmp.Compare(b.Failures, a.Failures), strings.Compare(a.Hostname, b.Hostname))
		})
	}
	return m
}

// buildInventory counts the devices by role and OS version and judges
// each OS version's support at end.
func buildInventory(devs map[int64]core.Device, end time.Time) Inventory {
	inv := Inventory{ByRole: []Count{}, Platforms: []PlatformInfo{}, OutOfSupport: []string{}}
	roles := map[string]int{}
	plats := map[string]int{}
	hosts := map[string][]string{}
	for _, dev := range devs {
		inv.Devices++
		role := dev.Role
		if role == "" {
			role = core.DeviceRoleWorkstation
		}
		roles[role]++
		p := platformOf(dev)
		plats[p]++
		hosts[p] = append(hosts[p], dev.Hostname)
	}
	for r, n := range roles {
		inv.ByRole = append(inv.ByRole, Count{Name: r, Count: n})
	}
	order := func(r string) int {
		if i := slices.Index([]string{core.DeviceRoleServer, core.DeviceRoleWorkstation, core.DeviceRoleNotebook, "network"}, r); i >= 0 {
			return i
		}
		return 4
	}
	slices.SortFunc(inv.ByRole, func(a, b Count) int {
		return cmp.Or(cmp.Compare(order(a.Name), order(b.Name)), strings.Compare(a.Name, b.Name))
	})
	for p, n := range plats {
		pi := PlatformInfo{Platform: p, Count: n, Support: SupportUnknown}
		if e, ok := OSSupportEnd(p); ok {
			pi.SupportEnd = e
			pi.Support = SupportCurrent
			if e.Before(end) {
				pi.Support = SupportEnded
				inv.OutOfSupport = append(inv.OutOfSupport, hosts[p]...)
			}
		}
		inv.Platforms = append(inv.Platforms, pi)
	}
	slices.SortFunc(inv.Platforms, func(a, b PlatformInfo) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Platform, b.Platform))
	})
	slices.Sort(inv.OutOfSupport)
	return inv
}

// platformOf is the device's OS version as the agent reports it, else its
// OS family.
func platformOf(dev core.Device) string {
	switch {
	case strings.TrimSpace(dev.Platform) != "":
		return strings.TrimSpace(dev.Platform)
	case dev.OS != "":
		return dev.OS
	}
	return unknownPlatform
}

// OSSupportEnd returns the end of support of an OS version from the OS
// end-of-support table (internal/patch/os_eol.go); false when the table
// does not know it, which the report shows as "unknown" rather than
// guessing.
func OSSupportEnd(platform string) (time.Time, bool) { return patch.OSSupportEnd(platform) }
