package inventory

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

func darwinFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "darwin", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPlistXMLAndBinaryAgree(t *testing.T) {
	want := map[string]any{
		"CFBundleDevelopmentRegion":     "English",
		"CFBundleDisplayName":           "Airpods Connection To Mac",
		"CFBundleExecutable":            "airpods.sh",
		"CFBundleIconFile":              "icon.icns",
		"CFBundleIdentifier":            "airpods.ben-ami.amit",
		"CFBundleInfoDictionaryVersion": "6.0",
		"CFBundleName":                  "Airpods To Mac",
		"CFBundlePackageType":           "APPL",
		"CFBundleSignature":             "????",
		"CFBundleVersion":               "1.0",
		"LSRequiresIPhoneOS":            true,
		"NSMainNibFile":                 "MainWindow",
	}
	for _, f := range []string{"info_airpods.plist", "info_airpods.bplist"} {
		got, err := parsePlist(darwinFixture(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v", f, got)
		}
	}
}

func TestPlistValueTypes(t *testing.T) {
	x := `<?xml version="1.0"?><plist version="1.0"><dict>
	<key>a</key><array><integer>-5</integer><integer>18446744073709550084</integer><real>1.5</real><false/></array>
	<key>d</key><date>2024-07-21T06:24:38Z</date><key>b</key><data>AAEC
	Aw==</data><key>u</key><string>Ünïcødé &amp; Co</string></dict></plist>`
	got, err := parsePlist([]byte(x))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": []any{int64(-5), int64(-1532), 1.5, false},
		"d": time.Date(2024, 7, 21, 6, 24, 38, 0, time.UTC),
		"b": []byte{0, 1, 2, 3},
		"u": "Ünïcødé & Co",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
}

// bplistOf builds a binary plist from raw objects (1-byte offsets and
// references), for malformed cases no writer would produce.
func bplistOf(top byte, objs ...[]byte) []byte {
	b := []byte("bplist00")
	var offs []byte
	for _, o := range objs {
		offs = append(offs, byte(len(b)))
		b = append(b, o...)
	}
	table := len(b)
	b = append(b, offs...)
	tr := make([]byte, 32)
	tr[6], tr[7] = 1, 1
	binary.BigEndian.PutUint64(tr[8:], uint64(len(objs)))
	binary.BigEndian.PutUint64(tr[16:], uint64(top))
	binary.BigEndian.PutUint64(tr[24:], uint64(table))
	return append(b, tr...)
}

// expandingBplist is 40 arrays each holding the next one twice: 2^40 objects
// from 120 bytes.
func expandingBplist() []byte {
	var objs [][]byte
	for i := range 40 {
		objs = append(objs, []byte{0xA2, byte(i + 1), byte(i + 1)})
	}
	return bplistOf(0, append(objs, []byte{0x08})...)
}

func TestPlistBadInput(t *testing.T) {
	good := darwinFixture(t, "info_airpods.bplist")
	for name, b := range map[string][]byte{
		"empty":           nil,
		"text":            []byte("not a plist"),
		"html":            []byte("<html><body/></html>"),
		"unclosed":        []byte("<plist><dict><key>a</key><string>b</string>"),
		"key without val": []byte("<plist><dict><key>a</key></dict></plist>"),
		"bad integer":     []byte("<plist><integer>12x</integer></plist>"),
		"bad date":        []byte("<plist><date>yesterday</date></plist>"),
		"unknown element": []byte("<plist><thing/></plist>"),
		"bare key":        []byte("<plist><key>a</key></plist>"),
		"truncated bin":   good[:len(good)-40],
		"header only":     []byte("bplist00"),
		"cycle":           bplistOf(0, []byte{0xA1, 0}),                     // an array holding itself
		"ref past end":    bplistOf(0, []byte{0xA1, 7}),                     // reference to object 7 of 1
		"string past end": bplistOf(0, []byte{0x5F, 0x11, 0xFF, 0xFF, 'a'}), // 65535 bytes claimed
		"int key":         bplistOf(0, []byte{0xD1, 1, 1}, []byte{0x10, 1}),
		"expandingBplist": expandingBplist(),
	} {
		if v, err := parsePlist(b); err == nil {
			t.Errorf("%s: parsed as %#v", name, v)
		}
	}
	deep := []byte("<plist>")
	for range maxPlistDepth + 2 {
		deep = append(deep, "<array>"...)
	}
	for range maxPlistDepth + 2 {
		deep = append(deep, "</array>"...)
	}
	deep = append(deep, "</plist>"...)
	if _, err := parsePlist(deep); err == nil {
		t.Error("nesting deeper than the limit parsed")
	}
}

func TestIORegBattery(t *testing.T) {
	got, err := parseIORegBatteries(darwinFixture(t, "ioreg_battery_intel_excerpt.plist"))
	if err != nil {
		t.Fatal(err)
	}
	// Intel: MaxCapacity is mAh; 3424 of 5088 is 67 %. No Voltage in the
	// excerpt, so no mWh.
	if !reflect.DeepEqual(got, []core.Battery{{HealthPercent: 67}}) {
		t.Errorf("batteries = %+v", got)
	}
	// Written for the test, with the keys and values of the Apple silicon
	// MacBook Pro (M1 Max) whose ioreg text output tirekick keeps: there
	// MaxCapacity is a percentage and AppleRawMaxCapacity the mAh.
	m1 := `<plist><array><dict><key>DesignCapacity</key><integer>8694</integer><key>MaxCapacity</key><integer>100</integer>
	<key>AppleRawMaxCapacity</key><integer>8179</integer><key>CycleCount</key><integer>35</integer><key>Voltage</key><integer>12785</integer>
	<key>DeviceName</key><string>bq40z651</string><key>Serial</key><string>XXXXXXXXXXXXXLWBD</string><key>BatteryInstalled</key><true/></dict></array></plist>`
	got, err = parseIORegBatteries([]byte(m1))
	want := []core.Battery{{Name: "bq40z651", SerialOrModel: "XXXXXXXXXXXXXLWBD", CycleCount: 35, HealthPercent: 94, DesignMWh: 111152, FullChargeMWh: 104568}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("M1 Max = %+v, %v", got, err)
	}
	merged := mergeBattery(got, []core.Battery{{ConditionNotes: "Normal", HealthPercent: 97, CycleCount: 35}})
	if merged[0].ConditionNotes != "Normal" || merged[0].HealthPercent != 94 {
		t.Errorf("merged = %+v", merged)
	}
	// Without capacities from ioreg, system_profiler's percentage stands.
	if m := mergeBattery([]core.Battery{{}}, []core.Battery{{HealthPercent: 83}}); m[0].HealthPercent != 83 {
		t.Errorf("fallback = %+v", m)
	}
	if got, err := parseIORegBatteries([]byte(`<plist><array/></plist>`)); err != nil || len(got) != 0 || got == nil {
		t.Errorf("no battery = %#v, %v", got, err)
	}
	for _, bad := range []string{"", "garbage", `<plist><dict/></plist>`} {
		if _, err := parseIORegBatteries([]byte(bad)); err == nil {
			t.Errorf("%q gave no error", bad)
		}
	}
}

func FuzzPlist(f *testing.F) {
	for _, n := range []string{"info_airpods.plist", "info_airpods.bplist", "ioreg_battery_intel_excerpt.plist"} {
		f.Add(darwinFixture(f, n))
	}
	f.Add(bplistOf(0, []byte{0xA1, 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parsePlist(b)
		_, _ = parseIORegBatteries(b)
	})
}

func BenchmarkInfoPlist(b *testing.B) {
	for _, f := range []string{"info_airpods.plist", "info_airpods.bplist"} {
		in := darwinFixture(b, f)
		b.Run(f, func(b *testing.B) {
			for b.Loop() {
				if _, err := parsePlist(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
