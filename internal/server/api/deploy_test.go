package api_test

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
)

// TestPackageDeployAPI: deploying answers 202 with the job, refuses a bad
// action, an upload without its file and the read-only role; deleting the
// package while the deployment waits is 409 in_use, with force=1 it
// cancels the deployment.
func TestPackageDeployAPI(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			f := newFixtureOn(t, e.open)
			box, err := seal.NewBox(bytes.Repeat([]byte{7}, 32))
			if err != nil {
				t.Fatal(err)
			}
			f.srv.Close()
			f.srv = httptest.NewServer(openapitest.Handler(t, api.New(service.New(service.Deps{Store: f.st, PasswordCost: authtest.Cost, Secrets: box}), nil)))
			t.Cleanup(f.srv.Close)
			var p core.Package
			if st := f.sendJSON(t, "POST", "/api/v1/packages", "admin", `{"name":"htop","version":"3","os":"`+f.device.OS+`","kind":"upload",
				"install":["sh","{{file}}"],"detection":{"kind":"file","path":"/usr/bin/htop"}}`, &p); st != 201 {
				t.Fatalf("create: %d", st)
			}
			path := "/api/v1/packages/" + itoa(p.ID)
			client := `"client":` + itoa(f.device.ClientID)
			var perr struct {
				Fields []struct{ Field string } `json:"fields"`
			}
			if st := f.sendJSON(t, "POST", path+"/deploy", "tech", `{"action":"install",`+client+`}`, &perr); st != 400 || len(perr.Fields) != 1 || perr.Fields[0].Field != "package" {
				t.Errorf("upload without its file: %d %+v", st, perr)
			}
			if st := f.sendJSON(t, "POST", "/api/v1/packages", "admin", `{"name":"htop","version":"4","os":"`+f.device.OS+`","kind":"apt",
				"manager_id":"htop","detection":{"kind":"os_package","name":"htop"}}`, &p); st != 201 {
				t.Fatalf("create: %d", st)
			}
			path = "/api/v1/packages/" + itoa(p.ID)
			if st := f.sendJSON(t, "POST", path+"/deploy", "readonly", `{"action":"install",`+client+`}`, nil); st != 403 {
				t.Errorf("read-only: %d", st)
			}
			if st := f.sendJSON(t, "POST", path+"/deploy", "tech", `{"action":"upgrade",`+client+`}`, &perr); st != 400 || perr.Fields[0].Field != "action" {
				t.Errorf("bad action: %d %+v", st, perr)
			}
			var sub service.RunSubmitted
			if st := f.sendJSON(t, "POST", path+"/deploy", "tech", `{"action":"install",`+client+`}`, &sub); st != 202 || sub.Runs != 1 || sub.JobID == 0 {
				t.Fatalf("deploy: %d %+v", st, sub)
			}
			var job service.JobView
			if st := f.sendJSON(t, "GET", "/api/v1/jobs/"+itoa(sub.JobID), "readonly", "", &job); st != 200 || job.Action != "package_install" ||
				job.PackageName != "htop" || len(job.Runs) != 1 || job.Runs[0].PackageVersion != "4" {
				t.Errorf("job: %d %+v", st, job)
			}
			var refused struct{ Code string }
			if st := f.sendJSON(t, "DELETE", path, "admin", "", &refused); st != 409 || refused.Code != "in_use" {
				t.Errorf("delete while a deployment waits: %d %+v", st, refused)
			}
			if st := f.sendJSON(t, "DELETE", path+"?force=1", "admin", "", nil); st != 204 {
				t.Errorf("forced delete: %d", st)
			}
			f.sendJSON(t, "GET", "/api/v1/jobs/"+itoa(sub.JobID), "admin", "", &job)
			if len(job.Runs) != 1 || job.Runs[0].State != core.RunCancelled || !strings.Contains(job.Runs[0].Error.EN, "deleted") {
				t.Errorf("run after the forced delete: %+v", job.Runs)
			}
		})
	}
}
