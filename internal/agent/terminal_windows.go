//go:build windows

package agent

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// conPTY is a shell on a Windows pseudo console (ConPTY, Windows 10 1809
// and later) inside a job object that kills every process of the session
// when it ends. Compiled and vetted in CI; not yet run under Wine.
type conPTY struct {
	hpc     windows.Handle // the pseudo console
	job     windows.Handle
	process windows.Handle
	pid     int
	in      *os.File // keystrokes to the console
	out     *os.File // the console's output
	exited  chan struct{}
	once    sync.Once
}

func startPTY(argv []string, rows, cols uint16) (ptyProc, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, err
	}
	var inR, inW, outR, outW windows.Handle
	if err := windows.CreatePipe(&inR, &inW, nil, 0); err != nil {
		return nil, fmt.Errorf("creating the input pipe: %w", err)
	}
	if err := windows.CreatePipe(&outR, &outW, nil, 0); err != nil {
		windows.CloseHandle(inR)
		windows.CloseHandle(inW)
		return nil, fmt.Errorf("creating the output pipe: %w", err)
	}
	p := &conPTY{in: os.NewFile(uintptr(inW), "conpty-in"), out: os.NewFile(uintptr(outR), "conpty-out"), exited: make(chan struct{})}
	err = windows.CreatePseudoConsole(windows.Coord{X: int16(cols), Y: int16(rows)}, inR, outW, 0, &p.hpc)
	// The console holds its own ends of the pipes now: once it closes,
	// reading its output ends.
	windows.CloseHandle(inR)
	windows.CloseHandle(outW)
	if err != nil {
		p.release()
		return nil, fmt.Errorf("creating the pseudo console: %w", err)
	}
	if err := p.start(path, argv); err != nil {
		p.release()
		return nil, err
	}
	go func() {
		windows.WaitForSingleObject(p.process, windows.INFINITE)
		close(p.exited)
	}()
	return p, nil
}

// start creates the shell suspended on the pseudo console, puts it into
// a job that dies with its handle, and lets it run.
func (p *conPTY) start(path string, argv []string) error {
	attrs, err := windows.NewProcThreadAttributeList(1)
	if err != nil {
		return err
	}
	defer attrs.Delete()
	// The attribute's value is the console handle itself, not its address.
	if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, *(*unsafe.Pointer)(unsafe.Pointer(&p.hpc)), unsafe.Sizeof(p.hpc)); err != nil {
		return fmt.Errorf("attaching the pseudo console: %w", err)
	}
	si := &windows.StartupInfoEx{ProcThreadAttributeList: attrs.List()}
	si.Cb = uint32(unsafe.Sizeof(*si))
	si.Flags = windows.STARTF_USESTDHANDLES // none inherited: the console's are used
	app, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	cmdline, err := windows.UTF16PtrFromString(windows.ComposeCommandLine(argv))
	if err != nil {
		return err
	}
	var dir *uint16
	if home, err := os.UserHomeDir(); err == nil {
		dir, _ = windows.UTF16PtrFromString(home)
	}
	p.job, err = windows.CreateJobObject(nil, nil)
	if err != nil {
		return fmt.Errorf("creating a job object: %w", err)
	}
	limits := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	limits.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(p.job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&limits)), uint32(unsafe.Sizeof(limits))); err != nil {
		return fmt.Errorf("limiting the job object: %w", err)
	}
	var pi windows.ProcessInformation
	flags := uint32(windows.EXTENDED_STARTUPINFO_PRESENT | windows.CREATE_UNICODE_ENVIRONMENT | windows.CREATE_SUSPENDED)
	if err := windows.CreateProcess(app, cmdline, nil, nil, false, flags, envBlock(os.Environ()), dir, &si.StartupInfo, &pi); err != nil {
		return fmt.Errorf("starting %s: %w", path, err)
	}
	defer windows.CloseHandle(pi.Thread)
	p.process, p.pid = pi.Process, int(pi.ProcessId)
	if err := windows.AssignProcessToJobObject(p.job, pi.Process); err != nil {
		windows.TerminateProcess(pi.Process, 1)
		return fmt.Errorf("assigning %s to its job: %w", path, err)
	}
	if _, err := windows.ResumeThread(pi.Thread); err != nil {
		windows.TerminateJobObject(p.job, 1)
		return fmt.Errorf("resuming %s: %w", path, err)
	}
	return nil
}

// envBlock is env as a CreateProcess environment block.
func envBlock(env []string) *uint16 {
	var b []uint16
	for _, kv := range env {
		u, err := windows.UTF16FromString(kv) // ends with a NUL
		if err == nil {
			b = append(b, u...)
		}
	}
	b = append(b, 0)
	if len(b) == 1 {
		b = append(b, 0)
	}
	return &b[0]
}

func (p *conPTY) Read(b []byte) (int, error)  { return p.out.Read(b) }
func (p *conPTY) Write(b []byte) (int, error) { return p.in.Write(b) }
func (p *conPTY) PID() int                    { return p.pid }
func (p *conPTY) Exited() <-chan struct{}     { return p.exited }

func (p *conPTY) Resize(rows, cols uint16) error {
	return windows.ResizePseudoConsole(p.hpc, windows.Coord{X: int16(cols), Y: int16(rows)})
}

func (p *conPTY) Kill() {
	p.once.Do(func() {
		windows.TerminateJobObject(p.job, 1)
		<-p.exited
		p.release()
	})
}

// release closes every handle held. ClosePseudoConsole may wait until
// the console's last output was read, and the session's reader may have
// stopped (the server went away): the output is drained meanwhile.
func (p *conPTY) release() {
	p.in.Close()
	drained := make(chan struct{})
	go func() {
		io.Copy(io.Discard, p.out)
		close(drained)
	}()
	if p.hpc != 0 {
		windows.ClosePseudoConsole(p.hpc)
	} else {
		p.out.Close()
	}
	<-drained // the console closed its end
	p.out.Close()
	for _, h := range []windows.Handle{p.job, p.process} {
		if h != 0 {
			windows.CloseHandle(h)
		}
	}
}
