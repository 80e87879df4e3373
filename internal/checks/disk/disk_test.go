package disk

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/core"
)

func load(t *testing.T, name string) []partition {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ps []partition
	if err := json.Unmarshal(b, &ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

func mounts(ps []partition) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Mount)
	}
	return out
}

func TestFixedVolumes(t *testing.T) {
	for _, tc := range []struct {
		file, goos string
		want       []string
	}{
		{"linux-container.json", "linux", []string{"/"}},
		{"linux-desktop.json", "linux", []string{"/", "/boot/efi", "/home", "/srv", "/tank/data"}},
		{"darwin-sonoma.json", "darwin", []string{"/System/Volumes/Data", "/Volumes/Backup"}},
		{"windows-11.json", "windows", []string{"C:", `C:\Mount\Archive`, "D:"}},
	} {
		got := mounts(fixedVolumes(tc.goos, load(t, tc.file)))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.file, got, tc.want)
		}
	}
}

type fakeVolumes struct {
	ps    []partition
	use   map[string]usage
	err   error
	asked []string
}

func (f *fakeVolumes) Partitions(context.Context) ([]partition, error) { return f.ps, f.err }

func (f *fakeVolumes) Usage(_ context.Context, m string) (usage, error) {
	f.asked = append(f.asked, m)
	u, ok := f.use[m]
	if !ok {
		return usage{}, errors.New("permission denied")
	}
	return u, nil
}

type collect []check.Result

func (c *collect) Report(r check.Result) { *c = append(*c, r) }

const gb = 1 << 30

func TestRunMessages(t *testing.T) {
	f := &fakeVolumes{ps: load(t, "linux-desktop.json"), use: map[string]usage{
		"/":         {Total: 80 * gb, Free: 13207024435, UsedPercent: 85.24},
		"/boot/efi": {Total: 512 << 20, Free: 500 << 20, UsedPercent: 2.3},
		"/home":     {Total: 1 << 40, Free: 50 * gb, UsedPercent: 95.1},
		"/srv":      {Total: 2000 * gb, Free: 1000 * gb, UsedPercent: 50},
	}}
	c, err := newCheck(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	c.goos = "linux"
	if err := c.Init(); err != nil {
		t.Fatal(err)
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		status core.Status
		en, de string
	}{
		"/":         {core.StatusWarning, "Disk / is 85.2 % full (12.3 GB free of 80.0 GB)", "Datenträger / ist zu 85,2 % belegt (12,3 GB von 80,0 GB frei)"},
		"/boot/efi": {core.StatusOK, "Disk /boot/efi is 2.3 % full (500.0 MB free of 512.0 MB)", "Datenträger /boot/efi ist zu 2,3 % belegt (500,0 MB von 512,0 MB frei)"},
		"/home":     {core.StatusFailure, "Disk /home is 95.1 % full (50.0 GB free of 1.0 TB)", "Datenträger /home ist zu 95,1 % belegt (50,0 GB von 1,0 TB frei)"},
		"/srv":      {core.StatusOK, "Disk /srv is 50.0 % full (1,000.0 GB free of 2.0 TB)", "Datenträger /srv ist zu 50,0 % belegt (1.000,0 GB von 2,0 TB frei)"},
	}
	if len(got) != 5 {
		t.Fatalf("%d results: %+v", len(got), got)
	}
	for _, r := range got {
		if r.Key == "/tank/data" {
			// Usage failed: reported per volume, not for the whole check.
			if r.Status != core.StatusError || r.Value != nil {
				t.Errorf("unreadable volume: %+v", r)
			}
			continue
		}
		w, ok := want[r.Key]
		if !ok {
			t.Errorf("unexpected volume %q", r.Key)
			continue
		}
		if r.Status != w.status || r.Unit != "%" || r.Value == nil {
			t.Errorf("%s: %+v", r.Key, r)
		}
		if r.Message.EN != w.en || r.Message.DE != w.de {
			t.Errorf("%s: %q / %q", r.Key, r.Message.EN, r.Message.DE)
		}
	}
}

func TestVolumesParam(t *testing.T) {
	f := &fakeVolumes{ps: load(t, "windows-11.json"), use: map[string]usage{
		"D:": {Total: 100 * gb, Free: 10 * gb, UsedPercent: 90},
		"Z:": {Total: 100 * gb, Free: 50 * gb, UsedPercent: 50},
	}}
	c, err := newCheck(json.RawMessage(`{"warn":70,"fail":95,"volumes":["d:\\","Z:","Q:"]}`), f)
	if err != nil {
		t.Fatal(err)
	}
	c.goos = "windows"
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.asked, []string{"D:", "Z:"}) {
		t.Errorf("read %q", f.asked)
	}
	byKey := map[string]check.Result{}
	for _, r := range got {
		byKey[r.Key] = r
	}
	if len(got) != 3 || byKey["D:"].Status != core.StatusWarning || byKey["Z:"].Status != core.StatusOK {
		t.Errorf("got %+v", got)
	}
	if q := byKey["Q:"]; q.Status != core.StatusError || q.Message.DE != "Datenträger Q: wurde nicht gefunden" {
		t.Errorf("missing volume: %+v", q)
	}
}

func TestListError(t *testing.T) {
	want := errors.New("boom")
	c, _ := newCheck(nil, &fakeVolumes{err: want})
	if err := c.Run(context.Background(), &collect{}); !errors.Is(err, want) {
		t.Errorf("err %v", err)
	}
	if _, err := newCheck(json.RawMessage(`{"warn":95,"fail":90}`), &fakeVolumes{}); err == nil {
		t.Error("bad thresholds accepted")
	}
}

func TestRegistered(t *testing.T) {
	c, err := check.New(Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range got {
		found = found || r.Key == "/"
	}
	if !found {
		t.Errorf("no result for / on this machine: %+v", got)
	}
}

func TestFreeSpaceLimits(t *testing.T) {
	big := usage{Total: 4 << 40, Free: 400 * gb, UsedPercent: 90.2}
	small := usage{Total: 64 * gb, Free: 3 * gb, UsedPercent: 70}
	for _, tc := range []struct {
		params string
		u      usage
		want   core.Status
	}{
		{`{}`, big, core.StatusFailure},
		{`{"percent_off":true,"free_warn_gb":50,"free_fail_gb":10}`, big, core.StatusOK},
		{`{"percent_off":true,"free_warn_gb":50,"free_fail_gb":10}`, small, core.StatusFailure},
		{`{"free_warn_gb":5}`, small, core.StatusWarning},
		{`{"free_warn_gb":2}`, small, core.StatusOK},
	} {
		c, err := newCheck(json.RawMessage(tc.params), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Init(); err != nil {
			t.Fatalf("%s: %v", tc.params, err)
		}
		if r := result("D:", tc.u, c.p); r.Status != tc.want || *r.Value != tc.u.UsedPercent {
			t.Errorf("%s %+v: %v, want %v", tc.params, tc.u, r.Status, tc.want)
		}
	}
	for _, bad := range []string{`{"free_warn_gb":-1}`, `{"free_warn_gb":5,"free_fail_gb":10}`, `{"percent_off":true}`} {
		if c, err := newCheck(json.RawMessage(bad), nil); err == nil && c.Init() == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestPartialList: a volume list the OS could read only in part (gopsutil's
// warnings on Windows, a fixed drive its list left out) reports the volumes
// it could read and an error naming each one it could not.
func TestPartialList(t *testing.T) {
	win := load(t, "windows-11.json")
	vi := msg.Call("GetVolumeInformation", errors.New("The device is not ready."))
	f := &fakeVolumes{ps: win[:1], err: &PartialError{Unread: []Unread{{Mount: "D:", Err: vi}, {Err: errors.New("failed to find next volume")}}},
		use: map[string]usage{"C:": {Total: 100 * gb, Free: 50 * gb, UsedPercent: 50}}}
	c, _ := newCheck(nil, f)
	c.goos = "windows"
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	byKey := map[string]check.Result{}
	for _, r := range got {
		byKey[r.Key] = r
	}
	if d := byKey["D:"]; len(got) != 3 || d.Status != core.StatusError ||
		d.Message.EN != "Disk D: could not be read: GetVolumeInformation failed: The device is not ready." ||
		d.Message.DE != "Datenträger D: konnte nicht gelesen werden: GetVolumeInformation fehlgeschlagen: The device is not ready." {
		t.Fatalf("got %+v", got)
	}
	if w := byKey[""]; w.Status != core.StatusError || w.Message.DE != "Einige Datenträger konnten nicht gelesen werden: failed to find next volume" {
		t.Fatalf("warning: %+v", w)
	}
	if byKey["C:"].Status != core.StatusOK {
		t.Fatalf("readable volume: %+v", byKey["C:"])
	}
	// A named volume that could not be read is not also "not found".
	c, _ = newCheck(json.RawMessage(`{"volumes":["C:","D:"]}`), f)
	c.goos = "windows"
	got = nil
	if err := c.Run(context.Background(), &got); err != nil || len(got) != 3 {
		t.Fatalf("named: %+v, %v", got, err)
	}
}

// TestOSVolumesWarnings: gopsutil's warnings next to a partial list become
// a PartialError with the volumes it could read; its entry for a drive
// without media (no mount point) is left out.
func TestOSVolumesWarnings(t *testing.T) {
	defer func(f func(context.Context, bool) ([]disk.PartitionStat, error)) { listPartitions = f }(listPartitions)
	listPartitions = func(context.Context, bool) ([]disk.PartitionStat, error) {
		return []disk.PartitionStat{{Device: "/dev/sda1", Mountpoint: "/", Fstype: "ext4", Opts: []string{"rw"}}, {}},
			errors.New("Warning: failed to get first-volume")
	}
	ps, err := osVolumes{goos: "linux"}.Partitions(context.Background())
	pe := (*PartialError)(nil)
	if !errors.As(err, &pe) || len(pe.Unread) != 1 || pe.Unread[0].Mount != "" || len(ps) != 1 || ps[0].Mount != "/" {
		t.Fatalf("%+v, %v", ps, err)
	}
	listPartitions = func(context.Context, bool) ([]disk.PartitionStat, error) {
		return nil, errors.New("GetLogicalDriveStrings: denied")
	}
	_, err = osVolumes{goos: "linux"}.Partitions(context.Background())
	if txt := check.ErrorText(err); txt.DE != "Auflisten der Datenträger: GetLogicalDriveStrings: denied" {
		t.Fatalf("%+v", txt)
	}
}
