package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

// TestActionKeyCommands: rotate keeps the old key for the grace period and
// is audited; status shows both keys and the devices not yet on the new one.
func TestActionKeyCommands(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	st, err := store.Open(ctx, "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := runCLI(t, "actionkey", "rotate", "--data", data); err == nil || !strings.Contains(err.Error(), "start the server once") {
		t.Fatalf("rotate without a key: %v", err)
	}
	signer, err := actionkey.Load(filepath.Join(data, actionkey.File), nil)
	if err != nil {
		t.Fatal(err)
	}
	oldFP := actionkey.Fingerprint(signer.Public())
	_, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Hannover")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: []byte("h"), SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, host := range []string{"pc-alt", "pc-stumm"} {
		d := core.Device{Hostname: host, OS: "linux", MachineID: host, PublicKey: []byte(host)}
		if err := st.Enroll(ctx, []byte("h"), &d, time.Now()); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	if err := st.SetDeviceActionKey(ctx, ids[0], oldFP); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "actionkey", "status", "--data", data)
	if err != nil || !strings.Contains(out, "current  "+oldFP[:16]) || !strings.Contains(out, "1 active device(s)") ||
		!strings.Contains(out, "pc-stumm") || strings.Contains(out, "pc-alt") {
		t.Fatalf("status before the rotation: %v\n%s", err, out)
	}

	out, _, err = runCLI(t, "actionkey", "rotate", "--data", data, "--grace", "48h")
	if err != nil || !strings.Contains(out, "the old key "+oldFP[:16]+" stays valid until") || !strings.Contains(out, actionkey.RetiredSuffix) {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	cur, retired, err := actionkey.ReadKeys(filepath.Join(data, actionkey.File))
	if err != nil || len(retired) != 1 || actionkey.Fingerprint(retired[0].Key) != oldFP || actionkey.Fingerprint(cur) == oldFP {
		t.Fatalf("keys after rotate: %v %+v %v", cur, retired, err)
	}
	if d := time.Until(retired[0].Until); d < 47*time.Hour || d > 49*time.Hour {
		t.Errorf("grace ends %v, want in 48 h", retired[0].Until)
	}
	for _, f := range []string{actionkey.File, actionkey.File + actionkey.RetiredSuffix} {
		if fi, err := os.Stat(filepath.Join(data, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want 0600", f, fi, err)
		}
	}
	es, err := st.ListAudit(ctx, 10)
	if err != nil || len(es) == 0 || es[0].Action != "actionkey.rotate" || es[0].Actor != "cli" ||
		!strings.Contains(es[0].Detail, "old="+oldFP[:16]) || !strings.Contains(es[0].Detail, "new="+actionkey.Fingerprint(cur)[:16]) {
		t.Errorf("audit = %+v, %v; want actionkey.rotate by cli first", es, err)
	}

	out, _, err = runCLI(t, "actionkey", "status", "--data", data)
	if err != nil || !strings.Contains(out, "current  "+actionkey.Fingerprint(cur)[:16]) ||
		!strings.Contains(out, "retired  "+oldFP[:16]) || !strings.Contains(out, "2 active device(s)") ||
		!strings.Contains(out, "(not reported)") {
		t.Fatalf("status after the rotation: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "pc-alt") && (!strings.Contains(line, oldFP[:16]) || strings.Contains(line, "re-enroll")) {
			t.Errorf("the device on the retired key: %q", line)
		}
	}
}
