package tray

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"testing"
)

func TestFitPNG(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(r.IntN(256)) // noise does not compress
	}
	const limit = 60 << 10
	b, err := fitPNG(img, limit)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > limit {
		t.Fatalf("%d bytes > %d", len(b), limit)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width >= 400 || abs(cfg.Width*3/4-cfg.Height) > 1 {
		t.Errorf("scaled to %d×%d (%v), want smaller with the same aspect", cfg.Width, cfg.Height, err)
	}
	if _, err := fitPNG(img, 100); err == nil {
		t.Error("a limit nothing fits in is accepted")
	}
}

func abs(n int) int { return max(n, -n) }
