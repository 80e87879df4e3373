package agent

import (
	"context"
	"encoding/json"
	"io"
	"os"

	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The download stream's name and types are protocol's, which the server
// shares; these aliases keep the agent's older names.
const StreamFileDownload = protocol.StreamFileDownload

type (
	// FileDownloadArgs is protocol.FileDownloadArgs.
	FileDownloadArgs = protocol.FileDownloadArgs
	// FileInfo is protocol.FileInfo.
	FileInfo = protocol.FileInfo
)

func init() {
	RegisterAction(protocol.StreamFileDownload, Action{Lock: protocol.LockFiles, Open: openDownload})
}

func openDownload(_ context.Context, _ *Agent, args json.RawMessage) (StreamFunc, any, error) {
	var a protocol.FileDownloadArgs
	if err := json.Unmarshal(args, &a); err != nil || a.Path == "" {
		return nil, nil, Errorf(protocol.CodeBadArgs, "file-download needs a path.", "file-download braucht einen Pfad.")
	}
	clean, p, err := localPath(a.Path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, fileErr(clean, err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		f.Close()
		return nil, nil, Errorf(protocol.CodeBadArgs, "%s is a folder, not a file.", "%s ist ein Ordner, keine Datei.", clean)
	}
	if err != nil {
		f.Close()
		return nil, nil, fileErr(clean, err)
	}
	info := protocol.FileInfo{Name: st.Name(), Size: st.Size(), ModTime: st.ModTime().UTC()}
	if !st.Mode().IsRegular() {
		info.Size = -1
	}
	run := func(ctx context.Context, s *mux.Stream) error {
		defer f.Close()
		buf := make([]byte, protocol.MaxStreamChunk)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := f.Read(buf)
			if n > 0 {
				if _, werr := s.Write(buf[:n]); werr != nil {
					return werr
				}
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fileErr(clean, err)
			}
		}
	}
	return run, info, nil
}
