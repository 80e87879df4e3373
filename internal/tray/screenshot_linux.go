package tray

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
)

// captureScreen tries grim on Wayland, then ImageMagick's import on X11.
func captureScreen(ctx context.Context) (image.Image, error) {
	var errs []error
	if os.Getenv("WAYLAND_DISPLAY") != "" {
		img, err := runCapture(ctx, "grim", "-t", "png", "-")
		if err == nil {
			return img, nil
		}
		errs = append(errs, fmt.Errorf("grim: %w", err))
	}
	if os.Getenv("DISPLAY") != "" {
		img, err := runCapture(ctx, "import", "-silent", "-window", "root", "png:-")
		if err == nil {
			return img, nil
		}
		errs = append(errs, fmt.Errorf("import: %w", err))
	}
	if len(errs) == 0 {
		return nil, errors.New("no display to take a screenshot of")
	}
	return nil, errors.Join(errs...)
}

// runCapture runs a screenshot tool that writes a PNG to its standard
// output and decodes it.
func runCapture(ctx context.Context, name string, args ...string) (image.Image, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return nil, err
	}
	return png.Decode(bytes.NewReader(out))
}
