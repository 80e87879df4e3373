package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
)

// The file browser of a device (local lock "files"): list, new folder,
// rename, delete, and streamed download and upload. The agent cleans and
// checks every path (fspath) and answers refusals with a code and a reason
// in English and German; every attempt is audited as "device.file-…".

// FileTransfer is what went over the wire in a download or upload: the
// path as the agent resolved it, the bytes and their SHA-256 (hex).
type FileTransfer struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ListFiles lists a folder of device id; an empty path lists the drives
// (Windows; other systems answer bad_args). Audited as
// "device.files-list": reading a customer's folders is an action too.
func (s *Service) ListFiles(ctx context.Context, u core.User, id int64, path string) (protocol.FilesList, error) {
	var list protocol.FilesList
	err := s.fileAction(ctx, u, id, "device.files-list", path, protocol.ActionFilesList, protocol.FilesListArgs{Path: path}, &list)
	if err != nil {
		return protocol.FilesList{}, err
	}
	if list.Entries == nil {
		list.Entries = []protocol.FileEntry{}
	}
	return list, nil
}

// Mkdir creates a folder (its parent must exist); audited as
// "device.file-mkdir".
func (s *Service) Mkdir(ctx context.Context, u core.User, id int64, path string) error {
	if err := needPath("path", path); err != nil {
		return err
	}
	return s.fileAction(ctx, u, id, "device.file-mkdir", path, protocol.ActionFilesMkdir, protocol.FilesPathArgs{Path: path}, nil)
}

// RenameFile moves from to to, which must not exist; audited as
// "device.file-rename".
func (s *Service) RenameFile(ctx context.Context, u core.User, id int64, from, to string) error {
	if err := errors.Join(needPath("from", from), needPath("to", to)); err != nil {
		return err
	}
	return s.fileAction(ctx, u, id, "device.file-rename", from+" → "+to, protocol.ActionFilesMove, protocol.FilesRenameArgs{From: from, To: to}, nil)
}

// DeleteFile deletes a file, or a folder with everything in it when
// recursive; audited as "device.file-delete".
func (s *Service) DeleteFile(ctx context.Context, u core.User, id int64, path string, recursive bool) error {
	if err := needPath("path", path); err != nil {
		return err
	}
	detail := path
	if recursive {
		detail += " (recursive)"
	}
	return s.fileAction(ctx, u, id, "device.file-delete", detail, protocol.ActionFilesDel, protocol.FilesPathArgs{Path: path, Recursive: recursive}, nil)
}

// fileAction runs one file action on the agent and audits it. Audits are
// written even when the client went away (its context ended): that is
// when an aborted transfer needs its entry most.
func (s *Service) fileAction(ctx context.Context, u core.User, id int64, audit, detail, typ string, args, reply any) error {
	_, r, err := s.remoteTarget(ctx, u, id, protocol.LockFiles)
	if err != nil {
		return err
	}
	err = r.Do(ctx, id, typ, args, reply)
	if aerr := s.auditRemote(context.WithoutCancel(ctx), u, audit, id, detail, err); aerr != nil && err == nil {
		err = aerr
	}
	return err
}

// Download streams a file of device id: once the agent opened it, start
// gets what is known before the first byte (name, size, modification time)
// and returns where the content goes. The content is copied through as it
// arrives (the stream's credit window bounds what is buffered), hashed on
// the way, and the transfer audited as "device.file-download" with its
// size and SHA-256. An error after start was called means the content
// written is incomplete: the transport must not present it as a file.
func (s *Service) Download(ctx context.Context, u core.User, id int64, path string, start func(protocol.FileInfo) (io.Writer, error)) (FileTransfer, error) {
	if err := needPath("path", path); err != nil {
		return FileTransfer{}, err
	}
	_, r, err := s.remoteTarget(ctx, u, id, protocol.LockFiles)
	if err != nil {
		return FileTransfer{}, err
	}
	ft := FileTransfer{Path: path}
	err = s.download(ctx, r, id, &ft, start)
	if aerr := s.auditRemote(context.WithoutCancel(ctx), u, "device.file-download", id, ft.detail(), err); aerr != nil && err == nil {
		err = aerr
	}
	return ft, err
}

func (s *Service) download(ctx context.Context, r Remote, id int64, ft *FileTransfer, start func(protocol.FileInfo) (io.Writer, error)) error {
	st, err := r.OpenStream(ctx, id, protocol.StreamFileDownload, protocol.FileDownloadArgs{Path: ft.Path})
	if err != nil {
		return err
	}
	stop := closeWhenDone(ctx, st)
	defer stop()
	var info protocol.FileInfo
	if err := json.Unmarshal(st.Meta, &info); err != nil {
		st.CloseWithError(protocol.CodeMalformed, core.Text{EN: "The server could not read the file's details.", DE: "Der Server konnte die Angaben zur Datei nicht lesen."})
		return fmt.Errorf("download from device %d: file details %q: %w", id, st.Meta, err)
	}
	w, err := start(info)
	if err != nil {
		st.CloseWithError(protocol.CodeFailed, abortedByServer)
		return err
	}
	h := sha256.New()
	ft.Size, err = io.Copy(io.MultiWriter(w, h), st)
	ft.SHA256 = hex.EncodeToString(h.Sum(nil))
	switch {
	case err != nil:
		st.CloseWithError(protocol.CodeFailed, abortedByServer)
		return streamErr(ctx, err)
	case info.Size >= 0 && ft.Size != info.Size:
		return &protocol.ActionError{Code: protocol.CodeFailed, Message: core.Text{
			EN: fmt.Sprintf("%s changed while it was downloaded (%d bytes instead of %d).", ft.Path, ft.Size, info.Size),
			DE: fmt.Sprintf("%s hat sich während des Herunterladens geändert (%d statt %d Bytes).", ft.Path, ft.Size, info.Size),
		}}
	}
	return nil
}

// UploadRequest describes an upload: Size bytes to Path, replacing an
// existing file only with Overwrite. SHA256 (hex), if the client knows it,
// is signed with the opening and checked by the agent; without it the
// server hashes the content on the way and the agent checks that.
type UploadRequest struct {
	Path      string
	Size      int64
	SHA256    string
	Overwrite bool
}

// Upload streams body (exactly req.Size bytes) to a file of device id.
// Nothing is held in memory beyond the stream's window; the agent writes a
// temporary file beside the target and moves it into place only when size
// and SHA-256 match. A body that ends early or fails (the client went
// away) aborts the stream, and the agent deletes the temporary file.
// Audited as "device.file-upload" with size and SHA-256.
func (s *Service) Upload(ctx context.Context, u core.User, id int64, req UploadRequest, body io.Reader) (FileTransfer, error) {
	if err := validUpload(&req); err != nil {
		return FileTransfer{}, err
	}
	_, r, err := s.remoteTarget(ctx, u, id, protocol.LockFiles)
	if err != nil {
		return FileTransfer{}, err
	}
	ft := FileTransfer{Path: req.Path}
	err = s.upload(ctx, r, id, req, body, &ft)
	detail := ft.detail()
	if req.Overwrite {
		detail += " overwrite"
	}
	if aerr := s.auditRemote(context.WithoutCancel(ctx), u, "device.file-upload", id, detail, err); aerr != nil && err == nil {
		err = aerr
	}
	return ft, err
}

func (s *Service) upload(ctx context.Context, r Remote, id int64, req UploadRequest, body io.Reader, ft *FileTransfer) error {
	st, err := r.OpenStream(ctx, id, protocol.StreamFileUpload, protocol.FileUploadArgs{
		Path: req.Path, Size: req.Size, SHA256: req.SHA256, Overwrite: req.Overwrite,
	})
	if err != nil {
		return err
	}
	stop := closeWhenDone(ctx, st)
	defer stop()
	h := sha256.New()
	n, err := copyChunks(st, io.TeeReader(io.LimitReader(body, req.Size), h))
	ft.Size = n
	if err == nil && n < req.Size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		var ce *mux.CloseError
		if errors.As(err, &ce) || errors.Is(err, mux.ErrClosed) {
			return streamErr(ctx, err) // the agent refused or the connection ended
		}
		// The client's body failed or ended early: the agent drops the
		// temporary file.
		st.CloseWithError(protocol.CodeFailed, core.Text{
			EN: "The upload was aborted before the whole file arrived.", DE: "Das Hochladen wurde abgebrochen, bevor die ganze Datei ankam."})
		return &protocol.ActionError{Code: protocol.CodeBadArgs, Message: core.Text{
			EN: fmt.Sprintf("The upload ended after %d of %d bytes; nothing was written.", n, req.Size),
			DE: fmt.Sprintf("Das Hochladen endete nach %d von %d Bytes; nichts wurde geschrieben.", n, req.Size),
		}}
	}
	ft.SHA256 = hex.EncodeToString(h.Sum(nil))
	if req.SHA256 == "" {
		if _, err := st.Write(h.Sum(nil)); err != nil {
			return streamErr(ctx, err)
		}
	}
	// The agent answers with a FileUploaded and a normal end, or closes the
	// stream with its reason (hash_mismatch, exists, disk_full…).
	b, err := io.ReadAll(io.LimitReader(st, 64<<10))
	if err != nil {
		return streamErr(ctx, err)
	}
	var done protocol.FileUploaded
	if err := json.Unmarshal(b, &done); err != nil {
		return fmt.Errorf("upload to device %d: answer %q: %w", id, b, err)
	}
	ft.Path = done.Path
	return nil
}

// copyChunks copies src to the stream in full data frames: a request
// body read as it comes yields TLS records (16 KiB), twice the frames and
// round trips for the same bytes. A src that ends early is no error here
// (the caller compares the count with the size); the stream's errors are
// the mux's own, which the caller tells apart from the body's.
func copyChunks(st *gateway.Stream, src io.Reader) (int64, error) {
	buf := make([]byte, protocol.MaxStreamChunk)
	var n int64
	for {
		k, err := io.ReadFull(src, buf)
		if k > 0 {
			if _, werr := st.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
		}
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return n, nil // the caller compares n with the size
		default:
			return n, err
		}
	}
}

// validUpload checks an upload's size and optional SHA-256.
func validUpload(req *UploadRequest) error {
	var fields []policy.FieldError
	if strings.TrimSpace(req.Path) == "" {
		fields = append(fields, policy.FieldError{Field: "path", Message: core.Text{EN: "give the file's full path", DE: "den vollständigen Pfad der Datei angeben"}})
	}
	if req.Size < 0 {
		fields = append(fields, policy.FieldError{Field: "size", Message: core.Text{
			EN: "the size of the upload must be known in advance (Content-Length)", DE: "die Größe des Uploads muss vorab bekannt sein (Content-Length)"}})
	}
	req.SHA256 = strings.ToLower(req.SHA256)
	if b, err := hex.DecodeString(req.SHA256); req.SHA256 != "" && (err != nil || len(b) != sha256.Size) {
		fields = append(fields, policy.FieldError{Field: "sha256", Message: core.Text{
			EN: "the SHA-256 must be 64 hexadecimal digits", DE: "das SHA-256 muss aus 64 Hexadezimalziffern bestehen"}})
	}
	if fields != nil {
		return &policy.ValidationError{Fields: fields}
	}
	return nil
}

// needPath refuses an empty path before it reaches the agent.
func needPath(field, p string) error {
	if strings.TrimSpace(p) == "" {
		return &policy.ValidationError{Fields: []policy.FieldError{{Field: field, Message: core.Text{
			EN: "give a full path", DE: "einen vollständigen Pfad angeben"}}}}
	}
	return nil
}

var abortedByServer = core.Text{EN: "The transfer was aborted on the server.", DE: "Die Übertragung wurde auf dem Server abgebrochen."}

// closeWhenDone ends st when ctx ends (the client went away), so that a
// Read or Write blocked on the agent returns; stop ends the watch.
func closeWhenDone(ctx context.Context, st *gateway.Stream) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			st.CloseWithError(protocol.CodeFailed, abortedByServer)
		case <-done:
		case <-st.Done():
		}
	}()
	return func() { close(done) }
}

// streamErr turns a stream's end into the error to answer: the agent's
// reason as an *protocol.ActionError, the caller's own cancellation as is.
func streamErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("transfer aborted: %w", ctx.Err())
	}
	var ce *mux.CloseError
	if errors.As(err, &ce) {
		return &protocol.ActionError{Code: ce.Code, Message: ce.Message}
	}
	return err
}

// detail is a transfer's audit detail: path, bytes and SHA-256.
func (ft FileTransfer) detail() string {
	d := fmt.Sprintf("%s (%d bytes", ft.Path, ft.Size)
	if ft.SHA256 != "" {
		d += ", sha256 " + ft.SHA256
	}
	return d + ")"
}
