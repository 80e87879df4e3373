package updates

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/wua"
)

func TestWUAScanErrors(t *testing.T) {
	cases := []struct {
		err      error
		en, code string
		is       error
	}{
		{&wua.Error{Op: "IUpdateSearcher.Search", HResult: 0x8024402C}, "Windows Update search failed: 0x8024402C WU_E_PT_WINHTTP_NAME_NOT_RESOLVED", "0x8024402C", nil},
		{fmt.Errorf("walk: %w", &wua.Error{Op: "IUpdateSearcher.Search", HResult: 0x80070070}), "not enough free disk space", "0x80070070", ErrDiskFull},
		{wua.ErrBusy, "another Windows Update installation", "busy", ErrBusy},
		{errors.New("the search failed (ISearchResult.ResultCode 4)"), "ResultCode 4", "", nil},
	}
	for _, c := range cases {
		s := wuaSource{search: func(context.Context) ([]core.Update, error) { return nil, c.err }}
		us, err := s.Scan(context.Background())
		if err == nil || us != nil {
			t.Fatalf("%v: updates %v, error %v", c.err, us, err)
		}
		te, ok := errors.AsType[*TextError](err)
		if !ok || !strings.Contains(te.Text.EN, c.en) || te.Code != c.code || te.Text.DE == "" || te.Text.DE == te.Text.EN {
			t.Errorf("%v: %#v", c.err, err)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%v: not %v", c.err, c.is)
		}
	}
	// Unsupported stays unsupported (the agent reports "unsupported").
	s := wuaSource{search: func(context.Context) ([]core.Update, error) {
		return nil, fmt.Errorf("no WUA: %w", errors.ErrUnsupported)
	}}
	if _, err := s.Scan(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("unsupported became %v", err)
	}
}

func TestWUAInstall(t *testing.T) {
	us := []core.Update{
		{Key: "windows-update:aaa@1", ID: "aaa", Title: "2024-01 Cumulative Update for Windows 10 (KB5034122)"},
		{Key: "windows-update:bbb@2", ID: "bbb", Title: "2024-01 Servicing Stack Update for Windows 10 (KB5034232)"},
		{Key: "windows-update:ccc@1", ID: "ccc", Title: "2024-01 Security Update (KB5034441)"},
		{Key: "windows-update:ddd@1", ID: "ddd", Title: "Gone"},
	}
	var asked []string
	s := wuaSource{install: func(_ context.Context, ids []string, progress func(wua.InstallResult)) ([]wua.InstallResult, error) {
		asked = ids
		rs := []wua.InstallResult{
			{UpdateID: "BBB", Phase: "install", ResultCode: wua.ResultSucceeded},
			{UpdateID: "aaa", Phase: "install", ResultCode: wua.ResultSucceeded, RebootRequired: true},
			{UpdateID: "ccc", Phase: "install", ResultCode: wua.ResultFailed, HResult: 0x80070643},
			{UpdateID: "ddd", Phase: "search", ResultCode: wua.ResultFailed},
		}
		for _, r := range rs {
			progress(r)
		}
		return rs, nil
	}}
	var seen int
	rs, err := s.Install(context.Background(), us, func(Result) { seen++ })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, ",") != "bbb,aaa,ccc,ddd" {
		t.Errorf("install order %v: the servicing stack update goes first", asked)
	}
	if seen != 4 || len(rs) != 4 {
		t.Fatalf("progress %d, results %+v", seen, rs)
	}
	if !rs[0].OK || rs[0].Key != "windows-update:bbb@2" || rs[0].RebootNeeded {
		t.Errorf("SSU: %+v", rs[0])
	}
	if !rs[1].OK || !rs[1].RebootNeeded || !strings.Contains(rs[1].Message.DE, "Neustart") {
		t.Errorf("CU: %+v", rs[1])
	}
	if rs[2].OK || rs[2].Code != "0x80070643" || !strings.Contains(rs[2].Message.EN, "installation failed: 0x80070643 ERROR_INSTALL_FAILURE") {
		t.Errorf("failed: %+v", rs[2])
	}
	if rs[3].OK || rs[3].Code != "not-offered" || rs[3].Key != "windows-update:ddd@1" {
		t.Errorf("gone: %+v", rs[3])
	}
	// Busy before anything: ErrBusy, no results.
	s.install = func(context.Context, []string, func(wua.InstallResult)) ([]wua.InstallResult, error) {
		return nil, wua.ErrBusy
	}
	if rs, err := s.Install(context.Background(), us, nil); !errors.Is(err, ErrBusy) || len(rs) != 0 {
		t.Errorf("busy: %v %v", rs, err)
	}
}

func TestWUAResultDownloadFailure(t *testing.T) {
	r := wuaResult(core.Update{Key: "k"}, wua.InstallResult{Phase: "download", ResultCode: wua.ResultFailed, HResult: 0x80246008})
	if r.OK || r.Code != "0x80246008" || !strings.HasPrefix(r.Message.EN, "download failed") || !strings.HasPrefix(r.Message.DE, "Download fehlgeschlagen") {
		t.Errorf("%+v", r)
	}
	r = wuaResult(core.Update{Key: "k"}, wua.InstallResult{Phase: "install", ResultCode: wua.ResultAborted})
	if r.OK || r.Code != "result 5" || !strings.Contains(r.Message.EN, "aborted") {
		t.Errorf("%+v", r)
	}
}
