package tray

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/wacht-rmm/wacht/internal/trayipc"
)

// Seen remembers which technicians' replies the user has seen, in a file
// of the user's config directory (os.UserConfigDir()/wacht-tray).
type Seen struct {
	path string

	mu  sync.Mutex
	ids map[int64]bool
}

// OpenSeen reads the file at path; a missing or unreadable file means
// nothing was seen yet (the worst outcome is a reply counted as new). With
// path "" the replies seen are kept in memory only.
func OpenSeen(path string) *Seen {
	s := &Seen{path: path, ids: map[int64]bool{}}
	var ids []int64
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &ids) == nil {
		for _, id := range ids {
			s.ids[id] = true
		}
	}
	return s
}

// DefaultSeenPath is seen.json in the user's config directory.
func DefaultSeenPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "wacht-tray", "seen.json"), nil
}

// IDs returns a copy of the seen reply IDs.
func (s *Seen) IDs() map[int64]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int64]bool, len(s.ids))
	for id := range s.ids {
		out[id] = true
	}
	return out
}

// MarkAll marks every reply of reqs as seen and saves. IDs of replies no
// longer listed are dropped, so the file stays as small as the list.
func (s *Seen) MarkAll(reqs []trayipc.UserRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := map[int64]bool{}
	for _, r := range reqs {
		for _, rep := range r.Replies {
			ids[rep.ID] = true
		}
	}
	s.ids = ids
	list := make([]int64, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	slices.Sort(list)
	if s.path == "" {
		return nil
	}
	b, _ := json.Marshal(list)
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}
