package svcmgr

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUnitFromSystemctlShow(t *testing.T) {
	units := parseShow(read(t, "systemd-show-debian12.txt"))
	if len(units) != 8 {
		t.Fatalf("parsed %d units", len(units))
	}
	want := map[string]struct {
		auto, running bool
		state         string
	}{
		"ssh.service":           {true, true, "active/running"},
		"cron.service":          {true, true, "active/running"},
		"rsync.service":         {true, true, "inactive/dead"}, // condition unmet
		"e2scrub_reap.service":  {true, true, "inactive/dead"}, // oneshot done
		"mariadb.service":       {true, false, "failed/failed, result exit-code"},
		"smartmontools.service": {true, false, "inactive/dead"}, // enabled daemon not running
		"ifupdown-pre.service":  {false, false, "failed/failed, result exit-code"},
		"apt-daily.service":     {false, false, "inactive/dead"},
	}
	for _, p := range units {
		s := unitFromProps(p)
		if s.Auto != (s.StartType == "automatic") || (!s.Auto && s.StartType != "static") {
			t.Errorf("%s: start type %q", s.Name, s.StartType)
		}
		w, ok := want[s.Name]
		if !ok {
			t.Errorf("unexpected unit %q", s.Name)
			continue
		}
		if s.Auto != w.auto || s.Running != w.running || s.State != w.state {
			t.Errorf("%s: auto %v running %v state %q; want %v %v %q", s.Name, s.Auto, s.Running, s.State, w.auto, w.running, w.state)
		}
	}
	if propString(true) != "yes" || propString(false) != "no" || propString(uint64(7)) != "7" || propString("x") != "x" {
		t.Error("propString does not match systemctl show")
	}
}

func TestLaunchd(t *testing.T) {
	jobs, err := parseLaunchctlList(read(t, "launchctl-list-sonoma.txt"))
	if err != nil || len(jobs) != 7 {
		t.Fatalf("jobs %+v %v", jobs, err)
	}
	if jobs[0] != (launchJob{PID: 412, Label: "com.apple.mDNSResponder"}) || jobs[2] != (launchJob{Status: 78, Label: "com.teamviewer.service"}) || jobs[4].Status != -9 {
		t.Errorf("jobs %+v", jobs)
	}
	var defs []plistJob
	for _, f := range []string{"plist-teamviewer.json", "plist-sentinelone.json", "plist-msautoupdate.json"} {
		d, err := parsePlistJSON([]byte(read(t, f)))
		if err != nil {
			t.Fatal(err)
		}
		defs = append(defs, d)
	}
	if !defs[0].KeepAlive || defs[2].KeepAlive {
		t.Errorf("keepalive %+v", defs)
	}
	defs = append(defs, plistJob{Label: "com.example.gone", KeepAlive: true})
	svcs := launchdServices(jobs, defs)
	var got []string
	for _, s := range svcs {
		if s.Auto || s.StartType != "" {
			got = append(got, fmt.Sprintf("%s=%s,%s,%v", s.Name, s.State, s.StartType, s.Auto))
		}
	}
	want := "com.teamviewer.service=not running, last exit status 78,automatic,true|" +
		"com.microsoft.autoupdate.helper=not running, last exit status -9,manual,false|" +
		"com.sentinelone.sentineld=running, PID 1023,automatic,true|" +
		"com.example.gone=not loaded,automatic,true"
	if strings.Join(got, "|") != want {
		t.Errorf("services\n %s\nwant\n %s", strings.Join(got, "|"), want)
	}
	if _, err := parseLaunchctlList("PID\tStatus\tLabel\nx\t0\tbad\n"); err == nil {
		t.Error("bad PID accepted")
	}
}

func TestWinService(t *testing.T) {
	for _, tc := range []struct {
		start     uint32
		delayed   bool
		triggered bool
		state     uint32
		auto      bool
		running   bool
		text      string
	}{
		{2, false, false, 4, true, true, "running"},
		{2, true, false, 1, true, false, "stopped, delayed start"},
		{2, false, true, 1, false, false, "stopped"}, // Automatic (Trigger Start)
		{3, false, false, 1, false, false, "stopped"},
		{4, false, false, 1, false, false, "stopped"},
		{2, false, false, 2, true, true, "start pending"},
		{2, false, false, 7, true, false, "paused"},
	} {
		s := winService("Spooler", "Druckwarteschlange", tc.start, tc.delayed, tc.triggered, tc.state)
		if s.Auto != tc.auto || s.Running != tc.running || s.State != tc.text {
			t.Errorf("%+v → %+v", tc, s)
		}
	}
	for st, want := range map[uint32]string{0: "boot", 2: "automatic", 3: "manual", 4: "disabled"} {
		if got := winService("x", "", st, false, false, 1).StartType; got != want {
			t.Errorf("start type %d = %q, want %q", st, got, want)
		}
		if st >= 2 && winStartType(want) != st {
			t.Errorf("winStartType(%q) = %d", want, winStartType(want))
		}
	}
}

func TestUnitStartType(t *testing.T) {
	for in, want := range map[string]string{"enabled": "automatic", "enabled-runtime": "automatic", "disabled": "manual", "masked": "disabled", "static": "static"} {
		if got := unitStartType(in); got != want {
			t.Errorf("unitStartType(%q) = %q", in, got)
		}
	}
	never := map[string]string{"Id": "x.service", "ActiveState": "inactive", "SubState": "dead", "ConditionResult": "no", "Result": "success", "ConditionTimestamp": "0"}
	if unitFromProps(never).Running {
		t.Error("a unit never started counts as running")
	}
	if unitName("ssh") != "ssh.service" || unitName("ssh.service") != "ssh.service" {
		t.Error("unitName")
	}
}

func TestLSBDescription(t *testing.T) {
	script := "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: x\n# Description:       Long words\n#  more\n# Short-Description: Größe prüfen\n### END INIT INFO\n# Short-Description: not this\n"
	if got := lsbDescription([]byte(script)); got != "Größe prüfen" {
		t.Errorf("short: %q", got)
	}
	if got := lsbDescription([]byte("### BEGIN INIT INFO\n# Description: Only long\n### END INIT INFO\n")); got != "Only long" {
		t.Errorf("long: %q", got)
	}
	if got := lsbDescription([]byte("#!/bin/sh\n# Short-Description: outside\n")); got != "" {
		t.Errorf("outside the header: %q", got)
	}
}

func TestCheckName(t *testing.T) {
	for _, n := range []string{"", ".", "..", "../../bin/sh", `a\b`, "-f", "a\x00b"} {
		if err := checkName(n); !errors.Is(err, ErrNotFound) {
			t.Errorf("name %q accepted", n)
		}
	}
	for _, n := range []string{"ssh", "ssh.service", "com.apple.mDNSResponder", "Intel(R) TPM Provisioning Service"} {
		if err := checkName(n); err != nil {
			t.Errorf("name %q: %v", n, err)
		}
	}
	if checkStartType("automatic") != nil || checkStartType("boot") == nil {
		t.Error("checkStartType")
	}
}
