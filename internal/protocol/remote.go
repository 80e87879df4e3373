package protocol

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// The terminal stream and the file actions (issue 15): their names,
// arguments, results and the codes of their refusals.

// Stream and action types.
const (
	StreamTerminal   = "terminal"    // a shell on a PTY (ConPTY on Windows)
	StreamFileUpload = "file-upload" // a file's content to the device
	// StreamFileDownload streams one file's content to the server.
	StreamFileDownload = "file-download"
	ActionFilesList    = "files-list"
	ActionFilesMkdir   = "files-mkdir"
	ActionFilesMove    = "files-rename"
	ActionFilesDel     = "files-delete"
)

// Reply and close codes of the terminal and the file actions, beside
// those in action.go.
const (
	CodeIdleTimeout      = "idle_timeout"      // terminal: no input or output for the idle time
	CodePermissionDenied = "permission_denied" // the OS refused access
	CodeLocked           = "locked"            // another process holds the file
	CodeDiskFull         = "disk_full"
	CodeExists           = "exists"        // the target exists and overwriting was not asked
	CodeHashMismatch     = "hash_mismatch" // the upload's SHA-256 or size is not the expected one
)

// TerminalArgs open a terminal. Shell is bash, zsh, sh, powershell, pwsh or
// cmd; "" is the device's default (bash or sh on Linux, zsh on macOS,
// powershell on Windows). Rows and Cols are the first size (0: 24×80).
// IdleSeconds ends the session after that long without input or output
// (0: DefaultTerminalIdle; at most MaxTerminalIdle).
type TerminalArgs struct {
	Shell       string `json:"shell,omitempty"`
	Rows        uint16 `json:"rows,omitempty"`
	Cols        uint16 `json:"cols,omitempty"`
	IdleSeconds int    `json:"idle_seconds,omitempty"`
}

// Terminal limits.
const (
	DefaultTerminalIdle = 15 * time.Minute
	MaxTerminalIdle     = 24 * time.Hour
	MaxTerminals        = 4 // terminal sessions open at once per device
)

// TerminalOpened is the terminal stream's meta.
type TerminalOpened struct {
	Shell string `json:"shell"`
	PID   int    `json:"pid"`
}

// Terminal frames: the agent sends the terminal's output as raw bytes; the
// server sends frames of one kind byte, a big-endian uint16 payload length
// and the payload, so that control messages (a resize) travel in order with
// the keystrokes and under the stream's flow control.
const (
	TermInput  byte = 'i' // payload: keystrokes (UTF-8)
	TermResize byte = 'r' // payload: rows, cols as big-endian uint16
)

// maxTermPayload bounds one frame's payload.
const maxTermPayload = 1<<16 - 1

// TermFrame is one decoded server → agent terminal frame.
type TermFrame struct {
	Kind       byte
	Data       []byte // TermInput
	Rows, Cols uint16 // TermResize
}

// AppendTermInput appends keystrokes as input frames to b.
func AppendTermInput(b, keys []byte) []byte {
	for len(keys) > 0 {
		n := min(len(keys), maxTermPayload)
		b = append(b, TermInput, byte(n>>8), byte(n))
		b = append(b, keys[:n]...)
		keys = keys[n:]
	}
	return b
}

// AppendTermResize appends a resize frame to b.
func AppendTermResize(b []byte, rows, cols uint16) []byte {
	b = append(b, TermResize, 0, 4)
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(b, rows), cols)
}

// ReadTermFrame reads one frame; io.EOF at a frame boundary is a normal end.
func ReadTermFrame(r io.Reader) (TermFrame, error) {
	var h [3]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return TermFrame{}, err
	}
	p := make([]byte, binary.BigEndian.Uint16(h[1:]))
	if _, err := io.ReadFull(r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return TermFrame{}, err
	}
	f := TermFrame{Kind: h[0]}
	switch h[0] {
	case TermInput:
		f.Data = p
	case TermResize:
		if len(p) != 4 {
			return f, fmt.Errorf("%w: resize frame of %d bytes", ErrMalformed, len(p))
		}
		f.Rows, f.Cols = binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:])
		if f.Rows == 0 || f.Cols == 0 {
			return f, fmt.Errorf("%w: resize to %d×%d", ErrMalformed, f.Rows, f.Cols)
		}
	default:
		return f, fmt.Errorf("%w: terminal frame kind %q", ErrMalformed, h[0])
	}
	return f, nil
}

// FilesListArgs name a folder; "" on Windows lists the drives.
type FilesListArgs struct {
	Path string `json:"path"`
}

// FileEntry is one entry of a folder. Type is file, dir, symlink, drive or
// other; Mode is the permission string (drwxr-xr-x); Target is a symlink's
// target.
type FileEntry struct {
	Name     string    `json:"name"`
	Type     string    `json:"type"`
	Size     int64     `json:"size"`
	Mode     string    `json:"mode,omitempty"`
	Modified time.Time `json:"modified,omitzero"`
	Target   string    `json:"target,omitempty"`
}

// MaxFileEntries bounds a listing (Truncated says there were more).
const MaxFileEntries = 10000

// FilesList is files-list's result: Path as the agent resolved it, the
// entries sorted by name.
type FilesList struct {
	Path      string      `json:"path"`
	Entries   []FileEntry `json:"entries"`
	Truncated bool        `json:"truncated,omitempty"`
}

// FilesPathArgs name one path: files-mkdir creates it (its parent must
// exist); files-delete removes it, a folder only with Recursive.
type FilesPathArgs struct {
	Path      string `json:"path"`
	Recursive bool   `json:"recursive,omitempty"`
}

// FilesRenameArgs move From to To, which must not exist.
type FilesRenameArgs struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// FileUploadArgs open an upload of Size bytes to Path whose content must
// have the SHA-256 (hex) SHA256. The server writes exactly Size bytes,
// then reads the result: a FileUploaded and a normal end, or the refusal's
// close code (hash_mismatch…). An existing Path is replaced only with
// Overwrite.
//
// An empty SHA256 means the server did not know the hash before the first
// byte (a client streaming a file without one): it computes the hash on the
// way and writes it (UploadTrailer bytes, raw) after the Size bytes. The
// agent verifies either before the file is moved into place; only a given
// SHA256 is covered by the signature.
type FileUploadArgs struct {
	Path      string `json:"path"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	Overwrite bool   `json:"overwrite,omitempty"`
}

// UploadTrailer is the length of the SHA-256 a server sends after an
// upload's content when FileUploadArgs.SHA256 is empty.
const UploadTrailer = 32

// FileDownloadArgs name the file to download.
type FileDownloadArgs struct {
	Path string `json:"path"`
}

// FileInfo is the file-download stream's meta: what the server knows before
// the first byte. Size is -1 for a file without a size (a device).
type FileInfo struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
}

// FileUploaded is what the agent answers on the upload stream once the
// file is in place.
type FileUploaded struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}
