//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/loadsim"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
)

// The package file series (issue 17): one uploaded package file
// downloaded through the blob route by many simulated agents at once, and
// in the same run by as many curl processes, while the server's VmRSS is
// sampled. Deployment jobs, which would hand the agents their tickets in
// signed actions, are not there yet: the bench issues the tickets itself
// with the server's secret key (<data>/secret.key), exactly as the server
// derives and issues them (blobs.Tickets).

// BlobRun is the figures of one engine.
type BlobRun struct {
	Engine     string
	Agents     int
	Parallel   int // downloads at most at once
	SizeMB     float64
	UploadMBps float64
	// The server's VmRSS before the upload and its largest during it: an
	// upload streams to disk and must not raise it either.
	PreUploadRSSMB, UploadPeakRSSMB float64
	Agent                           BlobPass // simulated agents: SHA-256 checked, then discarded
	Curl                            BlobPass // curl -o /dev/null, same route, same tickets
	Ratio                           float64  // Agent.MBps / Curl.MBps
	// GrowthMB is the server's largest VmRSS in both rounds above its
	// VmRSS before the first: what the issue bounds (< 64 MB).
	GrowthMB float64
	Error    string `json:",omitempty"`
}

// BlobPass is one round of downloads, every one of the whole file.
type BlobPass struct {
	Downloads    int
	Errors       map[string]int // downloads failed after every attempt, by kind
	Retries      map[string]int // failed attempts retried, by kind
	Took         time.Duration  // from the first request to the last byte
	MBps         float64        // all downloads' bytes over Took
	P50, P95     time.Duration  // one download's duration
	Max          time.Duration
	IdleRSSMB    float64 // server VmRSS just before the round
	PeakRSSMB    float64 // its largest VmRSS during the round (sampled every 20 ms)
	GrowthMB     float64 // PeakRSSMB - IdleRSSMB
	ServerCPUSec float64
	ClientCPUSec float64 // this process's (the agents') or the curl processes'
}

// fetch is one download's outcome.
type fetch struct {
	took  time.Duration
	bytes int64
	err   string         // "" or the error's kind
	retry map[string]int // failed attempts before the last, by kind
}

// Attempts of one download. Like the real agent (DefaultDownloadAttempts,
// back-off from 2 s), a client retries a connection that failed: on the
// shared test machine a TLS handshake can wait longer than the server
// allows (tlsconf.DefaultHandshakeTimeout). A refusal or a wrong file is
// final.
const fetchAttempts = 5

var fetchBackoff = 2 * time.Second // a variable for the test

// download is one client's way to fetch with a ticket: the bytes it
// received and the CPU time of processes of its own (curl's).
type download func(ticket string) (n int64, cpu time.Duration, err error)

// summarize fills p's counts, throughput and percentiles from the
// downloads of one round that took took in all.
func summarize(p *BlobPass, fs []fetch, took time.Duration) {
	p.Downloads, p.Took, p.Errors, p.Retries = len(fs), took, map[string]int{}, map[string]int{}
	var total int64
	var ds []time.Duration
	for _, f := range fs {
		total += f.bytes
		for k, n := range f.retry {
			p.Retries[k] += n
		}
		if f.err != "" {
			p.Errors[f.err]++
			continue
		}
		ds = append(ds, f.took)
	}
	if took > 0 {
		p.MBps = float64(total) / (1 << 20) / took.Seconds()
	}
	slices.Sort(ds)
	p.P50, p.P95 = quantile(ds, 0.5), quantile(ds, 0.95)
	if len(ds) > 0 {
		p.Max = ds[len(ds)-1]
	}
}

// quantile is the nearest-rank q-quantile of sorted ds, 0 for none.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(q*float64(len(ds))+0.999999) - 1 // ceil(q·n), 1-based
	return ds[min(max(i, 0), len(ds)-1)]
}

// rssSampler records a process's largest VmRSS until stopped.
type rssSampler struct {
	stop chan struct{}
	done chan float64
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan float64, 1)}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		var peak float64
		for {
			rss, _ := rssMB(pid)
			peak = max(peak, rss)
			select {
			case <-s.stop:
				s.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop returns the largest VmRSS seen, in MB.
func (s *rssSampler) Stop() float64 { close(s.stop); return <-s.done }

// round runs get for every ticket, at most parallel at once, and measures
// it against the server.
func round(srv *server, tickets []string, parallel int, get download) BlobPass {
	var p BlobPass
	p.IdleRSSMB, _ = rssMB(srv.pid())
	rss := sampleRSS(srv.pid(), 20*time.Millisecond)
	cpu0, self0, t0 := cpuTicks(srv.pid()), cpuTicks(os.Getpid()), time.Now()
	fs := make([]fetch, len(tickets))
	var childCPU atomic.Int64
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, tk := range tickets {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fs[i] = attempt(i, tk, get, &childCPU)
		})
	}
	wg.Wait()
	took := time.Since(t0)
	p.ServerCPUSec = float64(cpuTicks(srv.pid())-cpu0) / clkTck
	p.ClientCPUSec = float64(cpuTicks(os.Getpid())-self0)/clkTck + time.Duration(childCPU.Load()).Seconds()
	p.PeakRSSMB = rss.Stop()
	p.GrowthMB = p.PeakRSSMB - p.IdleRSSMB
	summarize(&p, fs, took)
	return p
}

// attempt runs one download with retries (fetchAttempts); took is from the
// first request to the end of the last attempt.
func attempt(i int, ticket string, get download, cpu *atomic.Int64) fetch {
	f := fetch{retry: map[string]int{}}
	start, wait := time.Now(), fetchBackoff
	for a := 1; ; a++ {
		n, c, err := get(ticket)
		cpu.Add(int64(c))
		f.bytes += n
		f.err = errKind(err)
		if err == nil {
			break
		}
		fmt.Fprintf(os.Stderr, "bench: download %d, attempt %d: %v\n", i, a, err)
		if f.err != "transport" || a == fetchAttempts {
			break
		}
		f.retry[f.err]++
		time.Sleep(wait)
		wait *= 2
	}
	f.took = time.Since(start)
	return f
}

// errKind names an error for the counts: "" for none.
func errKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, loadsim.ErrBlobMismatch):
		return "mismatch"
	case strings.HasPrefix(err.Error(), "HTTP "):
		return strings.SplitN(err.Error(), ":", 2)[0]
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "transport"
	}
}

func benchBlob(c config, engine string) (r BlobRun, err error) {
	r = BlobRun{Engine: engine, Agents: c.blobAgents, Parallel: min(c.blobParallel, c.blobAgents), SizeMB: float64(c.blobMB)}
	fmt.Fprintf(os.Stderr, "\n== %s, one %d MB package file to %d agents, %d at once\n", engine, c.blobMB, r.Agents, r.Parallel)
	srv, tmp, api, tok, done, err := startBenchServer(c, engine, "wacht-bench-blob-", 0)
	if err != nil {
		return r, err
	}
	defer done()
	addr := srv.addr
	pt, err := protocol.ParseToken(tok)
	if err != nil {
		return r, err
	}

	// The agents enroll and hold their sessions, as they would during a
	// deployment.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	sim, err := loadsim.New(loadsim.Options{
		Token: tok, Agents: c.blobAgents, Cache: filepath.Join(tmp, "agents.jsonl"), Ramp: 5 * time.Second,
		Drain: 10 * time.Second, Log: log,
	})
	if err != nil {
		return r, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { sim.Run(ctx); close(ran) }()
	defer func() { cancel(); <-ran }()
	if !waitFor(func() bool { return sim.Connected() == c.blobAgents }, 5*time.Minute) {
		return r, fmt.Errorf("only %d of %d agents connected", sim.Connected(), c.blobAgents)
	}

	client := agent.NewHTTPClient(pt.Fingerprint)
	r.PreUploadRSSMB, _ = rssMB(srv.pid())
	rss := sampleRSS(srv.pid(), 20*time.Millisecond)
	t0 := time.Now()
	sum, err := uploadPackage(ctx, client, "https://"+addr, api, int64(c.blobMB)<<20)
	r.UploadPeakRSSMB = rss.Stop()
	if err != nil {
		return r, err
	}
	r.UploadMBps = float64(c.blobMB) / time.Since(t0).Seconds()
	size := int64(c.blobMB) << 20
	fmt.Fprintf(os.Stderr, "bench: uploaded %d MB at %.0f MB/s, sha256 %s; server RSS %.0f MB before, %.0f MB at most meanwhile\n",
		c.blobMB, r.UploadMBps, sum, r.PreUploadRSSMB, r.UploadPeakRSSMB)

	tickets, err := issueTickets(srv.data, sum, sim.Devices())
	if err != nil {
		return r, err
	}
	r.Agent = round(srv, tickets, r.Parallel, func(tk string) (int64, time.Duration, error) {
		n, err := sim.FetchBlob(ctx, sum, size, tk)
		return n, 0, err
	})
	printPass("agents", r.Agent)
	if c.blobCurl {
		pin, err := publicKeyPin(addr, pt.Fingerprint)
		if err != nil {
			return r, err
		}
		url := "https://" + addr + blobs.Path + sum
		r.Curl = round(srv, tickets, r.Parallel, func(tk string) (int64, time.Duration, error) {
			return curlFetch(ctx, url, pin, tk, size)
		})
		printPass("curl", r.Curl)
		if r.Curl.MBps > 0 {
			r.Ratio = r.Agent.MBps / r.Curl.MBps
		}
	}
	r.GrowthMB = max(r.Agent.PeakRSSMB, r.Curl.PeakRSSMB) - r.Agent.IdleRSSMB
	fmt.Fprintf(os.Stderr, "bench: server RSS at most %.0f MB above its %.0f MB before the downloads\n", r.GrowthMB, r.Agent.IdleRSSMB)
	if n := errCount(r.Agent.Errors) + errCount(r.Curl.Errors); n > 0 {
		return r, fmt.Errorf("%d downloads failed", n)
	}
	return r, nil
}

func printPass(who string, p BlobPass) {
	fmt.Fprintf(os.Stderr, "bench: %s: %d downloads in %.1f s, %.0f MB/s, p50 %.1f s, p95 %.1f s; server RSS %.0f → %.0f MB (+%.0f), CPU %.1f s; client CPU %.1f s; errors %v, retried %v\n",
		who, p.Downloads, p.Took.Seconds(), p.MBps, p.P50.Seconds(), p.P95.Seconds(), p.IdleRSSMB, p.PeakRSSMB, p.GrowthMB, p.ServerCPUSec, p.ClientCPUSec, p.Errors, p.Retries)
}

// uploadPackage creates an upload package through the API and uploads
// size bytes of a fast PRNG (ChaCha8) as its file, streamed and hashed on
// the way: the file exists once, on the server. It returns the SHA-256
// after checking that the server computed the same.
func uploadPackage(ctx context.Context, c *http.Client, base, apiToken string, size int64) (string, error) {
	def := `{"name":"Bench 500","version":"1","os":"windows","kind":"upload","install":["{{file}}","/quiet"],` +
		`"detection":{"kind":"service","name":"bench"}}`
	var p struct {
		ID     int64  `json:"id"`
		SHA256 string `json:"sha256"`
	}
	if err := apiCall(ctx, c, http.MethodPost, base+"/api/v1/packages", apiToken, strings.NewReader(def), -1, http.StatusCreated, &p); err != nil {
		return "", err
	}
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(rand.N(256))
	}
	h := sha256.New()
	body := io.TeeReader(io.LimitReader(rand.NewChaCha8(seed), size), h)
	url := fmt.Sprintf("%s/api/v1/packages/%d/file?name=bench.msi", base, p.ID)
	if err := apiCall(ctx, c, http.MethodPut, url, apiToken, body, size, http.StatusOK, &p); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if p.SHA256 != sum {
		return "", fmt.Errorf("the server stored sha256 %q, the upload was %s", p.SHA256, sum)
	}
	return sum, nil
}

// apiCall sends body (of length n, -1 unknown) with the bearer token and
// decodes a want answer into out.
func apiCall(ctx context.Context, c *http.Client, method, url, apiToken string, body io.Reader, n int64, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if n >= 0 {
		req.ContentLength = n
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

// issueTickets issues every device a ticket for blob sum with the
// server's key, as the server does (see the top of this file).
func issueTickets(dataDir, sum string, devices []int64) ([]string, error) {
	box, err := seal.ReadKey(filepath.Join(dataDir, seal.KeyFile))
	if err != nil {
		return nil, err
	}
	tk := blobs.NewTickets(box.Derive(blobs.TicketPurpose))
	out := make([]string, len(devices))
	for i, d := range devices {
		if d == 0 {
			return nil, fmt.Errorf("agent %d is not enrolled", i)
		}
		out[i] = tk.Issue(d, sum, time.Now().Add(6*time.Hour))
	}
	return out, nil
}

// publicKeyPin returns curl's --pinnedpubkey of the server at addr after
// checking its certificate against the enrollment token's fingerprint: curl
// then trusts exactly the certificate the agents pin.
func publicKeyPin(addr, fingerprint string) (string, error) {
	conn, err := tls.Dial("tcp", addr, agent.TLSConfig(fingerprint))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	spki := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return "sha256//" + base64.StdEncoding.EncodeToString(spki[:]), nil
}

// curlFetch downloads url with curl to /dev/null and checks the status
// and size curl reports; it returns curl's CPU time too.
func curlFetch(ctx context.Context, url, pin, ticket string, size int64) (int64, time.Duration, error) {
	// -k: the certificate is self-signed; --pinnedpubkey checks it instead.
	cmd := exec.CommandContext(ctx, "curl", "-sS", "-k", "--pinnedpubkey", pin, "-H", loadsim.TicketHeader+": "+ticket,
		"-o", os.DevNull, "-w", "%{http_code} %{size_download}", url)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return 0, cpu, fmt.Errorf("curl: %v: %s", err, strings.TrimSpace(errb.String())) // a transport error
	}
	f := strings.Fields(out.String())
	if len(f) != 2 {
		return 0, cpu, fmt.Errorf("curl wrote %q", out.String())
	}
	n, _ := strconv.ParseInt(f[1], 10, 64)
	if f[0] != "200" {
		return n, cpu, fmt.Errorf("HTTP %s: from curl", f[0])
	}
	if n != size {
		return n, cpu, fmt.Errorf("%w: curl received %d bytes", loadsim.ErrBlobMismatch, n)
	}
	return n, cpu, nil
}

func printBlobRuns(rs []BlobRun) {
	if len(rs) == 0 {
		return
	}
	fmt.Println()
	fmt.Println("| engine | package file to agents (at once) | agents MB/s (p50 / p95 s) | curl MB/s (p50 / p95 s) | agents / curl | server RSS MB: idle → peak agents, curl round (above idle) | server CPU s, agents (curl) | client CPU s, agents (curl) | upload MB/s (server RSS before → peak MB) | errors agents / curl (attempts retried) |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rs {
		fmt.Printf("| %s | %.0f MB to %d (%d) | %.0f (%.1f / %.1f) | %.0f (%.1f / %.1f) | %.2f | %.0f → %.0f, %.0f (+%.0f) | %.1f (%.1f) | %.1f (%.1f) | %.0f (%.0f → %.0f) | %d / %d (%d / %d) |\n",
			r.Engine, r.SizeMB, r.Agents, r.Parallel, r.Agent.MBps, r.Agent.P50.Seconds(), r.Agent.P95.Seconds(),
			r.Curl.MBps, r.Curl.P50.Seconds(), r.Curl.P95.Seconds(), r.Ratio,
			r.Agent.IdleRSSMB, r.Agent.PeakRSSMB, r.Curl.PeakRSSMB, r.GrowthMB,
			r.Agent.ServerCPUSec, r.Curl.ServerCPUSec, r.Agent.ClientCPUSec, r.Curl.ClientCPUSec,
			r.UploadMBps, r.PreUploadRSSMB, r.UploadPeakRSSMB, errCount(r.Agent.Errors), errCount(r.Curl.Errors),
			errCount(r.Agent.Retries), errCount(r.Curl.Retries))
	}
}

func errCount(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
