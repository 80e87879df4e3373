package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
)

// The small state files of automated tasks (tasks.json) and desired
// software (software.json): a JSON map of records by name. They only save
// work and time (the script journal keeps a run ID from running twice), so
// a file that cannot be read starts them anew and one that cannot be
// written is logged, never fatal.

// loadRecords reads the records at path ("" or a missing file: none);
// what names the file in the log, anew what starting anew means.
func loadRecords[R any](path string, log *slog.Logger, what, anew string) map[string]*R {
	recs := map[string]*R{}
	if path == "" {
		return recs
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		log.Warn("reading "+what+"; "+anew, "err", err)
	default:
		if err := json.Unmarshal(b, &recs); err != nil || recs == nil {
			log.Warn(what+" damaged; "+anew, "err", err)
			recs = map[string]*R{}
		}
	}
	return recs
}

// saveRecords writes recs to path atomically ("" keeps them in memory).
func saveRecords[R any](path string, recs map[string]*R, log *slog.Logger, what string) {
	if path == "" {
		return
	}
	b, err := json.MarshalIndent(recs, "", "  ")
	if err == nil {
		err = writeFileAtomic(path, append(b, '\n'))
	}
	if err != nil {
		log.Warn("cannot save "+what, "err", err)
	}
}
