package services

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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

// plistJob is what the check reads of a launchd job's property list,
// converted to JSON by `plutil -convert json -o - FILE`.
type plistJob struct {
	Label    string
	Disabled bool
	// KeepAlive true: launchd keeps the job running at all times, so it
	// must be running. A dictionary (conditional keep-alive) or false means
	// the job may legitimately be idle.
	KeepAlive bool
}

func parsePlistJSON(b []byte) (plistJob, error) {
	var raw struct {
		Label     string          `json:"Label"`
		Disabled  bool            `json:"Disabled"`
		KeepAlive json.RawMessage `json:"KeepAlive"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return plistJob{}, fmt.Errorf("parsing launchd job: %w", err)
	}
	j := plistJob{Label: raw.Label, Disabled: raw.Disabled}
	_ = json.Unmarshal(raw.KeepAlive, &j.KeepAlive) // a dictionary stays false
	return j, nil
}

// launchdServices joins the loaded jobs with the job definitions: jobs with
// KeepAlive true and not disabled are automatic.
func launchdServices(jobs []launchJob, defs []plistJob) []service {
	auto := map[string]bool{}
	for _, d := range defs {
		if d.KeepAlive && !d.Disabled {
			auto[d.Label] = true
		}
	}
	seen := map[string]bool{}
	var out []service
	for _, j := range jobs {
		s := service{Name: j.Label, Auto: auto[j.Label], Running: j.PID > 0}
		if s.Running {
			s.State = fmt.Sprintf("running, PID %d", j.PID)
		} else {
			s.State = fmt.Sprintf("not running, last exit status %d", j.Status)
		}
		seen[j.Label] = true
		out = append(out, s)
	}
	for l := range auto {
		if !seen[l] {
			// Defined to stay alive but not even loaded.
			out = append(out, service{Name: l, Auto: true, State: "not loaded"})
		}
	}
	return out
}
