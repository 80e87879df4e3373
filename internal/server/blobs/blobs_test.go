package blobs

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// tmpEntries lists the upload folder: after any Put it must be empty.
func tmpEntries(t *testing.T, s *Store) []os.DirEntry {
	t.Helper()
	es, err := os.ReadDir(s.tmpDir())
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestPut(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(t, 300<<10)
	sum, size, err := s.Put(bytes.NewReader(data))
	if err != nil || sum != hexSum(data) || size != int64(len(data)) {
		t.Fatalf("Put = %s, %d, %v", sum, size, err)
	}
	stored, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", sum[:2], sum))
	if err != nil || !bytes.Equal(stored, data) {
		t.Fatalf("stored file: %d bytes, %v", len(stored), err)
	}
	// The same content again is stored once.
	if sum2, _, err := s.Put(bytes.NewReader(data)); err != nil || sum2 != sum {
		t.Fatalf("second Put = %s, %v", sum2, err)
	}
	files := 0
	filepath.WalkDir(filepath.Join(dir, "blobs", "sha256"), func(_ string, d os.DirEntry, _ error) error {
		if !d.IsDir() {
			files++
		}
		return nil
	})
	if files != 1 || len(tmpEntries(t, s)) != 0 {
		t.Errorf("%d blob files, %d left in tmp", files, len(tmpEntries(t, s)))
	}
	f, err := s.Open(sum)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := s.Open("../../secret.key"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a path: %v", err)
	}
	if _, err := s.Open(strings.Repeat("0", 64)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of an unknown blob: %v", err)
	}
}

func TestPutTooLarge(t *testing.T) {
	s, err := Open(t.TempDir(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(bytes.NewReader(randomBytes(t, 1000))); err != nil {
		t.Fatalf("exactly the limit: %v", err)
	}
	if _, _, err := s.Put(bytes.NewReader(randomBytes(t, 1001))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("above the limit: %v", err)
	}
	if n := len(tmpEntries(t, s)); n != 0 {
		t.Errorf("%d files left in tmp", n)
	}
}

// failingReader fails after n bytes, as a client that disconnects.
type failingReader struct{ n int }

func (f *failingReader) Read(b []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := min(len(b), f.n)
	f.n -= n
	return n, nil
}

func TestPutInterrupted(t *testing.T) {
	s, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(&failingReader{n: 100 << 10}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Put = %v", err)
	}
	if n := len(tmpEntries(t, s)); n != 0 {
		t.Errorf("%d files left in tmp", n)
	}
}

func TestTickets(t *testing.T) {
	tk := NewTickets(randomBytes(t, 32))
	sum, other := strings.Repeat("a", 64), strings.Repeat("b", 64)
	now := time.Unix(1_800_000_000, 0)
	ticket := tk.Issue(42, sum, now.Add(time.Hour))
	if d, err := tk.Check(ticket, sum, now); err != nil || d != 42 {
		t.Fatalf("Check = %d, %v", d, err)
	}
	forged := strings.Replace(ticket, "42.", "43.", 1)
	for name, c := range map[string]struct {
		ticket, sum string
		at          time.Time
	}{
		"expired":      {ticket, sum, now.Add(time.Hour)},
		"other blob":   {ticket, other, now},
		"other device": {forged, sum, now},
		"other key":    {NewTickets(randomBytes(t, 32)).Issue(42, sum, now.Add(time.Hour)), sum, now},
		"empty":        {"", sum, now},
		"malformed":    {"42.x.y", sum, now},
		"later expiry": {strings.Replace(ticket, ".", ".9", 1), sum, now},
		"two parts":    {"42.1", sum, now},
		"zero device":  {tk.Issue(0, sum, now.Add(time.Hour)), sum, now},
	} {
		if _, err := tk.Check(c.ticket, c.sum, c.at); !errors.Is(err, ErrTicket) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
