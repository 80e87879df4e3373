package smart

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ole/go-ole"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

type collect []check.Result

func (c *collect) Report(r check.Result) { *c = append(*c, r) }

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exitOf is the exit status smartctl had when the capture was taken.
func exitOf(t *testing.T, b []byte) int {
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r.Smartctl.ExitStatus
}

func defaults() params { return params{WearWarn: 80, WearFail: 95} }

func TestEvaluateCaptures(t *testing.T) {
	for _, tc := range []struct {
		file, dev string
		status    core.Status
		value     float64
		unit      string
		en, de    []string
	}{
		{"ata-healthy-samsung860.json", "/dev/sda", core.StatusOK, 0, "sectors",
			[]string{"Samsung SSD 860 EVO 500GB", "healthy", "31 °C"}, []string{"in Ordnung"}},
		{"ata-failing-wd10ezex.json", "/dev/sdb", core.StatusFailure, 1456, "sectors",
			[]string{"FAILING", "1432 reallocated sectors", "24 sectors pending", "8 uncorrectable", "attribute 5 Reallocated_Sector_Ct has failed", "self-test log"},
			[]string{"1432 umgelagerte Sektoren", "Ausfall"}},
		{"nvme-samsung970.json", "/dev/nvme0", core.StatusOK, 3, "% used",
			[]string{"Samsung SSD 970 EVO Plus 1TB", "healthy", "38 °C"}, []string{"in Ordnung"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b := read(t, tc.file)
			res := evaluate(tc.dev, b, exitOf(t, b), defaults())
			if res.Status != tc.status || res.Key != tc.dev || res.Value == nil || *res.Value != tc.value || res.Unit != tc.unit {
				t.Fatalf("got %+v (value %v), want status %v value %v %s", res, deref(res.Value), tc.status, tc.value, tc.unit)
			}
			for _, s := range tc.en {
				if !strings.Contains(res.Message.EN, s) {
					t.Errorf("EN %q lacks %q", res.Message.EN, s)
				}
			}
			for _, s := range tc.de {
				if !strings.Contains(res.Message.DE, s) {
					t.Errorf("DE %q lacks %q", res.Message.DE, s)
				}
			}
		})
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestEvaluateExitBits(t *testing.T) {
	healthy := read(t, "ata-healthy-samsung860.json")
	for _, tc := range []struct {
		exit   int
		status core.Status
		want   string
	}{
		{0, core.StatusOK, "healthy"},
		{1 << 0, core.StatusError, "command line"},
		{1 << 1, core.StatusUnsupported, "unknown"},
		{1 << 2, core.StatusWarning, "commands failed"},
		{1 << 3, core.StatusFailure, "FAILING"},
		{1 << 4, core.StatusFailure, "prefailure"},
		{1 << 5, core.StatusWarning, "in the past"},
		{1 << 6, core.StatusWarning, "error log"},
		{1 << 7, core.StatusWarning, "self-test"},
		{1<<5 | 1<<3, core.StatusFailure, "in the past"},
	} {
		res := evaluate("/dev/sda", healthy, tc.exit, defaults())
		if res.Status != tc.status || !strings.Contains(res.Message.EN, tc.want) {
			t.Errorf("exit %#x: %v %q, want %v containing %q", tc.exit, res.Status, res.Message.EN, tc.status, tc.want)
		}
	}
}

func TestEvaluateNVMeProblems(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(read(t, "nvme-samsung970.json"), &m); err != nil {
		t.Fatal(err)
	}
	log := m["nvme_smart_health_information_log"].(map[string]any)
	set := func(k string, v float64) []byte {
		old := log[k]
		log[k] = v
		b, _ := json.Marshal(m)
		log[k] = old
		return b
	}
	for _, tc := range []struct {
		b      []byte
		status core.Status
		want   string
	}{
		{set("critical_warning", 0x04), core.StatusFailure, "critical warning 0x04 (reliability degraded)"},
		{set("available_spare", 5), core.StatusFailure, "spare capacity 5 %"},
		{set("percentage_used", 85), core.StatusWarning, "wear is 85 %"},
		{set("percentage_used", 100), core.StatusFailure, "wear is 100 %"},
		{set("media_errors", 1234), core.StatusWarning, "1,234 media errors"},
	} {
		res := evaluate("/dev/nvme0", tc.b, 0, defaults())
		if res.Status != tc.status || !strings.Contains(res.Message.EN, tc.want) {
			t.Errorf("%v %q, want %v containing %q", res.Status, res.Message.EN, tc.status, tc.want)
		}
	}
	if res := evaluate("/dev/nvme0", set("media_errors", 1234), 0, defaults()); !strings.Contains(res.Message.DE, "1.234 Medienfehler") {
		t.Errorf("DE %q", res.Message.DE)
	}
}

func TestEvaluateVirtioCapture(t *testing.T) {
	b := read(t, "linux-virtio-vda.json")
	res := evaluate("/dev/vda", b, exitOf(t, b), defaults())
	if res.Status != core.StatusUnsupported || !strings.Contains(res.Message.EN, "Unable to detect device type") || !strings.Contains(res.Message.DE, "unbekannt") {
		t.Fatalf("virtio: %+v", res)
	}
	if res := evaluate("/dev/x", []byte("not json"), 2, defaults()); res.Status != core.StatusError {
		t.Errorf("garbage: %+v", res)
	}
	noSmart := `{"smartctl":{"exit_status":4},"device":{"name":"/dev/sdc"},"model_name":"QEMU HARDDISK","smart_support":{"available":false}}`
	if res := evaluate("/dev/sdc", []byte(noSmart), 4, defaults()); res.Status != core.StatusUnsupported || !strings.Contains(res.Message.EN, "QEMU HARDDISK") {
		t.Errorf("no smart support: %+v", res)
	}
}

func TestParseScan(t *testing.T) {
	devs, err := parseScan(read(t, "scan-desktop.json"))
	if err != nil || strings.Join(devs, ",") != "/dev/sda,/dev/nvme0" {
		t.Fatalf("scan: %v %v", devs, err)
	}
	devs, err = parseScan(read(t, "linux-virtio-scan.json"))
	if err != nil || len(devs) != 0 {
		t.Fatalf("virtio scan: %v %v", devs, err)
	}
	if _, err := parseScan([]byte("{")); err == nil {
		t.Error("garbage scan parsed")
	}
}

// fakeRunner answers from testdata files by argument list.
type fakeRunner struct {
	files map[string]string // last argument → file
	err   error
	calls []string
}

func (f *fakeRunner) Smartctl(_ context.Context, args ...string) ([]byte, int, error) {
	f.calls = append(f.calls, strings.Join(args, " "))
	if f.err != nil {
		return nil, 0, f.err
	}
	b, err := os.ReadFile(filepath.Join("testdata", f.files[args[len(args)-1]]))
	if err != nil {
		return nil, 0, err
	}
	var r report
	_ = json.Unmarshal(b, &r)
	return b, r.Smartctl.ExitStatus, nil
}

func TestRunScansThenReadsEachDisk(t *testing.T) {
	f := &fakeRunner{files: map[string]string{"--json": "scan-desktop.json", "/dev/sda": "ata-healthy-samsung860.json", "/dev/nvme0": "nvme-samsung970.json"}}
	c, err := newCheck(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	c.wmi = nil
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key != "/dev/sda" || got[1].Key != "/dev/nvme0" || got[0].Status != core.StatusOK {
		t.Fatalf("results %+v", got)
	}
	if f.calls[0] != "--scan-open --json" || f.calls[1] != "--json -a /dev/sda" {
		t.Errorf("calls %q", f.calls)
	}
}

func TestRunNotInstalled(t *testing.T) {
	c, _ := newCheck(json.RawMessage(`{"devices":["/dev/sda"]}`), &fakeRunner{err: exec.ErrNotFound})
	c.wmi = nil
	for _, c := range []*smartCheck{c, {p: defaults(), run: &fakeRunner{err: exec.ErrNotFound}}} {
		var got collect
		if err := c.Run(context.Background(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Status != core.StatusUnsupported || !strings.Contains(got[0].Message.EN, "install smartmontools") || !strings.Contains(got[0].Message.DE, "smartmontools") {
			t.Fatalf("not installed: %+v", got)
		}
	}
}

func TestRunFallsBackToWMI(t *testing.T) {
	w := fakeWMI{file: "wmi-win11-desktop.json", t: t}
	c := &smartCheck{p: defaults(), run: &fakeRunner{err: exec.ErrNotFound}, wmi: w}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Status != core.StatusOK || got[1].Status != core.StatusWarning || got[2].Status != core.StatusFailure ||
		!strings.Contains(got[2].Message.EN, "predicts a failure") || got[0].Key != "disk0" {
		t.Fatalf("wmi results %+v", got)
	}
}

// TestRunWMIFails: a WMI query that fails (Wine answers MSFT_PhysicalDisk
// with a COM error) is the check's error naming class and HRESULT, in
// English and German, never a result that looks healthy.
func TestRunWMIFails(t *testing.T) {
	c := &smartCheck{p: defaults(), run: &fakeRunner{err: exec.ErrNotFound}, wmi: failingWMI{ole.NewErrorWithDescription(0x80020005, "<nil>")}}
	var got collect
	err := c.Run(context.Background(), &got)
	txt := check.ErrorText(err)
	if len(got) != 0 || txt.EN != "WMI query of MSFT_PhysicalDisk failed: HRESULT 0x80020005, type mismatch" ||
		txt.DE != "WMI-Abfrage von MSFT_PhysicalDisk fehlgeschlagen: HRESULT 0x80020005, Typkonflikt" {
		t.Fatalf("results %+v, error %+v", got, txt)
	}
}

type failingWMI struct{ err error }

func (f failingWMI) PhysicalDisks(context.Context) ([]physicalDisk, error)    { return nil, f.err }
func (f failingWMI) FailurePredict(context.Context) ([]failurePredict, error) { return nil, f.err }

func TestEvaluateWMIVirtual(t *testing.T) {
	disks, preds := fakeWMI{file: "wmi-hyperv-guest.json", t: t}.load()
	got := evaluateWMI(disks, preds)
	if len(got) != 1 || got[0].Status != core.StatusUnsupported || !strings.Contains(got[0].Message.EN, "virtual") {
		t.Fatalf("hyper-v: %+v", got)
	}
	if got := evaluateWMI(nil, nil); len(got) != 1 || got[0].Status != core.StatusUnsupported {
		t.Fatalf("no disks: %+v", got)
	}
	if got := evaluateWMI([]physicalDisk{{FriendlyName: "X", HealthStatus: 5}}, nil); got[0].Status != core.StatusUnknown {
		t.Fatalf("unknown health: %+v", got)
	}
	if got := evaluateWMI([]physicalDisk{{FriendlyName: "X", HealthStatus: 2}}, nil); got[0].Status != core.StatusFailure {
		t.Fatalf("unhealthy: %+v", got)
	}
}

type fakeWMI struct {
	file string
	t    *testing.T
}

func (f fakeWMI) load() ([]physicalDisk, []failurePredict) {
	var v struct {
		Disks   []physicalDisk   `json:"disks"`
		Predict []failurePredict `json:"predict"`
	}
	if err := json.Unmarshal(read(f.t, f.file), &v); err != nil {
		f.t.Fatal(err)
	}
	return v.Disks, v.Predict
}

func (f fakeWMI) PhysicalDisks(context.Context) ([]physicalDisk, error) {
	d, _ := f.load()
	return d, nil
}

func (f fakeWMI) FailurePredict(context.Context) ([]failurePredict, error) {
	_, p := f.load()
	return p, nil
}

// TestRealSmartctl runs the check against this machine's smartctl. CI
// installs smartmontools; its disks are virtual, so the real result is the
// "no S.M.A.R.T." path, which must never read as healthy.
func TestRealSmartctl(t *testing.T) {
	if _, err := findSmartctl(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("smartctl missing in CI (install smartmontools)")
		}
		t.Skip("smartctl not installed")
	}
	c, err := check.New(Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no result")
	}
	for _, r := range got {
		t.Logf("%s: %v %s", r.Key, r.Status, r.Message.EN)
		if r.Message.EN == "" || r.Message.DE == "" {
			t.Errorf("empty message: %+v", r)
		}
		if virtualOnly() && r.Status == core.StatusOK {
			t.Errorf("virtual disk reported healthy: %+v", r)
		}
	}
}

// virtualOnly reports whether every block device here is virtio or zram,
// as on the project's VMs.
func virtualOnly() bool {
	es, err := os.ReadDir("/sys/block")
	if err != nil || len(es) == 0 {
		return false
	}
	for _, e := range es {
		n := e.Name()
		if !strings.HasPrefix(n, "vd") && !strings.HasPrefix(n, "zram") && !strings.HasPrefix(n, "loop") && !strings.HasPrefix(n, "ram") {
			return false
		}
	}
	return true
}

func TestSmartctlPlusWMIPrediction(t *testing.T) {
	f := &fakeRunner{files: map[string]string{"--json": "scan-desktop.json", "/dev/sda": "ata-healthy-samsung860.json", "/dev/nvme0": "nvme-samsung970.json"}}
	c := &smartCheck{p: defaults(), run: f, wmi: fakeWMI{file: "wmi-win11-desktop.json", t: t}}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Status != core.StatusFailure || !strings.Contains(got[2].Message.EN, "predicts a failure") {
		t.Fatalf("%+v", got)
	}
	// smartctl sees no disk: Windows' view instead.
	f = &fakeRunner{files: map[string]string{"--json": "linux-virtio-scan.json"}}
	c = &smartCheck{p: defaults(), run: f, wmi: fakeWMI{file: "wmi-hyperv-guest.json", t: t}}
	got = nil
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Status != core.StatusUnsupported || !strings.Contains(got[0].Message.EN, "Msft Virtual Disk is virtual") {
		t.Fatalf("%+v", got)
	}
}

// TestDevicesAreNotOptions: a device name is passed to smartctl as an
// argument, so one that smartctl would take as an option is refused.
func TestDevicesAreNotOptions(t *testing.T) {
	for _, devs := range []string{`["-s"]`, `["/dev/sda","--smart=off"]`, `[""]`} {
		if _, err := check.New(Name, json.RawMessage(`{"devices":`+devs+`}`)); err == nil || !strings.Contains(err.Error(), "must be a device name") {
			t.Errorf("devices %s: %v", devs, err)
		}
	}
	if _, err := check.New(Name, json.RawMessage(`{"devices":["/dev/sda","/dev/nvme0"]}`)); err != nil {
		t.Errorf("device names: %v", err)
	}
}
