// Package evtxtest gives tests the records of the real Windows event logs
// in the shared test data (../shared/testdata/evtx next to the project,
// see its README) as the XML that EvtRender(EvtRenderEventXml) produces.
// It converts them with evtxexport (Debian package libevtx-utils), which
// reads the 2,000-record logs in a second where python-evtx's
// evtx_dump.py takes minutes. Tests skip without the files or the tool,
// and fail instead when CI is set.
package evtxtest

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/wacht-rmm/wacht/internal/sharedtest"
)

// Files are the shared .evtx files, by channel.
var (
	System      = []string{"system.evtx"}
	Application = []string{"Application_no_crc32.evtx"}
	Security    = []string{"security.evtx", "Security_short_selected.evtx", "new-user-security.evtx"}
	Sysmon      = []string{"sysmon.evtx"}
	All         = []string{"system.evtx", "Application_no_crc32.evtx", "security.evtx", "Security_short_selected.evtx", "new-user-security.evtx", "sysmon.evtx"}
)

var (
	mu    sync.Mutex
	cache = map[string][]string{}

	eventRE = regexp.MustCompile(`(?s)<Event xmlns=.*?</Event>`)
	// evtxexport writes 9 fractional digits; Windows writes 7.
	timeRE = regexp.MustCompile(`SystemTime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7})\d\dZ"`)
)

// Records returns every record of the named files, in file order, each as
// one event's XML.
func Records(t testing.TB, files ...string) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		out = append(out, records(t, f)...)
	}
	return out
}

func records(t testing.TB, file string) []string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if rs, ok := cache[file]; ok {
		return rs
	}
	if testing.Short() {
		t.Skip("converts and parses every record of the real event logs; runs without -short")
	}
	dir := sharedtest.Find("testdata/evtx")
	if dir == "" {
		sharedtest.Unavailable(t, "the shared .evtx files (../shared/testdata/evtx) were not found")
	}
	tool, err := exec.LookPath("evtxexport")
	if err != nil {
		sharedtest.Unavailable(t, "evtxexport is not installed (apt-get install libevtx-utils)")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(tool, "-f", "xml", filepath.Join(dir, file))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("evtxexport %s: %v\n%s", file, err, stderr.String())
	}
	var rs []string
	for _, x := range eventRE.FindAll(out, -1) {
		rs = append(rs, timeRE.ReplaceAllString(string(x), `SystemTime="${1}Z"`))
	}
	if len(rs) == 0 {
		t.Fatalf("evtxexport found no record in %s", file)
	}
	cache[file] = rs
	return rs
}
