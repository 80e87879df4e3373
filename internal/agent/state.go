package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// State is state.json: what `wacht-agent status` shows while the agent runs
// (the spool database is locked by the running agent).
type State struct {
	Running bool `json:"running"`
	PID     int  `json:"pid"`
	// Image and StartedMS identify the process beyond its PID (see Alive):
	// its image name and its start time in Unix milliseconds.
	Image     string    `json:"image,omitempty"`
	StartedMS int64     `json:"started_ms,omitempty"`
	Server    string    `json:"server"`
	DeviceID  int64     `json:"device_id"`
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since"` // when Connected last changed
	Revoked   bool      `json:"revoked,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	SpoolLen  int       `json:"spool_length"`
}

// ReadState reads state.json from dir.
func ReadState(dir string) (State, error) {
	var s State
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	if err != nil {
		return s, fmt.Errorf("reading agent state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("parsing %s: %w", StateFile, err)
	}
	return s, nil
}

// stateFile keeps State and writes it whenever it changes.
type stateFile struct {
	dir string
	log *slog.Logger

	mu      sync.Mutex
	cur     State
	written State
	ok      bool // written holds what is on disk
}

// get returns the current state.
func (s *stateFile) get() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// update applies f and writes the file if anything changed.
func (s *stateFile) update(f func(*State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.cur)
	if s.ok && s.cur == s.written {
		return
	}
	b, err := json.MarshalIndent(s.cur, "", "  ")
	if err == nil {
		err = writeFileAtomic(filepath.Join(s.dir, StateFile), append(b, '\n'))
	}
	if err != nil {
		// Status display is a convenience; the agent keeps working.
		s.log.Warn("cannot write state file", "err", err)
		s.ok = false
		return
	}
	s.written, s.ok = s.cur, true
}
