package snmp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
)

// sample is a counter reading kept for the next rate.
type sample struct {
	V    uint64    `json:"v"`
	Bits int       `json:"bits"`
	At   time.Time `json:"at"`
}

// state is what one check instance remembers between runs: counter samples
// and the last sysUpTime. It lives in memory and in a file under
// check.StateDir so that an agent restart keeps rates and reboot detection.
type state struct {
	Samples map[string]sample `json:"samples"`
	Uptime  *sample           `json:"uptime,omitempty"`

	next map[string]sample // samples seen in this run
	path string
}

// maxStateFile bounds what is read back from disk.
const maxStateFile = 8 << 20

// stateFile names the file for a check identity (device + what it reads).
func stateFile(identity string) string {
	sum := sha256.Sum256([]byte(identity))
	dir, err := check.StateDir()
	if err != nil {
		return "" // no state folder (tests, check --once): memory only
	}
	return filepath.Join(dir, "snmp-"+hex.EncodeToString(sum[:8])+".json")
}

func loadState(path string) *state {
	s := &state{Samples: map[string]sample{}, path: path}
	if path == "" {
		return s
	}
	f, err := os.Open(path)
	if err != nil {
		return s
	}
	defer f.Close()
	var disk state
	dec := json.NewDecoder(&limitedReader{f, maxStateFile})
	if dec.Decode(&disk) == nil && disk.Samples != nil {
		s.Samples, s.Uptime = disk.Samples, disk.Uptime
	}
	return s
}

type limitedReader struct {
	f interface{ Read([]byte) (int, error) }
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("state file too large")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

// begin starts a run; only counters seen in it are kept afterwards, so the
// state cannot grow with interfaces that disappeared.
func (s *state) begin() { s.next = map[string]sample{} }

// commit keeps this run's samples and writes them to disk.
func (s *state) commit() error {
	if s.next != nil {
		s.Samples, s.next = s.next, nil
	}
	if s.path == "" {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding SNMP state: %w", err)
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("writing SNMP state: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("writing SNMP state: %w", err)
	}
	return nil
}

// rate returns the per-second rate of a counter since its previous sample.
// A Counter32 that went down wrapped once; a Counter64 that went down was
// reset (it cannot wrap in practice), so there is no rate this time.
func (s *state) rate(key string, v Value, now time.Time) (float64, bool) {
	prev, ok := s.Samples[key]
	s.next[key] = sample{V: v.U64, Bits: v.Bits, At: now}
	if !ok || prev.Bits != v.Bits {
		return 0, false
	}
	dt := now.Sub(prev.At).Seconds()
	if dt <= 0 {
		return 0, false
	}
	var delta uint64
	switch {
	case v.U64 >= prev.V:
		delta = v.U64 - prev.V
	case v.Bits == 32 && prev.V <= 1<<32-1:
		delta = (1<<32 - prev.V) + v.U64
	default:
		return 0, false
	}
	return float64(delta) / dt, true
}
