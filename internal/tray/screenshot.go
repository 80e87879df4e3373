package tray

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// screenshotTimeout bounds one screenshot tool.
const screenshotTimeout = 10 * time.Second

// Screenshot takes a picture of the user's screen as a PNG of at most
// core.MaxSupportScreenshot bytes. It is taken when the user opens the
// contact form and sent only if the user ticks the box.
func Screenshot(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, screenshotTimeout)
	defer cancel()
	img, err := captureScreen(ctx)
	if err != nil {
		return nil, err
	}
	return fitPNG(img, core.MaxSupportScreenshot)
}

// fitPNG encodes img as a PNG, scaled down until it fits in limit bytes.
func fitPNG(img image.Image, limit int) ([]byte, error) {
	for {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return nil, err
		}
		if buf.Len() <= limit {
			return buf.Bytes(), nil
		}
		b := img.Bounds()
		if b.Dx() < 64 || b.Dy() < 64 {
			return nil, errors.New("screenshot does not fit its size limit")
		}
		img = scaleTo(img, b.Dx()*7/10, b.Dy()*7/10)
	}
}
