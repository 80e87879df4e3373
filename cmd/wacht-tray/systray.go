//go:build !darwin || cgo

package main

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"

	"fyne.io/systray"

	"github.com/wacht-rmm/wacht/internal/tray"
)

// runTray shows the tray until ctx ends or the client's branding hides
// it. The menu items are created once, in tray.Groups order, and only
// retitled, shown and hidden afterwards: each keeps its D-Bus id.
func runTray(ctx context.Context, app *tray.App, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := map[string]*systray.MenuItem{}
	var about []*systray.MenuItem
	var lastIcon []byte
	quitting := false
	render := func(m tray.Model, icon []byte) {
		if quitting {
			return
		}
		if !m.Show {
			log.Info("the client's branding hides the tray; exiting until the next log-on")
			quitting = true
			systray.Quit()
			return
		}
		if runtime.GOOS == "windows" {
			ico, err := tray.ICO(icon)
			if err != nil {
				log.Error("icon", "err", err)
			}
			icon = ico
		}
		if icon != nil && !bytes.Equal(icon, lastIcon) {
			systray.SetIcon(icon)
			lastIcon = icon
		}
		if runtime.GOOS != "darwin" { // on macOS the title is text in the menu bar
			systray.SetTitle(m.About[0])
		}
		systray.SetTooltip(m.Tooltip)
		shown := map[string]bool{}
		for _, it := range m.Items {
			mi := items[it.Key]
			shown[it.Key] = true
			mi.SetTitle(it.Title)
			if it.Disabled {
				mi.Disable()
			} else {
				mi.Enable()
			}
			mi.Show()
		}
		for k, mi := range items {
			if !shown[k] {
				mi.Hide()
			}
		}
		for i, line := range m.About {
			about[i].SetTitle(line)
		}
	}
	onReady := func() {
		for i, g := range tray.Groups {
			if i > 0 {
				systray.AddSeparator()
			}
			for _, k := range g {
				items[k] = systray.AddMenuItem("", "")
			}
		}
		for range tray.AboutLines {
			line := items[tray.KeyAbout].AddSubMenuItem("", "")
			line.Disable()
			about = append(about, line)
		}
		for k, mi := range items {
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-mi.ClickedCh:
						app.Click(ctx, k)
					}
				}
			}()
		}
		render(app.Model(), app.Icon(app.Model()))
		go func() {
			app.Run(ctx, render)
			systray.Quit()
		}()
	}
	systray.Run(onReady, cancel)
	return nil
}
