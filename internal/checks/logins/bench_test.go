package logins

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
)

// BenchmarkBruteForceLog reads and parses 100,000 auth.log lines of a
// brute-force run, the worst case one check run may meet.
func BenchmarkBruteForceLog(b *testing.B) {
	path := filepath.Join(b.TempDir(), "auth.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)
	for i := range 100000 {
		at := t0.Add(time.Duration(i) * 10 * time.Millisecond).Format(time.RFC3339Nano)
		if i%2 == 0 {
			fmt.Fprintf(f, "%s srv sshd-session[%d]: Invalid user u%d from 203.0.113.%d port %d\n", at, 1000+i/2, i%97, i%250, 30000+i%30000)
		} else {
			fmt.Fprintf(f, "%s srv sshd-session[%d]: Failed password for invalid user u%d from 203.0.113.%d port %d ssh2\n", at, 1000+i/2, (i-1)%97, (i-1)%250, 30000+(i-1)%30000)
		}
	}
	f.Close()
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	for b.Loop() {
		es, _, err := logsrc.Files{Paths: []string{path}, FirstMax: 1 << 30}.Read(context.Background(), nil, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		if n := len(parseFailures(es)); n != 50000 {
			b.Fatalf("%d failures", n)
		}
	}
}
