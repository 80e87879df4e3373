package svcmgr

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// launchJob is one line of `launchctl list`: PID ("-" when not running),
// last exit status and label.
type launchJob struct {
	PID    int // 0 when not running
	Status int
	Label  string
}

// parseLaunchctlList parses `launchctl list` (tab-separated, one header).
func parseLaunchctlList(out string) ([]launchJob, error) {
	var jobs []launchJob
	sc := bufio.NewScanner(strings.NewReader(out))
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if strings.HasPrefix(line, "PID") {
				continue
			}
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			if strings.TrimSpace(line) == "" {
				continue
			}
			return nil, fmt.Errorf("unexpected launchctl line %q", line)
		}
		j := launchJob{Label: f[2]}
		if f[0] != "-" {
			pid, err := strconv.Atoi(f[0])
			if err != nil {
				return nil, fmt.Errorf("launchctl PID %q: %w", f[0], err)
			}
			j.PID = pid
		}
		if f[1] != "-" {
			st, err := strconv.Atoi(f[1])
			if err != nil {
				return nil, fmt.Errorf("launchctl status %q: %w", f[1], err)
			}
			j.Status = st
		}
		jobs = append(jobs, j)
	}
	return jobs, sc.Err()
}

// plistJob is what the manager reads of a launchd job's property list,
// converted to JSON by `plutil -convert json -o - FILE`.
type plistJob struct {
	Label    string
	Disabled bool
	// KeepAlive true: launchd keeps the job running at all times, so it
	// must be running. A dictionary (conditional keep-alive) or false means
	// the job may legitimately be idle.
	KeepAlive bool
	RunAtLoad bool
}

func parsePlistJSON(b []byte) (plistJob, error) {
	var raw struct {
		Label     string          `json:"Label"`
		Disabled  bool            `json:"Disabled"`
		KeepAlive json.RawMessage `json:"KeepAlive"`
		RunAtLoad bool            `json:"RunAtLoad"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return plistJob{}, fmt.Errorf("parsing launchd job: %w", err)
	}
	j := plistJob{Label: raw.Label, Disabled: raw.Disabled, RunAtLoad: raw.RunAtLoad}
	_ = json.Unmarshal(raw.KeepAlive, &j.KeepAlive) // a dictionary stays false
	return j, nil
}

// launchdServices joins the loaded jobs with the job definitions: jobs
// with KeepAlive true and not disabled are automatic and must run; jobs
// that only run at load start automatically too but may end.
func launchdServices(jobs []launchJob, defs []plistJob) []Service {
	byLabel := map[string]plistJob{}
	for _, d := range defs {
		byLabel[d.Label] = d
	}
	startType := func(l string) string {
		d, ok := byLabel[l]
		switch {
		case !ok:
			return ""
		case d.Disabled:
			return protocol.StartDisabled
		case d.KeepAlive || d.RunAtLoad:
			return protocol.StartAutomatic
		}
		return protocol.StartManual
	}
	auto := func(l string) bool { d := byLabel[l]; return d.KeepAlive && !d.Disabled }
	seen := map[string]bool{}
	var out []Service
	for _, j := range jobs {
		s := Service{Name: j.Label, Auto: auto(j.Label), Running: j.PID > 0, StartType: startType(j.Label)}
		if s.Running {
			s.State = fmt.Sprintf("running, PID %d", j.PID)
		} else {
			s.State = fmt.Sprintf("not running, last exit status %d", j.Status)
		}
		seen[j.Label] = true
		out = append(out, s)
	}
	for _, d := range defs {
		if !seen[d.Label] && auto(d.Label) {
			// Defined to stay alive but not even loaded.
			out = append(out, Service{Name: d.Label, Auto: true, StartType: protocol.StartAutomatic, State: "not loaded"})
		}
	}
	return out
}
