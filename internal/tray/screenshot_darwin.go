package tray

import (
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
)

// captureScreen runs screencapture, which writes only to a file.
func captureScreen(ctx context.Context) (image.Image, error) {
	dir, err := os.MkdirTemp("", "wacht-tray-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "screen.png")
	if err := exec.CommandContext(ctx, "/usr/sbin/screencapture", "-x", "-t", "png", file).Run(); err != nil {
		return nil, err
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}
