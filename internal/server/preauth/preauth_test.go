package preauth

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/logtest"
)

func TestSource(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:443":             "192.0.2.7/32",
		"[::ffff:192.0.2.7]:443":    "192.0.2.7/32",
		"[2001:db8:1:2:3::9]:443":   "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::]:1":   "2001:db8:1:2::/64",
		"[fe80::1%eth0]:1":          "fe80::/64",
		"pipe":                      "invalid Prefix",
		"[2001:db8:1:3::1]:65535":   "2001:db8:1:3::/64",
		"198.51.100.200:65535":      "198.51.100.200/32",
		"[::1]:8443":                "::/64",
		"127.0.0.1:8443":            "127.0.0.1/32",
		"[2001:db8::1]:not-a-port":  "invalid Prefix",
		"[2001:db8:0:0:1::1]:12345": "2001:db8::/64",
	} {
		if got := Source(addr).String(); got != want {
			t.Errorf("Source(%s) = %s, want %s", addr, got, want)
		}
	}
}

func TestPoolDropsOldestOfSourceThenOverall(t *testing.T) {
	p := NewPool(4, 2)
	a, b := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("192.0.2.2/32")
	var dropped []string
	add := func(src netip.Prefix, name string) *Entry {
		e, _ := p.Add(src, func() { dropped = append(dropped, name) })
		return e
	}
	a1 := add(a, "a1")
	add(a, "a2")
	time.Sleep(MinWait)
	add(a, "a3") // a's cap: a1 goes, a3 stays
	if strings.Join(dropped, ",") != "a1" {
		t.Fatalf("dropped %v, want a1", dropped)
	}
	if p.Remove(a1) {
		t.Error("Remove of a dropped entry reported it waiting")
	}
	b1 := add(b, "b1")
	if !p.Remove(b1) || p.Remove(b1) {
		t.Error("Remove: want true once, then false")
	}
	add(b, "b2")
	add(b, "b3") // 4 in all
	if p.Len() != 4 || len(dropped) != 1 {
		t.Fatalf("len %d, dropped %v", p.Len(), dropped)
	}
	// Too young to drop: the cap is exceeded for now.
	if _, n := p.Add(b, func() { dropped = append(dropped, "b4") }); n != 0 || p.Len() != 5 {
		t.Fatalf("a young entry was dropped (%d), len %d", n, p.Len())
	}
	c := netip.MustParsePrefix("192.0.2.3/32")
	if _, n := p.Add(c, func() { dropped = append(dropped, "c1") }); n != 1 {
		t.Errorf("Add over the total cap dropped %d, want 1", n)
	}
	// Over the total: the oldest of all (a2) goes, not the newcomer.
	if strings.Join(dropped, ",") != "a1,a2" || p.Len() != 5 {
		t.Fatalf("dropped %v, len %d; want a1,a2 and 5", dropped, p.Len())
	}
}

func TestPoolConcurrent(t *testing.T) {
	p := NewPool(50, 10)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := Source(fmt.Sprintf("10.0.0.%d:1", i))
			for range 1000 {
				e, _ := p.Add(src, func() {})
				p.Remove(e)
			}
		}()
	}
	wg.Wait()
	if p.Len() != 0 {
		t.Fatalf("len %d after every entry left", p.Len())
	}
}

func TestTallyOneLinePerInterval(t *testing.T) {
	log, buf := logtest.Logger()
	tl := NewTally(log, "connections refused", 50*time.Millisecond)
	for range 1000 {
		tl.Add("idle_dropped")
	}
	tl.Add("handshake_failed")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), "connections refused") {
		if time.Now().After(deadline) {
			t.Fatal("no summary line")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := buf.String(); strings.Count(got, "\n") != 1 ||
		!strings.Contains(got, "handshake_failed=1 idle_dropped=1000") {
		t.Fatalf("log %q, want one line with both counts", got)
	}
	tl.Add("handshake_failed")
	tl.Close()
	tl.Add("handshake_failed") // after Close: not logged
	time.Sleep(100 * time.Millisecond)
	if got := buf.String(); strings.Count(got, "\n") != 2 {
		t.Fatalf("log %q, want a second line from Close and nothing after", got)
	}
}
