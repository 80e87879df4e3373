package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/wacht-rmm/wacht/internal/fspath"
	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The file actions (local lock "files"): list, new folder, rename, delete
// and the upload stream. Paths are absolute, cleaned by fspath, and used
// in their long form on Windows.

func init() {
	RegisterAction(protocol.ActionFilesList, Action{Lock: protocol.LockFiles, Do: filesList})
	RegisterAction(protocol.ActionFilesMkdir, Action{Lock: protocol.LockFiles, Code: true, Do: filesMkdir})
	RegisterAction(protocol.ActionFilesMove, Action{Lock: protocol.LockFiles, Code: true, Do: filesRename})
	RegisterAction(protocol.ActionFilesDel, Action{Lock: protocol.LockFiles, Code: true, Do: filesDelete})
	RegisterAction(protocol.StreamFileUpload, Action{Lock: protocol.LockFiles, Code: true, Open: openUpload})
}

// localPath cleans a path from the server: the cleaned path (for messages
// and results) and the form for the OS's calls.
func localPath(p string) (clean, osPath string, err error) {
	clean, err = fspath.Clean(runtime.GOOS, p)
	if err != nil {
		return "", "", Errorf(protocol.CodeBadArgs, "%q is not an absolute path.", "%q ist kein absoluter Pfad.", p)
	}
	return clean, fspath.Long(runtime.GOOS, clean), nil
}

// fileErr turns a failed file operation on path into a reply with a code
// and a clear English and German message.
func fileErr(path string, err error) error {
	var ae *protocol.ActionError
	switch {
	case errors.As(err, &ae):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return Errorf(protocol.CodeNotFound, "%s does not exist.", "%s existiert nicht.", path)
	case errors.Is(err, fs.ErrExist):
		return Errorf(protocol.CodeExists, "%s exists already.", "%s existiert bereits.", path)
	case errors.Is(err, fs.ErrPermission):
		return Errorf(protocol.CodePermissionDenied, "Access to %s was denied.", "Zugriff auf %s wurde verweigert.", path)
	case isLocked(err):
		return Errorf(protocol.CodeLocked, "%s is in use by another process.", "%s wird von einem anderen Prozess verwendet.", path)
	case isDiskFull(err):
		return Errorf(protocol.CodeDiskFull, "The disk of %s is full.", "Der Datenträger von %s ist voll.", path)
	case errors.Is(err, syscall.ENOTDIR):
		return Errorf(protocol.CodeNotFound, "A part of %s is not a folder.", "Ein Teil von %s ist kein Ordner.", path)
	}
	return Errorf(protocol.CodeFailed, "%s: %v", "%s: %v", path, err)
}

func decodeArgs(name string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return Errorf(protocol.CodeBadArgs, "%s: bad arguments: %v", "%s: fehlerhafte Argumente: %v", name, err)
	}
	return nil
}

func filesList(_ context.Context, _ *Agent, raw json.RawMessage) (any, error) {
	var args protocol.FilesListArgs
	if err := decodeArgs(protocol.ActionFilesList, raw, &args); err != nil {
		return nil, err
	}
	if args.Path == "" {
		return listDrives()
	}
	clean, p, err := localPath(args.Path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fileErr(clean, err)
	}
	defer f.Close()
	list := protocol.FilesList{Path: clean, Entries: []protocol.FileEntry{}}
	for {
		des, err := f.ReadDir(1024)
		for _, de := range des {
			if len(list.Entries) == protocol.MaxFileEntries {
				list.Truncated = true
				break
			}
			list.Entries = append(list.Entries, fileEntry(fspath.Join(runtime.GOOS, p, de.Name()), de))
		}
		if err == io.EOF || list.Truncated {
			break
		}
		if err != nil {
			return nil, fileErr(clean, err)
		}
	}
	// ReadDir in chunks does not sort; names compare as the OS stores them.
	slices.SortFunc(list.Entries, func(a, b protocol.FileEntry) int { return strings.Compare(a.Name, b.Name) })
	return list, nil
}

// fileEntry describes a folder's entry without following a symlink; an
// entry that vanished meanwhile keeps its name and type only.
func fileEntry(path string, de fs.DirEntry) protocol.FileEntry {
	e := protocol.FileEntry{Name: de.Name(), Type: "other"}
	switch t := de.Type(); {
	case t.IsDir():
		e.Type = "dir"
	case t.IsRegular():
		e.Type = "file"
	case t&fs.ModeSymlink != 0:
		e.Type = "symlink"
		e.Target, _ = os.Readlink(path)
	}
	if info, err := de.Info(); err == nil {
		e.Size, e.Mode, e.Modified = info.Size(), info.Mode().String(), info.ModTime().UTC()
	}
	return e
}

func filesMkdir(_ context.Context, _ *Agent, raw json.RawMessage) (any, error) {
	var args protocol.FilesPathArgs
	if err := decodeArgs(protocol.ActionFilesMkdir, raw, &args); err != nil {
		return nil, err
	}
	clean, p, err := localPath(args.Path)
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		return nil, fileErr(clean, err)
	}
	return nil, nil
}

func filesRename(_ context.Context, _ *Agent, raw json.RawMessage) (any, error) {
	var args protocol.FilesRenameArgs
	if err := decodeArgs(protocol.ActionFilesMove, raw, &args); err != nil {
		return nil, err
	}
	from, fromOS, err := localPath(args.From)
	if err != nil {
		return nil, err
	}
	to, toOS, err := localPath(args.To)
	if err != nil {
		return nil, err
	}
	if fspath.IsRoot(runtime.GOOS, from) {
		return nil, Errorf(protocol.CodeBadArgs, "%s is a root folder and cannot be renamed.", "%s ist ein Stammordner und kann nicht umbenannt werden.", from)
	}
	if _, err := os.Lstat(fromOS); err != nil {
		return nil, fileErr(from, err)
	}
	if err := renameNoReplace(fromOS, toOS); err != nil {
		return nil, fileErr(to, err)
	}
	return nil, nil
}

// renameIfAbsent renames unless to exists, for file systems without an
// atomic no-replace rename (a small race remains there).
func renameIfAbsent(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return &fs.PathError{Op: "rename", Path: to, Err: fs.ErrExist}
	}
	return os.Rename(from, to)
}

func filesDelete(_ context.Context, _ *Agent, raw json.RawMessage) (any, error) {
	var args protocol.FilesPathArgs
	if err := decodeArgs(protocol.ActionFilesDel, raw, &args); err != nil {
		return nil, err
	}
	clean, p, err := localPath(args.Path)
	if err != nil {
		return nil, err
	}
	if fspath.IsRoot(runtime.GOOS, clean) {
		return nil, Errorf(protocol.CodeBadArgs, "%s is a root folder and is never deleted.", "%s ist ein Stammordner und wird nie gelöscht.", clean)
	}
	st, err := os.Lstat(p)
	if err != nil {
		return nil, fileErr(clean, err)
	}
	switch {
	case !st.IsDir():
		err = os.Remove(p)
	case !args.Recursive:
		return nil, Errorf(protocol.CodeBadArgs, "%s is a folder: delete it recursively.", "%s ist ein Ordner: rekursiv löschen.", clean)
	default:
		err = os.RemoveAll(p) // does not follow symlinks
	}
	if err != nil {
		return nil, fileErr(clean, err)
	}
	return nil, nil
}

// uploadPrefix starts the name of an upload's temporary file, beside its
// target so that the final rename stays on one file system.
const uploadPrefix = ".wacht-upload-"

func openUpload(_ context.Context, a *Agent, raw json.RawMessage) (StreamFunc, any, error) {
	var args protocol.FileUploadArgs
	if err := decodeArgs(protocol.StreamFileUpload, raw, &args); err != nil {
		return nil, nil, err
	}
	// No SHA-256: the server sends the one it computed after the content.
	trailer := args.SHA256 == ""
	want, err := hex.DecodeString(args.SHA256)
	if err != nil || !trailer && len(want) != sha256.Size || args.Size < 0 {
		return nil, nil, Errorf(protocol.CodeBadArgs, "file-upload needs a size and a SHA-256 in hex.", "file-upload braucht eine Größe und ein SHA-256 in Hex.")
	}
	clean, p, err := localPath(args.Path)
	if err != nil {
		return nil, nil, err
	}
	if fspath.IsRoot(runtime.GOOS, clean) {
		return nil, nil, Errorf(protocol.CodeBadArgs, "%s is a folder, not a file.", "%s ist ein Ordner, keine Datei.", clean)
	}
	mode := fs.FileMode(0o644)
	switch st, err := os.Stat(p); {
	case err == nil && st.IsDir():
		return nil, nil, Errorf(protocol.CodeBadArgs, "%s is a folder, not a file.", "%s ist ein Ordner, keine Datei.", clean)
	case err == nil && !args.Overwrite:
		return nil, nil, fileErr(clean, fs.ErrExist)
	case err == nil:
		mode = st.Mode().Perm() // a replaced file keeps its permissions
	case !errors.Is(err, fs.ErrNotExist):
		return nil, nil, fileErr(clean, err)
	}
	// The temporary file is journaled before it exists, so that an agent
	// killed mid-transfer removes it when it starts again.
	var rnd [12]byte
	rand.Read(rnd[:])
	tmpPath := p[:strings.LastIndexAny(p, `/\`)+1] + uploadPrefix + hex.EncodeToString(rnd[:])
	unjournal, err := journalUpload(a.opts.DataDir, tmpPath)
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.OpenFile(tmpPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		unjournal()
		return nil, nil, fileErr(clean, err)
	}
	run := func(ctx context.Context, s *mux.Stream) (err error) {
		defer func() {
			if err != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
			unjournal()
		}()
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(s, args.Size))
		if err == nil && n == args.Size && trailer {
			want = make([]byte, protocol.UploadTrailer)
			if _, err = io.ReadFull(s, want); err == io.EOF || err == io.ErrUnexpectedEOF {
				return Errorf(protocol.CodeHashMismatch, "%s: the content's SHA-256 did not follow it; nothing was written.",
					"%s: das SHA-256 des Inhalts folgte ihm nicht; nichts wurde geschrieben.", clean)
			}
		}
		switch {
		case err != nil && (errors.Is(err, mux.ErrClosed) || isCloseErr(err)):
			return err // the server or the connection ended the upload
		case err != nil:
			return fileErr(clean, err)
		case n != args.Size:
			return Errorf(protocol.CodeHashMismatch, "%s: received %d of %d bytes.", "%s: %d von %d Bytes empfangen.", clean, n, args.Size)
		case !bytes.Equal(h.Sum(nil), want):
			return Errorf(protocol.CodeHashMismatch, "%s: the content's SHA-256 is not the expected one; nothing was written.",
				"%s: das SHA-256 des Inhalts ist nicht das erwartete; nichts wurde geschrieben.", clean)
		}
		if err := tmp.Chmod(mode); err != nil && runtime.GOOS != "windows" {
			return fileErr(clean, err)
		}
		if err := tmp.Sync(); err != nil {
			return fileErr(clean, err)
		}
		if err := tmp.Close(); err != nil {
			return fileErr(clean, err)
		}
		if args.Overwrite {
			err = os.Rename(tmp.Name(), p)
		} else {
			err = renameNoReplace(tmp.Name(), p)
		}
		if err != nil {
			return fileErr(clean, err)
		}
		b, _ := json.Marshal(protocol.FileUploaded{Path: clean, Size: n})
		s.Write(b) // the file is in place whether or not this arrives
		return nil
	}
	return run, nil, nil
}

func isCloseErr(err error) bool {
	var ce *mux.CloseError
	return errors.As(err, &ce)
}

// uploadsDir, in the agent's data folder, journals the temporary files of
// running uploads: one file each holding its path.
const uploadsDir = "uploads"

// journalUpload records tmp; the returned function forgets it.
func journalUpload(dataDir, tmp string) (func(), error) {
	dir := filepath.Join(dataDir, uploadsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journaling an upload: %w", err)
	}
	f, err := os.CreateTemp(dir, "*.path")
	if err == nil {
		_, err = f.WriteString(tmp)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		if f != nil {
			os.Remove(f.Name())
		}
		return nil, fmt.Errorf("journaling an upload: %w", err)
	}
	return func() { os.Remove(f.Name()) }, nil
}

// cleanUploads removes the temporary files of uploads an earlier run of
// the agent left (it was killed mid-transfer), and their journal.
func cleanUploads(dataDir string, log *slog.Logger) {
	dir := filepath.Join(dataDir, uploadsDir)
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		j := filepath.Join(dir, de.Name())
		b, err := os.ReadFile(j)
		if err == nil && strings.HasPrefix(filepath.Base(string(b)), uploadPrefix) {
			if err := os.Remove(string(b)); err == nil {
				log.Info("removed the temporary file of an interrupted upload", "path", string(b))
			}
		}
		os.Remove(j)
	}
}
