package logsrc

import (
	"os"

	"github.com/wacht-rmm/wacht/internal/check"
)

// FileSources reads the given files, which the agent's allowlist must
// allow (check.Readable), or those of defaults that exist; NoSourceError
// when neither gives any.
func FileSources(files, defaults []string) ([]Source, error) {
	for _, f := range files {
		if err := check.Readable(f); err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		for _, f := range defaults {
			if _, err := os.Stat(f); err == nil {
				files = append(files, f)
			}
		}
		if len(files) == 0 {
			return nil, &NoSourceError{Files: defaults}
		}
	}
	return []Source{{Name: "files", Reader: Files{Paths: files}}}, nil
}

// LinuxSources picks the journal, read with journalArgs, when journald runs
// or source is "journal"; syslog files when source is "files", files are
// given, or there is no journal.
func LinuxSources(source string, files, defaults []string, journald bool, run Runner, journalArgs ...string) ([]Source, error) {
	if source == "files" || source == "" && (len(files) > 0 || !journald) {
		return FileSources(files, defaults)
	}
	return []Source{{Name: "journal", Reader: Journal{Run: run, Args: journalArgs}}}, nil
}
