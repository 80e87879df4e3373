// Package transfer carries a device's files over HTTP for the API and the
// dashboard alike: the download's headers (Content-Length, a
// Content-Disposition that keeps umlauts, the SHA-256 trailer), aborting a
// response that failed midway, and deadlines that follow a transfer's
// progress instead of bounding its total time.
package transfer

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/service"
)

// HashHeader carries a content's SHA-256 in hex: the expected one of an
// upload (request header), the one of a download (trailer).
const HashHeader = "X-Content-SHA256"

// Stall is how long a transfer may make no progress before the server
// gives up on the client; the server's own read and write timeouts would
// otherwise end every transfer longer than a minute or two.
const Stall = 2 * time.Minute

// Download streams the file at path of device id to w. It returns an error
// only while nothing was written (the caller answers it); a transfer that
// fails after the first byte aborts the response (http.ErrAbortHandler),
// so that the client sees a broken transfer rather than a short file.
func Download(w http.ResponseWriter, r *http.Request, svc *service.Service, u core.User, id int64, path string) error {
	rc := http.NewResponseController(w)
	started, trailer := false, false
	ft, err := svc.Download(r.Context(), u, id, path, func(info protocol.FileInfo) (io.Writer, error) {
		started = true
		hd := w.Header()
		hd.Set("Content-Type", "application/octet-stream")
		hd.Set("Content-Disposition", Disposition(info.Name))
		hd.Set("X-Content-Type-Options", "nosniff")
		if !info.ModTime.IsZero() {
			hd.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
		}
		// HTTP/1.1 sends trailers only in chunked answers: a client that
		// asks for them gets the hash, every other one the length.
		trailer = info.Size < 0 || strings.Contains(strings.ToLower(r.Header.Get("TE")), "trailers")
		if trailer {
			hd.Set("Trailer", HashHeader)
		} else {
			hd.Set("Content-Length", strconv.FormatInt(info.Size, 10))
		}
		w.WriteHeader(http.StatusOK)
		return &progressWriter{w: w, rc: rc}, nil
	})
	if err != nil {
		if !started {
			return err
		}
		panic(http.ErrAbortHandler)
	}
	if trailer {
		// Set after the body: net/http sends declared trailers then.
		w.Header().Set(HashHeader, ft.SHA256)
	}
	return nil
}

// Body is r's body with a read deadline that moves with each read.
func Body(w http.ResponseWriter, r *http.Request) io.Reader {
	return &progressReader{r: r.Body, rc: http.NewResponseController(w)}
}

type progressWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (p *progressWriter) Write(b []byte) (int, error) {
	_ = p.rc.SetWriteDeadline(time.Now().Add(Stall)) // unsupported: the server's timeout stays
	return p.w.Write(b)
}

type progressReader struct {
	r  io.Reader
	rc *http.ResponseController
}

func (p *progressReader) Read(b []byte) (int, error) {
	_ = p.rc.SetReadDeadline(time.Now().Add(Stall))
	return p.r.Read(b)
}

// Disposition is an attachment's Content-Disposition for name: an ASCII
// fallback and the exact name in UTF-8 (RFC 6266, RFC 5987 filename*).
func Disposition(name string) string {
	var ascii, ext strings.Builder
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r > 0x7e:
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(r)
		}
	}
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			ext.WriteByte(b)
		} else {
			ext.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(b)|0x100, 16)[1:]))
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// isAttrChar: RFC 5987's attr-char, sent unencoded.
func isAttrChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}
