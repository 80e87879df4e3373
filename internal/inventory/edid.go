package inventory

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// edidHeader starts every EDID base block (VESA E-EDID 1.4, section 3.3).
var edidHeader = []byte{0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}

// ParseEDID reads a monitor's identity from its EDID base block (the
// first 128 bytes; extension blocks are ignored): Manufacturer is the
// three-letter PNP ID ("DEL"), Model the display product name descriptor
// (0xFC) or else the product code in hex, Serial the serial number
// descriptor (0xFF) or else the numeric serial number when it is set.
// It is portable: Linux reads the blob from sysfs, Windows from the
// registry, macOS from IOKit.
func ParseEDID(b []byte) (core.Monitor, error) {
	if len(b) < 128 {
		return core.Monitor{}, fmt.Errorf("EDID is %d bytes, want at least 128", len(b))
	}
	if !bytes.Equal(b[:8], edidHeader) {
		return core.Monitor{}, errors.New("not an EDID block: bad header")
	}
	var m core.Monitor
	id := binary.BigEndian.Uint16(b[8:10])
	var pnp [3]byte
	for i := range pnp {
		c := byte(id>>(10-5*i)) & 0x1f
		if c < 1 || c > 26 {
			return core.Monitor{}, fmt.Errorf("EDID manufacturer ID %#04x is not a PNP ID", id)
		}
		pnp[i] = 'A' + c - 1
	}
	m.Manufacturer = string(pnp[:])
	product := binary.LittleEndian.Uint16(b[10:12])
	serial := binary.LittleEndian.Uint32(b[12:16])
	panel := "" // laptop panels name themselves in a text descriptor (0xFE)
	// Four 18-byte descriptors; a display descriptor starts with 0,0,0
	// and carries its tag in byte 3 and up to 13 characters from byte 5.
	for off := 54; off+18 <= 126; off += 18 {
		d := b[off : off+18]
		if d[0] != 0 || d[1] != 0 || d[2] != 0 {
			continue // a detailed timing
		}
		text := edidText(d[5:18])
		switch d[3] {
		case 0xfc:
			if m.Model == "" {
				m.Model = text
			} else if text != "" {
				m.Model += " " + text // long names span two descriptors
			}
		case 0xff:
			if m.Serial == "" {
				m.Serial = text
			}
		case 0xfe:
			if panel == "" {
				panel = text
			}
		}
	}
	if m.Model == "" {
		m.Model = panel
	}
	if m.Model == "" {
		m.Model = fmt.Sprintf("%s%04X", m.Manufacturer, product)
	}
	if m.Serial == "" && serial != 0 && serial != 0x01010101 {
		m.Serial = strconv.FormatUint(uint64(serial), 10)
	}
	return m, nil
}

// edidText is a descriptor's string: printable ASCII ended by a line
// feed (or, in some panels, by other binary data) and padded with spaces.
func edidText(b []byte) string {
	if i := bytes.IndexFunc(b, func(r rune) bool { return r < 0x20 || r > 0x7e }); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}
