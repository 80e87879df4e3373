// Package smart is the "smart" check: physical disk health from S.M.A.R.T.,
// read through smartctl's JSON output (smartmontools ≥ 7.0). On Windows,
// WMI adds the storage driver's failure prediction, and stands in for
// smartctl (MSFT_PhysicalDisk health) where it is missing or sees no disk.
// A missing
// smartctl, or a disk without S.M.A.R.T. (virtual disks), is reported as
// "unsupported" with a reason, never as healthy.
package smart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Name is the check's registered name.
const Name = "smart"

// cmdTimeout bounds one smartctl call; a hanging USB bridge must not eat the
// whole check's time.
const cmdTimeout = 30 * time.Second

func init() {
	check.Register(checkspec.SMART, func(params json.RawMessage) (check.Check, error) {
		return newCheck(params, execRunner{})
	})
	check.AllowBuiltin(extraPaths...)
}

// runner runs smartctl. It returns the output and the exit status; err is
// only set when smartctl could not be started at all (exec.ErrNotFound
// when it is not installed).
type runner interface {
	Smartctl(ctx context.Context, args ...string) (out []byte, exit int, err error)
}

type execRunner struct{}

func (execRunner) Smartctl(ctx context.Context, args ...string) ([]byte, int, error) {
	path, err := findSmartctl()
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd, err := check.Command(ctx, path, args...)
	if err != nil {
		return nil, 0, err
	}
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		// A non-zero exit is smartctl's status bit mask, not a failure to run.
		return out, ee.ExitCode(), nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("running smartctl %s: %w", strings.Join(args, " "), err)
	}
	return out, 0, nil
}

// findSmartctl looks in PATH and then where smartmontools installs on each
// OS: a service's PATH often lacks /usr/sbin or Homebrew's folders.
func findSmartctl() (string, error) {
	if p, err := exec.LookPath("smartctl"); err == nil {
		return p, nil
	}
	for _, p := range extraPaths {
		if p, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

type params struct {
	// Devices limits the check to these smartctl device names
	// ("/dev/sda", "/dev/nvme0"); empty means every device smartctl finds.
	Devices []string `json:"devices"`
	// WearWarn and WearFail are NVMe "percentage used" limits.
	WearWarn float64 `json:"wear_warn"`
	WearFail float64 `json:"wear_fail"`
}

type smartCheck struct {
	p   params
	run runner
	wmi wmiReader // nil where there is no WMI
}

func newCheck(raw json.RawMessage, r runner) (*smartCheck, error) {
	c := &smartCheck{p: params{WearWarn: 80, WearFail: 95}, run: r, wmi: osWMI}
	if err := checkspec.SMART.Decode(raw, &c.p); err != nil && !errors.Is(err, check.ErrNotConfigured) {
		return nil, err // without parameters the defaults stand
	}
	return c, nil
}

func (c *smartCheck) Init() error {
	for _, d := range c.p.Devices {
		if d == "" || strings.HasPrefix(d, "-") {
			// smartctl would take it as an option.
			return fmt.Errorf("device %q: want a device name such as /dev/sda", d)
		}
	}
	return check.Thresholds{Warn: c.p.WearWarn, Fail: c.p.WearFail}.Validate()
}

func (c *smartCheck) Run(ctx context.Context, r check.Reporter) error {
	devs := c.p.Devices
	if len(devs) == 0 {
		out, exit, err := c.run.Smartctl(ctx, "--scan-open", "--json")
		if errors.Is(err, exec.ErrNotFound) {
			if c.wmi != nil {
				return c.runWMI(ctx, r)
			}
			r.Report(notInstalled())
			return nil
		}
		if err != nil {
			return err
		}
		devs, err = parseScan(out)
		if err != nil {
			return fmt.Errorf("smartctl --scan-open (exit status %d): %w", exit, err)
		}
		if len(devs) == 0 && c.wmi != nil {
			// smartctl sees no disk (RAID or storage drivers it cannot
			// pass through): Windows' own view is better than nothing.
			return c.runWMI(ctx, r)
		}
		if len(devs) == 0 {
			r.Report(check.Result{Status: core.StatusUnsupported, Message: core.Text{
				EN: "smartctl found no disk with S.M.A.R.T. (virtual machines usually have none)",
				DE: "smartctl hat keinen Datenträger mit S.M.A.R.T. gefunden (virtuelle Maschinen haben meist keinen)",
			}})
			return nil
		}
	}
	for _, d := range devs {
		out, exit, err := c.run.Smartctl(ctx, "--json", "-a", d)
		if errors.Is(err, exec.ErrNotFound) {
			r.Report(notInstalled())
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			why := check.ErrorText(err)
			r.Report(check.Result{Key: d, Status: core.StatusError, Message: core.Text{
				EN: fmt.Sprintf("Disk %s could not be read: %s", d, why.EN),
				DE: fmt.Sprintf("Datenträger %s konnte nicht gelesen werden: %s", d, why.DE),
			}})
			continue
		}
		r.Report(evaluate(d, out, exit, c.p))
	}
	if c.wmi != nil {
		// The storage driver's own failure prediction adds what smartctl
		// may miss behind a controller; only predicted failures are news.
		preds, _ := c.wmi.FailurePredict(ctx)
		for _, res := range predictResults(preds) {
			r.Report(res)
		}
	}
	return nil
}

func notInstalled() check.Result {
	return check.Result{Status: core.StatusUnsupported, Message: core.Text{
		EN: "smartctl is not installed; install smartmontools to check disk health",
		DE: "smartctl ist nicht installiert; installieren Sie smartmontools, um den Datenträgerzustand zu prüfen",
	}}
}

// parseScan returns the device names from `smartctl --scan-open --json`.
// Devices smartctl could not open carry an "open_error" and are skipped.
func parseScan(out []byte) ([]string, error) {
	var s struct {
		Devices []struct {
			Name      string `json:"name"`
			Type      string `json:"type"`
			OpenError string `json:"open_error"`
		} `json:"devices"`
	}
	if err := json.Unmarshal(out, &s); err != nil {
		return nil, fmt.Errorf("parsing scan output: %w", err)
	}
	var devs []string
	for _, d := range s.Devices {
		if d.OpenError == "" && d.Name != "" {
			devs = append(devs, d.Name)
		}
	}
	return devs, nil
}

// Exit status bits, from smartctl(8) "RETURN VALUES".
const (
	exitCmdLine     = 1 << 0 // command line did not parse
	exitOpen        = 1 << 1 // device open failed, or it did not return identify data
	exitCmdFailed   = 1 << 2 // some SMART or other ATA command failed, or checksum error
	exitFailing     = 1 << 3 // SMART status check returned "DISK FAILING"
	exitPrefailNow  = 1 << 4 // prefail attributes at or below threshold
	exitPastPrefail = 1 << 5 // usage or prefail attributes were at or below threshold in the past
	exitErrLog      = 1 << 6 // the device error log contains records of errors
	exitSelfTest    = 1 << 7 // the self-test log contains records of errors
)

// report is the part of `smartctl --json -a` the check reads.
type report struct {
	Smartctl struct {
		Messages []struct {
			String   string `json:"string"`
			Severity string `json:"severity"`
		} `json:"messages"`
		ExitStatus int `json:"exit_status"`
	} `json:"smartctl"`
	Device struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Protocol string `json:"protocol"`
	} `json:"device"`
	ModelName    string `json:"model_name"`
	SerialNumber string `json:"serial_number"`
	SmartSupport *struct {
		Available bool `json:"available"`
		Enabled   bool `json:"enabled"`
	} `json:"smart_support"`
	SmartStatus *struct {
		Passed bool `json:"passed"`
	} `json:"smart_status"`
	ATA struct {
		Table []ataAttr `json:"table"`
	} `json:"ata_smart_attributes"`
	NVMe        *nvmeLog `json:"nvme_smart_health_information_log"`
	Temperature struct {
		Current *int `json:"current"`
	} `json:"temperature"`
}

type ataAttr struct {
	ID         int    `json:"id"`
	Name       string `json:"name"`
	Value      int    `json:"value"`
	Thresh     int    `json:"thresh"`
	WhenFailed string `json:"when_failed"`
	Flags      struct {
		Prefailure bool `json:"prefailure"`
	} `json:"flags"`
	Raw struct {
		Value int64 `json:"value"`
	} `json:"raw"`
}

type nvmeLog struct {
	CriticalWarning         int   `json:"critical_warning"`
	AvailableSpare          int   `json:"available_spare"`
	AvailableSpareThreshold int   `json:"available_spare_threshold"`
	PercentageUsed          int   `json:"percentage_used"`
	MediaErrors             int64 `json:"media_errors"`
}

// ATA attribute IDs whose raw value counts bad sectors.
const (
	attrReallocated   = 5
	attrPending       = 197
	attrUncorrectable = 198
)

// finding is one reason for a status, worded in both languages.
type finding struct {
	status core.Status
	en, de string
}

// evaluate turns one `smartctl --json -a` output and its exit status into a
// result. exit comes from the process; the JSON's own exit_status is used
// when the process status is 0 but the JSON says otherwise (it never should).
func evaluate(dev string, out []byte, exit int, p params) check.Result {
	var rep report
	if err := json.Unmarshal(out, &rep); err != nil {
		return check.Result{Key: dev, Status: core.StatusError, Message: core.Text{
			EN: fmt.Sprintf("Disk %s: smartctl output could not be read (exit status %d): %v", dev, exit, err),
			DE: fmt.Sprintf("Datenträger %s: Ausgabe von smartctl nicht lesbar (Exit-Status %d): %v", dev, exit, err),
		}}
	}
	if exit == 0 {
		exit = rep.Smartctl.ExitStatus
	}
	name := dev
	if rep.ModelName != "" {
		name = fmt.Sprintf("%s (%s)", dev, rep.ModelName)
	}
	// smartctl also sets bit 0 when it cannot tell a device's type (virtio
	// and other virtual disks); that case is "no S.M.A.R.T." below.
	if exit&exitCmdLine != 0 && !strings.Contains(firstMessage(rep), "Unable to detect device type") {
		return check.Result{Key: dev, Status: core.StatusError, Message: core.Text{
			EN: fmt.Sprintf("Disk %s: smartctl rejected its command line: %s", name, firstMessage(rep)),
			DE: fmt.Sprintf("Datenträger %s: smartctl hat die Befehlszeile abgelehnt: %s", name, firstMessage(rep)),
		}}
	}
	if exit&(exitCmdLine|exitOpen) != 0 || rep.SmartSupport != nil && !rep.SmartSupport.Available ||
		rep.SmartStatus == nil && rep.NVMe == nil && len(rep.ATA.Table) == 0 {
		// Virtual disks (virtio, VMware, Hyper-V) and many USB bridges
		// identify without S.M.A.R.T. or cannot be opened for it.
		why := firstMessage(rep)
		if why == "" {
			why = "no S.M.A.R.T. data"
		}
		return check.Result{Key: dev, Status: core.StatusUnsupported, Message: core.Text{
			EN: fmt.Sprintf("Disk %s has no S.M.A.R.T. health data, its state is unknown (%s)", name, why),
			DE: fmt.Sprintf("Datenträger %s liefert keine S.M.A.R.T.-Daten, sein Zustand ist unbekannt (%s)", name, why),
		}}
	}
	var fs []finding
	add := func(s core.Status, en, de string) { fs = append(fs, finding{s, en, de}) }
	if rep.SmartSupport != nil && rep.SmartSupport.Available && !rep.SmartSupport.Enabled {
		add(core.StatusWarning, "S.M.A.R.T. is disabled on the disk", "S.M.A.R.T. ist auf dem Datenträger ausgeschaltet")
	}
	if exit&exitFailing != 0 || rep.SmartStatus != nil && !rep.SmartStatus.Passed {
		add(core.StatusFailure, "the disk reports itself as FAILING", "der Datenträger meldet selbst einen bevorstehenden Ausfall")
	}
	if exit&exitPrefailNow != 0 {
		add(core.StatusFailure, "prefailure attributes are at or below their threshold", "Vorausfall-Attribute liegen auf oder unter ihrem Grenzwert")
	}
	if exit&exitPastPrefail != 0 {
		add(core.StatusWarning, "attributes were below their threshold in the past", "Attribute lagen in der Vergangenheit unter ihrem Grenzwert")
	}
	if exit&exitSelfTest != 0 {
		add(core.StatusWarning, "the self-test log contains errors", "das Selbsttest-Protokoll enthält Fehler")
	}
	if exit&exitErrLog != 0 {
		add(core.StatusWarning, "the error log contains errors", "das Fehlerprotokoll enthält Einträge")
	}
	if exit&exitCmdFailed != 0 {
		add(core.StatusWarning, "some S.M.A.R.T. commands failed", "einige S.M.A.R.T.-Befehle sind fehlgeschlagen")
	}
	var value *float64
	unit := ""
	if rep.NVMe != nil {
		n := rep.NVMe
		value, unit = check.Float(float64(n.PercentageUsed)), "% used"
		if n.CriticalWarning != 0 {
			add(core.StatusFailure, fmt.Sprintf("NVMe critical warning 0x%02x (%s)", n.CriticalWarning, nvmeWarning(n.CriticalWarning, "en")),
				fmt.Sprintf("NVMe-Warnung 0x%02x (%s)", n.CriticalWarning, nvmeWarning(n.CriticalWarning, "de")))
		}
		if n.AvailableSpareThreshold > 0 && n.AvailableSpare < n.AvailableSpareThreshold {
			add(core.StatusFailure, fmt.Sprintf("spare capacity %d %% is below its threshold of %d %%", n.AvailableSpare, n.AvailableSpareThreshold),
				fmt.Sprintf("Reservekapazität %d %% liegt unter ihrem Grenzwert von %d %%", n.AvailableSpare, n.AvailableSpareThreshold))
		}
		if s := (check.Thresholds{Warn: p.WearWarn, Fail: p.WearFail}).Status(float64(n.PercentageUsed)); s != core.StatusOK {
			add(s, fmt.Sprintf("wear is %d %% of the rated endurance", n.PercentageUsed), fmt.Sprintf("Verschleiß bei %d %% der Nennlebensdauer", n.PercentageUsed))
		}
		if n.MediaErrors > 0 {
			en, de := msg.Num(float64(n.MediaErrors), 0)
			add(core.StatusWarning, en+" media errors", de+" Medienfehler")
		}
	} else {
		var bad int64
		for _, a := range rep.ATA.Table {
			if a.WhenFailed == "now" {
				add(core.StatusFailure, fmt.Sprintf("attribute %d %s has failed (value %d, threshold %d)", a.ID, a.Name, a.Value, a.Thresh),
					fmt.Sprintf("Attribut %d %s ist ausgefallen (Wert %d, Grenzwert %d)", a.ID, a.Name, a.Value, a.Thresh))
			}
			if a.Raw.Value <= 0 {
				continue
			}
			switch a.ID {
			case attrReallocated:
				bad += a.Raw.Value
				add(core.StatusWarning, fmt.Sprintf("%d reallocated sectors", a.Raw.Value), fmt.Sprintf("%d umgelagerte Sektoren", a.Raw.Value))
			case attrPending:
				bad += a.Raw.Value
				add(core.StatusWarning, fmt.Sprintf("%d sectors pending reallocation", a.Raw.Value), fmt.Sprintf("%d Sektoren warten auf Umlagerung", a.Raw.Value))
			case attrUncorrectable:
				add(core.StatusWarning, fmt.Sprintf("%d uncorrectable sectors", a.Raw.Value), fmt.Sprintf("%d nicht korrigierbare Sektoren", a.Raw.Value))
			}
		}
		value, unit = check.Float(float64(bad)), "sectors"
	}
	status := core.StatusOK
	var en, de []string
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].status.Severity() > fs[j].status.Severity() })
	for _, f := range fs {
		status = core.Worst(status, f.status)
		en, de = append(en, f.en), append(de, f.de)
	}
	temp := ""
	if t := rep.Temperature.Current; t != nil {
		temp = fmt.Sprintf(", %d °C", *t)
	}
	if len(fs) == 0 {
		return check.Result{Key: dev, Status: status, Value: value, Unit: unit, Message: core.Text{
			EN: fmt.Sprintf("Disk %s is healthy%s", name, temp),
			DE: fmt.Sprintf("Datenträger %s ist in Ordnung%s", name, temp),
		}}
	}
	return check.Result{Key: dev, Status: status, Value: value, Unit: unit, Message: core.Text{
		EN: fmt.Sprintf("Disk %s: %s%s", name, strings.Join(en, "; "), temp),
		DE: fmt.Sprintf("Datenträger %s: %s%s", name, strings.Join(de, "; "), temp),
	}}
}

func firstMessage(rep report) string {
	for _, m := range rep.Smartctl.Messages {
		if m.String != "" {
			return m.String
		}
	}
	return ""
}

// nvmeWarning words the critical warning bits (NVMe base spec, SMART/Health
// Information log, byte 0).
func nvmeWarning(bits int, lang string) string {
	names := []struct{ en, de string }{
		{"spare capacity low", "Reservekapazität niedrig"},
		{"temperature out of range", "Temperatur außerhalb des Bereichs"},
		{"reliability degraded", "Zuverlässigkeit beeinträchtigt"},
		{"read-only mode", "nur noch lesbar"},
		{"volatile memory backup failed", "Sicherung des flüchtigen Speichers ausgefallen"},
		{"persistent memory region read-only", "persistenter Speicherbereich nur lesbar"},
	}
	var out []string
	for i, n := range names {
		if bits&(1<<i) != 0 {
			if lang == "de" {
				out = append(out, n.de)
			} else {
				out = append(out, n.en)
			}
		}
	}
	return strings.Join(out, ", ")
}
