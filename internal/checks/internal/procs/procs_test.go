package procs

import (
	"context"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestTopCPU(t *testing.T) {
	t0 := time.Unix(1000, 0)
	before := Snapshot{At: t0, Procs: map[int32]Proc{
		1:  {PID: 1, Name: "init", CPU: 5},
		10: {PID: 10, Name: "chrome", CPU: 100},
		11: {PID: 11, Name: "sqlservr", CPU: 50},
		12: {PID: 12, Name: "old", CPU: 70}, // exits; PID reused below
		13: {PID: 13, Name: "gone", CPU: 1},
	}}
	after := Snapshot{At: t0.Add(10 * time.Second), Procs: map[int32]Proc{
		1:  {PID: 1, Name: "init", CPU: 5},
		10: {PID: 10, Name: "chrome", CPU: 110},  // 10 s of CPU in 10 s on 4 CPUs: 25 %
		11: {PID: 11, Name: "sqlservr", CPU: 70}, // 20 s: 50 %
		12: {PID: 12, Name: "new", CPU: 1},
		14: {PID: 14, Name: "fresh", CPU: 3},
	}}
	got := TopCPU(before, after, 4, 5)
	if len(got) != 2 || got[0].Name != "sqlservr" || got[0].Percent != 50 || got[1].Name != "chrome" || got[1].Percent != 25 {
		t.Fatalf("%+v", got)
	}
	got = TopCPU(before, after, 4, 1)
	if len(got) != 1 {
		t.Fatalf("limit: %+v", got)
	}
	en, de := CPUText(got)
	if en != "; top processes: sqlservr (PID 11) 50.0 %" || de != "; Top-Prozesse: sqlservr (PID 11) 50,0 %" {
		t.Errorf("%q %q", en, de)
	}
	if got := TopCPU(after, before, 4, 5); got != nil {
		t.Errorf("reversed snapshots: %+v", got)
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
	for _, u := range TopCPU(before, after, runtime.NumCPU(), 1000) {
		if u.PID == me {
			t.Logf("own CPU share %.1f %%", u.Percent)
			return
		}
	}
	t.Fatalf("busy test process %d not ranked", me)
}
