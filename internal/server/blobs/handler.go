package blobs

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Path is the agents' download route; the blob's SHA-256 follows.
const Path = "/api/agent/blobs/"

// Stall is how long a download may make no progress before the server
// gives up on it; the server's write timeout would otherwise end every
// download longer than two minutes.
const Stall = 2 * time.Minute

// Lookup is what the handler asks the database.
type Lookup interface {
	GetDevice(ctx context.Context, id int64) (core.Device, error)
	// PackageBlobInUse: only files a package names are served (and,
	// when the Lookup is also an AgentFiles, an agent release file).
	PackageBlobInUse(ctx context.Context, sha256 string) (bool, error)
}

// AgentFiles is the optional part of a Lookup that also serves the
// uploaded agent builds and installers (core.ReleaseStore), which agents
// download for a self-update. The store implements it; a Lookup without
// it serves package files only.
type AgentFiles interface {
	AgentFileBlobInUse(ctx context.Context, sha256 string) (bool, error)
}

// InUseBy returns the InUse of the blob handler, the removal and the
// sweep: whether the database names blob sum as a package's file or, if
// db is an AgentFiles, as an agent release file.
func InUseBy(db Lookup) InUse {
	return func(ctx context.Context, sum string) (bool, error) {
		named, err := db.PackageBlobInUse(ctx, sum)
		if err != nil || named {
			return named, err
		}
		if af, ok := db.(AgentFiles); ok {
			return af.AgentFileBlobInUse(ctx, sum)
		}
		return false, nil
	}
}

// Handler serves GET /api/agent/blobs/{sha256} with Range requests to the
// device named by a valid ticket (TicketHeader) while it is active.
func Handler(s *Store, t Tickets, db Lookup, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	// Spelled out for the server's route scan (auth.TicketRoutes).
	mux.HandleFunc("GET /api/agent/blobs/{sha256}", func(w http.ResponseWriter, r *http.Request) {
		serve(w, r, s, t, db, log)
	})
	return mux
}

func serve(w http.ResponseWriter, r *http.Request, s *Store, t Tickets, db Lookup, log *slog.Logger) {
	sum := r.PathValue("sha256")
	device, err := t.Check(r.Header.Get(TicketHeader), sum, time.Now())
	if err != nil {
		writeError(w, http.StatusUnauthorized, "a valid download ticket is required", "ticket")
		return
	}
	d, err := db.GetDevice(r.Context(), device)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		log.Error("blob download: reading the device", "device", device, "err", err)
		writeError(w, http.StatusInternalServerError, "internal server error", "internal")
		return
	}
	if err != nil || d.State != core.DeviceActive {
		writeError(w, http.StatusForbidden, "the device is not active", "device")
		return
	}
	known, err := InUseBy(db)(r.Context(), sum)
	if err != nil {
		log.Error("blob download: looking up the file", "sha256", sum, "err", err)
		writeError(w, http.StatusInternalServerError, "internal server error", "internal")
		return
	}
	if !known {
		writeError(w, http.StatusNotFound, "no package or agent release has this file", "not_found")
		return
	}
	f, err := s.Open(sum)
	if errors.Is(err, fs.ErrNotExist) {
		// The database names it but this node lacks it: blob storage is
		// not shared or not yet replicated (docs/cluster.md).
		log.Error("blob missing on this node: share or replicate <data>/blobs between the nodes", "sha256", sum, "device", device)
		writeError(w, http.StatusNotFound, "this server node does not have the file; try again later", "blob_missing")
		return
	}
	if err != nil {
		log.Error("blob download: opening the file", "sha256", sum, "err", err)
		writeError(w, http.StatusInternalServerError, "internal server error", "internal")
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		log.Error("blob download: reading the file", "sha256", sum, "err", err)
		writeError(w, http.StatusInternalServerError, "internal server error", "internal")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+sum+`"`) // content-addressed: If-Range by ETag is exact
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(&progressWriter{ResponseWriter: w, rc: http.NewResponseController(w)}, r, "", info.ModTime(), f)
}

// progressWriter moves the write deadline with every write.
type progressWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (p *progressWriter) Write(b []byte) (int, error) {
	_ = p.rc.SetWriteDeadline(time.Now().Add(Stall)) // unsupported: the server's timeout stays
	return p.ResponseWriter.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(protocol.ErrorResponse{Error: msg, Code: code})
}
