package loadsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Script fan-out through the REST API: add a script, run it on every
// device of a client, read the job back.

// apiJSON sends a JSON request with the bearer API token and decodes the
// answer into out; a status other than want is an error with the body.
func (s *Sim) apiJSON(ctx context.Context, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.server+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.o.APIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.api.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return nil
}

// AddScript adds a PowerShell script for Windows (the simulated agents'
// OS) to the library and returns its ID.
func (s *Sim) AddScript(ctx context.Context, name string) (int64, error) {
	in := map[string]any{
		"name": name, "language": "powershell", "body": "Write-Output \"loadsim $env:COMPUTERNAME\"\n",
		"timeout_seconds": 300, "run_as": "system", "os": []string{"windows"},
		"description": map[string]string{"en": "Load test", "de": "Lasttest"},
	}
	var out struct {
		ID int64 `json:"id"`
	}
	if err := s.apiJSON(ctx, http.MethodPost, "/api/v1/scripts", in, http.StatusCreated, &out); err != nil {
		return 0, err
	}
	return out.ID, nil
}

// RunScriptOnClient runs script id on every device of a client and returns
// the job's ID and the number of runs it queued.
func (s *Sim) RunScriptOnClient(ctx context.Context, id, client int64) (job int64, runs int, err error) {
	var out struct {
		JobID int64 `json:"job_id"`
		Runs  int   `json:"runs"`
	}
	err = s.apiJSON(ctx, http.MethodPost, fmt.Sprintf("/api/v1/scripts/%d/run", id), map[string]int64{"client": client}, http.StatusAccepted, &out)
	return out.JobID, out.Runs, err
}

// ClientID returns the ID of the client the simulated devices belong to
// (that of the first connected agent's device).
func (s *Sim) ClientID(ctx context.Context) (int64, error) {
	a := s.randomAgent()
	if a == nil {
		return 0, fmt.Errorf("no agent connected")
	}
	var d struct {
		ClientID int64 `json:"client_id"`
	}
	if err := s.apiJSON(ctx, http.MethodGet, fmt.Sprintf("/api/v1/devices/%d", a.device.Load()), nil, http.StatusOK, &d); err != nil {
		return 0, err
	}
	return d.ClientID, nil
}

// JobRun is one device's run of a job as GET /api/v1/jobs/{id} shows it.
type JobRun struct {
	ID       string `json:"id"`
	DeviceID int64  `json:"device_id"`
	State    string `json:"state"`
	ExitCode *int   `json:"exit_code"`
	Stdout   string `json:"stdout"`
}

// Job is a job's progress and runs.
type Job struct {
	Counts map[string]int `json:"counts"`
	Runs   []JobRun       `json:"runs"`
}

// Job reads a job through the API.
func (s *Sim) Job(ctx context.Context, id int64) (Job, error) {
	var j Job
	err := s.apiJSON(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d", id), nil, http.StatusOK, &j)
	return j, err
}
