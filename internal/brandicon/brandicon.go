// Package brandicon checks and converts the tray icon a technician uploads
// for a client's branding (issue 20): PNG or ICO in, a clean square PNG
// out (Normalize); and an ICO for the Windows tray (ICO). Sizes are checked from the headers before any pixel is
// decoded, so a small file that claims a huge picture is refused cheaply.
package brandicon

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Error is a refused icon, in English and German; it wraps core.ErrInvalid.
type Error struct{ Message core.Text }

func (e *Error) Error() string { return e.Message.EN }
func (e *Error) Unwrap() error { return core.ErrInvalid }

func refuse(en, de string, args ...any) error {
	return &Error{core.Text{EN: fmt.Sprintf(en, args...), DE: fmt.Sprintf(de, args...)}}
}

// maxEntries bounds the directory of an ICO file (real ones have < 20).
const maxEntries = 64

// Normalize checks an uploaded PNG or ICO and returns it as a PNG without
// metadata: at most core.MaxIconBytes in and out, square, with sides of
// core.MinIconSide to core.MaxIconSide pixels. Of an ICO the largest
// picture is taken, stored as PNG or as a BMP (DIB) of 1, 4, 8, 24 or 32
// bits per pixel.
func Normalize(data []byte) ([]byte, error) {
	if len(data) > core.MaxIconBytes {
		return nil, refuse("the icon has %d bytes; at most %d are allowed", "Das Symbol hat %d Bytes; erlaubt sind höchstens %d",
			len(data), core.MaxIconBytes)
	}
	var img image.Image
	var err error
	switch {
	case isPNG(data):
		img, err = decodePNG(data)
	case isICO(data):
		img, err = decodeICO(data)
	default:
		return nil, refuse("the icon is neither a PNG nor an ICO file", "Das Symbol ist weder eine PNG- noch eine ICO-Datei")
	}
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encoding the icon: %w", err)
	}
	if buf.Len() > core.MaxIconBytes {
		return nil, refuse("the icon has %d bytes as a PNG; at most %d are allowed", "Das Symbol hat als PNG %d Bytes; erlaubt sind höchstens %d",
			buf.Len(), core.MaxIconBytes)
	}
	return buf.Bytes(), nil
}

func isPNG(b []byte) bool { return len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n" }

// isICO: reserved 0, type 1 (icon), at least one entry.
func isICO(b []byte) bool {
	return len(b) >= 6 && binary.LittleEndian.Uint16(b) == 0 && binary.LittleEndian.Uint16(b[2:]) == 1 &&
		binary.LittleEndian.Uint16(b[4:]) > 0
}

// checkSize refuses a picture that is not square or out of bounds.
func checkSize(w, h int) error {
	if w != h {
		return refuse("the icon is %d×%d pixels; it must be square", "Das Symbol ist %d×%d Pixel groß; es muss quadratisch sein", w, h)
	}
	if w < core.MinIconSide || w > core.MaxIconSide {
		return refuse("the icon is %d×%d pixels; allowed are %d to %d pixels per side",
			"Das Symbol ist %d×%d Pixel groß; erlaubt sind %d bis %d Pixel je Seite", w, h, core.MinIconSide, core.MaxIconSide)
	}
	return nil
}

func decodePNG(data []byte) (image.Image, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, refuse("the PNG file is damaged (%v)", "Die PNG-Datei ist beschädigt (%v)", err)
	}
	if err := checkSize(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, refuse("the PNG file is damaged (%v)", "Die PNG-Datei ist beschädigt (%v)", err)
	}
	return img, nil
}

func damagedICO(why string) error {
	return refuse("the ICO file is damaged (%s)", "Die ICO-Datei ist beschädigt (%s)", why)
}

// decodeICO decodes the largest picture of an ICO file.
func decodeICO(data []byte) (image.Image, error) {
	n := int(binary.LittleEndian.Uint16(data[4:]))
	if n > maxEntries || len(data) < 6+16*n {
		return nil, damagedICO("directory")
	}
	best, bestArea, bestBits := -1, -1, -1
	for i := range n {
		e := data[6+16*i:]
		w, h := int(e[0]), int(e[1])
		if w == 0 {
			w = 256
		}
		if h == 0 {
			h = 256
		}
		bits := int(binary.LittleEndian.Uint16(e[6:]))
		if w*h > bestArea || w*h == bestArea && bits > bestBits {
			best, bestArea, bestBits = i, w*h, bits
		}
	}
	e := data[6+16*best:]
	size, off := binary.LittleEndian.Uint32(e[8:]), binary.LittleEndian.Uint32(e[12:])
	if uint64(off)+uint64(size) > uint64(len(data)) || size == 0 {
		return nil, damagedICO("an entry lies outside the file")
	}
	pic := data[off : off+size]
	if isPNG(pic) {
		return decodePNG(pic)
	}
	return decodeDIB(pic)
}

// decodeDIB decodes an ICO's BMP picture: a BITMAPINFOHEADER, a palette
// for up to 8 bits per pixel, the colour rows bottom-up, then the 1-bit
// transparency mask (the header's height counts both).
func decodeDIB(b []byte) (image.Image, error) {
	if len(b) < 40 || binary.LittleEndian.Uint32(b) < 40 {
		return nil, damagedICO("picture header")
	}
	hdr := binary.LittleEndian.Uint32(b)
	w := int(int32(binary.LittleEndian.Uint32(b[4:])))
	h2 := int(int32(binary.LittleEndian.Uint32(b[8:])))
	bits := int(binary.LittleEndian.Uint16(b[14:]))
	compression := binary.LittleEndian.Uint32(b[16:])
	used := int(binary.LittleEndian.Uint32(b[32:]))
	if compression != 0 {
		return nil, refuse("the ICO picture is compressed, which is not supported; save it as PNG",
			"Das ICO-Bild ist komprimiert, das wird nicht unterstützt; bitte als PNG speichern")
	}
	if h2 <= 0 || h2%2 != 0 || w <= 0 {
		return nil, damagedICO("picture size")
	}
	h := h2 / 2
	if err := checkSize(w, h); err != nil {
		return nil, err
	}
	var palette []color.NRGBA
	switch bits {
	case 1, 4, 8:
		if used == 0 || used > 1<<bits {
			used = 1 << bits
		}
	case 24, 32:
		used = 0
	default:
		return nil, refuse("the ICO picture has %d bits per pixel, which is not supported", "Das ICO-Bild hat %d Bit je Pixel, das wird nicht unterstützt", bits)
	}
	if hdr > uint32(len(b)) {
		return nil, damagedICO("picture header")
	}
	p := b[hdr:]
	if len(p) < 4*used {
		return nil, damagedICO("palette")
	}
	for i := range used {
		palette = append(palette, color.NRGBA{R: p[4*i+2], G: p[4*i+1], B: p[4*i], A: 255})
	}
	p = p[4*used:]
	stride := (w*bits + 31) / 32 * 4
	maskStride := (w + 31) / 32 * 4
	if len(p) < stride*h {
		return nil, damagedICO("pixels")
	}
	pixels, mask := p[:stride*h], p[stride*h:]
	if len(mask) < maskStride*h {
		mask = nil // some 32-bit icons leave the mask out
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	anyAlpha := false
	for y := range h {
		row := pixels[(h-1-y)*stride:]
		for x := range w {
			var c color.NRGBA
			switch bits {
			case 32:
				c = color.NRGBA{R: row[4*x+2], G: row[4*x+1], B: row[4*x], A: row[4*x+3]}
				anyAlpha = anyAlpha || c.A != 0
			case 24:
				c = color.NRGBA{R: row[3*x+2], G: row[3*x+1], B: row[3*x], A: 255}
			default:
				per := 8 / bits
				idx := int(row[x/per]>>(8-bits*(x%per+1))) & (1<<bits - 1)
				if idx >= len(palette) {
					return nil, damagedICO("colour index")
				}
				c = palette[idx]
			}
			img.SetNRGBA(x, y, c)
		}
	}
	// The mask gives the transparency unless the picture has an alpha
	// channel of its own (a 32-bit picture with any alpha set).
	if mask != nil && !anyAlpha {
		for y := range h {
			row := mask[(h-1-y)*maskStride:]
			for x := range w {
				if row[x/8]&(0x80>>(x%8)) != 0 {
					img.Pix[img.PixOffset(x, y)+3] = 0
				} else if bits == 32 {
					img.Pix[img.PixOffset(x, y)+3] = 255
				}
			}
		}
	} else if bits == 32 && !anyAlpha {
		for i := 3; i < len(img.Pix); i += 4 {
			img.Pix[i] = 255
		}
	}
	return img, nil
}

// ICO encodes img (at most 256×256 pixels) as an ICO file with one 32-bit
// bitmap, for the Windows tray, which wants an ICO. A bitmap rather than an
// embedded PNG: Windows reads it the same way in every version, and Wine
// swaps the colours of an opaque embedded PNG.
func ICO(img image.Image) ([]byte, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 1 || h < 1 || w > 256 || h > 256 {
		return nil, fmt.Errorf("an ICO holds 1 to 256 pixels a side, not %d×%d", w, h)
	}
	maskRow := (w + 31) / 32 * 4 // the AND mask, unused with alpha, padded to 32 bits
	size := 40 + w*h*4 + maskRow*h
	out := make([]byte, 0, 22+size)
	out = binary.LittleEndian.AppendUint16(out, 0)    // reserved
	out = binary.LittleEndian.AppendUint16(out, 1)    // icon
	out = binary.LittleEndian.AppendUint16(out, 1)    // one picture
	out = append(out, byte(w%256), byte(h%256), 0, 0) // 256 is written as 0
	out = binary.LittleEndian.AppendUint16(out, 1)    // planes
	out = binary.LittleEndian.AppendUint16(out, 32)   // bits per pixel
	out = binary.LittleEndian.AppendUint32(out, uint32(size))
	out = binary.LittleEndian.AppendUint32(out, 22)
	// BITMAPINFOHEADER: the height counts the picture and its mask.
	out = binary.LittleEndian.AppendUint32(out, 40)
	out = binary.LittleEndian.AppendUint32(out, uint32(w))
	out = binary.LittleEndian.AppendUint32(out, uint32(2*h))
	out = binary.LittleEndian.AppendUint16(out, 1)
	out = binary.LittleEndian.AppendUint16(out, 32)
	out = append(out, make([]byte, 24)...)    // BI_RGB, sizes and palette unused
	for y := b.Max.Y - 1; y >= b.Min.Y; y-- { // bottom-up rows
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out = append(out, c.B, c.G, c.R, c.A)
		}
	}
	return append(out, make([]byte, maskRow*h)...), nil
}
