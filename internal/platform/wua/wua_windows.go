//go:build windows

package wua

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"github.com/go-ole/go-ole"
	"github.com/go-ole/go-ole/oleutil"
	"golang.org/x/sys/windows/registry"

	"github.com/wacht-rmm/wacht/internal/core"
)

// clientID names Wacht to the Windows Update Agent (its log and history).
const clientID = "Wacht"

const (
	dispUnknownName    = 0x80020006
	dispMemberNotFound = 0x80020003
	dispException      = 0x80020009
)

// comErr turns a go-ole error into an *Error with the HRESULT that counts:
// the SCODE of the exception a property or method raised, else the
// call's own.
func comErr(op string, err error) error {
	if err == nil {
		return nil
	}
	oe, ok := errors.AsType[*ole.OleError](err)
	if !ok {
		return fmt.Errorf("%s: %w", op, err)
	}
	hr := uint32(oe.Code())
	if hr == dispUnknownName || hr == dispMemberNotFound {
		return fmt.Errorf("%s: %w", op, ErrNoProperty)
	}
	desc := oe.Description()
	if ei, ok := oe.SubError().(ole.EXCEPINFO); ok && hr == dispException && ei.SCODE() != 0 {
		hr = ei.SCODE()
	}
	return &Error{Op: op, HResult: hr, Desc: desc, Err: err}
}

// releaser keeps every IDispatch a walk obtained, to release them at its
// end.
type releaser struct{ ds []*ole.IDispatch }

func (r *releaser) keep(d *ole.IDispatch) *ole.IDispatch {
	if d != nil {
		r.ds = append(r.ds, d)
	}
	return d
}

func (r *releaser) release() {
	for i := len(r.ds) - 1; i >= 0; i-- {
		r.ds[i].Release()
	}
	r.ds = nil
}

// comNode is a node over an IDispatch.
type comNode struct {
	d    *ole.IDispatch
	name string
	r    *releaser
}

func (c comNode) get(name string, args ...any) (*ole.VARIANT, error) {
	v, err := oleutil.GetProperty(c.d, name, args...)
	if err != nil {
		return nil, comErr(c.name+"."+name, err)
	}
	return v, nil
}

func (c comNode) object(name string, args ...any) (comNode, error) {
	v, err := c.get(name, args...)
	if err != nil {
		return comNode{}, err
	}
	if v.VT != ole.VT_DISPATCH || v.ToIDispatch() == nil {
		v.Clear()
		return comNode{}, fmt.Errorf("%s.%s: %w", c.name, name, ErrNoProperty)
	}
	return comNode{d: c.r.keep(v.ToIDispatch()), name: name, r: c.r}, nil
}

func (c comNode) prop(name string) (any, error) {
	v, err := c.get(name)
	if err != nil {
		return nil, err
	}
	defer v.Clear()
	return variantValue(v)
}

func (c comNode) child(name string) (node, error) { return c.object(name) }

func (c comNode) count() (int, error) {
	v, err := c.prop("Count")
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok || n < 0 || n > 100000 {
		return 0, fmt.Errorf("%s.Count: %v", c.name, v)
	}
	return int(n), nil
}

func (c comNode) items(name string) ([]node, error) {
	coll, err := c.object(name)
	if err != nil {
		return nil, err
	}
	n, err := coll.count()
	if err != nil {
		return nil, err
	}
	out := make([]node, 0, n)
	for i := range n {
		it, err := coll.object("Item", i)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

func (c comNode) strs(name string) ([]string, error) {
	coll, err := c.object(name)
	if err != nil {
		return nil, err
	}
	n, err := coll.count()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, n)
	for i := range n {
		v, err := coll.get("Item", i)
		if err != nil {
			return nil, err
		}
		out = append(out, v.ToString())
		v.Clear()
	}
	return out, nil
}

// variantValue converts the VARIANT types the Windows Update Agent
// answers with: integers to int64, DECIMAL (MaxDownloadSize) to int64,
// DATE to time.Time.
func variantValue(v *ole.VARIANT) (any, error) {
	switch v.VT {
	case ole.VT_EMPTY, ole.VT_NULL:
		return nil, nil
	case ole.VT_DECIMAL:
		return decimal(v)
	case ole.VT_DATE:
		if t, ok := v.Value().(time.Time); ok {
			return t, nil
		}
		return nil, fmt.Errorf("an invalid date")
	}
	switch x := v.Value().(type) {
	case int8:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case int64:
		return x, nil
	case uint64:
		return int64(x), nil
	case int:
		return int64(x), nil
	case uint:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case float64, string, bool:
		return x, nil
	}
	return nil, fmt.Errorf("an unexpected VARIANT type %d", v.VT)
}

// decimal reads a VT_DECIMAL, which go-ole does not convert: the 16 bytes
// of the VARIANT are a DECIMAL (wReserved, scale, sign, Hi32, Lo64).
func decimal(v *ole.VARIANT) (any, error) {
	b := (*[16]byte)(unsafe.Pointer(v))
	scale, sign := b[2], b[3]
	hi := uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24
	var lo uint64
	for i := 7; i >= 0; i-- {
		lo = lo<<8 | uint64(b[8+i])
	}
	n := new(big.Int).Lsh(big.NewInt(int64(hi)), 64)
	n.Add(n, new(big.Int).SetUint64(lo))
	if scale > 0 {
		n.Quo(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	}
	if !n.IsInt64() {
		return nil, fmt.Errorf("a DECIMAL out of range")
	}
	x := n.Int64()
	if sign&0x80 != 0 {
		x = -x
	}
	return x, nil
}

// withSession runs f on a goroutine locked to its OS thread with COM
// initialized and a Microsoft.Update.Session, and returns when f does or
// ctx ends (the call goes on in the background then: the Windows Update
// Agent's synchronous calls cannot be cancelled).
func withSession[T any](ctx context.Context, f func(s comNode) (T, error)) (T, error) {
	type res struct {
		v   T
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var r res
		defer func() {
			if p := recover(); p != nil {
				r.err = fmt.Errorf("Windows Update Agent: %v", p)
			}
			ch <- r
		}()
		if err := ole.CoInitializeEx(0, ole.COINIT_MULTITHREADED); err != nil {
			if oe, ok := errors.AsType[*ole.OleError](err); !ok || oe.Code() != 1 { // S_FALSE: already initialized
				r.err = comErr("CoInitializeEx", err)
				return
			}
		}
		defer ole.CoUninitialize()
		rel := &releaser{}
		defer rel.release()
		unk, err := oleutil.CreateObject("Microsoft.Update.Session")
		if err != nil {
			r.err = comErr("CoCreateInstance Microsoft.Update.Session", err)
			return
		}
		defer unk.Release()
		d, err := unk.QueryInterface(ole.IID_IDispatch)
		if err != nil {
			r.err = comErr("IUpdateSession", err)
			return
		}
		s := comNode{d: rel.keep(d), name: "IUpdateSession", r: rel}
		// Best effort: it only names the caller in the agent's log.
		if v, err := oleutil.PutProperty(d, "ClientApplicationID", clientID); err == nil {
			v.Clear()
		}
		r.v, r.err = f(s)
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func call(c comNode, method string, args ...any) (comNode, error) {
	v, err := oleutil.CallMethod(c.d, method, args...)
	if err != nil {
		return comNode{}, comErr(c.name+"."+method, err)
	}
	if v.VT != ole.VT_DISPATCH || v.ToIDispatch() == nil {
		v.Clear()
		return comNode{}, fmt.Errorf("%s.%s returned no object", c.name, method)
	}
	return comNode{d: c.r.keep(v.ToIDispatch()), name: strings.TrimPrefix(method, "Create"), r: c.r}, nil
}

func search(s comNode) (comNode, error) {
	searcher, err := call(s, "CreateUpdateSearcher")
	if err != nil {
		return comNode{}, err
	}
	searcher.name = "IUpdateSearcher"
	res, err := call(searcher, "Search", Criteria)
	if err != nil {
		return comNode{}, err
	}
	res.name = "ISearchResult"
	return res, nil
}

// Search asks the Windows Update Agent for the missing updates (Criteria)
// from the server it is configured for: Microsoft Update, or the WSUS of
// group policy. An error is a failed search, never "nothing missing".
func Search(ctx context.Context) ([]core.Update, error) {
	return withSession(ctx, func(s comNode) ([]core.Update, error) {
		res, err := search(s)
		if err != nil {
			return nil, err
		}
		return updatesFrom(res)
	})
}

// Install downloads and installs the updates of ids (Identity.UpdateID),
// one at a time in the order given, and calls progress after each. An
// update the search no longer offers gets Phase "search" (installed
// meanwhile, superseded or withdrawn). ErrBusy when another installation
// runs.
func Install(ctx context.Context, ids []string, progress func(InstallResult)) ([]InstallResult, error) {
	return withSession(ctx, func(s comNode) ([]InstallResult, error) {
		installer, err := call(s, "CreateUpdateInstaller")
		if err != nil {
			return nil, err
		}
		installer.name = "IUpdateInstaller"
		busy, err := installer.prop("IsBusy")
		if err != nil {
			return nil, err
		}
		if b, _ := busy.(bool); b {
			return nil, ErrBusy
		}
		// Never show UI: the agent runs as a service.
		if v, err := oleutil.PutProperty(installer.d, "ForceQuiet", true); err == nil {
			v.Clear()
		}
		res, err := search(s)
		if err != nil {
			return nil, err
		}
		list, err := res.items("Updates")
		if err != nil {
			return nil, err
		}
		byID := map[string]comNode{}
		for _, n := range list {
			u := n.(comNode)
			u.name = "IUpdate"
			id, err := u.object("Identity")
			if err != nil {
				return nil, err
			}
			uid, err := str(id, "UpdateID", true)
			if err != nil {
				return nil, err
			}
			byID[strings.ToLower(uid)] = u
		}
		var out []InstallResult
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			r := InstallResult{UpdateID: id, Phase: "search", ResultCode: ResultFailed}
			if u, ok := byID[strings.ToLower(id)]; ok {
				r = installOne(s, installer, u, id)
			}
			out = append(out, r)
			if progress != nil {
				progress(r)
			}
		}
		return out, nil
	})
}

func installOne(s, installer, u comNode, id string) InstallResult {
	r := InstallResult{UpdateID: id, Phase: "download", ResultCode: ResultFailed}
	r.Title, _ = str(u, "Title", false)
	fail := func(err error) InstallResult {
		if hr, ok := HResultOf(err); ok {
			r.HResult = hr
		} else {
			r.HResult = 0x80004005 // E_FAIL
		}
		return r
	}
	if ok, err := u.prop("EulaAccepted"); err == nil && ok == false {
		if _, err := oleutil.CallMethod(u.d, "AcceptEula"); err != nil {
			return fail(comErr("IUpdate.AcceptEula", err))
		}
	}
	unk, err := oleutil.CreateObject("Microsoft.Update.UpdateColl")
	if err != nil {
		return fail(comErr("CoCreateInstance Microsoft.Update.UpdateColl", err))
	}
	defer unk.Release()
	cd, err := unk.QueryInterface(ole.IID_IDispatch)
	if err != nil {
		return fail(comErr("IUpdateCollection", err))
	}
	coll := comNode{d: s.r.keep(cd), name: "IUpdateCollection", r: s.r}
	if _, err := oleutil.CallMethod(coll.d, "Add", u.d); err != nil {
		return fail(comErr("IUpdateCollection.Add", err))
	}
	downloaded, _ := u.prop("IsDownloaded")
	if b, _ := downloaded.(bool); !b {
		dl, err := call(s, "CreateUpdateDownloader")
		if err != nil {
			return fail(err)
		}
		dl.name = "IUpdateDownloader"
		if _, err := oleutil.PutProperty(dl.d, "Updates", coll.d); err != nil {
			return fail(comErr("IUpdateDownloader.Updates", err))
		}
		dr, err := call(dl, "Download")
		if err != nil {
			return fail(err)
		}
		dr.name = "IDownloadResult"
		if !phaseResult(dr, &r) {
			return r
		}
	}
	r.Phase = "install"
	r.ResultCode = ResultFailed
	if _, err := oleutil.PutProperty(installer.d, "Updates", coll.d); err != nil {
		return fail(comErr("IUpdateInstaller.Updates", err))
	}
	ir, err := call(installer, "Install")
	if err != nil {
		return fail(err)
	}
	ir.name = "IInstallationResult"
	phaseResult(ir, &r)
	return r
}

// phaseResult reads a download or installation result's first update
// result into r and reports whether it succeeded.
func phaseResult(res comNode, r *InstallResult) bool {
	ur, err := res.object("GetUpdateResult", 0)
	if err != nil {
		if hr, ok := HResultOf(err); ok {
			r.HResult = hr
		}
		return false
	}
	if rc, ok, _ := integer(ur, "ResultCode"); ok {
		r.ResultCode = int(rc)
	}
	if hr, ok, _ := integer(ur, "HResult"); ok {
		r.HResult = uint32(int32(hr))
	}
	if rb, err := ur.prop("RebootRequired"); err == nil {
		r.RebootRequired, _ = rb.(bool)
	}
	if rb, err := res.prop("RebootRequired"); err == nil {
		if b, _ := rb.(bool); b {
			r.RebootRequired = true
		}
	}
	return r.ResultCode == ResultSucceeded || r.ResultCode == ResultSucceededWithErrors
}

// Server returns the WSUS group policy points this machine at, "" for
// Microsoft Update.
func Server() (string, error) {
	const key = `SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate`
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf(`reading HKLM\%s: %w`, key, err)
	}
	defer k.Close()
	server, _, err := k.GetStringValue("WUServer")
	if err != nil && !errors.Is(err, registry.ErrNotExist) {
		return "", fmt.Errorf(`reading HKLM\%s WUServer: %w`, key, err)
	}
	au, err := registry.OpenKey(registry.LOCAL_MACHINE, key+`\AU`, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return PolicyServer(0, false, server), nil
	}
	if err != nil {
		return "", fmt.Errorf(`reading HKLM\%s\AU: %w`, key, err)
	}
	defer au.Close()
	use, _, err := au.GetIntegerValue("UseWUServer")
	if errors.Is(err, registry.ErrNotExist) {
		return PolicyServer(0, false, server), nil
	}
	if err != nil {
		return "", fmt.Errorf(`reading HKLM\%s\AU UseWUServer: %w`, key, err)
	}
	return PolicyServer(use, true, server), nil
}
