package updates

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

type fakeReg struct {
	keys  map[string]time.Time
	mvals map[string][]string
	strs  map[string]string
	fail  map[string]error
}

func (f fakeReg) key(p string) (bool, time.Time, error) {
	if err := f.fail[p]; err != nil {
		return false, time.Time{}, err
	}
	t, ok := f.keys[p]
	return ok, t, nil
}

func (f fakeReg) multi(p, n string) ([]string, bool, error) {
	if err := f.fail[p+"|"+n]; err != nil {
		return nil, false, err
	}
	v, ok := f.mvals[p+"|"+n]
	return v, ok, nil
}

func (f fakeReg) str(p, n string) (string, bool, error) {
	if err := f.fail[p+"|"+n]; err != nil {
		return "", false, err
	}
	v, ok := f.strs[p+"|"+n]
	return v, ok, nil
}

func TestWindowsReboot(t *testing.T) {
	t1 := time.Date(2024, 1, 10, 3, 0, 0, 0, time.UTC)
	t2 := time.Date(2024, 1, 9, 22, 0, 0, 0, time.UTC)
	names := map[string]string{regActiveName + "|ComputerName": "PC-OLD", regPendingName + "|ComputerName": "PC-OLD"}

	// Nothing pending: an answer, no error.
	st := windowsReboot(fakeReg{strs: names})
	if st.Pending || st.Error != "" || len(st.Reasons) != 0 {
		t.Errorf("clean: %+v", st)
	}
	// CBS and Windows Update: both reasons, the earlier time.
	st = windowsReboot(fakeReg{keys: map[string]time.Time{regCBSRebootPending: t1, regWURebootRequired: t2}, strs: names})
	if !st.Pending || !slices.Equal(st.Reasons, []string{"CBS", "WindowsUpdate"}) || !st.Since.Equal(t2) {
		t.Errorf("CBS+WU: %+v", st)
	}
	// Pending file renames (an empty value does not count) and a rename.
	st = windowsReboot(fakeReg{
		mvals: map[string][]string{
			regSessionManager + "|PendingFileRenameOperations":  {`\??\C:\Windows\Temp\a.dll`, ""},
			regSessionManager + "|PendingFileRenameOperations2": {""},
		},
		strs: map[string]string{regActiveName + "|ComputerName": "PC-OLD", regPendingName + "|ComputerName": "PC-NEW"},
	})
	if !st.Pending || !slices.Equal(st.Reasons, []string{"PendingFileRenameOperations", "ComputerRename (PC-OLD → PC-NEW)"}) || !st.Since.IsZero() {
		t.Errorf("renames: %+v", st)
	}
	// A read that failed, nothing found: unknown, never "no restart".
	st = windowsReboot(fakeReg{strs: names, fail: map[string]error{regCBSRebootPending: errors.New("Access is denied.")}})
	if st.Pending || !strings.Contains(st.Error, "Component Based Servicing") || !strings.Contains(st.Error, "Access is denied.") {
		t.Errorf("failed read: %+v", st)
	}
	// A failed read beside a found marker: pending, as found.
	st = windowsReboot(fakeReg{keys: map[string]time.Time{regWURebootRequired: t1}, strs: names,
		fail: map[string]error{regCBSRebootPending: errors.New("Access is denied.")}})
	if !st.Pending || st.Error != "" {
		t.Errorf("found and failed: %+v", st)
	}
}
