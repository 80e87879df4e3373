package main

import (
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"runtime/metrics"
	"testing"
)

type fakeSvcLog struct{ lines []string }

func (f *fakeSvcLog) log(level string, v ...any) error {
	f.lines = append(f.lines, level+": "+fmt.Sprint(v...))
	return nil
}
func (f *fakeSvcLog) Error(v ...any) error              { return f.log("E", v...) }
func (f *fakeSvcLog) Warning(v ...any) error            { return f.log("W", v...) }
func (f *fakeSvcLog) Info(v ...any) error               { return f.log("I", v...) }
func (f *fakeSvcLog) Errorf(s string, a ...any) error   { return f.log("E", fmt.Sprintf(s, a...)) }
func (f *fakeSvcLog) Warningf(s string, a ...any) error { return f.log("W", fmt.Sprintf(s, a...)) }
func (f *fakeSvcLog) Infof(s string, a ...any) error    { return f.log("I", fmt.Sprintf(s, a...)) }

func TestServiceHandler(t *testing.T) {
	f := &fakeSvcLog{}
	l := slog.New(&serviceHandler{l: f}).With("device", 7)
	l.Debug("hidden")
	l.Info("connected", "server", "https://x")
	l.Warn("session ended", "err", "eof")
	l.Error("cannot spool")
	want := []string{
		"I: connected device=7 server=https://x",
		"W: session ended device=7 err=eof",
		"E: cannot spool device=7",
	}
	if !reflect.DeepEqual(f.lines, want) {
		t.Errorf("got %q", f.lines)
	}
}

func TestServiceConfig(t *testing.T) {
	c := serviceConfig("/var/lib/wacht-agent")
	if c.Name != "wacht-agent" || !reflect.DeepEqual(c.Arguments, []string{"run", "--data", "/var/lib/wacht-agent"}) {
		t.Errorf("config %+v", c)
	}
	if c.Option["Restart"] != "always" || c.Option["OnFailure"] != "restart" || c.Option["KeepAlive"] != true {
		t.Errorf("service is not restarted on failure: %v", c.Option)
	}
}

// The soft memory limit counts what the runtime holds besides the heap (its
// metadata, the profiling hash table, goroutine stacks: about 6 MB in the
// agent), and must leave the heap room above it: at 8 MiB the agent's heap
// goal was 1 MB, so every allocation started a collection, and the idle
// agent spent 0.55 % of a core and a download half the agent's CPU
// collecting (docs/benchmarks.md, "Agent footprint").
func TestMemoryLimitLeavesHeapRoom(t *testing.T) {
	runtime.GC()
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(s)
	v := func(i int) int64 { return int64(s[i].Value.Uint64()) }
	overhead := v(0) - v(1) - v(2) - v(3) - v(4)
	room := agentMemoryLimit - overhead
	t.Logf("runtime overhead %.1f MiB, heap room %.1f MiB", float64(overhead)/(1<<20), float64(room)/(1<<20))
	if room < 5<<20 {
		t.Errorf("the %d MiB memory limit leaves the heap %.1f MiB above the runtime's own %.1f MiB; want at least 5",
			agentMemoryLimit>>20, float64(room)/(1<<20), float64(overhead)/(1<<20))
	}
}
