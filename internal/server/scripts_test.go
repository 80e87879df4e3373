package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/scriptsign"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
)

// scriptRig is a real server with users and API tokens, and agents
// enrolled to it on loopback.
type scriptRig struct {
	t      *testing.T
	srv    *running
	st     *store.DB
	hc     *http.Client
	tokens map[string]string // role → API token
	url    string
	data   string
}

func newScriptRig(t *testing.T) *scriptRig {
	data := t.TempDir()
	srv := start(t, data)
	ctx := context.Background()
	st, err := OpenStore(ctx, data, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &scriptRig{t: t, srv: srv, st: st, tokens: map[string]string{}, url: "https://" + srv.addr, data: data,
		hc: pinnedClient(t, st, 60*time.Second)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(srv.logs.String())
		}
	})
	return r
}

// enroll enrolls an agent of client into a new data folder.
func (r *scriptRig) enroll(client string) (dir string, id int64) {
	ctx := context.Background()
	tok, _, err := CreateToken(ctx, r.st, TokenOptions{Create: true, Client: client, Site: "Zentrale", DataDir: r.data, URL: r.url}, protocol.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	dir = r.t.TempDir()
	er, err := agent.Enroll(ctx, tok.String(), "", dir, false)
	if err != nil {
		r.t.Fatal(err)
	}
	return dir, er.DeviceID
}

// run starts the agent in dir until the returned function stops it.
func (r *scriptRig) run(dir string) (stop func()) {
	a, err := agent.New(agent.Options{DataDir: dir, Checks: []agent.NamedCheck{{Name: "ok", Check: okCheck{}}}, Interval: time.Hour,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	r.t.Cleanup(stop)
	return stop
}

func (r *scriptRig) user(email, role string, scope core.Scope) {
	ctx := context.Background()
	if _, err := AddUserScoped(ctx, r.st, email, role, "ein langes Passwort", scope, protocol.Now()); err != nil {
		r.t.Fatal(err)
	}
	secret, _, err := CreateAPIToken(ctx, r.st, email, "test", 0, protocol.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	if r.tokens[role] == "" { // the role's first user
		r.tokens[role] = secret
	}
	r.tokens[email] = secret
}

func (r *scriptRig) api(role, method, path, body string, out any) int {
	r.t.Helper()
	req, _ := http.NewRequest(method, r.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+r.tokens[role])
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.hc.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			r.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// waitJob polls the job until every run left queued and running.
func (r *scriptRig) waitJob(id int64) service.JobView {
	r.t.Helper()
	var v service.JobView
	for range 1200 { // a hang guard: 60 s
		v = service.JobView{}
		if st := r.api("technician", "GET", "/api/v1/jobs/"+strconv.FormatInt(id, 10), "", &v); st != 200 {
			r.t.Fatalf("job %d: %d", id, st)
		}
		if v.Counts[core.RunQueued]+v.Counts[core.RunRunning]+v.Counts[core.RunOfflineWaiting] == 0 {
			return v
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("job %d did not finish: %+v", id, v)
	return v
}

// TestScriptRunEndToEnd: a bash script from the library runs through the
// API on a real agent; its secret parameter reaches the script and
// appears nowhere: not in the output, the database, the audit log or the
// server's log. Read-only users cannot run it; a foreign device is not
// found.
func TestScriptRunEndToEnd(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("bash")
	}
	r := newScriptRig(t)
	dir, id := r.enroll("Müller GmbH")
	_, foreign := r.enroll("Andere AG")
	r.run(dir)
	ctx := context.Background()
	dev, err := r.st.GetDevice(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r.user("tech@example.com", core.RoleTechnician, core.Only(dev.ClientID))
	r.user("ro@example.com", core.RoleReadOnly, core.Only(dev.ClientID))

	const secret = "Geh31m-Wört!"
	var sc service.ScriptView
	body := `{"name":"Grüßen","language":"bash","body":"echo \"Hallo $NAME\"\necho \"pw=$PW\"\necho \"$PW\" >&2\nexit 3\n",
		"params":[{"name":"NAME","type":"text","default":"Welt"},{"name":"PW","type":"secret","required":true}]}`
	if st := r.api("technician", "POST", "/api/v1/scripts", body, &sc); st != 201 {
		t.Fatalf("create script: %d", st)
	}
	run := `{"devices":[` + strconv.FormatInt(id, 10) + `],"params":{"PW":"` + secret + `"}}`
	path := "/api/v1/scripts/" + strconv.FormatInt(sc.ID, 10) + "/run"
	if st := r.api("readonly", "POST", path, run, nil); st != 403 {
		t.Errorf("read-only run: %d", st)
	}
	if st := r.api("technician", "POST", path, `{"devices":[`+strconv.FormatInt(foreign, 10)+`],"params":{"PW":"x"}}`, nil); st != 404 {
		t.Errorf("run on a foreign device: %d", st)
	}
	if st := r.api("technician", "POST", path, `{"devices":[`+strconv.FormatInt(id, 10)+`],"params":{"PW":1}}`, nil); st != 400 {
		t.Errorf("a number for a secret: %d", st)
	}
	var sub service.RunSubmitted
	if st := r.api("technician", "POST", path, run, &sub); st != 202 || sub.JobID == 0 || sub.Runs != 1 {
		t.Fatalf("run: %d %+v", st, sub)
	}
	v := r.waitJob(sub.JobID)
	if len(v.Runs) != 1 {
		t.Fatalf("runs %+v", v.Runs)
	}
	got := v.Runs[0]
	if got.State != core.RunFailed || got.ExitCode == nil || *got.ExitCode != 3 || got.Stdout != "Hallo Welt\npw=••••\n" ||
		got.Stderr != "••••\n" || got.ScriptVersion != 1 || got.Hostname != dev.Hostname || got.FinishedAt == nil {
		t.Errorf("run %+v", got)
	}
	if v.Params["PW"] != protocol.ScriptMask || v.Params["NAME"] != "Welt" {
		t.Errorf("job parameters shown %v", v.Params)
	}
	var runs []core.ScriptRun
	if st := r.api("readonly", "GET", "/api/v1/devices/"+strconv.FormatInt(id, 10)+"/runs", "", &runs); st != 200 || len(runs) != 1 || runs[0].ID != got.ID {
		t.Errorf("device runs: %d %+v", st, runs)
	}
	if st := r.api("technician", "GET", "/api/v1/devices/"+strconv.FormatInt(foreign, 10)+"/runs", "", nil); st != 404 {
		t.Errorf("a foreign device's runs: %d", st)
	}

	// The secret is nowhere at rest.
	for _, table := range []string{"script_jobs", "script_runs", "audit_log", "script_versions"} {
		rows, err := r.st.SQL().QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var s string
				switch x := v.(type) {
				case []byte:
					s = string(x)
				case string:
					s = x
				}
				if strings.Contains(s, secret) {
					t.Errorf("%s.%s holds the secret", table, cols[i])
				}
			}
		}
		rows.Close()
	}
	if strings.Contains(r.srv.logs.String(), secret) {
		t.Error("the server's log holds the secret")
	}
	es, _ := r.st.QueryAudit(ctx, core.AuditQuery{Action: "script.run"})
	if len(es) != 1 || !strings.Contains(es[0].Detail, `"PW":"••••"`) || !strings.Contains(es[0].Detail, "version 1") || es[0].Actor != "user:tech@example.com" {
		t.Errorf("audit %+v", es)
	}
}

// TestScriptRunQueuedForStoppedAgent: a run queued while the agent is
// stopped runs once when it starts; when its result is asked for again
// (the answer was lost), the agent answers from its journal and does not
// run it a second time.
func TestScriptRunQueuedForStoppedAgent(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sh")
	}
	r := newScriptRig(t)
	dir, id := r.enroll("Müller GmbH")
	r.user("tech@example.com", core.RoleTechnician, core.AllClients)
	ctx := context.Background()
	counter := filepath.Join(t.TempDir(), "counter")
	var sc service.ScriptView
	body := `{"name":"Zählen","language":"sh","body":"echo lief >> \"$COUNTER\"; echo fertig","params":[{"name":"COUNTER","type":"text"}]}`
	if st := r.api("technician", "POST", "/api/v1/scripts", body, &sc); st != 201 {
		t.Fatalf("create script: %d", st)
	}
	var sub service.RunSubmitted
	run := `{"devices":[` + strconv.FormatInt(id, 10) + `],"params":{"COUNTER":` + strconv.Quote(counter) + `}}`
	if st := r.api("technician", "POST", "/api/v1/scripts/"+strconv.FormatInt(sc.ID, 10)+"/run", run, &sub); st != 202 {
		t.Fatalf("run: %d", st)
	}
	var v service.JobView
	r.api("technician", "GET", "/api/v1/jobs/"+strconv.FormatInt(sub.JobID, 10), "", &v)
	if len(v.Runs) != 1 || v.Runs[0].State != core.RunOfflineWaiting {
		t.Errorf("before the agent started: %+v", v.Runs)
	}
	if _, err := os.Stat(counter); err == nil {
		t.Fatal("the script ran without an agent")
	}
	stop := r.run(dir)
	v = r.waitJob(sub.JobID)
	if v.Runs[0].State != core.RunDone || v.Runs[0].Stdout != "fertig\n" || v.Runs[0].Attempts != 1 {
		t.Fatalf("after the agent started: %+v", v.Runs[0])
	}
	// The answer "got lost": the run is queued again and the agent
	// reconnects.
	stop()
	if _, err := r.st.SQL().ExecContext(ctx, `UPDATE script_runs SET state = 'queued' WHERE id = $1`, v.Runs[0].ID); err != nil {
		t.Fatal(err)
	}
	r.run(dir)
	v = r.waitJob(sub.JobID)
	if v.Runs[0].State != core.RunDone || v.Runs[0].Attempts != 2 || v.Runs[0].Stdout != "fertig\n" {
		t.Errorf("asked again: %+v", v.Runs[0])
	}
	if b, _ := os.ReadFile(counter); string(b) != "lief\n" {
		t.Errorf("counter %q: the script ran %d times", b, strings.Count(string(b), "lief"))
	}
}

// TestScriptLockModeThroughServer: an agent in lock mode runs a library
// script whose version carries the signer's signature. The server knows
// the agent's signer from its session and refuses a run of a version
// without a valid signature at once (the agent would refuse it too:
// TestScriptLockMode in internal/agent).
func TestScriptLockModeThroughServer(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sh")
	}
	r := newScriptRig(t)
	dir, id := r.enroll("Müller GmbH")
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	if err := agent.SetScriptSigner(dir, pub); err != nil {
		t.Fatal(err)
	}
	r.run(dir)
	r.user("tech@example.com", core.RoleTechnician, core.AllClients)
	// The server learns the agent's signer when its session begins.
	for i := 0; !strings.Contains(r.srv.logs.String(), `msg="agent connected"`); i++ {
		if i == 1200 {
			t.Fatal("the agent did not connect")
		}
		time.Sleep(50 * time.Millisecond)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	const body = `touch "$MARKER"; echo signiert`
	for _, c := range []struct {
		name, signature string
		ok              bool
	}{
		{"unsigned", "", false},
		{"signed by another key", scriptsign.Sign(ed25519.NewKeyFromSeed(make([]byte, 32)), "sh", body), false},
		{"signed for another language", scriptsign.Sign(key, "bash", body), false},
		{"signed", scriptsign.Sign(key, "sh", body), true},
	} {
		in, _ := json.Marshal(service.ScriptInput{Name: c.name, Language: "sh", Body: body, Signature: c.signature,
			Params: []core.ScriptParam{{Name: "MARKER", Type: core.ParamText}}})
		var sc service.ScriptView
		if st := r.api("technician", "POST", "/api/v1/scripts", string(in), &sc); st != 201 {
			t.Fatalf("%s: create: %d", c.name, st)
		}
		var resp struct {
			service.RunSubmitted
			Code    string    `json:"code"`
			Message core.Text `json:"message"`
		}
		run := `{"devices":[` + strconv.FormatInt(id, 10) + `],"params":{"MARKER":` + strconv.Quote(marker) + `}}`
		st := r.api("technician", "POST", "/api/v1/scripts/"+strconv.FormatInt(sc.ID, 10)+"/run", run, &resp)
		if !c.ok {
			if st != 403 || resp.Code != protocol.CodeScriptSigner || resp.Message.DE == "" {
				t.Errorf("%s: %d %+v, want 403 script_signer", c.name, st, resp)
			}
			continue
		}
		if st != 202 {
			t.Fatalf("%s: run: %d %+v", c.name, st, resp)
		}
		got := r.waitJob(resp.JobID).Runs[0]
		if got.State != core.RunDone || got.Stdout != "signiert\n" {
			t.Errorf("%s: %+v", c.name, got)
		}
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("the signed script did not run")
	}
}

// TestScriptRowWrittenIntoTheDatabaseRunsNothing: whoever can write to the
// database (SQL injection, stolen credentials) but not read secret.key
// cannot make an agent run anything: a run row added to a job, and a
// script version's body changed under a queued run, are both refused by
// the dispatcher, which signs only runs whose MAC the server wrote.
func TestScriptRowWrittenIntoTheDatabaseRunsNothing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sh")
	}
	r := newScriptRig(t)
	dir, id := r.enroll("Müller GmbH")
	r.user("tech@example.com", core.RoleTechnician, core.AllClients)
	ctx := context.Background()
	out := t.TempDir()
	counter, pwned := filepath.Join(out, "counter"), filepath.Join(out, "pwned")
	var sc service.ScriptView
	body := `{"name":"Zählen","language":"sh","body":"echo lief >> \"$COUNTER\"","params":[{"name":"COUNTER","type":"text"}]}`
	if st := r.api("technician", "POST", "/api/v1/scripts", body, &sc); st != 201 {
		t.Fatalf("create script: %d", st)
	}
	run := `{"devices":[` + strconv.FormatInt(id, 10) + `],"params":{"COUNTER":` + strconv.Quote(counter) + `}}`
	submit := func() service.RunSubmitted {
		var sub service.RunSubmitted
		if st := r.api("technician", "POST", "/api/v1/scripts/"+strconv.FormatInt(sc.ID, 10)+"/run", run, &sub); st != 202 {
			t.Fatalf("run: %d", st)
		}
		return sub
	}
	// A legitimate run, then the attacker's rows while the agent is away.
	first := submit()
	stop := r.run(dir)
	if v := r.waitJob(first.JobID); v.Runs[0].State != core.RunDone {
		t.Fatalf("legitimate run: %+v", v.Runs[0])
	}
	stop()
	db := r.st.SQL()
	if _, err := db.ExecContext(ctx, `INSERT INTO script_runs (id, job_id, device_id, state, queued_at) VALUES ($1, $2, $3, 'queued', $4)`,
		"11111111-2222-3333-4444-555555555555", first.JobID, id, time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	second := submit() // queued by the server, then its script changed underneath
	if _, err := db.ExecContext(ctx, `UPDATE script_versions SET body = $1 WHERE script_id = $2`,
		"echo pwned > "+strconv.Quote(pwned), sc.ID); err != nil {
		t.Fatal(err)
	}
	r.run(dir)
	for _, job := range []int64{first.JobID, second.JobID} {
		v := r.waitJob(job)
		for _, run := range v.Runs {
			if run.ID == v.Runs[0].ID && job == first.JobID && run.State == core.RunDone && run.Attempts == 1 {
				continue // the legitimate one
			}
			if run.State != core.RunFailed || !strings.Contains(run.Error.EN, "not queued through Wacht") {
				t.Errorf("job %d run %s: %s %+v, want refused", job, run.ID, run.State, run.Error)
			}
		}
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Error("the changed script body ran")
	}
	if b, _ := os.ReadFile(counter); string(b) != "lief\n" {
		t.Errorf("counter %q: the forged run ran", b)
	}
}

// TestScriptRunAsUserNeverAsRoot: a script to run as the logged-on user
// reaches the agent as such (run_as travels with the signed run) and never
// runs as root: on a machine without a logged-on user (like CI, without
// logind) it fails with no_user in English and German; with one it runs
// as that user.
func TestScriptRunAsUserNeverAsRoot(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("id -u and logind")
	}
	r := newScriptRig(t)
	dir, id := r.enroll("Müller GmbH")
	r.user("tech@example.com", core.RoleTechnician, core.AllClients)
	var sc service.ScriptView
	if st := r.api("technician", "POST", "/api/v1/scripts", `{"name":"Wer","language":"sh","body":"id -u","run_as":"user"}`, &sc); st != 201 || sc.RunAs != core.RunAsUser {
		t.Fatalf("create script: %d %+v", st, sc)
	}
	r.run(dir)
	var sub service.RunSubmitted
	if st := r.api("technician", "POST", "/api/v1/scripts/"+strconv.FormatInt(sc.ID, 10)+"/run", `{"devices":[`+strconv.FormatInt(id, 10)+`]}`, &sub); st != 202 {
		t.Fatalf("run: %d", st)
	}
	v := r.waitJob(sub.JobID)
	run := v.Runs[0]
	switch {
	case run.State == core.RunFailed && run.ErrorCode == protocol.CodeNoUser:
		if !strings.Contains(run.Error.EN, "no user is logged on") || !strings.Contains(run.Error.DE, "kein Benutzer angemeldet") {
			t.Errorf("no_user message %+v", run.Error)
		}
	case run.State == core.RunDone && strings.TrimSpace(run.Stdout) != "0":
		t.Logf("ran as user ID %s, the logged-on user", strings.TrimSpace(run.Stdout))
	default:
		t.Errorf("run as the logged-on user: %s %q %+v", run.State, run.Stdout, run.Error)
	}
}

// TestCancelJob: cancelling a job cancels its queued runs on the devices
// the user may see, lets a running one finish, and is audited; read-only
// users may not, users of other clients do not find the job.
func TestCancelJob(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sh")
	}
	r := newScriptRig(t)
	dirA, idA := r.enroll("Müller GmbH")
	_, idB := r.enroll("Schmidt KG")
	_, idC := r.enroll("Weber AG")
	clientOf := func(id int64) int64 {
		d, err := r.st.GetDevice(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return d.ClientID
	}
	r.user("tech@example.com", core.RoleTechnician, core.AllClients)
	r.user("mueller@example.com", core.RoleTechnician, core.Only(clientOf(idA)))
	r.user("weber@example.com", core.RoleTechnician, core.Only(clientOf(idC)))
	r.user("ro@example.com", core.RoleReadOnly, core.AllClients)
	out := t.TempDir()
	var sc service.ScriptView
	body := `{"name":"Warten","language":"sh","params":[{"name":"DIR","type":"text"}],
		"body":"touch \"$DIR/started\"\nwhile [ ! -e \"$DIR/go\" ]; do sleep 0.05; done\necho fertig"}`
	if st := r.api("technician", "POST", "/api/v1/scripts", body, &sc); st != 201 {
		t.Fatalf("create script: %d", st)
	}
	run := func(devices ...int64) int64 {
		ids, _ := json.Marshal(devices)
		var sub service.RunSubmitted
		if st := r.api("technician", "POST", "/api/v1/scripts/"+strconv.FormatInt(sc.ID, 10)+"/run",
			`{"devices":`+string(ids)+`,"params":{"DIR":`+strconv.Quote(out)+`}}`, &sub); st != 202 {
			t.Fatalf("run: %d", st)
		}
		return sub.JobID
	}
	// The first job runs on A and waits; the second queues behind it.
	first := run(idA)
	r.run(dirA)
	waitFile(t, filepath.Join(out, "started"))
	second := run(idA, idB)
	cancel := func(who string, job int64) (int, service.JobView) {
		var v service.JobView
		st := r.api(who, "POST", "/api/v1/jobs/"+strconv.FormatInt(job, 10)+"/cancel", "", &v)
		return st, v
	}
	if st, _ := cancel("ro@example.com", second); st != 403 {
		t.Errorf("read-only cancels: %d", st)
	}
	if st, _ := cancel("weber@example.com", second); st != 404 {
		t.Errorf("a technician of another client cancels: %d", st)
	}
	// Müller's technician cancels what waits on Müller's device only.
	st, v := cancel("mueller@example.com", second)
	if st != 200 || len(v.Runs) != 1 || v.Runs[0].DeviceID != idA || v.Runs[0].State != core.RunCancelled || v.Counts[core.RunCancelled] != 1 ||
		!strings.Contains(v.Runs[0].Error.DE, "mueller@example.com") {
		t.Errorf("scoped cancel: %d %+v", st, v)
	}
	// The running job is cancelled too: its run finishes all the same.
	if st, v := cancel("technician", first); st != 200 || v.Runs[0].State != core.RunRunning {
		t.Errorf("cancel a running job: %d %+v", st, v.Runs)
	}
	if err := os.WriteFile(filepath.Join(out, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if v := r.waitJob(first); v.Runs[0].State != core.RunDone || v.Runs[0].Stdout != "fertig\n" {
		t.Errorf("the running run after cancel: %+v", v.Runs[0])
	}
	var all service.JobView
	r.api("technician", "GET", "/api/v1/jobs/"+strconv.FormatInt(second, 10), "", &all)
	if all.Counts[core.RunCancelled] != 1 || all.Counts[core.RunOfflineWaiting] != 1 {
		t.Errorf("B's run after Müller's cancel: %+v", all.Counts)
	}
	if st, v := cancel("technician", second); st != 200 || v.Counts[core.RunCancelled] != 2 {
		t.Errorf("cancel the rest: %d %+v", st, v.Counts)
	}
	es, _ := r.st.QueryAudit(context.Background(), core.AuditQuery{Action: "script.cancel"})
	if len(es) != 3 || !strings.Contains(es[2].Detail, "1 queued runs cancelled") || es[2].Actor != "user:mueller@example.com" {
		t.Errorf("audit %+v", es)
	}
}

// waitFile waits for a file a script creates; a hang guard.
func waitFile(t *testing.T, path string) {
	t.Helper()
	for range 1200 {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not appear", path)
}
