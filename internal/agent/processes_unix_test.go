//go:build unix

package agent

import (
	"bufio"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// startProc starts a program that the test ends (or kills at cleanup),
// waits until it printed its first line, and returns it with its identity.
func startProc(t *testing.T, argv ...string) (*exec.Cmd, target, <-chan error) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("%v did not get ready: %v", argv, err)
	}
	go func() { done <- cmd.Wait() }()
	p, err := process.NewProcess(int32(cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	created, err := p.CreateTime()
	if err != nil {
		t.Fatal(err)
	}
	return cmd, target{int32(cmd.Process.Pid), created}, done
}

func TestProcessListThroughGateway(t *testing.T) {
	l := startLive(t, liveOpts{})
	ctx := ctxT(t)
	long := strings.Repeat("ä", protocol.MaxCmdline)
	_, sh, _ := startProc(t, "sh", "-c", "echo ready; sleep 300; exit 0", "wacht-test", long)
	_, busy, _ := startProc(t, "sh", "-c", "echo ready; while :; do :; done")
	var list protocol.ProcessList
	if err := l.hub.Do(ctx, l.deviceID, protocol.ActionProcesses, protocol.ProcessesArgs{}, &list); err != nil {
		t.Fatal(err)
	}
	find := func(pid int32) *protocol.Process {
		i := slices.IndexFunc(list.Processes, func(p protocol.Process) bool { return p.PID == pid })
		if i < 0 {
			t.Fatalf("process %d not listed among %d", pid, len(list.Processes))
		}
		return &list.Processes[i]
	}
	me, _ := user.Current()
	p := find(sh.pid)
	if p.PPID != int32(os.Getpid()) || p.Name != "sh" || p.StartTime != sh.created || p.RSSBytes == 0 || p.User != me.Username ||
		!strings.HasPrefix(p.Cmdline, "sh -c echo ready; sleep 300; exit 0 wacht-test ää") || !p.CmdlineTruncated || len(p.Cmdline) > protocol.MaxCmdline {
		t.Errorf("listed %+v", *p)
	}
	if !strings.HasSuffix(p.Cmdline, "ä") {
		t.Error("command line cut inside a character")
	}
	if b := find(busy.pid); b.CPUPercent <= 0 || b.CPUPercent > 100 || list.SampleMS != int(cpuSample/time.Millisecond) {
		t.Errorf("busy loop: %.1f %% over %d ms", b.CPUPercent, list.SampleMS)
	}
	if self := find(int32(os.Getpid())); self.Cmdline == "" {
		t.Errorf("own command line missing: %+v", *self)
	}
}

// TestProcessKillIgnoringTERM: a process that ignores SIGTERM is killed
// after the grace period; a wrong start time (a reused PID) kills nothing.
func TestProcessKillIgnoringTERM(t *testing.T) {
	l := startLive(t, liveOpts{})
	ctx := ctxT(t)
	_, p, done := startProc(t, "sh", "-c", `trap "" TERM; echo ready; while :; do sleep 1; done`)

	// The PID now stands for a process that started at another time.
	err := l.hub.Do(ctx, l.deviceID, protocol.ActionProcessKill, protocol.ProcessKillArgs{PID: p.pid, StartTime: p.created - 1000}, nil)
	wantCode(t, "reused PID", err, protocol.CodeNotFound)
	if !p.same(ctx) {
		t.Fatal("a process with a mismatching start time was ended")
	}
	for _, pid := range []int32{0, 1, int32(os.Getpid())} {
		err := l.hub.Do(ctx, l.deviceID, protocol.ActionProcessKill, protocol.ProcessKillArgs{PID: pid, StartTime: p.created}, nil)
		wantCode(t, "protected PID", err, protocol.CodeBadArgs)
	}
	err = l.hub.Do(ctx, l.deviceID, protocol.ActionProcessKill, protocol.ProcessKillArgs{PID: p.pid, StartTime: p.created, GraceSeconds: 3600}, nil)
	wantCode(t, "grace too long", err, protocol.CodeBadArgs)

	var res protocol.ProcessKillResult
	err = l.hub.Do(ctx, l.deviceID, protocol.ActionProcessKill, protocol.ProcessKillArgs{PID: p.pid, StartTime: p.created, GraceSeconds: 1}, &res)
	if err != nil || !slices.Equal(res.Ended, []int32{p.pid}) || !slices.Equal(res.Forced, []int32{p.pid}) {
		t.Fatalf("kill = %+v, %v", res, err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("process ended with %v, want killed", err)
	}
	err = l.hub.Do(ctx, l.deviceID, protocol.ActionProcessKill, protocol.ProcessKillArgs{PID: p.pid, StartTime: p.created}, nil)
	wantCode(t, "already ended", err, protocol.CodeNotFound)
}

// TestProcessKillTree: a tree ends with its children, which end first.
func TestProcessKillTree(t *testing.T) {
	l := startLive(t, liveOpts{})
	ctx := ctxT(t)
	_, root, done := startProc(t, "sh", "-c", `sleep 300 & sleep 301 & echo ready; wait`)
	kids, err := tree(ctx, root)
	if err != nil || len(kids) != 3 || kids[2] != root {
		t.Fatalf("tree %+v, %v", kids, err)
	}
	var res protocol.ProcessKillResult
	err = l.hub.Do(ctx, l.deviceID, protocol.ActionProcessKill, protocol.ProcessKillArgs{PID: root.pid, StartTime: root.created, Tree: true}, &res)
	if err != nil || len(res.Ended) != 3 || res.Ended[2] != root.pid || len(res.Forced) != 0 {
		t.Fatalf("kill tree = %+v, %v", res, err)
	}
	<-done // the shell may exit by itself once its children ended first
	for _, k := range kids {
		if k.same(ctx) {
			t.Errorf("process %d still runs", k.pid)
		}
	}
}

func TestTruncateUTF8(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
		cut  bool
	}{{"abc", 3, "abc", false}, {"abcd", 3, "abc", true}, {"aä", 2, "a", true}, {"äö", 3, "ä", true}, {"äö", 4, "äö", false}} {
		if got, cut := truncateUTF8(tc.in, tc.max); got != tc.want || cut != tc.cut {
			t.Errorf("truncateUTF8(%q, %d) = %q %v", tc.in, tc.max, got, cut)
		}
	}
}
