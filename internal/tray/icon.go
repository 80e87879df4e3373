package tray

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"

	"github.com/wacht-rmm/wacht/internal/brandicon"
	"github.com/wacht-rmm/wacht/internal/core"
)

// IconSize is the side of the icon the tray shows, in pixels.
const IconSize = 64

// Badge colours.
var badgeColors = map[Badge]color.RGBA{
	BadgeProblem:     {0xd3, 0x2f, 0x2f, 0xff},
	BadgeReboot:      {0xf5, 0x7c, 0x00, 0xff},
	BadgeUnreachable: {0x75, 0x75, 0x75, 0xff},
}

var wachtBlue = color.RGBA{0x1e, 0x5a, 0xa8, 0xff}

// DefaultIcon draws Wacht's own icon: a white W on a blue disc.
func DefaultIcon() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, IconSize, IconSize))
	c := float64(IconSize) / 2
	fillDisc(img, c, c, c-1, wachtBlue)
	w := [][2]float64{{16, 20}, {24, 46}, {32, 28}, {40, 46}, {48, 20}}
	for i := 0; i+1 < len(w); i++ {
		strokeSegment(img, w[i], w[i+1], 3.2, color.RGBA{0xff, 0xff, 0xff, 0xff})
	}
	return img
}

// DecodeIcon decodes a branding icon after checking its size, so that a
// huge or malformed picture is refused before it is decoded.
func DecodeIcon(b []byte) (image.Image, error) {
	if len(b) > core.MaxIconBytes {
		return nil, fmt.Errorf("icon of %d bytes (max %d)", len(b), core.MaxIconBytes)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("icon: %w", err)
	}
	if cfg.Width < core.MinIconSide || cfg.Width > core.MaxIconSide || cfg.Height < core.MinIconSide || cfg.Height > core.MaxIconSide {
		return nil, fmt.Errorf("icon of %d×%d pixels (allowed %d to %d)", cfg.Width, cfg.Height, core.MinIconSide, core.MaxIconSide)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("icon: %w", err)
	}
	return img, nil
}

// Compose scales base to IconSize and draws the badge's dot in its lower
// right corner; it returns the PNG.
func Compose(base image.Image, b Badge) []byte {
	img := scaleTo(base, IconSize, IconSize)
	if col, ok := badgeColors[b]; ok {
		r := float64(IconSize) * 0.2
		cx, cy := float64(IconSize)-r-1, float64(IconSize)-r-1
		fillDisc(img, cx, cy, r+2, color.RGBA{0xff, 0xff, 0xff, 0xff})
		fillDisc(img, cx, cy, r, col)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // encoding an in-memory RGBA into a buffer cannot fail
	}
	return buf.Bytes()
}

// ICO converts a PNG of at most 256×256 pixels into the ICO the Windows
// tray wants.
func ICO(pngBytes []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		return nil, err
	}
	return brandicon.ICO(img)
}

// scaleTo resizes src to w×h by averaging the source pixels that fall on
// each target pixel.
func scaleTo(src image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	sb := src.Bounds()
	for y := 0; y < h; y++ {
		y0, y1 := sb.Min.Y+y*sb.Dy()/h, sb.Min.Y+(y+1)*sb.Dy()/h
		y1 = max(y1, y0+1)
		for x := 0; x < w; x++ {
			x0, x1 := sb.Min.X+x*sb.Dx()/w, sb.Min.X+(x+1)*sb.Dx()/w
			x1 = max(x1, x0+1)
			var r, g, b, a, n uint32
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					pr, pg, pb, pa := src.At(sx, sy).RGBA()
					r, g, b, a, n = r+pr, g+pg, b+pb, a+pa, n+1
				}
			}
			dst.SetRGBA64(x, y, color.RGBA64{uint16(r / n), uint16(g / n), uint16(b / n), uint16(a / n)})
		}
	}
	return dst
}

func fillDisc(img draw.Image, cx, cy, r float64, c color.Color) {
	for y := int(cy - r); y <= int(cy+r); y++ {
		for x := int(cx - r); x <= int(cx+r); x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			if dx*dx+dy*dy <= r*r {
				img.Set(x, y, c)
			}
		}
	}
}

// strokeSegment paints the pixels within width/2 of the segment a–b.
func strokeSegment(img draw.Image, a, b [2]float64, width float64, c color.Color) {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l2 := dx*dx + dy*dy
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			t := math.Max(0, math.Min(1, ((px-a[0])*dx+(py-a[1])*dy)/l2))
			ex, ey := px-(a[0]+t*dx), py-(a[1]+t*dy)
			if math.Hypot(ex, ey) <= width/2 {
				img.Set(x, y, c)
			}
		}
	}
}
