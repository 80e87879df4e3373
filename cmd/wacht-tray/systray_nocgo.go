//go:build darwin && !cgo

package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/wacht-rmm/wacht/internal/tray"
)

// runTray: the macOS tray needs cgo (Cocoa); --status works without it.
func runTray(context.Context, *tray.App, *slog.Logger) error {
	return errors.New("this wacht-tray was built without cgo: build wacht-tray on a Mac with cgo")
}
