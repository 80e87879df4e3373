//go:build windows

package wevtapi

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	dll                          = windows.NewLazySystemDLL("wevtapi.dll")
	procEvtQuery                 = dll.NewProc("EvtQuery")
	procEvtNext                  = dll.NewProc("EvtNext")
	procEvtRender                = dll.NewProc("EvtRender")
	procEvtClose                 = dll.NewProc("EvtClose")
	procEvtCreateBookmark        = dll.NewProc("EvtCreateBookmark")
	procEvtUpdateBookmark        = dll.NewProc("EvtUpdateBookmark")
	procEvtOpenPublisherMetadata = dll.NewProc("EvtOpenPublisherMetadata")
	procEvtFormatMessage         = dll.NewProc("EvtFormatMessage")
)

// Handle is an EVT_HANDLE.
type Handle uintptr

// Flag values from winevt.h.
const (
	queryChannelPath      = 0x1
	queryForwardDirection = 0x100
	renderEventXML        = 1
	renderBookmark        = 2
	formatMessageXML      = 9
	infinite              = 0xFFFFFFFF
)

// Errors callers distinguish.
var (
	// ErrChannelNotFound: the channel does not exist on this machine.
	ErrChannelNotFound = windows.Errno(15007) // ERROR_EVT_CHANNEL_NOT_FOUND
	// ErrAccessDenied: reading the Security channel needs administrator
	// rights or membership in Event Log Readers.
	ErrAccessDenied = windows.ERROR_ACCESS_DENIED

	errNoMoreItems        = windows.ERROR_NO_MORE_ITEMS
	errInsufficientBuffer = windows.ERROR_INSUFFICIENT_BUFFER
)

// Close frees a handle; closing 0 does nothing.
func Close(h Handle) error {
	if h == 0 {
		return nil
	}
	if r, _, err := procEvtClose.Call(uintptr(h)); r == 0 {
		return callError("EvtClose", err)
	}
	return nil
}

// Query opens a forward result set over a channel, e.g. "System", with an
// XPath query such as "*[System[(Level=1 or Level=2)]]".
func Query(channel, xpath string) (Handle, error) {
	c, err := windows.UTF16PtrFromString(channel)
	if err != nil {
		return 0, err
	}
	q, err := windows.UTF16PtrFromString(xpath)
	if err != nil {
		return 0, err
	}
	if err := procEvtQuery.Find(); err != nil {
		return 0, fmt.Errorf("wevtapi.dll: %w", err)
	}
	r, _, err := procEvtQuery.Call(0, uintptr(unsafe.Pointer(c)), uintptr(unsafe.Pointer(q)), queryChannelPath|queryForwardDirection)
	if r == 0 {
		return 0, callError("EvtQuery "+channel, err)
	}
	return Handle(r), nil
}

// Next returns up to n event handles from a result set; it returns none
// and no error at the end. The caller closes each handle.
func Next(rs Handle, n int) ([]Handle, error) {
	hs := make([]Handle, n)
	var got uint32
	r, _, err := procEvtNext.Call(uintptr(rs), uintptr(n), uintptr(unsafe.Pointer(&hs[0])), infinite, 0, uintptr(unsafe.Pointer(&got)))
	if r == 0 {
		if errors.Is(err, errNoMoreItems) {
			return nil, nil
		}
		return nil, callError("EvtNext", err)
	}
	return hs[:got], nil
}

// render calls EvtRender for XML output (event or bookmark), growing the
// buffer once when it is too small.
func render(h Handle, flag uintptr) (string, error) {
	buf := make([]uint16, 4096)
	for range 2 {
		var used, props uint32
		r, _, err := procEvtRender.Call(0, uintptr(h), flag, uintptr(len(buf)*2), uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&used)), uintptr(unsafe.Pointer(&props)))
		if r != 0 {
			return windows.UTF16ToString(buf[:used/2]), nil
		}
		if !errors.Is(err, errInsufficientBuffer) {
			return "", callError("EvtRender", err)
		}
		buf = make([]uint16, used/2+1)
	}
	return "", errors.New("EvtRender: buffer still too small")
}

// RenderXML renders an event as XML without message text.
func RenderXML(ev Handle) (string, error) { return render(ev, renderEventXML) }

// OpenPublisher opens a provider's metadata for FormatXML.
func OpenPublisher(provider string) (Handle, error) {
	p, err := windows.UTF16PtrFromString(provider)
	if err != nil {
		return 0, err
	}
	r, _, err := procEvtOpenPublisherMetadata.Call(0, uintptr(unsafe.Pointer(p)), 0, 0, 0)
	if r == 0 {
		return 0, callError("EvtOpenPublisherMetadata "+provider, err)
	}
	return Handle(r), nil
}

// FormatXML renders an event as XML including RenderingInfo with the
// message text in the system's language.
func FormatXML(pub, ev Handle) (string, error) {
	buf := make([]uint16, 8192)
	for range 2 {
		var used uint32
		r, _, err := procEvtFormatMessage.Call(uintptr(pub), uintptr(ev), 0, 0, 0, formatMessageXML, uintptr(len(buf)), uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&used)))
		if r != 0 {
			return windows.UTF16ToString(buf[:used]), nil
		}
		if !errors.Is(err, errInsufficientBuffer) {
			return "", callError("EvtFormatMessage", err)
		}
		buf = make([]uint16, used+1)
	}
	return "", errors.New("EvtFormatMessage: buffer still too small")
}

// CreateBookmark creates a bookmark, empty for "" or from rendered XML.
func CreateBookmark(xml string) (Handle, error) {
	var p *uint16
	if xml != "" {
		var err error
		if p, err = windows.UTF16PtrFromString(xml); err != nil {
			return 0, err
		}
	}
	r, _, err := procEvtCreateBookmark.Call(uintptr(unsafe.Pointer(p)))
	if r == 0 {
		return 0, callError("EvtCreateBookmark", err)
	}
	return Handle(r), nil
}

// UpdateBookmark moves a bookmark to an event.
func UpdateBookmark(bm, ev Handle) error {
	if r, _, err := procEvtUpdateBookmark.Call(uintptr(bm), uintptr(ev)); r == 0 {
		return callError("EvtUpdateBookmark", err)
	}
	return nil
}

// RenderBookmark renders a bookmark as XML for storing.
func RenderBookmark(bm Handle) (string, error) { return render(bm, renderBookmark) }

// Read runs an XPath query over a channel and returns each matching event
// as XML (with message text where the provider's metadata is available)
// and the bookmark XML after the last one ("" if none matched). It stops
// after max events; the bookmark lets the next call go on from there.
func Read(ctx context.Context, channel, xpath string, max int) (events []string, bookmark string, err error) {
	rs, err := Query(channel, xpath)
	if err != nil {
		return nil, "", err
	}
	defer Close(rs)
	bm, err := CreateBookmark("")
	if err != nil {
		return nil, "", err
	}
	defer Close(bm)
	pubs := map[string]Handle{}
	defer func() {
		for _, p := range pubs {
			Close(p)
		}
	}()
	moved := false
	for len(events) < max {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		hs, err := Next(rs, min(64, max-len(events)))
		if err != nil {
			return nil, "", err
		}
		if len(hs) == 0 {
			break
		}
		for i, h := range hs {
			x, err := eventXML(h, pubs)
			if err == nil {
				err = UpdateBookmark(bm, h)
			}
			Close(h)
			if err != nil {
				for _, rest := range hs[i+1:] {
					Close(rest)
				}
				return nil, "", err
			}
			events = append(events, x)
			moved = true
		}
	}
	if !moved {
		return nil, "", nil
	}
	bx, err := RenderBookmark(bm)
	if err != nil {
		return nil, "", err
	}
	return events, bx, nil
}

// eventXML renders with message text, falling back to the bare XML when the
// provider's message file is missing (uninstalled software, forwarded logs).
func eventXML(h Handle, pubs map[string]Handle) (string, error) {
	x, err := RenderXML(h)
	if err != nil {
		return "", err
	}
	name := providerName(x)
	if name == "" {
		return x, nil
	}
	pub, ok := pubs[name]
	if !ok {
		pub, _ = OpenPublisher(name) // 0 on failure: remembered, not retried
		pubs[name] = pub
	}
	if pub == 0 {
		return x, nil
	}
	if fx, err := FormatXML(pub, h); err == nil {
		return fx, nil
	}
	return x, nil
}
