//go:build linux || darwin

package loadsim

import "syscall"

// raiseFileLimit lifts the soft open-file limit towards want: up to the hard
// limit always, beyond it when the process may (root, CAP_SYS_RESOURCE).
// It returns the soft limit in effect afterwards.
func raiseFileLimit(want uint64) (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	if uint64(r.Cur) >= want {
		return uint64(r.Cur), nil
	}
	if uint64(r.Max) < want {
		raised := r
		raised.Cur, raised.Max = want, want
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return want, nil
		}
	}
	r.Cur = r.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	return uint64(r.Cur), nil
}
