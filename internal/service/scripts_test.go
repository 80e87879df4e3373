package service

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/seal"
)

func wantFields(t *testing.T, what string, err error, fields ...string) {
	t.Helper()
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("%s: %v, want a validation error on %v", what, err, fields)
		return
	}
	for _, f := range fields {
		found := false
		for _, fe := range ve.Fields {
			if fe.Field == f && fe.Message.EN != "" && fe.Message.DE != "" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %v, want field %s with English and German text", what, err, f)
		}
	}
}

func TestScriptLibrary(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	in := ScriptInput{Name: "Dienst neu starten", Description: core.Text{EN: "Restart a service", DE: "Dienst neu starten"},
		Language: "bash", Body: "systemctl restart \"$UNIT\"\n",
		Params: []core.ScriptParam{{Name: "UNIT", Type: core.ParamChoice, Choices: []string{"cups", "sshd"}, Default: json.RawMessage(`"cups"`)},
			{Name: "TOKEN", Type: core.ParamSecret}}}
	if _, err := f.svc.SaveScript(ctx, f.readonly, 0, in); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("read-only creating a script: %v", err)
	}
	v, err := f.svc.SaveScript(ctx, f.tech, 0, in)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != 1 || v.TimeoutSeconds != DefaultScriptTimeout || v.RunAs != core.RunAsSystem || len(v.Versions) != 1 || v.UpdatedBy != "user:tech@example.com" {
		t.Errorf("created %+v", v)
	}
	in.Body = "systemctl restart \"$UNIT\" && systemctl status \"$UNIT\"\n"
	v2, err := f.svc.SaveScript(ctx, f.admin, v.ID, in)
	if err != nil || v2.Version != 2 || len(v2.Versions) != 2 || v2.Body != in.Body {
		t.Fatalf("edited: %+v, %v", v2, err)
	}
	old, err := f.svc.GetScript(ctx, f.readonly, v.ID, 1)
	if err != nil || old.Version != 1 || strings.Contains(old.Body, "status") {
		t.Errorf("version 1 as read-only: %+v, %v", old, err)
	}
	if _, err := f.svc.SaveScript(ctx, f.tech, 0, in); err == nil {
		t.Error("a second script with the same name was saved")
	} else {
		wantFields(t, "duplicate name", err, "name")
	}

	// Built-in scripts are listed first and read-only.
	list, err := f.svc.ListScripts(ctx, f.readonly)
	if err != nil || len(list) != len(BuiltinScripts())+1 || list[0].Builtin == "" || list[len(list)-1].ID != v.ID {
		t.Fatalf("list: %d scripts, %v", len(list), err)
	}
	if _, err := f.svc.SaveScript(ctx, f.admin, list[0].ID, in); !errors.Is(err, ErrBuiltinScript) {
		t.Errorf("editing a built-in script: %v", err)
	}
	if err := f.svc.DeleteScript(ctx, f.admin, list[0].ID, false); !errors.Is(err, ErrBuiltinScript) {
		t.Errorf("deleting a built-in script: %v", err)
	}
	if err := f.svc.DeleteScript(ctx, f.readonly, v.ID, false); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("read-only deleting: %v", err)
	}
	if err := f.svc.DeleteScript(ctx, f.tech, v.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetScript(ctx, f.tech, v.ID, 0); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("deleted script: %v", err)
	}

	// Every change is audited with the version and the body's digest.
	entries, _ := f.st.ListAudit(ctx, 20)
	var got []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "script.") {
			got = append(got, e.Action+" "+e.Actor)
			if !strings.Contains(e.Detail, "sha256") || strings.Contains(e.Detail, "systemctl") {
				t.Errorf("audit detail %q", e.Detail)
			}
		}
	}
	if strings.Join(got, ",") != "script.delete user:tech@example.com,script.update user:admin@example.com,script.create user:tech@example.com" {
		t.Errorf("audit: %v", got)
	}
}

func TestScriptEditNeedsSecondFactorWhenSet(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	if err := f.svc.SetRemoteSettings(ctx, f.admin, RemoteSettings{Require2FA: true, RecordingDays: 30}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.SaveScript(ctx, f.tech, 0, ScriptInput{Name: "x", Language: "sh", Body: "echo"})
	if !errors.Is(err, ErrRemote2FA) {
		t.Errorf("technician without 2FA: %v", err)
	}
}

func TestScriptValidation(t *testing.T) {
	for _, tc := range []struct {
		what   string
		in     ScriptInput
		fields []string
	}{
		{"empty", ScriptInput{}, []string{"name", "language", "body"}},
		{"cmd on Linux", ScriptInput{Name: "x", Language: "cmd", Body: "dir", OS: []string{"linux"}}, []string{"os"}},
		{"run as", ScriptInput{Name: "x", Language: "sh", Body: "id", RunAs: "admin"}, []string{"run_as"}},
		{"timeout", ScriptInput{Name: "x", Language: "sh", Body: "id", TimeoutSeconds: MaxScriptTimeout + 1}, []string{"timeout_seconds"}},
		{"signature", ScriptInput{Name: "x", Language: "sh", Body: "id", Signature: "abc"}, []string{"signature"}},
		{"parameters", ScriptInput{Name: "x", Language: "sh", Body: "id", Params: []core.ScriptParam{
			{Name: "1X", Type: core.ParamText},
			{Name: "PW", Type: core.ParamSecret, Default: json.RawMessage(`"geheim"`)},
			{Name: "N", Type: core.ParamNumber, Default: json.RawMessage(`"sieben"`)},
			{Name: "C", Type: core.ParamChoice},
			{Name: "n", Type: core.ParamBool},
			{Name: "T", Type: "date"},
			{Name: "WACHT_RUN_ID", Type: core.ParamText},
		}}, []string{"params[0].name", "params[1].default", "params[2].default", "params[3].choices", "params[4].name", "params[5].type", "params[6].name"}},
	} {
		_, err := normalizeScript(tc.in)
		wantFields(t, tc.what, err, tc.fields...)
	}
	if sc, err := normalizeScript(ScriptInput{Name: "x", Language: "sh", Body: "id", RunAs: core.RunAsUser}); err != nil || sc.RunAs != core.RunAsUser ||
		!strings.Contains(scriptDetail(sc), "as the logged-on user") {
		t.Errorf("as the logged-on user: %+v, %v", sc, err)
	}
	sc, err := normalizeScript(ScriptInput{Name: " Spooler ", Language: "powershell", Body: "Restart-Service Spooler"})
	if err != nil || sc.Name != "Spooler" || strings.Join(sc.OS, ",") != "windows" {
		t.Errorf("Windows PowerShell script: %+v, %v", sc, err)
	}
}

func TestScriptParams(t *testing.T) {
	sc := core.Script{Params: []core.ScriptParam{
		{Name: "DAYS", Type: core.ParamNumber, Default: json.RawMessage(`7`)},
		{Name: "FORCE", Type: core.ParamBool},
		{Name: "MODE", Type: core.ParamChoice, Choices: []string{"fast", "gründlich"}, Required: true},
		{Name: "PW", Type: core.ParamSecret},
	}}
	plain, secrets, err := policy.ScriptParams(sc, map[string]json.RawMessage{"FORCE": json.RawMessage(`true`), "MODE": json.RawMessage(`"gründlich"`), "PW": json.RawMessage(`"s3cr3t"`)})
	if err != nil || plain["DAYS"] != "7" || plain["FORCE"] != "true" || plain["MODE"] != "gründlich" || secrets["PW"] != "s3cr3t" || plain["PW"] != "" {
		t.Errorf("params %v %v %v", plain, secrets, err)
	}
	_, _, err = policy.ScriptParams(sc, map[string]json.RawMessage{"DAYS": json.RawMessage(`"viele"`), "FORCE": json.RawMessage(`1`),
		"MODE": json.RawMessage(`"langsam"`), "OTHER": json.RawMessage(`1`)})
	wantFields(t, "wrong types", err, "params.DAYS", "params.FORCE", "params.MODE", "params.OTHER")
	_, _, err = policy.ScriptParams(sc, nil)
	wantFields(t, "missing required", err, "params.MODE")
}

// TestBuiltinScripts: the shipped scripts pass the library's own rules,
// and the shell ones parse; the disk usage report runs for real.
func TestBuiltinScripts(t *testing.T) {
	for _, b := range BuiltinScripts() {
		in := ScriptInput{Name: b.Name, Description: b.Description, Language: b.Language, Body: b.Body, Params: b.Params,
			TimeoutSeconds: b.TimeoutSeconds, RunAs: b.RunAs, OS: b.OS}
		sc, err := normalizeScript(in)
		if err != nil {
			t.Errorf("%s: %v", b.Builtin, err)
		}
		if b.Description.EN == "" || b.Description.DE == "" || strings.Join(sc.OS, ",") != strings.Join(b.OS, ",") {
			t.Errorf("%s: descriptions or OS list", b.Builtin)
		}
		if b.Language == "sh" {
			if out, err := exec.Command("sh", "-n", "-c", b.Body).CombinedOutput(); err != nil {
				t.Errorf("%s does not parse: %v %s", b.Builtin, err, out)
			}
		}
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "groß"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "groß", "f"), make([]byte, 300<<10), 0o600)
	for _, b := range BuiltinScripts() {
		if b.Builtin != "disk-usage" {
			continue
		}
		cmd := exec.Command("sh", "-c", b.Body)
		cmd.Env = append(os.Environ(), "PATH_TO_SCAN="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Largest folders below "+dir) || !strings.Contains(string(out), filepath.Join(dir, "groß")) {
			t.Errorf("disk usage report: %v\n%s", err, out)
		}
	}
}

// TestRunScriptTargets: named devices must fit the script, a client's
// devices that do not are skipped; secrets are sealed and masked.
func TestRunScriptTargets(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	win, err := f.svc.SaveScript(ctx, f.tech, 0, ScriptInput{Name: "win", Language: "cmd", Body: "dir"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.RunScript(ctx, f.tech, win.ID, RunRequest{Devices: []int64{f.dev.ID}})
	wantFields(t, "Windows script on a Linux device", err, "devices")
	sub, err := f.svc.RunScript(ctx, f.tech, win.ID, RunRequest{Client: f.dev.ClientID})
	wantFields(t, "Windows script on a Linux client", err, "devices")
	if sub.JobID != 0 {
		t.Error("a job without runs")
	}
	_, err = f.svc.RunScript(ctx, f.foreign, win.ID, RunRequest{Client: f.dev.ClientID})
	if !errors.Is(err, core.ErrNotFound) {
		t.Errorf("foreign client: %v", err)
	}
	_, err = f.svc.RunScript(ctx, f.tech, win.ID, RunRequest{Client: f.dev.ClientID, Tag: "x"})
	wantFields(t, "two selections", err, "devices")

	sh, err := f.svc.SaveScript(ctx, f.tech, 0, ScriptInput{Name: "sh", Language: "sh", Body: "echo \"$PW\"",
		Params: []core.ScriptParam{{Name: "PW", Type: core.ParamSecret}}})
	if err != nil {
		t.Fatal(err)
	}
	// Without secret.key a secret cannot be stored.
	if _, err := f.svc.RunScript(ctx, f.tech, sh.ID, RunRequest{Devices: []int64{f.dev.ID}, Params: map[string]json.RawMessage{"PW": json.RawMessage(`"x"`)}}); !errors.Is(err, errNoSealKey) {
		t.Errorf("secret without a key: %v", err)
	}
	// Nor can a run be authenticated (runMAC); from here on there is a key.
	if _, err := f.svc.RunScript(ctx, f.tech, sh.ID, RunRequest{Devices: []int64{f.dev.ID}}); !errors.Is(err, errNoSealKey) {
		t.Errorf("run without a key: %v", err)
	}
	box, err := seal.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	f.svc.secrets = box
	if _, err := f.svc.RunScript(ctx, f.readonly, sh.ID, RunRequest{Devices: []int64{f.dev.ID}}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("read-only: %v", err)
	}
	f.remote.locks = []string{"scripts"}
	_, err = f.svc.RunScript(ctx, f.tech, sh.ID, RunRequest{Devices: []int64{f.dev.ID}})
	var ae *protocol.ActionError
	if !errors.As(err, &ae) || ae.Code != protocol.CodeDisabledLocally {
		t.Errorf("locked device: %v", err)
	}
	sub, err = f.svc.RunScript(ctx, f.tech, sh.ID, RunRequest{Client: f.dev.ClientID})
	wantFields(t, "locked devices of a client", err, "devices")
	f.remote.locks = nil
	sub, err = f.svc.RunScript(ctx, f.tech, sh.ID, RunRequest{Client: f.dev.ClientID, ExpiresMinutes: 5})
	if err != nil || sub.Runs != 1 || len(sub.Skipped) != 0 {
		t.Fatalf("client run: %+v, %v", sub, err)
	}
	v, err := f.svc.GetJob(ctx, f.readonly, sub.JobID)
	if err != nil || len(v.Runs) != 1 || v.Runs[0].State != core.RunOfflineWaiting || !v.ExpiresAt.Equal(v.CreatedAt.Add(5*time.Minute)) {
		t.Errorf("job as read-only: %+v, %v", v, err)
	}
	if _, err := f.svc.GetJob(ctx, f.foreign, sub.JobID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("job of another client: %v", err)
	}
	// Deleting the script cancels the waiting run.
	if err := f.svc.DeleteScript(ctx, f.tech, sh.ID, false); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.svc.GetJob(ctx, f.tech, sub.JobID); v.Runs[0].State != core.RunCancelled {
		t.Errorf("after delete: %+v", v.Runs)
	}
}

// TestRunMACCoversTheRun: changing any part of a queued run that decides
// what runs where, and as whom, changes its MAC.
func TestRunMACCoversTheRun(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	r := core.ScriptRun{ID: "run-1", DeviceID: 7}
	j := core.ScriptJob{ScriptID: 3, ScriptVersion: 2, Params: map[string]string{"A": "1"}, Sealed: []byte("box"), ExpiresAt: time.UnixMilli(1e12)}
	sc := core.Script{Language: "sh", Body: "id", TimeoutSeconds: 60, RunAs: core.RunAsSystem}
	base := runMAC(key, r, j, sc)
	for what, change := range map[string]func(*core.ScriptRun, *core.ScriptJob, *core.Script){
		"run as":   func(_ *core.ScriptRun, _ *core.ScriptJob, s *core.Script) { s.RunAs = core.RunAsUser },
		"body":     func(_ *core.ScriptRun, _ *core.ScriptJob, s *core.Script) { s.Body = "id -u" },
		"device":   func(r *core.ScriptRun, _ *core.ScriptJob, _ *core.Script) { r.DeviceID = 8 },
		"params":   func(_ *core.ScriptRun, j *core.ScriptJob, _ *core.Script) { j.Params = map[string]string{"A": "2"} },
		"expiry":   func(_ *core.ScriptRun, j *core.ScriptJob, _ *core.Script) { j.ExpiresAt = j.ExpiresAt.Add(time.Hour) },
		"timeout":  func(_ *core.ScriptRun, _ *core.ScriptJob, s *core.Script) { s.TimeoutSeconds = 61 },
		"language": func(_ *core.ScriptRun, _ *core.ScriptJob, s *core.Script) { s.Language = "bash" },
	} {
		r2, j2, sc2 := r, j, sc
		change(&r2, &j2, &sc2)
		if string(runMAC(key, r2, j2, sc2)) == string(base) {
			t.Errorf("changing the %s keeps the MAC", what)
		}
	}
}
