package blobs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// lookup is a database with fixed devices and package files.
type lookup struct {
	devices map[int64]string // id → state
	files   map[string]bool
}

func (l lookup) GetDevice(_ context.Context, id int64) (core.Device, error) {
	st, ok := l.devices[id]
	if !ok {
		return core.Device{}, core.ErrNotFound
	}
	return core.Device{ID: id, State: st}, nil
}

func (l lookup) PackageBlobInUse(_ context.Context, sum string) (bool, error) {
	return l.files[sum], nil
}

func TestHandler(t *testing.T) {
	s, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(t, 200<<10)
	sum, _, err := s.Put(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	absent := strings.Repeat("c", 64) // named by a package, but not on this node
	tk := NewTickets(randomBytes(t, 32))
	db := lookup{devices: map[int64]string{1: core.DeviceActive, 2: core.DeviceRevoked}, files: map[string]bool{sum: true, absent: true}}
	var logs bytes.Buffer
	srv := httptest.NewServer(Handler(s, tk, db, slog.New(slog.NewTextHandler(&logs, nil))))
	defer srv.Close()
	get := func(sum, ticket, rng string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+Path+sum, nil)
		if ticket != "" {
			req.Header.Set(TicketHeader, ticket)
		}
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	later := time.Now().Add(time.Hour)
	resp, body := get(sum, tk.Issue(1, sum, later), "")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) || resp.Header.Get("ETag") != `"`+sum+`"` {
		t.Fatalf("full download: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = get(sum, tk.Issue(1, sum, later), "bytes=1000-")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[1000:]) ||
		resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 1000-%d/%d", len(data)-1, len(data)) {
		t.Fatalf("range: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Range"), len(body))
	}
	for name, c := range map[string]struct {
		sum, ticket string
		status      int
		code        string
	}{
		"no ticket":             {sum, "", http.StatusUnauthorized, `"ticket"`},
		"another blob's ticket": {sum, tk.Issue(1, absent, later), http.StatusUnauthorized, `"ticket"`},
		"expired":               {sum, tk.Issue(1, sum, time.Now().Add(-time.Second)), http.StatusUnauthorized, `"ticket"`},
		"revoked device":        {sum, tk.Issue(2, sum, later), http.StatusForbidden, `"device"`},
		"unknown device":        {sum, tk.Issue(3, sum, later), http.StatusForbidden, `"device"`},
		"no package names it":   {strings.Repeat("d", 64), tk.Issue(1, strings.Repeat("d", 64), later), http.StatusNotFound, `"not_found"`},
		"missing on this node":  {absent, tk.Issue(1, absent, later), http.StatusNotFound, `"blob_missing"`},
		"not a sha256 (a path)": {"..%2f..%2fsecret.key", tk.Issue(1, "../../secret.key", later), http.StatusNotFound, ""},
	} {
		resp, body := get(c.sum, c.ticket, "")
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.code) {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	if !strings.Contains(logs.String(), "blob missing on this node") || !strings.Contains(logs.String(), absent) {
		t.Errorf("no log line for the missing blob:\n%s", logs.String())
	}
	if _, err := os.Stat(s.path(absent)); err == nil {
		t.Fatal("the absent blob exists")
	}
}

// agentLookup also names agent release files (AgentFiles).
type agentLookup struct {
	lookup
	agentFiles map[string]bool
}

func (l agentLookup) AgentFileBlobInUse(_ context.Context, sum string) (bool, error) {
	return l.agentFiles[sum], nil
}

// TestHandlerAgentFiles: an agent release file is served to an active
// device with a ticket when the database is an AgentFiles, and only then.
func TestHandlerAgentFiles(t *testing.T) {
	s, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	build := randomBytes(t, 50<<10)
	sum, _, err := s.Put(bytes.NewReader(build))
	if err != nil {
		t.Fatal(err)
	}
	tk := NewTickets(randomBytes(t, 32))
	packagesOnly := lookup{devices: map[int64]string{1: core.DeviceActive, 2: core.DeviceRevoked}, files: map[string]bool{}}
	withAgents := agentLookup{lookup: packagesOnly, agentFiles: map[string]bool{sum: true}}
	later := time.Now().Add(time.Hour)
	for _, c := range []struct {
		name   string
		db     Lookup
		device int64
		status int
	}{
		{"agent file, store with releases", withAgents, 1, http.StatusOK},
		{"agent file, revoked device", withAgents, 2, http.StatusForbidden},
		{"lookup without releases", packagesOnly, 1, http.StatusNotFound},
	} {
		srv := httptest.NewServer(Handler(s, tk, c.db, slog.New(slog.DiscardHandler)))
		req, _ := http.NewRequest(http.MethodGet, srv.URL+Path+sum, nil)
		req.Header.Set(TicketHeader, tk.Issue(c.device, sum, later))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if resp.StatusCode != c.status || c.status == http.StatusOK && !bytes.Equal(body, build) {
			t.Errorf("%s: %d, %d bytes", c.name, resp.StatusCode, len(body))
		}
	}

	for _, c := range []struct {
		db   Lookup
		sum  string
		want bool
	}{
		{withAgents, sum, true}, {packagesOnly, sum, false},
		{withAgents, strings.Repeat("e", 64), false},
		{agentLookup{lookup: lookup{files: map[string]bool{sum: true}}}, sum, true},
	} {
		if got, err := InUseBy(c.db)(t.Context(), c.sum); err != nil || got != c.want {
			t.Errorf("InUseBy(%T)(%.8s…) = %v, %v; want %v", c.db, c.sum, got, err, c.want)
		}
	}
}
