package backup

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/core"
)

// tmStampRE matches Time Machine's snapshot names: "2024-03-11-211452"
// (HFS+ Backups.backupdb folders and APFS "….backup" snapshots alike).
var tmStampRE = regexp.MustCompile(`(\d{4}-\d{2}-\d{2}-\d{6})`)

// errNoFullDiskAccess is returned when tmutil refuses to answer because the
// agent lacks Full Disk Access (System Settings › Privacy & Security).
var errNoFullDiskAccess error = &msg.OSError{Text: core.Text{
	EN: "the agent lacks Full Disk Access (grant it under System Settings › Privacy & Security › Full Disk Access)",
	DE: "dem Agenten fehlt der Festplattenvollzugriff (unter Systemeinstellungen › Datenschutz & Sicherheit › Festplattenvollzugriff erteilen)",
}}

// errNoDestination: Time Machine is not set up.
var errNoDestination error = &msg.OSError{Text: core.Text{
	EN: "Time Machine has no backup destination configured",
	DE: "Time Machine hat kein Backup-Ziel eingerichtet",
}}

// parseBackupList reads `tmutil listbackups`: one completed backup per
// line, a path whose last element is the backup's local start time. (The
// single line of `tmutil latestbackup` reads the same.)
func parseBackupList(out string, loc *time.Location) ([]time.Time, error) {
	if err := tmError(out); err != nil {
		return nil, err
	}
	var ts []time.Time
	for _, line := range strings.Split(out, "\n") {
		path := strings.TrimSpace(line)
		if path == "" || strings.HasSuffix(path, ".inProgress") {
			continue
		}
		ms := tmStampRE.FindAllString(path, -1)
		if len(ms) == 0 {
			return nil, fmt.Errorf("unexpected tmutil listbackups output %q", path)
		}
		t, err := time.ParseInLocation("2006-01-02-150405", ms[len(ms)-1], loc)
		if err != nil {
			return nil, fmt.Errorf("parsing Time Machine backup time: %w", err)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// tmError recognises tmutil's refusals in its output.
func tmError(out string) error {
	low := strings.ToLower(out)
	switch {
	case strings.Contains(low, "full disk access"), strings.Contains(low, "operation not permitted"):
		return errNoFullDiskAccess
	case strings.Contains(low, "no destinations configured"):
		return errNoDestination
	case strings.Contains(low, "no machine directory found"), strings.Contains(low, "unable to locate machine directory"),
		strings.Contains(low, "failed to mount"), strings.Contains(low, "backup disk is not available"):
		return &msg.OSError{Text: core.Text{
			EN: "the Time Machine backup disk is not available: " + firstSentence(out),
			DE: "das Time-Machine-Backup-Volume ist nicht verfügbar: " + firstSentence(out),
		}}
	}
	return nil
}

// tmDestination is one entry of `tmutil destinationinfo`.
type tmDestination struct {
	Name, Kind, Mount, ID, URL string
}

// parseDestinationInfo reads `tmutil destinationinfo`: blocks of
// "Key : Value" lines separated by "=====" lines.
func parseDestinationInfo(out string) ([]tmDestination, error) {
	if err := tmError(out); err != nil {
		if strings.Contains(strings.ToLower(out), "no destinations configured") {
			return nil, nil
		}
		return nil, err
	}
	var dests []tmDestination
	var cur *tmDestination
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "====") {
			dests = append(dests, tmDestination{})
			cur = &dests[len(dests)-1]
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if cur == nil {
			dests = append(dests, tmDestination{})
			cur = &dests[len(dests)-1]
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Name":
			cur.Name = v
		case "Kind":
			cur.Kind = v
		case "Mount Point":
			cur.Mount = v
		case "ID":
			cur.ID = v
		case "URL":
			cur.URL = v
		}
	}
	out2 := dests[:0]
	for _, d := range dests {
		if d != (tmDestination{}) {
			out2 = append(out2, d)
		}
	}
	return out2, nil
}

// tmutil is the OS access for Time Machine, replaced in tests.
type tmutil func(ctx context.Context, args ...string) (string, error)

// readTimeMachine returns Time Machine's completed backups as successful
// jobs: tmutil keeps no history of failed runs that it will print.
func readTimeMachine(run tmutil) reader {
	return func(ctx context.Context, _ ProductConfig, _ time.Time) ([]job, error) {
		dOut, dErr := run(ctx, "destinationinfo")
		if e := tmError(dOut); e != nil && errors.Is(e, errNoFullDiskAccess) {
			return nil, e
		}
		dests, err := parseDestinationInfo(dOut)
		if dErr == nil && err == nil && len(dests) == 0 {
			return nil, errNoDestination
		}
		out, err := run(ctx, "listbackups")
		ts, perr := parseBackupList(out, time.Local)
		if perr != nil {
			return nil, perr
		}
		if err != nil {
			return nil, msg.Program("tmutil listbackups", err, firstSentence(out))
		}
		name := "Time Machine"
		if len(dests) > 0 && dests[0].Name != "" {
			name = dests[0].Name
		}
		jobs := make([]job, 0, len(ts))
		for _, t := range ts {
			jobs = append(jobs, job{Name: name, Time: t, Outcome: success})
		}
		return jobs, nil
	}
}
