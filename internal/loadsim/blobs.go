package loadsim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/wacht-rmm/wacht/internal/agent"
)

// Package file downloads as the real agent makes them
// (internal/agent/download.go): GET of the blob route with the device's
// ticket, then size and SHA-256 checked. The simulated agent hashes what
// arrives and discards it instead of writing it to disk and reading it
// back, so that many agents' downloads need no disk.

// BlobPath and TicketHeader are the server's blobs.Path and
// blobs.TicketHeader: the simulator links no server code.
const (
	BlobPath     = "/api/agent/blobs/"
	TicketHeader = "X-Wacht-Ticket"
)

// ErrBlobMismatch is a download of another size or SHA-256 than expected.
var ErrBlobMismatch = errors.New("loadsim: the download has another size or SHA-256")

// Devices returns every simulated agent's device ID in agent order, 0 for
// one not enrolled yet.
func (s *Sim) Devices() []int64 {
	ids := make([]int64, len(s.agents))
	for i, a := range s.agents {
		ids[i] = a.device.Load()
	}
	return ids
}

// FetchBlob downloads blob sum (hex SHA-256) of size bytes with ticket
// over a TLS connection of its own, pinned like the agents' sessions, as
// another agent would. It returns the bytes received; an answer other than
// 200 is an error with the server's reason, another size or SHA-256 wraps
// ErrBlobMismatch.
func (s *Sim) FetchBlob(ctx context.Context, sum string, size int64, ticket string) (int64, error) {
	c := agent.NewHTTPClient(s.fp)
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.server+BlobPath+sum, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set(TicketHeader, ticket)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	h := sha256.New()
	// One byte beyond the expected size tells a longer file.
	n, err := io.Copy(h, io.LimitReader(resp.Body, size+1))
	if err != nil {
		return n, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != size || got != strings.ToLower(sum) {
		return n, fmt.Errorf("%w: %d bytes, sha256 %s", ErrBlobMismatch, n, got)
	}
	return n, nil
}
