package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/inventory"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// sampleInventory is a plausible machine with n programs.
func sampleInventory(n int) core.Inventory {
	inv := core.Inventory{
		Hardware: core.Hardware{
			Manufacturer: "LENOVO", Model: "20XW00A4GE", Serial: "PF3ABCDE",
			Firmware: core.Firmware{Vendor: "LENOVO", Version: "N32ET86W (1.62 )", Date: "2023-11-06", UEFI: true},
			CPU:      core.CPUInfo{Model: "11th Gen Intel(R) Core(TM) i5-1145G7 @ 2.60GHz", Sockets: 1, Cores: 4, Threads: 8},
			Memory:   core.Memory{TotalBytes: 16 << 30, Modules: []core.MemoryModule{{Slot: "DIMM 0", SizeBytes: 8 << 30, SpeedMTs: 3200, Type: "DDR4"}, {Slot: "DIMM 1", SizeBytes: 8 << 30, SpeedMTs: 3200, Type: "DDR4"}}},
			Disks:    []core.Disk{{Name: "nvme0n1", Model: "SAMSUNG MZVLB512HBJQ-000L7", Serial: "S4ENNX0R123456", SizeBytes: 512110190592, Kind: core.DiskNVMe, Bus: "nvme"}},
			Volumes:  []core.Volume{{Mount: "/", Device: "/dev/nvme0n1p2", FS: "ext4", SizeBytes: 500107862016}},
			NICs:     []core.NIC{{Name: "wlp0s20f3", MAC: "f4:4e:e3:00:11:22", Addresses: []string{"192.0.2.15/24"}, Up: true}},
		},
		System: core.SystemInfo{Hostname: "pc-17", OSName: "Debian GNU/Linux 12 (bookworm)", Version: "12", Build: "6.1.0-18-amd64",
			Users: []core.LocalUser{{Name: "anna", Admin: true}}, LoggedOn: []string{"anna"}},
	}
	for i := range n {
		inv.Software = append(inv.Software, core.Program{Name: fmt.Sprintf("program-%04d", i), Version: fmt.Sprintf("1.%d.%d-1", i%7, i%13),
			Publisher: "Debian Maintainers <debian@example.org>", SizeBytes: int64(1000 * (i + 1)), Source: core.SourceDpkg, ID: fmt.Sprintf("program-%04d:amd64", i)})
	}
	return inv
}

// fixedInventory is the inventory of test agents that do not look at it:
// a real collection in every agent test would cost the machine's time.
func fixedInventory(context.Context) core.Inventory { return sampleInventory(3) }

// invSource hands the agent a settable inventory and counts collections;
// gate, if set, holds each collection until it can receive from it.
type invSource struct {
	mu    sync.Mutex
	inv   core.Inventory
	gate  chan struct{}
	calls atomic.Int32
}

func (s *invSource) set(inv core.Inventory) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inv = inv
}

func (s *invSource) collect(ctx context.Context) core.Inventory {
	s.calls.Add(1)
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inv := s.inv
	inv.Software = slices.Clone(inv.Software)
	inv.CollectedAt = time.Now()
	return inv
}

// fakeInventory is the server's side of the inventory protocol: it applies
// reports to what it holds and asks for a resend when they do not apply.
type fakeInventory struct {
	mu      sync.Mutex
	stored  *core.Inventory
	reports []fakeReport
	silent  bool // an older server: never answers
}

type fakeReport struct {
	protocol.InventoryReport
	bytes int // the envelope's encoded size
}

func (f *fakeInventory) receive(t *testing.T, env protocol.Envelope) *protocol.InventoryAck {
	var r protocol.InventoryReport
	if err := protocol.DecodeData(env, &r); err != nil || r.Validate() != nil {
		t.Errorf("bad inventory report: %v %v", err, r.Validate())
		return nil
	}
	b, err := protocol.Encode(env.Type, env.ID, env.Data)
	if err != nil {
		t.Error(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, fakeReport{r, len(b)})
	if f.silent {
		return nil
	}
	inv, err := protocol.ApplyInventory(f.stored, r)
	if err != nil {
		return &protocol.InventoryAck{Status: protocol.InventoryResend, Reason: err.Error()}
	}
	f.stored = &inv
	return &protocol.InventoryAck{Status: protocol.InventoryStored, Digest: r.Digest}
}

func (f *fakeInventory) got() ([]fakeReport, *core.Inventory) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reports), f.stored
}

func (f *fakeInventory) forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stored = nil
}

// startInventoryAgent runs an agent that collects from src against a fake
// server that answers inventory reports.
func startInventoryAgent(t *testing.T, src *invSource, fi *fakeInventory) *testAgent {
	t.Helper()
	return startAgent(t, []NamedCheck{{"fake", &fakeCheck{n: 1}}},
		func(o *Options) { o.Inventory = src.collect },
		func(pub ed25519.PublicKey) *fakeServer {
			fs := newFakeServer(t, pub)
			fs.inventory.Store(fi)
			return fs
		})
}

// refresh sends the signed refresh action and waits for its OK.
func refresh(t *testing.T, fs *fakeServer, id string, full bool) {
	t.Helper()
	args, _ := json.Marshal(protocol.InventoryRefreshArgs{Full: full})
	fs.commands <- actionEnvelope(t, fs.signer, protocol.TypeCommand, fs.deviceID, id, protocol.ActionInventoryRefresh, args, protocol.CommandTTL)
	select {
	case env := <-fs.cmdOut:
		var res protocol.CommandResult
		if err := protocol.DecodeData(env, &res); err != nil || !res.OK || env.ID != id {
			t.Fatalf("refresh %s answered %+v %v", env.ID, res, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no answer to the refresh action")
	}
}

func waitReports(t *testing.T, fi *fakeInventory, n int) []fakeReport {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d inventory reports answered", n), func() bool {
		r, _ := fi.got()
		return len(r) >= n
	})
	r, _ := fi.got()
	return r
}

// waitAcked waits until the agent persisted the inventory with digest d.
func waitAcked(t *testing.T, ta *testAgent, d string) {
	t.Helper()
	waitFor(t, "the acknowledged inventory persisted", func() bool {
		si := loadInventory(inventoryPath(ta.dir), ta.log)
		return si != nil && si.Digest == d
	})
}

func isEmptyDiff(r protocol.InventoryReport) bool {
	return r.Full == nil && r.Base == r.Digest && r.Hardware == nil && r.System == nil &&
		len(r.Added)+len(r.Removed)+len(r.HotfixesAdd)+len(r.HotfixesDel) == 0
}

func TestInventoryFullThenDiffsAcrossRestart(t *testing.T) {
	src := &invSource{inv: sampleInventory(200)}
	fi := &fakeInventory{}
	ta := startInventoryAgent(t, src, fi)

	// Enrollment: nothing acknowledged, so the first report is whole.
	reps := waitReports(t, fi, 1)
	if reps[0].Full == nil || reps[0].Base != "" {
		t.Fatalf("first report is not whole: %+v", reps[0].InventoryReport)
	}
	want := protocol.NormalizeInventory(src.collect(context.Background()))
	_, stored := fi.got()
	if d := protocol.InventoryDigest(want); stored == nil || protocol.InventoryDigest(*stored) != d {
		t.Fatal("the server's inventory is not the collected one")
	}
	waitAcked(t, ta, reps[0].Digest)

	// A program updated, one removed, one installed: a small diff.
	next := sampleInventory(200)
	next.Software[5].Version = "2.0-1"
	next.Software = slices.Delete(next.Software, 9, 10)
	next.Software = append(next.Software, core.Program{Name: "7-Zip", Version: "23.01", Source: core.SourceDpkg, ID: "7zip:amd64"})
	next.Hardware.Memory.TotalBytes = 32 << 30
	src.set(next)
	refresh(t, ta.fs, "r1", false)
	reps = waitReports(t, fi, 2)
	d := reps[1]
	if d.Full != nil || d.Base != reps[0].Digest || len(d.Added) != 2 || len(d.Removed) != 2 || d.Hardware == nil || d.System != nil {
		t.Fatalf("second report: full %v, base %.8s, added %d, removed %d, hardware %v, system %v",
			d.Full != nil, d.Base, len(d.Added), len(d.Removed), d.Hardware != nil, d.System != nil)
	}
	_, stored = fi.got()
	if protocol.InventoryDigest(*stored) != protocol.InventoryDigest(protocol.NormalizeInventory(next)) {
		t.Fatal("applying the diff does not give the collected inventory")
	}
	if d.bytes*5 > reps[0].bytes {
		t.Errorf("the diff is %d bytes, the whole inventory %d", d.bytes, reps[0].bytes)
	}
	waitAcked(t, ta, d.Digest)

	// Nothing changed: an empty diff.
	refresh(t, ta.fs, "r2", false)
	reps = waitReports(t, fi, 3)
	if !isEmptyDiff(reps[2].InventoryReport) {
		t.Fatalf("no-change report is not an empty diff: %+v", reps[2].InventoryReport)
	}
	t.Logf("bytes on the wire: whole %d, diff %d, no change %d", reps[0].bytes, reps[1].bytes, reps[2].bytes)

	// A new agent over the same data folder diffs against what the server
	// acknowledged before: its first report is not whole.
	ta.stop(t)
	ta2 := runAgentIn(t, ta.dir, ta.fs, []NamedCheck{{"fake", &fakeCheck{n: 1}}}, func(o *Options) { o.Inventory = src.collect })
	refresh(t, ta2.fs, "r3", false)
	reps = waitReports(t, fi, 4)
	if !isEmptyDiff(reps[3].InventoryReport) {
		t.Fatalf("after a restart the report is not a diff: %+v", reps[3].InventoryReport)
	}

	// Full asks for the whole inventory.
	refresh(t, ta2.fs, "r4", true)
	reps = waitReports(t, fi, 5)
	if reps[4].Full == nil {
		t.Fatal("refresh with full sent a diff")
	}
}

func TestInventoryServerForgotSendsWhole(t *testing.T) {
	src := &invSource{inv: sampleInventory(20)}
	fi := &fakeInventory{}
	ta := startInventoryAgent(t, src, fi)
	reps := waitReports(t, fi, 1)
	waitAcked(t, ta, reps[0].Digest)

	// The server's database was restored from a backup older than the
	// inventory: it asks for a resend, and the whole inventory follows.
	fi.forget()
	next := sampleInventory(21)
	src.set(next)
	refresh(t, ta.fs, "r1", false)
	reps = waitReports(t, fi, 3)
	if reps[1].Full != nil || reps[2].Full == nil {
		t.Fatalf("want a diff then the whole inventory; got whole=%v, %v", reps[1].Full != nil, reps[2].Full != nil)
	}
	_, stored := fi.got()
	want := protocol.InventoryDigest(protocol.NormalizeInventory(next))
	if stored == nil || protocol.InventoryDigest(*stored) != want {
		t.Fatal("the server does not hold the resent inventory")
	}
	waitAcked(t, ta, want)
}

func TestInventoryGapKeepsPrograms(t *testing.T) {
	src := &invSource{inv: sampleInventory(50)}
	fi := &fakeInventory{}
	ta := startInventoryAgent(t, src, fi)
	reps := waitReports(t, fi, 1)
	waitAcked(t, ta, reps[0].Digest)

	// dpkg failed this time: no programs, and a gap saying why.
	broken := sampleInventory(50)
	broken.Software = nil
	broken.Missing = []core.InventoryGap{{Part: core.PartSoftware, Error: "dpkg-query: exit status 2: cannot open /var/lib/dpkg/status"}}
	src.set(broken)
	refresh(t, ta.fs, "r1", false)
	reps = waitReports(t, fi, 2)
	if len(reps[1].Removed) != 0 || len(reps[1].Missing) != 1 {
		t.Fatalf("a failed program list removed %d programs; gaps %v", len(reps[1].Removed), reps[1].Missing)
	}
	_, stored := fi.got()
	if len(stored.Software) != 50 || len(stored.Missing) != 1 || stored.Missing[0].Part != core.PartSoftware {
		t.Fatalf("server holds %d programs, gaps %v", len(stored.Software), stored.Missing)
	}
}

func TestInventoryRefreshCoalesced(t *testing.T) {
	src := &invSource{inv: sampleInventory(5), gate: make(chan struct{})}
	fi := &fakeInventory{}
	ta := startInventoryAgent(t, src, fi)
	waitFor(t, "the first collection to start", func() bool { return src.calls.Load() == 1 })
	// Three refreshes while it runs: each answered at once, one more run.
	for i := range 3 {
		refresh(t, ta.fs, fmt.Sprint("r", i), false)
	}
	close(src.gate)
	reps := waitReports(t, fi, 2)
	waitAcked(t, ta, reps[1].Digest)
	if n := src.calls.Load(); n != 2 {
		t.Fatalf("%d collections, want the running one and one for the three refreshes", n)
	}
}

func TestInventoryUnansweredBacksOff(t *testing.T) {
	src := &invSource{inv: sampleInventory(5)}
	fi := &fakeInventory{silent: true}
	ta := startInventoryAgent(t, src, fi)
	waitReports(t, fi, 1)
	waitFor(t, "the back-off after the unanswered report", func() bool {
		ta.inv.mu.Lock()
		defer ta.inv.mu.Unlock()
		return ta.inv.failures == 1
	})
	ta.inv.mu.Lock()
	wait := time.Until(ta.inv.retryAt)
	ta.inv.mu.Unlock()
	if wait < invRetryMin-time.Minute {
		t.Fatalf("retry in %v: an older server would be asked in a tight loop", wait)
	}
	if si := loadInventory(inventoryPath(ta.dir), ta.log); si != nil {
		t.Fatal("an unanswered report was taken as acknowledged")
	}
}

func TestInventoryRetryBackoff(t *testing.T) {
	s := newInvState("", slog.New(slog.DiscardHandler))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var got []time.Duration
	for range 9 {
		got = append(got, s.failed(now, invRetryMin, true).Sub(now))
	}
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute, 160 * time.Minute, 320 * time.Minute, 6 * time.Hour, 6 * time.Hour}
	if !slices.Equal(got, want) {
		t.Fatalf("back-off %v, want %v", got, want)
	}
	if run, _, retry := s.due(now.Add(time.Hour), time.UTC, 10, 0); run || !retry.Equal(now.Add(6*time.Hour)) {
		t.Fatalf("due during the back-off: %v, retry %v", run, retry)
	}
	s.request(false)
	if run, full, _ := s.due(now.Add(time.Hour), time.UTC, 10, 0); !run || full {
		t.Fatal("a refresh waits for the back-off")
	}
	// The failed whole report is tried again, whole, after the back-off,
	// though an inventory is acknowledged and the daily run is not due.
	s.stored(sampleInventory(1), "d", now.Add(-time.Hour))
	s.failed(now, invRetryMin, true)
	if run, _, _ := s.due(now.Add(time.Minute), time.UTC, 10, 0); run {
		t.Fatal("a failed report is tried again within the back-off")
	}
	if run, full, _ := s.due(now.Add(invRetryMin), time.UTC, 10, 0); !run || !full {
		t.Fatalf("a failed whole report is not tried again whole: run %v, full %v", run, full)
	}
	if run, _, _ := s.due(now.Add(invRetryMin+time.Second), time.UTC, 10, 0); run {
		t.Fatal("the retry was not taken")
	}
	s.stored(sampleInventory(1), "d", now)
	if run, _, retry := s.due(now.Add(time.Hour), time.UTC, 10, 0); run || !retry.IsZero() {
		t.Fatal("an acknowledged inventory kept the back-off")
	}
}

func TestInventoryDaily(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, c := range []struct {
		last, now string
		want      bool
	}{
		{"", "2026-03-02 08:00", true},                  // never collected
		{"2026-03-01 10:05", "2026-03-02 09:59", false}, // before today's time
		{"2026-03-01 10:05", "2026-03-02 10:00", true},  // today's time
		{"2026-03-02 10:00", "2026-03-02 18:00", false}, // done today
		{"2026-03-02 09:00", "2026-03-02 10:30", true},  // collected early (enrollment), still today's run
		{"2026-02-20 10:00", "2026-03-02 07:00", true},  // machine was off: catch up at start
		{"2026-03-29 01:00", "2026-03-29 10:00", true},  // across the switch to summer time
		{"2026-03-05 10:00", "2026-03-02 11:00", false}, // clock went back: count from now
	} {
		var last time.Time
		if c.last != "" {
			last = at(c.last)
		}
		if got := inventoryDue(last, at(c.now), berlin, 10, 0); got != c.want {
			t.Errorf("last %q now %q: due %v, want %v", c.last, c.now, got, c.want)
		}
	}

	daily := func(at string) planned {
		return planned{Schedule: core.Schedule{Class: core.ScheduleDaily, At: at}}
	}
	if h, m := inventoryAt([]planned{{Schedule: core.Schedule{Class: core.Schedule24x7}}, daily("18:00"), daily("06:30")}); h != 6 || m != 30 {
		t.Errorf("inventory at %d:%02d, want the earliest daily check's 6:30", h, m)
	}
	if h, m := inventoryAt(nil); h != 10 || m != 0 {
		t.Errorf("inventory at %d:%02d without daily checks, want the workstation default 10:00", h, m)
	}
}

func TestInventoryFileDamaged(t *testing.T) {
	dir := t.TempDir()
	path := inventoryPath(dir)
	log := slog.New(slog.DiscardHandler)
	s := newInvState(path, log)
	inv := protocol.NormalizeInventory(sampleInventory(4))
	s.stored(inv, protocol.InventoryDigest(inv), time.Now())
	if si := loadInventory(path, log); si == nil || si.Digest != protocol.InventoryDigest(inv) {
		t.Fatal("stored inventory not read back")
	}
	b, _ := os.ReadFile(path)
	for name, bad := range map[string][]byte{
		"truncated":  b[:len(b)/2],
		"other data": []byte(strings.Replace(string(b), "program-0001", "program-0009", 1)),
	} {
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if newInvState(path, log).base() != nil {
			t.Errorf("%s file taken as the acknowledged inventory", name)
		}
	}
	if newInvState(filepath.Join(dir, "none.json"), log).base() != nil {
		t.Error("a missing file gave an inventory")
	}
}

func TestInventoryOversizeCut(t *testing.T) {
	inv := sampleInventory(protocol.MaxPrograms)
	for i := range inv.Software {
		inv.Software[i].Publisher = strings.Repeat("p", protocol.MaxInventoryText)
	}
	inv = protocol.NormalizeInventory(inv)
	b, sent, digest, err := encodeInventory("id1", protocol.DiffInventory(nil, inv), inv)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > protocol.MaxMessageBytes {
		t.Fatalf("%d bytes, more than a message may carry", len(b))
	}
	n := len(sent.Software)
	if n == 0 || n >= len(inv.Software) || len(sent.Missing) != 1 || sent.Missing[0].Part != core.PartSoftware {
		t.Fatalf("%d programs sent, gaps %v", n, sent.Missing)
	}
	env, err := protocol.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var r protocol.InventoryReport
	if err := protocol.DecodeData(env, &r); err != nil {
		t.Fatal(err)
	}
	got, err := protocol.ApplyInventory(nil, r)
	if err != nil || protocol.InventoryDigest(got) != digest || digest != protocol.InventoryDigest(sent) {
		t.Fatalf("the cut report does not apply to its digest: %v", err)
	}
	// One more program would not have fit.
	inv2 := sent
	inv2.Software = inv.Software[:n+1]
	more, _ := protocol.Encode(protocol.TypeInventory, "id1", protocol.DiffInventory(nil, protocol.NormalizeInventory(inv2)))
	if len(more) <= protocol.MaxMessageBytes {
		t.Errorf("%d programs would have fit, only %d sent", n+1, n)
	}
	t.Logf("%d of %d programs in %d bytes", n, len(inv.Software), len(b))
}

// wireBytes returns the encoded envelopes of inv as a whole report and
// of the report of again, a later collection, against it.
func wireBytes(tb testing.TB, inv, again core.Inventory) (whole, next []byte) {
	tb.Helper()
	whole, _, _, err := encodeInventory("6f1c1c9e-3a41-4c3e-9b5e-2d1f0e7a9b10", protocol.DiffInventory(nil, inv), inv)
	if err != nil {
		tb.Fatal(err)
	}
	next, _, _, err = encodeInventory("6f1c1c9e-3a41-4c3e-9b5e-2d1f0e7a9b11", protocol.DiffInventory(&inv, again), again)
	if err != nil {
		tb.Fatal(err)
	}
	return whole, next
}

// wireCase is an inventory and a later collection of the same machine.
type wireCase struct {
	name       string
	inv, again core.Inventory
}

// wireCases are this machine's real inventory, collected twice, and one
// with 5,000 programs and no change a day later.
func wireCases() []wireCase {
	gen := protocol.NormalizeInventory(sampleInventory(5000))
	later := gen
	later.CollectedAt = gen.CollectedAt.Add(24 * time.Hour)
	return []wireCase{
		{"this-machine", inventory.Collect(context.Background()), inventory.Collect(context.Background())},
		{"5000-programs", gen, later},
	}
}

// TestInventoryWireBytes checks that a report with nothing changed carries
// little more than its digests and the gaps, for this machine's real
// inventory and for 5,000 programs.
func TestInventoryWireBytes(t *testing.T) {
	for _, c := range wireCases() {
		whole, next := wireBytes(t, c.inv, c.again)
		if protocol.InventoryDigest(c.inv) == protocol.InventoryDigest(c.again) {
			gaps, _ := json.Marshal(c.again.Missing)
			if len(next) > 300+len(gaps) {
				t.Errorf("%s: a no-change report is %d bytes", c.name, len(next))
			}
		} else {
			t.Logf("%s: the second collection found changes", c.name)
		}
		t.Logf("%s: %d programs, %d gaps; whole %d bytes, next %d bytes", c.name, len(c.inv.Software), len(c.inv.Missing), len(whole), len(next))
	}
}

// BenchmarkInventoryReport measures building and encoding a whole report
// and the next one (no change, or what changed between two real
// collections) and reports their bytes on the wire (docs/benchmarks.md):
//
//	go test ./internal/agent -run '^$' -bench InventoryReport
func BenchmarkInventoryReport(b *testing.B) {
	for _, c := range wireCases() {
		b.Run(c.name, func(b *testing.B) {
			whole, next := wireBytes(b, c.inv, c.again)
			for b.Loop() {
				wireBytes(b, c.inv, c.again)
			}
			b.ReportMetric(float64(len(whole)), "whole-bytes")
			b.ReportMetric(float64(len(next)), "next-bytes")
			b.ReportMetric(float64(len(c.inv.Software)), "programs")
		})
	}
}
