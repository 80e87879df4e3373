package tray

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/wacht-rmm/wacht/internal/brandicon"
	"github.com/wacht-rmm/wacht/internal/core"
)

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func rgba(c color.Color) color.RGBA {
	r, g, b, a := c.RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
}

func solid(side int, c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

func TestCompose(t *testing.T) {
	green := color.RGBA{0, 0x80, 0, 0xff}
	base, err := DecodeIcon(solid(200, green))
	if err != nil {
		t.Fatal(err)
	}
	corner := image.Pt(IconSize-13, IconSize-13) // inside the badge
	for badge, want := range map[Badge]color.RGBA{
		BadgeNone: green, BadgeProblem: badgeColors[BadgeProblem],
		BadgeReboot: badgeColors[BadgeReboot], BadgeUnreachable: badgeColors[BadgeUnreachable],
	} {
		img := decodePNG(t, Compose(base, badge))
		if img.Bounds().Dx() != IconSize || img.Bounds().Dy() != IconSize {
			t.Fatalf("%q: size %v", badge, img.Bounds())
		}
		if got := rgba(img.At(corner.X, corner.Y)); got != want {
			t.Errorf("%q: badge pixel %v, want %v", badge, got, want)
		}
		if got := rgba(img.At(10, 10)); got != green {
			t.Errorf("%q: the icon itself changed: %v", badge, got)
		}
	}
	def := decodePNG(t, Compose(DefaultIcon(), BadgeNone))
	if got := rgba(def.At(IconSize/2, 8)); got != wachtBlue {
		t.Errorf("default icon: %v at the top", got)
	}
	if _, _, _, a := def.At(0, 0).RGBA(); a != 0 {
		t.Error("default icon: the corner outside the disc is not transparent")
	}
}

func TestDecodeIconRefuses(t *testing.T) {
	for name, b := range map[string][]byte{
		"not a picture": []byte("GIF89a…"),
		"too small":     solid(8, color.RGBA{A: 0xff}),
		"too large":     solid(300, color.RGBA{A: 0xff}),
		"too many bytes": append(solid(16, color.RGBA{A: 0xff}),
			make([]byte, core.MaxIconBytes)...),
		"truncated": solid(64, color.RGBA{A: 0xff})[:60],
	} {
		if _, err := DecodeIcon(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestICO(t *testing.T) {
	p := Compose(DefaultIcon(), BadgeProblem)
	ico, err := ICO(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ico[:6], []byte{0, 0, 1, 0, 1, 0}) {
		t.Fatalf("header % x", ico[:6])
	}
	if ico[6] != IconSize || ico[7] != IconSize || binary.LittleEndian.Uint16(ico[12:]) != 32 {
		t.Errorf("entry % x", ico[6:22])
	}
	size, off := binary.LittleEndian.Uint32(ico[14:]), binary.LittleEndian.Uint32(ico[18:])
	if int(off)+int(size) != len(ico) {
		t.Errorf("size %d offset %d of %d bytes", size, off, len(ico))
	}
	back, err := brandicon.Normalize(ico)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := brandicon.Normalize(p); !bytes.Equal(back, want) {
		t.Error("the ICO does not hold the composed icon")
	}
	ico, err = ICO(solid(256, color.RGBA{A: 0xff}))
	if err != nil || ico[6] != 0 || ico[7] != 0 {
		t.Errorf("256 pixels must be written as 0: % x, %v", ico[6:8], err)
	}
	if _, err := ICO([]byte("no png")); err == nil {
		t.Error("ICO of garbage")
	}
}
