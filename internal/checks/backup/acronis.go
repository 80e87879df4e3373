package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Acronis is read best effort: Acronis documents no stable machine-readable
// job history on the endpoint. The check lists the agent's activities with
// its command-line tool (`acrocmd list activities`, part of Acronis Backup
// 11.5/12.5 and Cyber Protect agents on Windows, Linux and macOS) and
// understands the result both as words ("succeeded", "succeeded with
// warnings", "failed", "cancelled") and as the completion codes of the
// agent's activity logs (6 success, 5 success with warnings, 11 failure,
// 1 cancelled). Results say "(best effort)" so a technician knows to
// confirm in the Acronis console when in doubt.

// acronisLabel names the product in results.
const acronisLabel = "Acronis (best effort)"

// acrocmdArgs list the activities in the tool's tabular raw output.
var acrocmdArgs = []string{"list", "activities", "--output=raw"}

// errAcronisNotFound is returned when no acrocmd is installed: Acronis is
// then "not found", never a success.
//
//lint:ignore ST1005 Acronis is a name, capitalized wherever it stands.
var errAcronisNotFound = errors.New("Acronis not found: no acrocmd command-line tool at the known paths (give its path as \"binary\")")

// acronisColumns finds the columns of acrocmd's table by their headers.
type acronisColumns struct{ state, result, start, end, name, details int }

// table splits acrocmd's rows: by tabs when the header has them, else by
// the header's column positions (in runes, as the columns are aligned on
// screen), so empty cells do not shift the ones after them.
type table struct {
	tabs   bool
	starts []int
}

var colStartRE = regexp.MustCompile(`(^|\s{2,})\S`)

func newTable(header string) (table, []string) {
	if strings.Contains(header, "\t") {
		t := table{tabs: true}
		return t, t.split(header)
	}
	var t table
	for _, m := range colStartRE.FindAllStringIndex(header, -1) {
		// m[1]-1 is the byte offset of the first letter; count runes to it.
		t.starts = append(t.starts, len([]rune(header[:m[1]-1])))
	}
	return t, t.split(header)
}

func (t table) split(line string) []string {
	var f []string
	if t.tabs {
		f = strings.Split(line, "\t")
	} else {
		r := []rune(line)
		for i, st := range t.starts {
			end := len(r)
			if i+1 < len(t.starts) && t.starts[i+1] < end {
				end = t.starts[i+1]
			}
			if st >= len(r) {
				f = append(f, "")
				continue
			}
			f = append(f, string(r[st:end]))
		}
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	return f
}

func findAcronisColumns(header []string) (acronisColumns, bool) {
	c := acronisColumns{-1, -1, -1, -1, -1, -1}
	for i, h := range header {
		switch h = strings.ToLower(h); {
		case h == "state":
			c.state = i
		case h == "result" || h == "status" || h == "completion code":
			c.result = i
		case strings.HasPrefix(h, "start"):
			c.start = i
		case strings.HasPrefix(h, "end") || strings.HasPrefix(h, "finish"):
			c.end = i
		case h == "name" || h == "description" || h == "activity" || h == "plan":
			if c.name < 0 {
				c.name = i
			}
		case h == "details" || h == "error" || h == "message":
			c.details = i
		}
	}
	return c, c.result >= 0 && (c.start >= 0 || c.end >= 0)
}

// acronisTimeLayouts are the date formats accepted: ISO, month.day.year
// as public monitoring scripts of acrocmd's raw output expect, and the US
// form. A day.month.year form is left out: it cannot be told apart from
// month.day.year, and a wrong guess would shift a job by months.
var acronisTimeLayouts = []string{
	"2006-01-02 15:04:05", "2006-01-02T15:04:05", "01.02.2006 15:04:05",
	"1/2/2006 3:04:05 PM", "01/02/2006 15:04:05",
}

func parseAcronisTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range acronisTimeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised Acronis time %q", s)
}

// acronisOutcome maps a result word or completion code; ok is false for
// activities that have not ended.
func acronisOutcome(result string) (outcome, bool) {
	r := strings.ToLower(strings.TrimSpace(result))
	if n, err := strconv.Atoi(r); err == nil {
		switch n {
		case 6:
			return success, true
		case 5:
			return warning, true
		case 11, 1:
			return failed, true
		}
		return 0, false
	}
	switch {
	case strings.Contains(r, "warning"):
		return warning, true
	case r == "succeeded" || r == "success" || r == "ok" || r == "completed successfully":
		return success, true
	case strings.Contains(r, "fail") || strings.Contains(r, "error") || strings.Contains(r, "cancel") ||
		r == "abandoned" || r == "timedout" || r == "stopped":
		return failed, true
	}
	return 0, false
}

// isBackupActivity keeps backup runs and drops the agent's other
// activities (recovery, validation, cleanup, catalog, scans).
func isBackupActivity(name string) bool {
	n := strings.ToLower(name)
	for _, other := range []string{"recover", "restore", "validat", "clean", "catalog", "scan", "replicat", "update", "refresh"} {
		if strings.Contains(n, other) {
			return false
		}
	}
	return n == "" || strings.Contains(n, "backup") || strings.Contains(n, "backing up") || strings.Contains(n, "protection plan")
}

// parseAcrocmdActivities reads `acrocmd list activities --output=raw`: a
// header line, then one activity per line, columns separated by tabs or
// runs of spaces. Running activities are skipped.
func parseAcrocmdActivities(out string, loc *time.Location) ([]job, error) {
	var cols acronisColumns
	var tab table
	found := false
	var jobs []job
	for _, line := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" || strings.Trim(strings.TrimSpace(line), "-= ") == "" {
			continue
		}
		if !found {
			var header []string
			tab, header = newTable(strings.TrimRight(line, " "))
			cols, found = findAcronisColumns(header)
			continue
		}
		f := tab.split(line)
		get := func(i int) string {
			if i < 0 || i >= len(f) {
				return ""
			}
			return f[i]
		}
		if st := strings.ToLower(get(cols.state)); st != "" && st != "completed" && st != "idle" {
			continue // still running, waiting or paused
		}
		oc, ok := acronisOutcome(get(cols.result))
		if !ok {
			continue
		}
		name := get(cols.name)
		if !isBackupActivity(name) {
			continue
		}
		ts := get(cols.end)
		if ts == "" {
			ts = get(cols.start)
		}
		t, err := parseAcronisTime(ts, loc)
		if err != nil {
			return nil, err
		}
		j := job{Name: name, Time: t, Outcome: oc}
		if oc != success {
			j.Reason = get(cols.details)
			if j.Reason == "" {
				j.Reason = get(cols.result)
			}
		}
		jobs = append(jobs, j)
	}
	if !found {
		return nil, fmt.Errorf("unexpected acrocmd output: %s", firstSentence(out))
	}
	return jobs, nil
}

// serviceState reports the state of the Acronis agent service ("running",
// "stopped", …) that runs the backups and answers acrocmd: MMS (Managed
// Machine Service) on Windows, acronis_mms on Linux. nil where the OS
// cannot be asked.
type serviceState func(ctx context.Context) (string, error)

// readAcronis runs the configured binary or the first acrocmd found among
// paths; when acrocmd fails, the service's state says why.
func readAcronis(paths []string, svc serviceState) reader {
	return func(ctx context.Context, p ProductConfig, _ time.Time) ([]job, error) {
		bin := p.Binary
		if bin == "" {
			bin = firstExisting(paths)
		}
		if bin == "" {
			return nil, errAcronisNotFound
		}
		out, err := runTool(ctx, bin, acrocmdArgs, nil)
		if err != nil {
			if svc != nil {
				if st, serr := svc(ctx); serr == nil && st != "running" {
					return nil, fmt.Errorf("the Acronis agent service is %s, so backups do not run: %w", st, err)
				}
			}
			return nil, fmt.Errorf("%w (is the Acronis agent service running?)", err)
		}
		return parseAcrocmdActivities(string(out), time.Local)
	}
}

// firstExisting returns the first of paths that exists, or "".
func firstExisting(paths []string) string {
	for _, c := range paths {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	return ""
}
