package wua

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// jsonNode is a recorded COM object: testdata/README.md.
type jsonNode struct {
	m    map[string]any
	fail map[string]error // properties whose read fails
}

func (j jsonNode) raw(name string) (any, error) {
	if err := j.fail[name]; err != nil {
		return nil, err
	}
	v, ok := j.m[name]
	if !ok {
		return nil, ErrNoProperty
	}
	return v, nil
}

func (j jsonNode) prop(name string) (any, error) {
	v, err := j.raw(name)
	if err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok {
		if s, ok := m["VT_DECIMAL"].(string); ok {
			return strconv.ParseInt(s, 10, 64)
		}
		if s, ok := m["VT_DATE"].(string); ok {
			return time.Parse(time.RFC3339, s)
		}
		return nil, fmt.Errorf("%s is an object", name)
	}
	return v, nil
}

func (j jsonNode) child(name string) (node, error) {
	v, err := j.raw(name)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", name)
	}
	return jsonNode{m: m}, nil
}

func (j jsonNode) items(name string) ([]node, error) {
	v, err := j.raw(name)
	if err != nil {
		return nil, err
	}
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s is not a collection", name)
	}
	out := make([]node, 0, len(l))
	for _, x := range l {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s has a non-object item", name)
		}
		out = append(out, jsonNode{m: m})
	}
	return out, nil
}

func (j jsonNode) strs(name string) ([]string, error) {
	v, err := j.raw(name)
	if err != nil {
		return nil, err
	}
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s is not a collection", name)
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%s has a non-string item", name)
		}
		out = append(out, s)
	}
	return out, nil
}

func load(t *testing.T, file string) jsonNode {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return jsonNode{m: m}
}

func TestUpdatesFromPublicCaptures(t *testing.T) {
	us, err := updatesFrom(load(t, "search-public.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ key, kb, class, version string }{
		{"windows-update:bcd58b64-3cef-42da-b169-a66060ae195e", "KB4601345", core.ClassSecurity, ""},
		{"windows-update:F5601A74-EE35-4E6C-B2E2-094A00F28349@200", "KB5045993", core.ClassUpdate, "200"},
		{"windows-update:unknown-in-capture-kb2267602", "KB2267602", core.ClassDefinition, ""},
		{"windows-update:fbcf5b50-4e5f-4be7-9c72-e9d505860d10", "KB4592449", core.ClassFeature, ""},
		{"windows-update:unknown-in-capture-kb890830", "KB890830", core.ClassRollup, ""},
	}
	if len(us) != len(want) {
		t.Fatalf("%d updates, want %d: %+v", len(us), len(want), us)
	}
	for i, w := range want {
		u := us[i]
		if u.Key != w.key || u.KB != w.kb || u.Classification != w.class || u.Version != w.version || u.Source != core.SourceWindowsUpdate {
			t.Errorf("update %d = key %q kb %q class %q version %q source %q, want %+v", i, u.Key, u.KB, u.Classification, u.Version, u.Source, w)
		}
		if u.Title == "" || u.Severity != "" || u.SizeBytes != 0 || u.Reboot != "" || !u.ReleasedAt.IsZero() {
			t.Errorf("update %d has values its capture lacks: %+v", i, u)
		}
	}
}

func TestUpdatesFromTypedValues(t *testing.T) {
	us, err := updatesFrom(load(t, "search-typed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 2 {
		t.Fatalf("%d updates: %+v", len(us), us)
	}
	u := us[0]
	if u.Classification != core.ClassSecurity { // German name, mapped by ID
		t.Errorf("classification %q", u.Classification)
	}
	if u.Severity != core.SeverityImportant || u.SizeBytes != 450887680 || u.Reboot != core.RebootAlways ||
		u.KB != "KB5034441" || len(u.CVEs) != 1 || u.CVEs[0] != "CVE-2024-20666" ||
		!u.ReleasedAt.Equal(time.Date(2024, 1, 9, 0, 0, 0, 0, time.UTC)) ||
		u.URL != "https://support.microsoft.com/help/5034441" || u.Version != "1" {
		t.Errorf("security update mapped to %+v", u)
	}
	d := us[1]
	if d.Classification != core.ClassDriver || d.Severity != "" || d.KB != "" || d.Reboot != core.RebootMay || d.SizeBytes != 1507328 {
		t.Errorf("driver mapped to %+v", d)
	}
}

func TestUpdatesFromFailures(t *testing.T) {
	// A failed search is an error, never an empty list.
	for _, rc := range []float64{ResultFailed, ResultAborted, ResultNotStarted} {
		n := load(t, "search-typed.json")
		n.m["ResultCode"] = rc
		if us, err := updatesFrom(n); err == nil {
			t.Errorf("ResultCode %v: %d updates and no error", rc, len(us))
		}
	}
	// An update whose property cannot be read fails the scan.
	n := load(t, "search-typed.json")
	list, _ := n.items("Updates")
	bad := list[0].(jsonNode)
	bad.fail = map[string]error{"MsrcSeverity": &Error{Op: "IUpdate.MsrcSeverity", HResult: 0x8024001E}}
	if _, err := updateFrom(bad); err == nil {
		t.Error("a failing property read gave no error")
	} else if hr, ok := HResultOf(err); !ok || hr != 0x8024001E {
		t.Errorf("error %v lost its HRESULT", err)
	}
	// No Title or UpdateID: an error.
	delete(list[1].(jsonNode).m, "Title")
	if _, err := updateFrom(list[1]); err == nil {
		t.Error("an update without a title was taken")
	}
	// The Updates collection missing: an error, not nothing.
	n = load(t, "search-typed.json")
	delete(n.m, "Updates")
	if _, err := updatesFrom(n); !errors.Is(err, ErrNoProperty) {
		t.Errorf("no Updates collection: %v", err)
	}
}

func TestClassifyFallbacks(t *testing.T) {
	cases := []struct {
		cats []category
		want string
	}{
		{nil, core.ClassUpdate},
		{[]category{{Name: "Windows 11", Type: "Product", ID: "72e7624a-5b00-45d2-b92f-e561c0a6a160"}, {Name: "Critical Updates", Type: "UpdateClassification"}}, core.ClassCritical},
		{[]category{{Name: "Tools", Type: "UpdateClassification", ID: "{B4832BD8-E735-4761-8DAF-37F882276DAB}"}}, core.ClassTool},
		{[]category{{Name: "Service Packs"}}, core.ClassServicePack},
		{[]category{{Name: "Security Updates", Type: "Product"}}, core.ClassUpdate},
		{[]category{{Name: "Feature Packs", Type: "UpdateClassification"}}, core.ClassFeature},
	}
	for _, c := range cases {
		if got := classify(c.cats); got != c.want {
			t.Errorf("classify(%+v) = %q, want %q", c.cats, got, c.want)
		}
	}
}

func TestInstallResultOK(t *testing.T) {
	cases := []struct {
		r    InstallResult
		want bool
	}{
		{InstallResult{Phase: "install", ResultCode: ResultSucceeded}, true},
		{InstallResult{Phase: "install", ResultCode: ResultSucceeded, RebootRequired: true}, true},
		{InstallResult{Phase: "install", ResultCode: ResultFailed, HResult: 0x80070643}, false},
		{InstallResult{Phase: "install", ResultCode: ResultSucceededWithErrors, HResult: 0x80240022}, false},
		{InstallResult{Phase: "download", ResultCode: ResultSucceeded}, false},
		{InstallResult{Phase: "install", ResultCode: ResultSucceeded, HResult: 0x80070005}, false},
	}
	for _, c := range cases {
		if c.r.OK() != c.want {
			t.Errorf("%+v.OK() = %v", c.r, !c.want)
		}
	}
}

func TestPolicyServer(t *testing.T) {
	if s := PolicyServer(1, true, " http://wsus.example.lan:8530 "); s != "http://wsus.example.lan:8530" {
		t.Errorf("WSUS on: %q", s)
	}
	if s := PolicyServer(0, true, "http://wsus.example.lan:8530"); s != "" {
		t.Errorf("UseWUServer 0: %q", s)
	}
	if s := PolicyServer(1, false, "http://wsus.example.lan:8530"); s != "" {
		t.Errorf("UseWUServer absent: %q", s)
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Op: "IUpdateSearcher.Search", HResult: 0x8024402C, Desc: "<nil>"}
	if e.Error() != "IUpdateSearcher.Search: HRESULT 0x8024402C" {
		t.Errorf("%q", e.Error())
	}
}
