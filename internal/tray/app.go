package tray

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"log/slog"
	"os/user"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

// Poll and retry intervals.
const (
	PollEvery  = 10 * time.Second
	retryFirst = time.Second
	retryMax   = 30 * time.Second
	// showWait is how long a tray starting with the agent unreachable
	// waits hidden for it (the service may start after the log-on) before
	// it shows that the service is not reachable.
	showWait = time.Minute
	callWait = 15 * time.Second
)

// App is the tray without its desktop: it polls the agent, builds the
// model and the icon, and carries out the menu's actions.
type App struct {
	Agent       *Agent
	Pages       *Pages
	Seen        *Seen
	Lang        string
	TrayVersion string
	Log         *slog.Logger
	// OS access, replaceable in tests.
	Open       func(url string) error
	Screenshot func(ctx context.Context) ([]byte, error)
	FindRemote func(tool string) string // the installed program, or ""
	Start      func(path string) error

	mu        sync.Mutex
	polled    bool
	status    *trayipc.Status
	reachable bool
	requests  []trayipc.UserRequest
	iconSHA   string
	iconBase  image.Image
	wake      chan struct{}
}

// Snapshot is one poll's result, as --status prints it.
type Snapshot struct {
	Reachable bool                  `json:"reachable"`
	Error     string                `json:"error,omitempty"`
	Status    *trayipc.Status       `json:"status,omitempty"`
	Requests  []trayipc.UserRequest `json:"requests,omitempty"`
	Menu      Model                 `json:"menu"`
}

// Refresh asks the agent for its status, the user's requests and, when
// its hash changed, the branding icon.
func (a *App) Refresh(ctx context.Context) Snapshot {
	ctx, cancel := context.WithTimeout(ctx, callWait)
	defer cancel()
	var st trayipc.Status
	err := a.Agent.Call(ctx, trayipc.OpStatus, nil, &st)
	var reqs trayipc.Requests
	if err == nil {
		err = a.Agent.Call(ctx, trayipc.OpRequests, nil, &reqs)
	}
	if err == nil {
		a.refreshIcon(ctx, st.Branding.IconSHA256)
	}
	a.mu.Lock()
	a.polled, a.reachable = true, err == nil
	if err == nil {
		a.status, a.requests = &st, reqs.Requests
	}
	a.mu.Unlock()
	snap := Snapshot{Reachable: err == nil, Menu: a.Model()}
	if err != nil {
		snap.Error = err.Error()
		a.Log.Warn("the agent does not answer", "err", err)
	} else {
		snap.Status, snap.Requests = &st, reqs.Requests
	}
	return snap
}

// refreshIcon fetches the branding icon when its hash changed. A bad icon
// is logged and replaced by Wacht's own; it is not fetched again until the
// hash changes.
func (a *App) refreshIcon(ctx context.Context, sha string) {
	a.mu.Lock()
	same := sha == a.iconSHA && a.iconBase != nil
	a.mu.Unlock()
	if same {
		return
	}
	var base image.Image = DefaultIcon()
	if sha != "" {
		var ic trayipc.Icon
		if err := a.Agent.Call(ctx, trayipc.OpIcon, nil, &ic); err != nil {
			var ipcErr *trayipc.Error
			if !errors.As(err, &ipcErr) {
				return // the agent went away: try again at the next poll
			}
			a.Log.Warn("fetching the branding icon", "err", err)
		} else if sum := sha256.Sum256(ic.PNG); hex.EncodeToString(sum[:]) != sha {
			a.Log.Warn("the branding icon does not match its hash", "sha256", sha)
		} else if img, err := DecodeIcon(ic.PNG); err != nil {
			a.Log.Warn("the branding icon", "err", err)
		} else {
			base = img
		}
	}
	a.mu.Lock()
	a.iconSHA, a.iconBase = sha, base
	a.mu.Unlock()
}

// Model is the menu as of the last poll.
func (a *App) Model() Model {
	a.mu.Lock()
	in := Input{Status: a.status, Reachable: a.reachable || !a.polled, Requests: a.requests,
		Lang: a.Lang, Now: time.Now(), TrayVersion: a.TrayVersion}
	a.mu.Unlock()
	in.Seen = a.Seen.IDs()
	if in.Status != nil && in.Status.Branding.RemoteSupport != "" {
		in.RemoteInstalled = a.FindRemote(in.Status.Branding.RemoteSupport) != ""
	}
	return Build(in)
}

// Icon is the PNG for m: the branding icon or Wacht's, with m's badge.
func (a *App) Icon(m Model) []byte {
	a.mu.Lock()
	base := a.iconBase
	a.mu.Unlock()
	if base == nil {
		base = DefaultIcon()
	}
	return Compose(base, m.Badge)
}

// Poke makes Run poll now (after an action).
func (a *App) Poke() {
	select {
	case a.wakeCh() <- struct{}{}:
	default:
	}
}

func (a *App) wakeCh() chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.wake == nil {
		a.wake = make(chan struct{}, 1)
	}
	return a.wake
}

// WaitShown polls until the tray is to be shown: the agent answered and
// the client's branding shows the tray, or the agent stayed unreachable
// for showWait. It returns false when ctx ends first.
func (a *App) WaitShown(ctx context.Context) bool {
	start, retry, hidden := time.Now(), retryFirst, false
	for {
		snap := a.Refresh(ctx)
		wait := PollEvery
		switch {
		case snap.Reachable && snap.Menu.Show:
			return true
		case snap.Reachable:
			if !hidden {
				a.Log.Info("the client's branding hides the tray; waiting")
			}
			hidden, retry = true, retryFirst
		case time.Since(start) >= showWait:
			return true
		default:
			wait, retry = retry, min(2*retry, retryMax)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
	}
}

// Run polls every PollEvery (and when poked) and calls render with each
// model and its icon; while the agent is unreachable it retries after 1 s,
// doubling to 30 s. It returns when ctx ends.
func (a *App) Run(ctx context.Context, render func(Model, []byte)) {
	retry := retryFirst
	for {
		snap := a.Refresh(ctx)
		render(snap.Menu, a.Icon(snap.Menu))
		wait := PollEvery
		if snap.Reachable {
			retry = retryFirst
		} else {
			wait, retry = retry, min(2*retry, retryMax)
		}
		select {
		case <-ctx.Done():
			return
		case <-a.wakeCh():
		case <-time.After(wait):
		}
	}
}

// Click carries out the action of the menu item key.
func (a *App) Click(ctx context.Context, key string) {
	a.mu.Lock()
	var b trayipc.Branding
	if a.status != nil {
		b = a.status.Branding
	}
	a.mu.Unlock()
	var err error
	switch key {
	case KeyContact:
		shot, serr := a.Screenshot(ctx) // before the browser covers the screen
		if serr != nil {
			a.Log.Info("no screenshot for the contact form", "err", serr)
		}
		a.Log.Info("opening the contact form", "screenshot", shot != nil)
		err = a.Open(a.Pages.NewContact(shot))
	case KeyRequests:
		err = a.Open(a.Pages.NewRequests())
	case KeyRemote:
		path := ""
		if b.RemoteSupport != "" {
			path = a.FindRemote(b.RemoteSupport)
		}
		if path == "" {
			err = errors.New("the remote support tool is not installed")
			break
		}
		err = a.Start(path)
	case KeyEmail:
		if b.Email != "" {
			err = a.Open("mailto:" + b.Email)
		}
	case KeyWeb:
		if u := WebURL(b.URL); u != "" {
			err = a.Open(u)
		}
	case KeyRebootNow, KeyRebootLater:
		choice := map[string]string{KeyRebootNow: trayipc.RebootNow, KeyRebootLater: trayipc.RebootLater}[key]
		var r trayipc.RebootReply
		ctx, cancel := context.WithTimeout(ctx, callWait)
		err = a.Agent.Call(ctx, trayipc.OpReboot, trayipc.RebootArgs{Choice: choice}, &r)
		cancel()
		if err == nil {
			a.Log.Info("restart answered", "choice", choice, "at", r.At, "deferrals_left", r.DeferralsLeft)
		}
		a.Poke()
	}
	if err != nil {
		a.Log.Warn("menu action failed", "item", key, "err", err)
	}
}

// OSContact is the contact prefilled from the OS account: its full name,
// else its login name.
func OSContact() core.SupportContact {
	u, err := user.Current()
	if err != nil {
		return core.SupportContact{}
	}
	name := u.Name
	if name == "" {
		name = u.Username
	}
	if len(name) > core.MaxSupportContact {
		name = name[:core.MaxSupportContact]
	}
	return core.SupportContact{Name: name}
}
