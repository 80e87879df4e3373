package procs

import (
	"context"
	"math"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestTopCPU(t *testing.T) {
	t0 := time.Unix(1000, 0)
	old, in := t0.Add(-time.Hour).UnixMilli(), t0.Add(time.Second).UnixMilli()
	before := Snapshot{At: t0, Procs: map[int32]Proc{
		1:  {PID: 1, Name: "init", CPU: 5, Created: old},
		10: {PID: 10, Name: "chrome", CPU: 100, Created: old},
		11: {PID: 11, Name: "sqlservr", CPU: 50, Created: old},
		12: {PID: 12, Name: "old", CPU: 70, Created: old}, // exits; PID reused below
		13: {PID: 13, Name: "gone", CPU: 1, Created: old},
		15: {PID: 15, Name: "kworker/0:1-events", CPU: 9, Created: old},
	}}
	after := Snapshot{At: t0.Add(10 * time.Second), Procs: map[int32]Proc{
		1:  {PID: 1, Name: "init", CPU: 5, Created: old},
		10: {PID: 10, Name: "chrome", CPU: 110, Created: old},  // 10 s of CPU in 10 s on 4 CPUs: 25 %
		11: {PID: 11, Name: "sqlservr", CPU: 70, Created: old}, // 20 s: 50 %
		12: {PID: 12, Name: "new", CPU: 1, Created: in},
		14: {PID: 14, Name: "fresh", CPU: 3, Created: in},
		15: {PID: 15, Name: "kworker/0:1-mm_percpu_wq", CPU: 10, Created: old}, // renamed itself: 1 s, 2.5 %
		16: {PID: 16, Name: "unreadable-before", CPU: 500, Created: old},       // its share is not known
	}}
	// 10 s on 4 CPUs: 40 CPU seconds passed by the OS's total counters.
	got := TopCPU(before, after, 40, 5)
	want := []Usage{{PID: 11, Name: "sqlservr", Percent: 50}, {PID: 10, Name: "chrome", Percent: 25},
		{PID: 14, Name: "fresh", Percent: 7.5}, // started in the window: all its time counts
		{PID: 12, Name: "new", Percent: 2.5}, {PID: 15, Name: "kworker/0:1-mm_percpu_wq", Percent: 2.5}}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("rank %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	got = TopCPU(before, after, 40, 1)
	if len(got) != 1 {
		t.Fatalf("limit: %+v", got)
	}
	// Of a total of 90 %, what the named processes did not use is "other".
	en, de := CPUText(got, 90)
	if en != "; top processes: sqlservr (PID 11) 50.0 %, other processes 40.0 %" || de != "; Top-Prozesse: sqlservr (PID 11) 50,0 %, andere Prozesse 40,0 %" {
		t.Errorf("%q %q", en, de)
	}
	if en, _ := CPUText(got, 50); en != "; top processes: sqlservr (PID 11) 50.0 %" {
		t.Errorf("nothing left for other processes: %q", en)
	}
	if got := TopCPU(after, before, 40, 5); got != nil {
		t.Errorf("reversed snapshots: %+v", got)
	}
}

// TestTopCPUAddsUp ranks numbers modelled on a run on a 2-CPU Linux
// machine at 100 % with builds running (the figures the old ranking gave
// there added up to 62 %): the snapshots are 2.36 s apart because reading
// the processes takes time, the OS's counters advanced 4.05 CPU seconds,
// and half the CPU went to processes that started in the window. Taken of
// the counters' CPU time, and with the new processes, the shares add up to
// the total; over wall-clock time × CPUs and without them, to 51 %.
func TestTopCPUAddsUp(t *testing.T) {
	t0 := time.Unix(1000, 0)
	before := Snapshot{At: t0, Procs: map[int32]Proc{
		14841: {PID: 14841, Name: "wacht-agent", CPU: 3.10},
		14881: {PID: 14881, Name: "sh", CPU: 0.50},
		14565: {PID: 14565, Name: "compile", CPU: 1.20},
	}}
	in := t0.Add(time.Second).UnixMilli() // started in the window
	after := Snapshot{At: t0.Add(2360 * time.Millisecond), Procs: map[int32]Proc{
		14841: {PID: 14841, Name: "wacht-agent", CPU: 3.84},
		14881: {PID: 14881, Name: "sh", CPU: 1.96},
		14565: {PID: 14565, Name: "compile", CPU: 1.42},
		14871: {PID: 14871, Name: "go", CPU: 0.70, Created: in},
		14832: {PID: 14832, Name: "link", CPU: 0.81, Created: in},
		14849: {PID: 14849, Name: "compile", CPU: 0.12, Created: in},
	}}
	got := TopCPU(before, after, 4.05, 100)
	sum := 0.0
	for _, u := range got {
		sum += u.Percent
	}
	if len(got) != 6 || got[0].Name != "sh" || math.Abs(sum-100) > 0.5 {
		t.Errorf("ranking %+v adds up to %.2f %%, want 100 %%", got, sum)
	}
}

func TestTopMemory(t *testing.T) {
	s := Snapshot{Procs: map[int32]Proc{
		1: {PID: 1, Name: "a", RSS: 1 << 20},
		2: {PID: 2, Name: "java", RSS: 3 << 30},
		3: {PID: 3, Name: "kthread"},
		4: {PID: 4, Name: "b", RSS: 512 << 20},
	}}
	got := TopMemory(s, 8<<30, 2)
	if len(got) != 2 || got[0].Name != "java" || got[0].Percent != 37.5 || got[1].Name != "b" {
		t.Fatalf("%+v", got)
	}
	en, de := MemoryText(got)
	if en != "; top processes: java (PID 2) 3.0 GB, b (PID 4) 512.0 MB" || de != "; Top-Prozesse: java (PID 2) 3,0 GB, b (PID 4) 512,0 MB" {
		t.Errorf("%q %q", en, de)
	}
	if en, de := MemoryText(nil); en != "" || de != "" {
		t.Error("empty ranking worded")
	}
}

// TestRealBusyProcess burns CPU in this process between two real
// snapshots and expects it among the processes that used CPU.
func TestRealBusyProcess(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		t.Skip("no process list here")
	}
	ctx := context.Background()
	before, err := Take(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		for !stop.Load() {
		}
		close(done)
	}()
	time.Sleep(time.Second)
	stop.Store(true)
	<-done
	after, err := Take(ctx)
	if err != nil {
		t.Fatal(err)
	}
	me := int32(os.Getpid())
	if after.Procs[me].RSS == 0 {
		t.Errorf("own RSS not read: %+v", after.Procs[me])
	}
	for _, u := range TopCPU(before, after, after.At.Sub(before.At).Seconds()*float64(runtime.NumCPU()), 1000) {
		if u.PID == me {
			t.Logf("own CPU share %.1f %%", u.Percent)
			return
		}
	}
	t.Fatalf("busy test process %d not ranked", me)
}
