package snmp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Credentials of the test snmpd.
const (
	testCommunity = "wacht-ro"
	testUser      = "wachtuser"
	testAuthPass  = "authpass-4711"
	testPrivPass  = "privpass-0815"
)

// lockedBuf collects a child's output.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startSnmpd runs net-snmp's snmpd on a loopback port with its own
// configuration: a v2c read-only community and a v3 SHA/AES user.
func startSnmpd(t *testing.T) int {
	t.Helper()
	bin, err := exec.LookPath("snmpd")
	if err != nil {
		for _, p := range []string{"/usr/sbin/snmpd", "/sbin/snmpd"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("snmpd (Debian package snmpd) is missing in CI")
		}
		t.Skip("snmpd not installed (apt-get install snmpd snmp)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "snmpd.conf")
	err = os.WriteFile(conf, []byte(fmt.Sprintf(`rocommunity %s 127.0.0.1
createUser %s SHA "%s" AES "%s"
rouser %s priv
sysLocation Serverraum 1
sysContact it@kunde.example
`, testCommunity, testUser, testAuthPass, testPrivPass, testUser)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	port := freeUDPPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-f", "-Lo", "-C", "-c", conf, "-M", dir, "-m", "",
		fmt.Sprintf("udp:127.0.0.1:%d", port))
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"), "MIBS=")
	out := &lockedBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting snmpd: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("snmpd output:\n%s", out.String())
		}
	})
	// Wait until it answers.
	c := mustCheck(t, fmt.Sprintf(`{"host":"127.0.0.1","port":%d,"community":%q,"template":"uptime","timeout_seconds":0.5,"retries":0}`, port, testCommunity))
	deadline := time.Now().Add(10 * time.Second)
	for {
		var rep collect
		_ = c.Run(context.Background(), &rep)
		if len(rep.rs) == 1 && rep.rs[0].Status == core.StatusOK {
			return port
		}
		if time.Now().After(deadline) {
			t.Fatalf("snmpd did not answer: %+v\n%s", rep.rs, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mustCheck(t *testing.T, raw string) *Check {
	t.Helper()
	c, err := New(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("New(%s): %v", raw, err)
	}
	return c
}

func TestRealSnmpd(t *testing.T) {
	check.SetStateDir(t.TempDir())
	defer check.SetStateDir("")
	port := startSnmpd(t)
	creds := map[string]string{
		"v2c":         fmt.Sprintf(`"version":"2c","community":%q`, testCommunity),
		"v1":          fmt.Sprintf(`"version":"1","community":%q`, testCommunity),
		"v3 authPriv": fmt.Sprintf(`"version":"3","user":%q,"auth_protocol":"SHA","auth_passphrase":%q,"priv_protocol":"AES","priv_passphrase":%q`, testUser, testAuthPass, testPrivPass),
	}
	for name, cred := range creds {
		t.Run(name, func(t *testing.T) {
			base := fmt.Sprintf(`"host":"127.0.0.1","port":%d,%s`, port, cred)
			rep := runOnce(t, mustCheck(t, `{`+base+`,"template":"uptime"}`))
			if up := rep.byKey(t, "uptime"); up.Status != core.StatusOK || up.Value == nil || *up.Value <= 0 {
				t.Errorf("uptime: %+v", up)
			}
			rep = runOnce(t, mustCheck(t, `{`+base+`,"oids":[{"oid":"1.3.6.1.2.1.1.1.0","name":"sysDescr"},{"oid":"1.3.6.1.2.1.1.6.0","name":"location","expect":"Serverraum 1"}]}`))
			if d := rep.byKey(t, "sysDescr"); d.Status != core.StatusOK || !strings.Contains(d.Message.EN, "Linux") {
				t.Errorf("sysDescr: %+v", d)
			}
			if l := rep.byKey(t, "location"); l.Status != core.StatusOK {
				t.Errorf("location: %+v", l)
			}
			rep = runOnce(t, mustCheck(t, `{`+base+`,"template":"interfaces","interfaces":["lo"]}`))
			if lo := rep.byKey(t, "lo"); lo.Status != core.StatusOK || !strings.HasPrefix(lo.Message.EN, "Interface lo is up") {
				t.Errorf("lo: %+v", lo)
			}
			rep = runOnce(t, mustCheck(t, `{`+base+`,"template":"storage"}`))
			if m := rep.byKey(t, "Physical memory"); m.Value == nil || *m.Value <= 0 || *m.Value > 100 {
				t.Errorf("memory: %+v", m)
			}
			for _, r := range rep.rs {
				if strings.Contains(r.Message.EN+r.Message.DE, testCommunity) || strings.Contains(r.Message.EN, "pass-") {
					t.Errorf("secret in result: %q", r.Message.EN)
				}
			}
		})
	}

	t.Run("interface rates", func(t *testing.T) {
		c := mustCheck(t, fmt.Sprintf(`{"host":"127.0.0.1","port":%d,"community":%q,"template":"interfaces","interfaces":["lo"]}`, port, testCommunity))
		runOnce(t, c)
		time.Sleep(1100 * time.Millisecond)
		lo := runOnce(t, c).byKey(t, "lo")
		if lo.Value == nil || lo.Unit != "bit/s" || !strings.Contains(lo.Message.EN, "in ") {
			t.Errorf("lo rate: %+v", lo)
		}
	})

	t.Run("walk limit", func(t *testing.T) {
		rep := runOnce(t, mustCheck(t, fmt.Sprintf(`{"host":"127.0.0.1","port":%d,"community":%q,"max_varbinds":20,"oids":[{"oid":"1.3.6.1.2.1","walk":true}]}`, port, testCommunity)))
		if len(rep.rs) != 1 || rep.rs[0].Status != core.StatusError || !strings.Contains(rep.rs[0].Message.EN, "walk stopped after 20 values") {
			t.Errorf("walk limit: %+v", rep.rs)
		}
	})

	t.Run("wrong v3 passphrase", func(t *testing.T) {
		rep := runOnce(t, mustCheck(t, fmt.Sprintf(`{"host":"127.0.0.1","port":%d,"version":"3","user":%q,"auth_protocol":"SHA","auth_passphrase":"wrong-pass-1","priv_protocol":"AES","priv_passphrase":%q,"template":"uptime","timeout_seconds":2,"retries":0}`, port, testUser, testPrivPass)))
		if len(rep.rs) != 1 || rep.rs[0].Status == core.StatusOK || strings.Contains(rep.rs[0].Message.EN, "wrong-pass-1") || strings.Contains(rep.rs[0].Message.EN, testPrivPass) {
			t.Errorf("wrong passphrase: %+v", rep.rs)
		}
	})

	t.Run("wrong community", func(t *testing.T) {
		rep := runOnce(t, mustCheck(t, fmt.Sprintf(`{"host":"127.0.0.1","port":%d,"community":"geheim-falsch","template":"uptime","timeout_seconds":1,"retries":0}`, port)))
		if len(rep.rs) != 1 || rep.rs[0].Status != core.StatusFailure || strings.Contains(rep.rs[0].Message.EN, "geheim-falsch") {
			t.Errorf("wrong community: %+v", rep.rs)
		}
	})
}

// TestHangingHost: a UDP socket that never answers gives a timeout result
// bounded by the configured timeout, not a hung check.
func TestHangingHost(t *testing.T) {
	check.SetStateDir("")
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() { // read and drop
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	for _, tmpl := range []string{"uptime", "interfaces"} {
		c := mustCheck(t, fmt.Sprintf(`{"host":"127.0.0.1","port":%d,"template":%q,"timeout_seconds":1,"retries":1}`, port, tmpl))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var rep collect
		err := c.Run(ctx, &rep)
		outer := ctx.Err()
		cancel()
		if err != nil || len(rep.rs) != 1 || rep.rs[0].Status != core.StatusFailure || !strings.Contains(rep.rs[0].Message.EN, "no SNMP response within 1 s") {
			t.Errorf("%s: err %v, results %+v", tmpl, err, rep.rs)
		}
		if outer != nil {
			t.Errorf("%s: the check ran into the outer deadline", tmpl)
		}
	}
}
