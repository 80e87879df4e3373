//go:build windows

package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func osEnv() env {
	rs := portableReaders()
	rs[WindowsBackup] = readEvents(wsbJob, "Microsoft-Windows-Backup")
	// Veeam Backup & Replication writes to its own channel, Veeam Agent for
	// Windows to the Application log.
	rs[Veeam] = readEvents(veeamJob, "Veeam Backup", "Application")
	return env{now: time.Now, readers: rs, detect: detectWindows}
}

// errNoEventLog: the Windows event log bindings (internal/platform/wevtapi)
// are being written; until they land, event-based products report
// "unsupported" with this reason instead of guessing.
var errNoEventLog = fmt.Errorf("reading the Windows event log is not yet supported by this agent: %w", errors.ErrUnsupported)

// eventSource is the event log access the event-based products need:
// the XML of the channel's events since a time. Kept unexported so that a
// wevtapi-backed implementation can replace the stub without API changes.
type eventSource interface {
	Query(ctx context.Context, channel string, since time.Time) ([][]byte, error)
}

type noEventLog struct{}

func (noEventLog) Query(context.Context, string, time.Time) ([][]byte, error) {
	return nil, errNoEventLog
}

var events eventSource = noEventLog{}

// readEvents reads the last 31 days of the channels and classifies them.
func readEvents(classify func(event) (job, bool), channels ...string) reader {
	return func(ctx context.Context, _ ProductConfig, now time.Time) ([]job, error) {
		var all []job
		for _, ch := range channels {
			xmls, err := events.Query(ctx, ch, now.AddDate(0, 0, -31))
			if err != nil {
				return nil, fmt.Errorf("reading channel %s: %w", ch, err)
			}
			jobs, err := jobsFromEvents(xmls, classify)
			if err != nil {
				return nil, err
			}
			all = append(all, jobs...)
		}
		return all, nil
	}
}

// detectWindows finds products by their installed files, which is cheap
// and needs no event log access.
func detectWindows(context.Context) []ProductConfig {
	pf := os.Getenv("ProgramFiles")
	sys := filepath.Join(os.Getenv("SystemRoot"), "System32")
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	var ps []ProductConfig
	// wbadmin.msc comes with the Windows Server Backup feature only.
	if exists(filepath.Join(sys, "wbadmin.msc")) {
		ps = append(ps, ProductConfig{Type: WindowsBackup})
	}
	if exists(filepath.Join(pf, "Veeam", "Backup and Replication")) || exists(filepath.Join(pf, "Veeam", "Endpoint Backup")) {
		ps = append(ps, ProductConfig{Type: Veeam})
	}
	return ps
}
