package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
)

// blobLookup is the server's database for the blob route: one active
// device and the files packages name.
type blobLookup struct {
	device int64
	files  map[string]bool
}

func (l blobLookup) GetDevice(_ context.Context, id int64) (core.Device, error) {
	if id != l.device {
		return core.Device{}, core.ErrNotFound
	}
	return core.Device{ID: id, State: core.DeviceActive}, nil
}

func (l blobLookup) PackageBlobInUse(_ context.Context, sum string) (bool, error) {
	return l.files[sum], nil
}

// blobServer is the server's real blob route over TLS (blobs.Handler),
// with a hook that can break or replace an answer, and the requests it saw.
type blobServer struct {
	*httptest.Server
	tickets blobs.Tickets
	mu      sync.Mutex
	ranges  []string // the Range header of each request
	hook    func(n int, w http.ResponseWriter, r *http.Request) bool
	// cut, if set, breaks the connection of request n after that many
	// body bytes (0: not).
	cut func(n int) int
}

func newBlobServer(t *testing.T, data []byte) (*blobServer, BlobRef) {
	t.Helper()
	st, err := blobs.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	sum, size, err := st.Put(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	bs := &blobServer{tickets: blobs.NewTickets(key)}
	h := blobs.Handler(st, bs.tickets, blobLookup{device: 7, files: map[string]bool{sum: true}}, slog.New(slog.DiscardHandler))
	bs.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bs.mu.Lock()
		n := len(bs.ranges)
		bs.ranges = append(bs.ranges, r.Header.Get("Range"))
		hook, cut := bs.hook, bs.cut
		bs.mu.Unlock()
		if hook != nil && hook(n, w, r) {
			return
		}
		if cut != nil && cut(n) > 0 {
			w = &cutWriter{ResponseWriter: w, n: cut(n)}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(bs.Close)
	return bs, BlobRef{SHA256: sum, Size: size, Ticket: bs.tickets.Issue(7, sum, time.Now().Add(time.Hour))}
}

func (bs *blobServer) requests() []string {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return append([]string(nil), bs.ranges...)
}

func (bs *blobServer) downloader(t *testing.T) *Downloader {
	return &Downloader{Client: NewHTTPClient(protocol.Fingerprint(bs.Certificate().Raw)), BaseURL: bs.URL,
		Dir: filepath.Join(t.TempDir(), "downloads"), Backoff: time.Millisecond}
}

// cutWriter passes the first n body bytes, then breaks the connection.
type cutWriter struct {
	http.ResponseWriter
	n int
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if len(b) >= c.n {
		c.ResponseWriter.Write(b[:c.n])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	c.n -= len(b)
	return c.ResponseWriter.Write(b)
}

func randomData(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDownloadResume breaks the first transfer after 700 KiB; the agent
// resumes with a Range request and ends with the verified file.
func TestDownloadResume(t *testing.T) {
	data := randomData(t, 2<<20)
	bs, ref := newBlobServer(t, data)
	const cut = 700 << 10
	bs.cut = func(n int) int {
		if n == 0 {
			return cut
		}
		return 0
	}
	d := bs.downloader(t)
	path, err := d.Fetch(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("downloaded file differs (%d bytes, %v)", len(got), err)
	}
	reqs := bs.requests()
	if len(reqs) != 2 || reqs[0] != "" || !strings.HasPrefix(reqs[1], "bytes=") || reqs[1] == "bytes=0-" {
		t.Fatalf("requests' ranges: %q, want a full request and a resumed one", reqs)
	}
	if _, err := os.Stat(path + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the .part file is left: %v", err)
	}
	// Fetched again: the verified file is reused without a request.
	if p2, err := d.Fetch(t.Context(), ref); err != nil || p2 != path || len(bs.requests()) != 2 {
		t.Errorf("second Fetch: %s, %v, %d requests", p2, err, len(bs.requests()))
	}
}

// TestDownloadTampered serves other bytes of the right length: every
// attempt is refused, nothing is left to run.
func TestDownloadTampered(t *testing.T) {
	data := randomData(t, 256<<10)
	bs, ref := newBlobServer(t, data)
	bs.hook = func(_ int, w http.ResponseWriter, r *http.Request) bool {
		bad := bytes.Clone(data)
		bad[1000] ^= 1
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(bad))
		return true
	}
	d := bs.downloader(t)
	d.Attempts = 3
	_, err := d.Fetch(t.Context(), ref)
	wantCode(t, "Fetch", err, protocol.CodeHashMismatch)
	if n := len(bs.requests()); n != 3 {
		t.Errorf("%d requests, want 3 attempts", n)
	}
	if es, _ := os.ReadDir(d.Dir); len(es) != 0 {
		t.Errorf("files left in the download folder: %v", es)
	}
	// A longer file than announced is refused as well.
	bs.hook = func(_ int, w http.ResponseWriter, r *http.Request) bool {
		w.Write(append(bytes.Clone(data), 'x'))
		return true
	}
	_, err = d.Fetch(t.Context(), ref)
	wantCode(t, "Fetch", err, protocol.CodeHashMismatch)
}

// TestDownloadRetries: a node that lacks the file (404) is asked again; a
// refused ticket is not.
func TestDownloadRetries(t *testing.T) {
	data := randomData(t, 64<<10)
	bs, ref := newBlobServer(t, data)
	bs.hook = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n < 2 {
			http.Error(w, "missing on this node", http.StatusNotFound)
			return true
		}
		return false
	}
	d := bs.downloader(t)
	if _, err := d.Fetch(t.Context(), ref); err != nil || len(bs.requests()) != 3 {
		t.Fatalf("Fetch after two 404: %v, %d requests", err, len(bs.requests()))
	}
	bs.hook = nil
	d = bs.downloader(t)
	bad := ref
	bad.Ticket = bs.tickets.Issue(7, strings.Repeat("0", 64), time.Now().Add(time.Hour))
	before := len(bs.requests())
	_, err := d.Fetch(t.Context(), bad)
	wantCode(t, "Fetch", err, protocol.CodeFailed)
	if n := len(bs.requests()) - before; n != 1 || !strings.Contains(err.Error(), "401") {
		t.Errorf("refused ticket: %d requests, %v", n, err)
	}
	// The bounded retries end with the last reason.
	bs.hook = func(int, http.ResponseWriter, *http.Request) bool { panic(http.ErrAbortHandler) }
	d.Attempts = 4
	before = len(bs.requests())
	_, err = d.Fetch(t.Context(), ref)
	wantCode(t, "Fetch", err, protocol.CodeFailed)
	if n := len(bs.requests()) - before; n != 4 {
		t.Errorf("%d attempts, want 4", n)
	}
	_, err = d.Fetch(t.Context(), BlobRef{SHA256: "abc", Size: 1})
	wantCode(t, "Fetch", err, protocol.CodeBadArgs)
}

// TestCleanDownloads removes verified and partial downloads nobody used
// for staleDownload, keeps recent ones, a file a run holds however old it
// is, and what is not a download.
func TestCleanDownloads(t *testing.T) {
	d := &Downloader{Dir: t.TempDir()}
	now := time.Now()
	old := now.Add(-staleDownload - time.Hour)
	sum := func(c string) string { return strings.Repeat(c, 64) }
	files := map[string]time.Time{
		sum("a"): old, sum("b") + ".part": old, // stale: removed
		sum("c"): now.Add(-time.Hour), sum("d") + ".part": now.Add(-time.Hour), // recent: kept
		sum("e") + ".part": old, // held (a download in progress): kept
		"notes.txt":        old, // not a download: kept
	}
	for name, mt := range files {
		p := filepath.Join(d.Dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mt, mt)
	}
	release := d.hold(sum("e"))
	CleanDownloads(d.Dir, now, slog.New(slog.DiscardHandler))
	for name := range files {
		_, err := os.Stat(filepath.Join(d.Dir, name))
		if gone := os.IsNotExist(err); gone != (name == sum("a") || name == sum("b")+".part") {
			t.Errorf("%s: removed %v", name, gone)
		}
	}
	release()
	CleanDownloads(d.Dir, now, slog.New(slog.DiscardHandler))
	if _, err := os.Stat(filepath.Join(d.Dir, sum("e")+".part")); !os.IsNotExist(err) {
		t.Errorf("the released stale download is left: %v", err)
	}
	CleanDownloads(filepath.Join(d.Dir, "missing"), now, slog.New(slog.DiscardHandler)) // no folder yet: nothing to do
}
