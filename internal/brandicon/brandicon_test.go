package brandicon

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// picture is a w×h test picture: red left half, half-transparent blue
// right half.
func picture(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: 255, A: 255}
			if x >= w/2 {
				c = color.NRGBA{B: 255, A: 128}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ico builds an ICO file of the given pictures (directory sizes w, bits).
func ico(entries ...icoEntry) []byte {
	out := binary.LittleEndian.AppendUint16(nil, 0)
	out = binary.LittleEndian.AppendUint16(out, 1)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(entries)))
	off := 6 + 16*len(entries)
	for _, e := range entries {
		out = append(out, byte(e.side), byte(e.side), 0, 0)
		out = binary.LittleEndian.AppendUint16(out, 1)
		out = binary.LittleEndian.AppendUint16(out, uint16(e.bits))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(e.data)))
		out = binary.LittleEndian.AppendUint32(out, uint32(off))
		off += len(e.data)
	}
	for _, e := range entries {
		out = append(out, e.data...)
	}
	return out
}

type icoEntry struct {
	side, bits int
	data       []byte
}

// dib32 is img as a 32-bit ICO picture with an all-opaque mask.
func dib32(img *image.NRGBA) []byte {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	out := dibHeader(w, h, 32, 0)
	for y := h - 1; y >= 0; y-- {
		for x := range w {
			c := img.NRGBAAt(x, y)
			out = append(out, c.B, c.G, c.R, c.A)
		}
	}
	return append(out, make([]byte, (w+31)/32*4*h)...)
}

// dib1 is a two-colour ICO picture: black where x < w/2, white else, the
// top row transparent through the mask.
func dib1(w, h int) []byte {
	out := dibHeader(w, h, 1, 2)
	out = append(out, 0, 0, 0, 0, 255, 255, 255, 0) // palette: black, white
	stride := (w + 31) / 32 * 4
	for y := h - 1; y >= 0; y-- {
		row := make([]byte, stride)
		for x := w / 2; x < w; x++ {
			row[x/8] |= 0x80 >> (x % 8)
		}
		out = append(out, row...)
	}
	for y := h - 1; y >= 0; y-- {
		row := make([]byte, stride)
		if y == 0 {
			for x := range w {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
		out = append(out, row...)
	}
	return out
}

func dibHeader(w, h, bits, colours int) []byte {
	out := binary.LittleEndian.AppendUint32(nil, 40)
	out = binary.LittleEndian.AppendUint32(out, uint32(w))
	out = binary.LittleEndian.AppendUint32(out, uint32(2*h))
	out = binary.LittleEndian.AppendUint16(out, 1)
	out = binary.LittleEndian.AppendUint16(out, uint16(bits))
	out = binary.LittleEndian.AppendUint32(out, 0) // BI_RGB
	out = append(out, make([]byte, 12)...)         // image size, resolution
	out = binary.LittleEndian.AppendUint32(out, uint32(colours))
	return binary.LittleEndian.AppendUint32(out, 0)
}

func decode(t *testing.T, b []byte) *image.NRGBA {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("result is no PNG: %v", err)
	}
	out := image.NewNRGBA(img.Bounds())
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

func TestNormalizeAccepts(t *testing.T) {
	want := picture(32, 32)
	cases := []struct {
		name string
		data []byte
	}{
		{"png", encodePNG(t, want)},
		// The largest picture is taken: 32 px, not the 16 px one.
		{"ico with png", ico(icoEntry{16, 32, encodePNG(t, picture(16, 16))}, icoEntry{32, 32, encodePNG(t, want)})},
		{"ico with 32-bit bmp", ico(icoEntry{16, 32, dib32(picture(16, 16))}, icoEntry{32, 32, dib32(want)})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Normalize(c.data)
			if err != nil {
				t.Fatal(err)
			}
			got := decode(t, out)
			if got.Bounds() != want.Bounds() {
				t.Fatalf("bounds %v, want %v", got.Bounds(), want.Bounds())
			}
			for _, p := range []image.Point{{0, 0}, {31, 31}, {15, 7}, {16, 7}} {
				if g, w := got.NRGBAAt(p.X, p.Y), want.NRGBAAt(p.X, p.Y); g != w {
					t.Errorf("pixel %v = %v, want %v", p, g, w)
				}
			}
		})
	}
}

func TestNormalizeOneBitICO(t *testing.T) {
	out, err := Normalize(ico(icoEntry{16, 1, dib1(16, 16)}))
	if err != nil {
		t.Fatal(err)
	}
	img := decode(t, out)
	for _, c := range []struct {
		x, y int
		want color.NRGBA
	}{
		{0, 5, color.NRGBA{A: 255}},
		{15, 5, color.NRGBA{R: 255, G: 255, B: 255, A: 255}},
		{3, 0, color.NRGBA{A: 0}}, // the mask's transparent top row
	} {
		if got := img.NRGBAAt(c.x, c.y); got.A != c.want.A || c.want.A != 0 && got != c.want {
			t.Errorf("pixel %d,%d = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}

// TestNormalizeStripsMetadata: a text chunk in the upload is gone.
func TestNormalizeStripsMetadata(t *testing.T) {
	b := encodePNG(t, picture(16, 16))
	// Insert a tEXt chunk after IHDR (8 + 25 bytes).
	text := []byte("Comment\x00secret author data")
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(text)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, text...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(append([]byte("tEXt"), text...)))
	withText := append(append(append([]byte{}, b[:33]...), chunk...), b[33:]...)
	if _, err := png.Decode(bytes.NewReader(withText)); err != nil {
		t.Fatalf("test PNG with text chunk: %v", err)
	}
	out, err := Normalize(withText)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("secret author")) {
		t.Error("the metadata survived")
	}
}

// bomb is a PNG whose header claims side×side pixels: its IHDR patched
// (with a correct CRC) on a small picture.
func bomb(t *testing.T, side uint32) []byte {
	b := encodePNG(t, picture(16, 16))
	binary.BigEndian.PutUint32(b[16:], side)
	binary.BigEndian.PutUint32(b[20:], side)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func TestNormalizeRefuses(t *testing.T) {
	noise := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise.Pix {
		noise.Pix[i] = byte(r.Uint32())
	}
	huge := encodePNG(t, noise)
	if len(huge) <= core.MaxIconBytes {
		t.Fatalf("noise PNG has only %d bytes", len(huge))
	}
	cases := []struct {
		name, data, want string
	}{
		{"empty", "", "neither a PNG nor an ICO"},
		{"text", "hello, this is no picture", "neither a PNG nor an ICO"},
		{"gif", "GIF89a\x10\x00\x10\x00", "neither a PNG nor an ICO"},
		{"huge file", string(huge), "at most 262144"},
		{"not square", string(encodePNG(t, picture(32, 16))), "must be square"},
		{"too small", string(encodePNG(t, picture(8, 8))), "allowed are 16 to 256"},
		{"too large", string(encodePNG(t, picture(512, 512))), "allowed are 16 to 256"},
		{"bomb", string(bomb(t, 100000)), "100000×100000"},
		{"truncated png", string(truncate(encodePNG(t, picture(32, 32)), 20)), "damaged"},
		{"ico directory beyond the file", string(ico(icoEntry{32, 32, encodePNG(t, picture(32, 32))})[:30]), "damaged"},
		{"ico entry beyond the file", string(truncate(ico(icoEntry{32, 32, encodePNG(t, picture(32, 32))}), 10)), "damaged"},
		{"ico with bomb", string(ico(icoEntry{32, 32, bomb(t, 60000)})), "60000×60000"},
		{"ico bmp not square", string(ico(icoEntry{32, 32, dib32(picture(32, 16))})), "must be square"},
		{"ico bmp truncated", string(ico(icoEntry{32, 32, dib32(picture(32, 32))[:500]})), "damaged"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Normalize([]byte(c.data))
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("err = %v, want a refusal", err)
			}
			if !strings.Contains(e.Message.EN, c.want) || e.Message.DE == "" || e.Message.DE == e.Message.EN {
				t.Errorf("message %q / %q, want %q in English and a German one", e.Message.EN, e.Message.DE, c.want)
			}
		})
	}
}

func truncate(b []byte, n int) []byte { return b[:len(b)-n] }

func TestICO(t *testing.T) {
	// 256 pixels a side as a bitmap exceed core.MaxIconBytes, so Normalize
	// cannot read that one back; its directory entry is checked.
	for _, side := range []int{16, 48, 128, 256} {
		p, err := Normalize(encodePNG(t, picture(side, side)))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		b, err := ICO(img)
		if err != nil {
			t.Fatal(err)
		}
		if !isICO(b) {
			t.Fatalf("%d px: no ICO header", side)
		}
		wantDir := byte(side % 256)
		if b[6] != wantDir || b[7] != wantDir {
			t.Errorf("%d px: directory says %d×%d", side, b[6], b[7])
		}
		if side == 256 {
			continue
		}
		// Our own decoder reads the bitmap back to the same picture.
		back, err := Normalize(b)
		if err != nil {
			t.Fatalf("%d px: reading the ICO back: %v", side, err)
		}
		if !bytes.Equal(back, p) {
			t.Errorf("%d px: the ICO does not hold the picture", side)
		}
	}
	if _, err := ICO(image.NewNRGBA(image.Rect(0, 0, 300, 300))); err == nil {
		t.Error("an ICO of 300 pixels a side")
	}
}

// BenchmarkNormalize: an upload of the largest size, as PNG and as an ICO
// with a 32-bit BMP of 128 pixels (one of 256 exceeds core.MaxIconBytes).
func BenchmarkNormalize(b *testing.B) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, picture(256, 256)); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
	}{{"png", buf.Bytes()}, {"ico-bmp32", ico(icoEntry{128, 32, dib32(picture(128, 128))})}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Normalize(c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
