package blobs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// age sets blob sum's modification time to d ago.
func age(t *testing.T, s *Store, sum string, d time.Duration) {
	t.Helper()
	old := time.Now().Add(-d)
	if err := os.Chtimes(s.path(sum), old, old); err != nil {
		t.Fatal(err)
	}
}

func exists(s *Store, sum string) bool {
	_, err := os.Stat(s.path(sum))
	return err == nil
}

func used(v bool) InUse {
	return func(context.Context, string) (bool, error) { return v, nil }
}

// TestRemove: a blob a package names stays, so does one written within
// the grace period; an old unnamed one goes; a missing one is no error.
func TestRemove(t *testing.T) {
	s, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(t, 10<<10)
	sum, _, err := s.Put(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if gone, err := s.Remove(t.Context(), sum, used(false)); err != nil || gone || !exists(s, sum) {
		t.Fatalf("fresh blob: removed %v, %v", gone, err)
	}
	age(t, s, sum, 2*DefaultGrace)
	if gone, err := s.Remove(t.Context(), sum, used(true)); err != nil || gone || !exists(s, sum) {
		t.Fatalf("blob in use: removed %v, %v", gone, err)
	}
	failing := func(context.Context, string) (bool, error) { return false, errors.New("database down") }
	if gone, err := s.Remove(t.Context(), sum, failing); err == nil || gone || !exists(s, sum) {
		t.Fatalf("database error: removed %v, %v", gone, err)
	}
	if gone, err := s.Remove(t.Context(), sum, used(false)); err != nil || !gone || exists(s, sum) {
		t.Fatalf("unused old blob: removed %v, %v", gone, err)
	}
	if gone, err := s.Remove(t.Context(), sum, used(false)); err != nil || gone {
		t.Fatalf("missing blob: removed %v, %v", gone, err)
	}
	if gone, err := s.Remove(t.Context(), "../x", used(false)); err != nil || gone {
		t.Fatalf("no SHA-256: removed %v, %v", gone, err)
	}
	if es := tmpEntries(t, s); len(es) != 0 {
		t.Errorf("%d files left in tmp", len(es))
	}
}

// TestRemoveRacesUpload: another node sharing the folder (its own Store,
// its own lock) puts the same content while a removal is under way, at
// both moments that matter: after the removal asked the database (which
// does not name the file yet) and after it moved the file aside. Either
// way the upload's blob is there when the removal ends.
func TestRemoveRacesUpload(t *testing.T) {
	data := randomBytes(t, 10<<10)
	for _, at := range []string{"after the lookup", "after the move"} {
		t.Run(at, func(t *testing.T) {
			s, err := Open(t.TempDir(), 0)
			if err != nil {
				t.Fatal(err)
			}
			sum, _, err := s.Put(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			age(t, s, sum, 2*DefaultGrace)
			other, err := Open(filepath.Dir(s.dir), 0)
			if err != nil {
				t.Fatal(err)
			}
			upload := func() {
				if _, _, err := other.Put(bytes.NewReader(data)); err != nil {
					t.Error(err)
				}
			}
			inUse := used(false)
			if at == "after the lookup" {
				inUse = func(context.Context, string) (bool, error) { upload(); return false, nil }
			} else {
				s.afterMove = upload
			}
			gone, err := s.Remove(t.Context(), sum, inUse)
			if err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(s.path(sum)); err != nil || !bytes.Equal(b, data) {
				t.Fatalf("the uploaded blob is gone (Remove said %v): %v", gone, err)
			}
			if es := tmpEntries(t, s); len(es) != 0 {
				t.Errorf("%d files left in tmp", len(es))
			}
		})
	}
}

// TestRemoveConcurrentUploads runs uploads of the same content against
// a loop of removals on one node: once Put has returned and the
// "database" names the file, it exists, every time (run it with -race).
func TestRemoveConcurrentUploads(t *testing.T) {
	s, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(t, 4<<10)
	sum := hexSum(data)
	var named atomic.Bool
	inUse := func(context.Context, string) (bool, error) { return named.Load(), nil }
	stop := make(chan struct{})
	var removed atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if gone, err := s.Remove(context.Background(), sum, inUse); err != nil {
				t.Error(err)
				return
			} else if gone {
				removed.Add(1)
			}
		}
	})
	for i := range 300 {
		if _, _, err := s.Put(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		named.Store(true) // the package names it now
		if !exists(s, sum) {
			t.Fatalf("round %d: the blob is missing after its upload was recorded", i)
		}
		named.Store(false) // the package was deleted
		age(t, s, sum, 2*DefaultGrace)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d removals between 300 uploads", removed.Load())
}

// TestSweep removes old blobs no package names and stale temporary
// files, keeps what is named, recent or still being uploaded, and puts
// back a named blob a crashed removal left aside.
func TestSweep(t *testing.T) {
	s, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	put := func() string {
		sum, _, err := s.Put(bytes.NewReader(randomBytes(t, 1<<10)))
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	named, orphan, recent, aside := put(), put(), put(), put()
	for _, sum := range []string{named, orphan, aside} {
		age(t, s, sum, 2*DefaultGrace)
	}
	// A removal that crashed after moving a named blob aside.
	if err := os.Rename(s.path(aside), filepath.Join(s.tmpDir(), removePrefix+aside+"-1")); err != nil {
		t.Fatal(err)
	}
	staleUpload, activeUpload := filepath.Join(s.tmpDir(), "upload-1"), filepath.Join(s.tmpDir(), "upload-2")
	for _, p := range []string{staleUpload, activeUpload} {
		os.WriteFile(p, []byte("partial"), 0o600)
	}
	old := time.Now().Add(-2 * staleTemp)
	os.Chtimes(staleUpload, old, old)
	inUse := func(_ context.Context, sum string) (bool, error) { return sum == named || sum == aside, nil }
	n, err := s.Sweep(t.Context(), inUse)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v, want 1 removed", n, err)
	}
	for sum, want := range map[string]bool{named: true, orphan: false, recent: true, aside: true} {
		if exists(s, sum) != want {
			t.Errorf("%s: exists %v, want %v", sum[:8], !want, want)
		}
	}
	if _, err := os.Stat(staleUpload); !os.IsNotExist(err) {
		t.Errorf("stale upload left: %v", err)
	}
	if _, err := os.Stat(activeUpload); err != nil {
		t.Errorf("an upload in progress was removed: %v", err)
	}
}
