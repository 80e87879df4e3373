package agent

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// upload sends data as a file-upload declared with size and sum and
// returns what the agent answered.
func upload(t *testing.T, l *live, args protocol.FileUploadArgs, data []byte) (protocol.FileUploaded, error) {
	t.Helper()
	s, err := l.hub.OpenStream(ctxT(t), l.deviceID, protocol.StreamFileUpload, args)
	if err != nil {
		return protocol.FileUploaded{}, err
	}
	defer s.Close()
	if _, err := s.Write(data); err != nil {
		return protocol.FileUploaded{}, err
	}
	b, err := io.ReadAll(s)
	if err != nil {
		return protocol.FileUploaded{}, err
	}
	var res protocol.FileUploaded
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("upload answer %q: %v", b, err)
	}
	return res, nil
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// noTemp fails if an upload's temporary file is left in dir.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if strings.HasPrefix(de.Name(), uploadPrefix) {
			t.Errorf("temporary file %s left", de.Name())
		}
	}
}

func wantClose(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ce *mux.CloseError
	if !errors.As(err, &ce) || ce.Code != code || ce.Message.EN == "" || ce.Message.DE == "" {
		t.Errorf("%s: %v, want the stream closed with %s in English and German", what, err, code)
	}
}

func TestFileUpload(t *testing.T) {
	l := startLive(t, liveOpts{})
	dir := filepath.Join(t.TempDir(), "Übertragung mit Leerzeichen")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 5<<20+777)
	rand.Read(data)
	target := filepath.Join(dir, "Größe & Maß.bin")

	res, err := upload(t, l, protocol.FileUploadArgs{Path: target, Size: int64(len(data)), SHA256: sum(data)}, data)
	if err != nil || res.Size != int64(len(data)) || res.Path != target {
		t.Fatalf("upload: %+v, %v", res, err)
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, data) {
		t.Error("uploaded content differs")
	}
	noTemp(t, dir)
	if des, _ := os.ReadDir(filepath.Join(l.dir, uploadsDir)); len(des) != 0 {
		t.Errorf("upload journal left: %v", des)
	}

	// An existing file is replaced only when asked.
	small := []byte("neu: Grüße\n")
	_, err = upload(t, l, protocol.FileUploadArgs{Path: target, Size: int64(len(small)), SHA256: sum(small)}, small)
	wantCode(t, "existing target", err, protocol.CodeExists)
	if _, err := upload(t, l, protocol.FileUploadArgs{Path: target, Size: int64(len(small)), SHA256: sum(small), Overwrite: true}, small); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, small) {
		t.Errorf("overwritten content %q", got)
	}

	// A wrong hash: refused, nothing written, no temporary file.
	wrong := filepath.Join(dir, "falsch.bin")
	_, err = upload(t, l, protocol.FileUploadArgs{Path: wrong, Size: int64(len(data)), SHA256: sum(small)}, data)
	wantClose(t, "wrong hash", err, protocol.CodeHashMismatch)
	if _, err := os.Stat(wrong); err == nil {
		t.Error("a file with the wrong hash was put in place")
	}
	noTemp(t, dir)

	// The connection drops mid-transfer: no target, no temporary file.
	dropped := filepath.Join(dir, "abgebrochen.bin")
	s, err := l.hub.OpenStream(ctxT(t), l.deviceID, protocol.StreamFileUpload,
		protocol.FileUploadArgs{Path: dropped, Size: int64(len(data)), SHA256: sum(data)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	l.hub.Disconnect(l.deviceID, "test")
	waitLive(t, "upload handler ended", func() bool { return l.streams.Load() == 0 })
	if _, err := os.Stat(dropped); err == nil {
		t.Error("a half-transferred file was put in place")
	}
	noTemp(t, dir)

	// The old session may still be registered a moment after the
	// disconnect; an action that succeeds went over the new one.
	rctx := ctxT(t)
	waitLive(t, "agent reconnected", func() bool { return l.hub.Do(rctx, l.deviceID, actionEcho, nil, nil) == nil })
	_, err = l.hub.OpenStream(ctxT(t), l.deviceID, protocol.StreamFileUpload,
		protocol.FileUploadArgs{Path: filepath.Join(dir, "fehlt", "x"), Size: 1, SHA256: sum([]byte("x"))})
	wantCode(t, "missing folder", err, protocol.CodeNotFound)
	_, err = l.hub.OpenStream(ctxT(t), l.deviceID, protocol.StreamFileUpload, protocol.FileUploadArgs{Path: target, Size: 1, SHA256: "abc"})
	wantCode(t, "bad hash argument", err, protocol.CodeBadArgs)
}

func TestFileActions(t *testing.T) {
	l := startLive(t, liveOpts{})
	ctx := ctxT(t)
	base := t.TempDir()
	folder := filepath.Join(base, "Neuer Ordner Ä")
	if err := l.hub.Do(ctx, l.deviceID, protocol.ActionFilesMkdir, protocol.FilesPathArgs{Path: folder}, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "mkdir twice", l.hub.Do(ctx, l.deviceID, protocol.ActionFilesMkdir, protocol.FilesPathArgs{Path: folder}, nil), protocol.CodeExists)
	file := filepath.Join(folder, "Grüße an Jörg.txt")
	if err := os.WriteFile(file, []byte("Hallo"), 0o640); err != nil {
		t.Fatal(err)
	}
	// Symlinks and permission bits: Unix only (Windows needs a privilege
	// for symlinks, and its modes are rw or r).
	unix := runtime.GOOS != "windows"
	wantEntries, wantMode := 1, "-rw-rw-rw-"
	if unix {
		if err := os.Symlink(file, filepath.Join(base, "Verknüpfung")); err != nil {
			t.Fatal(err)
		}
		wantEntries, wantMode = 2, "-rw-r-----"
	}

	var list protocol.FilesList
	if err := l.hub.Do(ctx, l.deviceID, protocol.ActionFilesList, protocol.FilesListArgs{Path: base + "/./"}, &list); err != nil {
		t.Fatal(err)
	}
	if list.Path != base || len(list.Entries) != wantEntries || list.Entries[0].Name != "Neuer Ordner Ä" || list.Entries[0].Type != "dir" ||
		unix && (list.Entries[1].Type != "symlink" || list.Entries[1].Target != file) || list.Entries[0].Modified.IsZero() {
		t.Errorf("list %+v", list)
	}
	if err := l.hub.Do(ctx, l.deviceID, protocol.ActionFilesList, protocol.FilesListArgs{Path: folder}, &list); err != nil {
		t.Fatal(err)
	}
	if e := list.Entries; len(e) != 1 || e[0].Name != "Grüße an Jörg.txt" || e[0].Type != "file" || e[0].Size != 5 || e[0].Mode != wantMode {
		t.Errorf("list %+v", list)
	}

	renamed := filepath.Join(folder, "Umbenannt mit Ü.txt")
	if err := l.hub.Do(ctx, l.deviceID, protocol.ActionFilesMove, protocol.FilesRenameArgs{From: file, To: renamed}, nil); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(renamed); err != nil || string(b) != "Hallo" {
		t.Errorf("renamed file: %q %v", b, err)
	}
	os.WriteFile(file, []byte("zweite"), 0o600)
	wantCode(t, "rename onto an existing file", l.hub.Do(ctx, l.deviceID, protocol.ActionFilesMove, protocol.FilesRenameArgs{From: file, To: renamed}, nil), protocol.CodeExists)
	if b, _ := os.ReadFile(renamed); string(b) != "Hallo" {
		t.Error("rename replaced an existing file")
	}

	wantCode(t, "folder without recursive", l.hub.Do(ctx, l.deviceID, protocol.ActionFilesDel, protocol.FilesPathArgs{Path: folder}, nil), protocol.CodeBadArgs)
	if unix {
		if err := l.hub.Do(ctx, l.deviceID, protocol.ActionFilesDel, protocol.FilesPathArgs{Path: filepath.Join(base, "Verknüpfung")}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(renamed); err != nil {
			t.Error("deleting a symlink touched its target")
		}
	}
	if err := l.hub.Do(ctx, l.deviceID, protocol.ActionFilesDel, protocol.FilesPathArgs{Path: folder, Recursive: true}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(folder); err == nil {
		t.Error("folder not deleted")
	}

	missing := filepath.Join(base, "gibt es nicht")
	wantCode(t, "list missing", l.hub.Do(ctx, l.deviceID, protocol.ActionFilesList, protocol.FilesListArgs{Path: missing}, nil), protocol.CodeNotFound)
	wantCode(t, "delete missing", l.hub.Do(ctx, l.deviceID, protocol.ActionFilesDel, protocol.FilesPathArgs{Path: missing}, nil), protocol.CodeNotFound)
	if runtime.GOOS != "windows" {
		wantCode(t, "no path (drives on Windows only)", l.hub.Do(ctx, l.deviceID, protocol.ActionFilesList, protocol.FilesListArgs{}, nil), protocol.CodeBadArgs)
	}
	wantCode(t, "relative path", l.hub.Do(ctx, l.deviceID, protocol.ActionFilesList, protocol.FilesListArgs{Path: "etc"}, nil), protocol.CodeBadArgs)
	root := filepath.VolumeName(base) + string(filepath.Separator)
	wantCode(t, "delete the root", l.hub.Do(ctx, l.deviceID, protocol.ActionFilesDel, protocol.FilesPathArgs{Path: root, Recursive: true}, nil), protocol.CodeBadArgs)
	if os.Getuid() != 0 {
		locked := filepath.Join(base, "gesperrt")
		os.Mkdir(locked, 0)
		wantCode(t, "no access", l.hub.Do(ctx, l.deviceID, protocol.ActionFilesList, protocol.FilesListArgs{Path: locked}, nil), protocol.CodePermissionDenied)
	}
}

// TestCleanUploads: the temporary files an agent killed mid-transfer left
// are removed at its next start, and nothing the journal names without the
// upload prefix.
func TestCleanUploads(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	left := filepath.Join(dir, uploadPrefix+"abc")
	other := filepath.Join(dir, "Wichtig.txt")
	for _, p := range []string{left, other} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := journalUpload(data, p); err != nil {
			t.Fatal(err)
		}
	}
	cleanUploads(data, slog.New(slog.DiscardHandler))
	if _, err := os.Stat(left); err == nil {
		t.Error("the interrupted upload's temporary file is left")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("a file without the upload prefix was removed")
	}
	if des, _ := os.ReadDir(filepath.Join(data, uploadsDir)); len(des) != 0 {
		t.Errorf("journal left: %v", des)
	}
}

// TestFileUploadTrailer: without a SHA-256 in the signed arguments the
// server sends the one it computed after the content, and the agent puts
// the file in place only if it matches.
func TestFileUploadTrailer(t *testing.T) {
	l := startLive(t, liveOpts{})
	dir := t.TempDir()
	data := make([]byte, 1<<20+3)
	rand.Read(data)
	h := sha256.Sum256(data)
	target := filepath.Join(dir, "ohne Prüfsumme.bin")
	res, err := upload(t, l, protocol.FileUploadArgs{Path: target, Size: int64(len(data))}, append(slices.Clip(data), h[:]...))
	if err != nil || res.Size != int64(len(data)) {
		t.Fatalf("upload with trailer: %+v %v", res, err)
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, data) {
		t.Error("uploaded content differs")
	}

	// A trailer that does not match: refused, nothing written.
	wrong := filepath.Join(dir, "falsch.bin")
	bad := append(slices.Clip(data), make([]byte, protocol.UploadTrailer)...)
	_, err = upload(t, l, protocol.FileUploadArgs{Path: wrong, Size: int64(len(data))}, bad)
	wantClose(t, "wrong trailer", err, protocol.CodeHashMismatch)
	if _, err := os.Stat(wrong); err == nil {
		t.Error("a file with the wrong trailer was put in place")
	}

	// The server ends the stream after the content without a trailer.
	s, err := l.hub.OpenStream(ctxT(t), l.deviceID, protocol.StreamFileUpload, protocol.FileUploadArgs{Path: wrong, Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(data); err != nil {
		t.Fatal(err)
	}
	s.Close()
	waitLive(t, "upload handler ended", func() bool { return l.streams.Load() == 0 })
	if _, err := os.Stat(wrong); err == nil {
		t.Error("a file without its trailer was put in place")
	}
	noTemp(t, dir)
	if des, _ := os.ReadDir(filepath.Join(l.dir, uploadsDir)); len(des) != 0 {
		t.Errorf("upload journal left: %v", des)
	}
}
