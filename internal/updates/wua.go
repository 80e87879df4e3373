package updates

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/wua"
)

// Serverer is implemented by a Source that asks an update server other
// than its vendor's: the Windows Update source names the WSUS group policy
// points it at (PatchSourceStatus.Server), "" for Microsoft Update.
type Serverer interface {
	Server() string
}

// wuaSource is the Windows Update Agent as a Source; its functions are
// internal/platform/wua's on Windows and fakes in the tests.
type wuaSource struct {
	search  func(context.Context) ([]core.Update, error)
	install func(context.Context, []string, func(wua.InstallResult)) ([]wua.InstallResult, error)
	server  func() (string, error)
}

// WindowsUpdate is the Windows Update Agent source (an ErrUnsupported
// error from Scan on other systems).
func WindowsUpdate() Source {
	return wuaSource{search: wua.Search, install: wua.Install, server: wua.Server}
}

func (wuaSource) Name() string { return core.SourceWindowsUpdate }

// Server is the WSUS of group policy, "" for Microsoft Update or when the
// policy cannot be read.
func (s wuaSource) Server() string {
	if s.server == nil {
		return ""
	}
	srv, err := s.server()
	if err != nil {
		return ""
	}
	return srv
}

func (s wuaSource) Scan(ctx context.Context) ([]core.Update, error) {
	us, err := s.search(ctx)
	if err != nil {
		return nil, wuaErr("Windows Update search failed", "Windows-Update-Suche fehlgeschlagen", err)
	}
	return us, nil
}

// wuaErr words an error of the Windows Update Agent: an HRESULT by
// WUText, the unsupported and cancelled cases as they are.
func wuaErr(opEN, opDE string, err error) error {
	switch {
	case errors.Is(err, errors.ErrUnsupported), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, wua.ErrBusy):
		return &TextError{Code: "busy", Is: ErrBusy, Err: err, Text: core.Text{
			EN: opEN + ": another Windows Update installation is running",
			DE: opDE + ": eine andere Windows-Update-Installation läuft"}}
	}
	if hr, ok := wua.HResultOf(err); ok {
		te := wuError(opEN, opDE, hr, err)
		if we, ok := errors.AsType[*wua.Error](err); ok {
			te.Text.EN += " (" + we.Op + ")"
			te.Text.DE += " (" + we.Op + ")"
		}
		return te
	}
	return &TextError{Err: err, Text: core.Text{EN: opEN + ": " + err.Error(), DE: opDE + ": " + err.Error()}}
}

// wuaOrder puts servicing stack updates first: the others may need them.
func wuaOrder(us []core.Update) []core.Update {
	out := slices.Clone(us)
	slices.SortStableFunc(out, func(a, b core.Update) int {
		sa, sb := isSSU(a), isSSU(b)
		switch {
		case sa && !sb:
			return -1
		case sb && !sa:
			return 1
		}
		return 0
	})
	return out
}

func isSSU(u core.Update) bool {
	t := strings.ToLower(u.Title)
	return strings.Contains(t, "servicing stack update") || strings.Contains(t, "wartungsstapelupdate")
}

func (s wuaSource) Install(ctx context.Context, us []core.Update, progress func(Result)) ([]Result, error) {
	us = wuaOrder(us)
	ids := make([]string, len(us))
	byID := make(map[string]core.Update, len(us))
	for i, u := range us {
		ids[i] = u.ID
		byID[strings.ToLower(u.ID)] = u
	}
	var out []Result
	rs, err := s.install(ctx, ids, func(r wua.InstallResult) {
		res := wuaResult(byID[strings.ToLower(r.UpdateID)], r)
		out = append(out, res)
		if progress != nil {
			progress(res)
		}
	})
	if err != nil {
		return out, wuaErr("Windows Update installation failed", "Windows-Update-Installation fehlgeschlagen", err)
	}
	if len(rs) != len(out) { // an install without progress calls
		out = out[:0]
		for _, r := range rs {
			out = append(out, wuaResult(byID[strings.ToLower(r.UpdateID)], r))
		}
	}
	return out, nil
}

// wuaResult words one update's download and install outcome.
func wuaResult(u core.Update, r wua.InstallResult) Result {
	res := Result{Key: u.Key, OK: r.OK(), RebootNeeded: r.RebootRequired}
	if res.Key == "" {
		res.Key = core.UpdateKey(core.SourceWindowsUpdate, r.UpdateID, "")
	}
	switch {
	case r.Phase == "search":
		res.Code = "not-offered"
		res.Message = core.Text{
			EN: "Windows Update no longer offers this update (installed meanwhile, superseded or withdrawn)",
			DE: "Windows Update bietet dieses Update nicht mehr an (inzwischen installiert, ersetzt oder zurückgezogen)"}
	case res.OK && r.RebootRequired:
		res.Message = core.Text{EN: "installed; a restart completes it", DE: "installiert; ein Neustart schließt die Installation ab"}
	case res.OK:
		res.Message = core.Text{EN: "installed", DE: "installiert"}
	default:
		phaseEN, phaseDE := "installation", "Installation"
		if r.Phase == "download" {
			phaseEN, phaseDE = "download", "Download"
		}
		if r.HResult != 0 {
			t := WUText(r.HResult)
			res.Code = WUCode(r.HResult)
			res.Message = core.Text{EN: phaseEN + " failed: " + t.EN, DE: phaseDE + " fehlgeschlagen: " + t.DE}
		} else {
			res.Code = fmt.Sprintf("result %d", r.ResultCode)
			res.Message = core.Text{
				EN: fmt.Sprintf("%s %s (result code %d)", phaseEN, wua.ResultName(r.ResultCode), r.ResultCode),
				DE: fmt.Sprintf("%s: Ergebnis %d (%s)", phaseDE, r.ResultCode, wua.ResultName(r.ResultCode))}
		}
	}
	return res
}
