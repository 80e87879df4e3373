package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Downloads of content-addressed files (installers) from the server's
// blob route (internal/server/blobs): to <dir>/<sha256>.part, resumed with
// a Range request after an interruption, and renamed to <dir>/<sha256>
// only once the whole file has the expected SHA-256. What does not match
// is deleted, never run. A run holds its file while it fetches and copies
// it (hold); afterwards the file is discarded, and CleanDownloads removes
// what no run holds and nobody used for staleDownload.

// Download defaults.
const (
	DefaultDownloadAttempts = 5
	DefaultDownloadBackoff  = 2 * time.Second
	maxDownloadBackoff      = time.Minute
	// downloadStall ends an attempt that received nothing for this long.
	downloadStall = 2 * time.Minute
	// blobPath and ticketHeader are the server's (blobs.Path,
	// blobs.TicketHeader); the agent links no server code.
	blobPath     = "/api/agent/blobs/"
	ticketHeader = "X-Wacht-Ticket"
)

// BlobRef names a file to download: its SHA-256 in hex, its size, and the
// ticket the server issued for this device (in a signed action).
type BlobRef struct {
	SHA256 string
	Size   int64
	Ticket string
}

// Downloader fetches blobs from the server.
type Downloader struct {
	Client   *http.Client // NewHTTPClient with the server's pin
	BaseURL  string       // the server's URL, https://host:port
	Dir      string       // <data>/downloads
	Attempts int          // 0: DefaultDownloadAttempts
	Backoff  time.Duration
}

// errPermanent marks a failure that retrying cannot fix.
type errPermanent struct{ err error }

func (e errPermanent) Error() string { return e.err.Error() }
func (e errPermanent) Unwrap() error { return e.err }

// staleDownload is how long a file nobody holds is kept: a partial
// download for its resume, a verified one for the retry of an installer
// that found another installation running.
const staleDownload = 3 * 24 * time.Hour

// downloadHolds counts, per file path (<dir>/<sha256>, its .part too),
// the runs of this process that use it: cleaning never removes a file
// while it is downloaded, verified or copied.
var downloadHolds = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

// hold marks blob sum in use until release is called.
func (d *Downloader) hold(sum string) (release func()) {
	path := filepath.Join(d.Dir, strings.ToLower(sum))
	downloadHolds.Lock()
	downloadHolds.n[path]++
	downloadHolds.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			downloadHolds.Lock()
			if downloadHolds.n[path]--; downloadHolds.n[path] <= 0 {
				delete(downloadHolds.n, path)
			}
			downloadHolds.Unlock()
		})
	}
}

// discard removes the verified file sum unless a run holds it.
func (d *Downloader) discard(sum string) {
	path := filepath.Join(d.Dir, strings.ToLower(sum))
	downloadHolds.Lock()
	defer downloadHolds.Unlock()
	if downloadHolds.n[path] == 0 {
		os.Remove(path)
	}
}

// CleanDownloads removes from dir the downloads (verified and partial)
// that no run holds and that were last written more than staleDownload
// before now.
func CleanDownloads(dir string, now time.Time, log *slog.Logger) {
	des, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("cleaning downloads", "err", err)
		}
		return
	}
	downloadHolds.Lock()
	defer downloadHolds.Unlock()
	for _, de := range des {
		sum := strings.TrimSuffix(de.Name(), ".part")
		info, err := de.Info()
		if err != nil || !de.Type().IsRegular() || !validSum(sum) || downloadHolds.n[filepath.Join(dir, sum)] > 0 ||
			now.Sub(info.ModTime()) <= staleDownload {
			continue
		}
		if err := os.Remove(filepath.Join(dir, de.Name())); err != nil {
			log.Warn("removing a stale download", "file", de.Name(), "err", err)
		}
	}
}

// validSum reports whether s is a SHA-256 in lower-case hex.
func validSum(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size && s == strings.ToLower(s)
}

// Fetch returns the path of the verified file b, downloading what is
// missing. Its error is a *protocol.ActionError: hash_mismatch, disk_full,
// bad_args or failed, with the reason in English and German.
func (d *Downloader) Fetch(ctx context.Context, b BlobRef) (string, error) {
	b.SHA256 = strings.ToLower(b.SHA256)
	if sum, err := hex.DecodeString(b.SHA256); err != nil || len(sum) != sha256.Size || b.Size < 0 {
		return "", Errorf(protocol.CodeBadArgs, "A download needs a valid SHA-256 and size.", "Ein Download braucht eine gültige SHA-256 und Größe.")
	}
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return "", fileErr(d.Dir, err)
	}
	defer d.hold(b.SHA256)()
	final := filepath.Join(d.Dir, b.SHA256)
	if err := verify(final, b); err == nil {
		return final, nil // downloaded before; checked again before every use
	}
	os.Remove(final)
	part := final + ".part"
	attempts, wait := d.Attempts, d.Backoff
	if attempts <= 0 {
		attempts = DefaultDownloadAttempts
	}
	if wait <= 0 {
		wait = DefaultDownloadBackoff
	}
	var err error
	for i := range attempts {
		if i > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return "", Errorf(protocol.CodeFailed, "The download was cancelled: %v", "Der Download wurde abgebrochen: %v", ctx.Err())
			case <-t.C:
			}
			wait = min(2*wait, maxDownloadBackoff)
		}
		if err = d.attempt(ctx, b, part); err == nil {
			break
		}
		if errors.Is(err, errHashMismatch) {
			os.Remove(part) // start over: a resumed bad file stays bad
		}
		if isDiskFull(err) {
			os.Remove(part)
			return "", fileErr(part, err)
		}
		var perm errPermanent
		if errors.As(err, &perm) || ctx.Err() != nil {
			break
		}
	}
	switch {
	case errors.Is(err, errHashMismatch):
		return "", Errorf(protocol.CodeHashMismatch, "The download does not have the expected SHA-256 (%v); it was deleted and not run.",
			"Der Download hat nicht die erwartete SHA-256 (%v); er wurde gelöscht und nicht ausgeführt.", err)
	case err != nil:
		return "", Errorf(protocol.CodeFailed, "The download failed: %v", "Der Download ist fehlgeschlagen: %v", err)
	}
	if err := os.Rename(part, final); err != nil {
		return "", fileErr(final, err)
	}
	return final, nil
}

var errHashMismatch = errors.New("SHA-256 or size mismatch")

// attempt continues the download in part from where it stopped and
// verifies the whole file.
func (d *Downloader) attempt(ctx context.Context, b BlobRef, part string) error {
	var have int64
	if fi, err := os.Stat(part); err == nil {
		have = fi.Size()
	}
	if have > b.Size {
		have = 0
	}
	if have < b.Size || b.Size == 0 {
		if err := d.get(ctx, b, part, have); err != nil {
			return err
		}
	}
	return verify(part, b)
}

// get requests the bytes from offset on and appends them to part; a
// server that answers with the whole file restarts it.
func (d *Downloader) get(ctx context.Context, b BlobRef, part string, offset int64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(d.BaseURL, "/")+blobPath+b.SHA256, nil)
	if err != nil {
		return errPermanent{err}
	}
	req.Header.Set(ticketHeader, b.Ticket)
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		req.Header.Set("If-Range", `"`+b.SHA256+`"`)
	}
	resp, err := d.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	flags := os.O_WRONLY | os.O_CREATE
	switch resp.StatusCode {
	case http.StatusOK:
		flags |= os.O_TRUNC
		offset = 0
	case http.StatusPartialContent:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(offset, 10)+"-") {
			return fmt.Errorf("the server answered Content-Range %q for offset %d", resp.Header.Get("Content-Range"), offset)
		}
		flags |= os.O_APPEND
	case http.StatusUnauthorized, http.StatusForbidden:
		return errPermanent{fmt.Errorf("the server refused the download: %s", resp.Status)}
	default:
		// 404 from a node that lacks the file, 5xx: another time.
		return fmt.Errorf("the server answered %s", resp.Status)
	}
	f, err := os.OpenFile(part, flags, 0o600)
	if err != nil {
		return err
	}
	// More than the expected size is a wrong file: read one byte beyond.
	body := &stallReader{r: io.LimitReader(resp.Body, b.Size-offset+1), t: time.AfterFunc(downloadStall, func() {
		cancel(errors.New("no data for " + downloadStall.String()))
	})}
	defer body.t.Stop()
	_, err = io.Copy(f, body)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if cause := context.Cause(ctx); err != nil && cause != nil {
		err = fmt.Errorf("%w (%v)", err, cause)
	}
	return err
}

// stallReader pushes its timer back with every read.
type stallReader struct {
	r io.Reader
	t *time.Timer
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.t.Reset(downloadStall)
	return n, err
}

// verify checks path's size and SHA-256.
func verify(path string, b BlobRef) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if n != b.Size || hex.EncodeToString(h.Sum(nil)) != b.SHA256 {
		return fmt.Errorf("%w: %d bytes, sha256 %s", errHashMismatch, n, hex.EncodeToString(h.Sum(nil)))
	}
	return nil
}
