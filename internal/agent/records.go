package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
)

// The small state files of automated tasks (tasks.json), desired
// software (software.json) and the acknowledged inventory
// (inventory.json); the first two are a JSON map of records by name. They only save
// work and time (the script journal keeps a run ID from running twice), so
// a file that cannot be read starts them anew and one that cannot be
// written is logged, never fatal.

// loadRecords reads the records at path ("" or a missing file: none);
// what names the file in the log, anew what starting anew means.
func loadRecords[R any](path string, log *slog.Logger, what, anew string) map[string]*R {
	recs, ok := loadJSON[map[string]*R](path, log, what, anew)
	if !ok || recs == nil {
		return map[string]*R{}
	}
	return recs
}

// saveRecords writes recs to path atomically ("" keeps them in memory).
func saveRecords[R any](path string, recs map[string]*R, log *slog.Logger, what string) {
	saveJSON(path, recs, log, what)
}

// loadJSON reads the JSON file at path into a T; false for "" and a
// missing file, and, logged with what and anew, for one that cannot be
// read or is damaged.
func loadJSON[T any](path string, log *slog.Logger, what, anew string) (v T, ok bool) {
	if path == "" {
		return v, false
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return v, false
	case err != nil:
		log.Warn("reading "+what+"; "+anew, "err", err)
		return v, false
	}
	if err := json.Unmarshal(b, &v); err != nil {
		log.Warn(what+" damaged; "+anew, "err", err)
		return v, false
	}
	return v, true
}

// saveJSON writes v to path atomically ("" keeps it in memory); a
// failure is logged with what.
func saveJSON(path string, v any, log *slog.Logger, what string) {
	if path == "" {
		return
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		err = writeFileAtomic(path, append(b, '\n'))
	}
	if err != nil {
		log.Warn("cannot save "+what, "err", err)
	}
}
