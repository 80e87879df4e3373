package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// transferSize is what each benchmarked transfer moves: 1 GiB, the size
// the issue bounds the server's memory growth for.
const transferSize = 1 << 30

// BenchmarkFileTransfer moves 1 GiB between curl and a real wacht-agent
// through a real wacht serve (loopback, TLS), and in the same run moves the
// same file with curl to and from a plain Go HTTPS server that uses the
// server's certificate and TLS settings (the server's own port serves no
// files but through the API): the API's throughput relative to raw HTTPS
// on this machine. The raw upload is written to a file and synced, as the
// agent does. It reports MB/s of both, their ratio and the server
// process's RSS growth (VmRSS sampled every 20 ms during the transfer,
// minus VmRSS before it).
//
//	go test -run '^$' -bench FileTransfer -benchtime 3x ./test/e2e/
func BenchmarkFileTransfer(b *testing.B) {
	if _, err := exec.LookPath("curl"); err != nil {
		b.Skip("curl is not installed")
	}
	e := newEnv(b)
	agentDir := b.TempDir()
	mustRun(b, nil, "wacht-agent", "enroll", "--data", agentDir, "--token", e.token())
	agent := start(b, "wacht-agent", "run", "--data", agentDir)
	var id int64
	waitFor(b, "agent online", time.Minute, func() bool {
		var ds []apiDevice
		e.api("GET", "/api/v1/devices", &ds)
		if len(ds) == 1 && ds[0].Online {
			id = ds[0].ID
		}
		return id != 0
	})

	// A sparse file: the disk does not limit what is measured.
	dir := b.TempDir()
	src := filepath.Join(dir, "ein Gigabyte.bin")
	f, err := os.Create(src)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Truncate(transferSize); err != nil {
		b.Fatal(err)
	}
	f.Close()

	baseline := rawHTTPS(b, e.data, dir)
	api := fmt.Sprintf("https://%s/api/v1/devices/%d/files/content?path=%s", e.addr, id, url.QueryEscape(src))
	auth := "Authorization: Bearer " + e.apiToken
	pid := e.server.cmd.Process.Pid
	// The CPU time of each path's processes: the raw path's is this
	// process (its HTTPS server) and curl, the API's server, agent and curl.
	rawCPU := func(args ...string) (float64, time.Duration) {
		before := procCPU(b, os.Getpid())
		secs, cpu := curl(b, args...)
		return secs, cpu + procCPU(b, os.Getpid()) - before
	}
	apiCPU := func(args ...string) (float64, time.Duration) {
		before := procCPU(b, pid) + procCPU(b, agent.cmd.Process.Pid)
		secs, cpu := curl(b, args...)
		return secs, cpu + procCPU(b, pid) + procCPU(b, agent.cmd.Process.Pid) - before
	}

	b.Run("download", func(b *testing.B) {
		var m transferMetrics
		for range b.N {
			m.raw(rawCPU("-o", os.DevNull, baseline+"/"+url.PathEscape(filepath.Base(src))))
			m.api(withRSS(b, pid, func() (float64, time.Duration) { return apiCPU("-o", os.DevNull, "-H", auth, api) }))
		}
		m.report(b)
	})
	b.Run("upload", func(b *testing.B) {
		var m transferMetrics
		for i := range b.N {
			m.raw(rawCPU("-T", src, baseline+"/upload"))
			target := filepath.Join(dir, "hochgeladen "+strconv.Itoa(i)+".bin")
			up := fmt.Sprintf("https://%s/api/v1/devices/%d/files/content?path=%s", e.addr, id, url.QueryEscape(target))
			m.api(withRSS(b, pid, func() (float64, time.Duration) { return apiCPU("-T", src, "-H", auth, up) }))
			if st, err := os.Stat(target); err != nil || st.Size() != transferSize {
				b.Fatalf("uploaded file: %v %v", st, err)
			}
			os.Remove(target)
		}
		m.report(b)
	})
}

// transferMetrics sums a benchmark's transfers.
type transferMetrics struct {
	apiSecs, rawSecs float64
	apiCPU, rawCPU   time.Duration
	growth           int64
}

func (m *transferMetrics) raw(secs float64, cpu time.Duration) { m.rawSecs += secs; m.rawCPU += cpu }

func (m *transferMetrics) api(secs float64, cpu time.Duration, growth int64) {
	m.apiSecs += secs
	m.apiCPU += cpu
	m.growth = max(m.growth, growth)
}

// report gives both speeds and their ratio, the CPU time per MB of both
// paths and their ratio (which the machine's other load moves less than
// the speeds: on a machine whose cores are all busy, the speeds follow
// it), and the server's RSS growth.
func (m *transferMetrics) report(b *testing.B) {
	n := float64(b.N) * transferSize / 1e6
	b.ReportMetric(n/m.apiSecs, "api-MB/s")
	b.ReportMetric(n/m.rawSecs, "https-MB/s")
	b.ReportMetric(100*m.rawSecs/m.apiSecs, "%-of-https")
	b.ReportMetric(float64(m.apiCPU.Milliseconds())/n, "api-cpu-ms/MB")
	b.ReportMetric(float64(m.rawCPU.Milliseconds())/n, "https-cpu-ms/MB")
	b.ReportMetric(100*float64(m.rawCPU)/float64(m.apiCPU), "cpu-%-of-https")
	b.ReportMetric(float64(m.growth)/(1<<20), "server-rss-growth-MiB")
}

// procCPU is a process's CPU time (user and system) from /proc, in the
// kernel's clock ticks of 10 ms.
func procCPU(b *testing.B, pid int) time.Duration {
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// After the command name in parentheses: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(s[strings.LastIndexByte(string(s), ')')+1:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// receive writes an upload into a temporary file in dir, syncs and removes
// it: what the agent does with an upload's content, without the hash.
func receive(dir string, body io.Reader) error {
	f, err := os.CreateTemp(dir, "raw-upload-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := io.Copy(f, body); err != nil {
		return err
	}
	return f.Sync()
}

// rawHTTPS serves dir (GET) and takes uploads into it (PUT /upload) over HTTPS
// with the server's certificate and TLS settings, on a loopback port.
func rawHTTPS(b *testing.B, data, dir string) string {
	cert, err := tls.LoadX509KeyPair(filepath.Join(data, "tls", "cert.pem"), filepath.Join(data, "tls", "key.pem"))
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	files := http.FileServer(http.Dir(dir))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				// Like the agent: into a file beside the others, synced.
				if err := receive(dir, r.Body); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
				}
				return
			}
			files.ServeHTTP(w, r)
		}),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		TLSConfig:    &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}},
	}
	go srv.ServeTLS(ln, "", "")
	b.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String()
}

// curl runs curl with args (plus -k: the certificate is self-signed, on
// loopback) and returns the transfer's seconds as curl measured them and
// curl's CPU time.
func curl(b *testing.B, args ...string) (float64, time.Duration) {
	cmd := exec.Command("curl", append([]string{"-sSfk", "-w", "%{time_total} %{size_download} %{size_upload}"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("curl %v: %v %s", args, err, out)
	}
	f := strings.Fields(string(out))
	secs, _ := strconv.ParseFloat(f[len(f)-3], 64)
	down, _ := strconv.ParseFloat(f[len(f)-2], 64)
	up, _ := strconv.ParseFloat(f[len(f)-1], 64)
	if max(down, up) < transferSize {
		b.Fatalf("curl %v moved %v/%v bytes", args, down, up)
	}
	return secs, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// withRSS runs fn while sampling pid's VmRSS and returns fn's results and
// the largest growth over the RSS before it.
func withRSS(b *testing.B, pid int, fn func() (float64, time.Duration)) (float64, time.Duration, int64) {
	before := vmRSS(pid)
	if before == 0 {
		b.Fatalf("no VmRSS of process %d", pid)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var peak int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, vmRSS(pid))
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	secs, cpu := fn()
	close(stop)
	wg.Wait()
	return secs, cpu, max(0, peak-before)
}

// vmRSS reads a process's resident set in bytes from /proc (0: unknown).
func vmRSS(pid int) int64 {
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(s), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
