package inventory

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Apple property lists, XML or binary ("bplist00"), as macOS keeps them in
// app bundles (Info.plist), pkg receipts and ioreg -a output. No plist
// module is served to this project, and starting plutil once per bundle
// would cost a process per installed app, so this small reader decodes
// both forms into map[string]any, []any, string, int64, float64, bool,
// time.Time and []byte.

// errPlist wraps every malformed-input error.
var errPlist = errors.New("malformed property list")

// maxPlistDepth bounds nesting, so that hostile input cannot exhaust the
// stack.
const maxPlistDepth = 64

// parsePlist decodes an XML or binary property list.
func parsePlist(b []byte) (any, error) {
	if bytes.HasPrefix(b, []byte("bplist00")) {
		return parseBinaryPlist(b)
	}
	return parseXMLPlist(b)
}

// parseXMLPlist decodes an XML property list.
func parseXMLPlist(b []byte) (any, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false // Apple's DOCTYPE
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: no <plist> element: %v", errPlist, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "plist" {
				return nil, fmt.Errorf("%w: root element <%s>", errPlist, se.Name.Local)
			}
			v, end, err := xmlPlistValue(dec, 0)
			if err != nil {
				return nil, err
			}
			if end {
				return nil, fmt.Errorf("%w: empty <plist>", errPlist)
			}
			if _, ok := v.(xmlKey); ok {
				return nil, fmt.Errorf("%w: a <key> outside a <dict>", errPlist)
			}
			return v, nil
		}
	}
}

// xmlPlistValue reads the next value element; end reports that the
// enclosing element closed instead.
func xmlPlistValue(dec *xml.Decoder, depth int) (v any, end bool, err error) {
	if depth > maxPlistDepth {
		return nil, false, fmt.Errorf("%w: nested deeper than %d", errPlist, maxPlistDepth)
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, false, fmt.Errorf("%w: %v", errPlist, err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil, true, nil
		case xml.StartElement:
			v, err := xmlPlistElement(dec, t, depth)
			return v, false, err
		}
	}
}

func xmlPlistElement(dec *xml.Decoder, se xml.StartElement, depth int) (any, error) {
	switch se.Name.Local {
	case "dict":
		m := map[string]any{}
		for {
			k, end, err := xmlPlistValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			if end {
				return m, nil
			}
			key, ok := k.(xmlKey)
			if !ok {
				return nil, fmt.Errorf("%w: <dict> entry without <key>", errPlist)
			}
			v, end, err := xmlPlistValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			if end {
				return nil, fmt.Errorf("%w: <key>%s</key> without a value", errPlist, key)
			}
			m[string(key)] = v
		}
	case "array":
		a := []any{}
		for {
			v, end, err := xmlPlistValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			if end {
				return a, nil
			}
			if _, ok := v.(xmlKey); ok {
				return nil, fmt.Errorf("%w: <key> in an <array>", errPlist)
			}
			a = append(a, v)
		}
	case "true", "false":
		if err := dec.Skip(); err != nil {
			return nil, fmt.Errorf("%w: %v", errPlist, err)
		}
		return se.Name.Local == "true", nil
	}
	var text string
	if err := dec.DecodeElement(&text, &se); err != nil {
		return nil, fmt.Errorf("%w: <%s>: %v", errPlist, se.Name.Local, err)
	}
	switch se.Name.Local {
	case "key":
		return xmlKey(text), nil
	case "string":
		return text, nil
	case "integer":
		text = strings.TrimSpace(text)
		if n, err := strconv.ParseInt(text, 0, 64); err == nil {
			return n, nil
		}
		// ioreg writes unsigned 64-bit counters above MaxInt64.
		if u, err := strconv.ParseUint(text, 0, 64); err == nil {
			return int64(u), nil
		}
		return nil, fmt.Errorf("%w: <integer>%q", errPlist, text)
	case "real":
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return nil, fmt.Errorf("%w: <real>%q", errPlist, text)
		}
		return f, nil
	case "date":
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(text))
		if err != nil {
			return nil, fmt.Errorf("%w: <date>%q", errPlist, text)
		}
		return t.UTC(), nil
	case "data":
		d, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
		if err != nil {
			return nil, fmt.Errorf("%w: <data>: %v", errPlist, err)
		}
		return d, nil
	}
	return nil, fmt.Errorf("%w: unknown element <%s>", errPlist, se.Name.Local)
}

// xmlKey marks a <key> so that a dict can tell keys from string values.
type xmlKey string

// appleEpoch is the zero of binary plist dates.
var appleEpoch = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// bplist is a binary property list being decoded.
type bplist struct {
	b       []byte
	offsets []uint64
	refSize int
	active  []bool // objects on the current path, to refuse cycles
	// budget bounds the objects decoded: shared references would let a
	// small hostile file expand exponentially.
	budget int
}

// maxPlistObjects is the most objects one binary plist may decode to.
const maxPlistObjects = 1 << 20

// parseBinaryPlist decodes a "bplist00" property list.
func parseBinaryPlist(b []byte) (any, error) {
	if len(b) < 8+32 {
		return nil, fmt.Errorf("%w: binary plist of %d bytes", errPlist, len(b))
	}
	tr := b[len(b)-32:]
	offSize, refSize := int(tr[6]), int(tr[7])
	num, top, table := binary.BigEndian.Uint64(tr[8:]), binary.BigEndian.Uint64(tr[16:]), binary.BigEndian.Uint64(tr[24:])
	if offSize < 1 || offSize > 8 || refSize < 1 || refSize > 8 {
		return nil, fmt.Errorf("%w: trailer sizes %d/%d", errPlist, offSize, refSize)
	}
	body := uint64(len(b) - 32)
	if num == 0 || top >= num || table < 8 || table > body || num > (body-table)/uint64(offSize) {
		return nil, fmt.Errorf("%w: trailer out of range", errPlist)
	}
	p := &bplist{b: b[:body], refSize: refSize, offsets: make([]uint64, num), active: make([]bool, num), budget: maxPlistObjects}
	for i := range p.offsets {
		at := table + uint64(i*offSize)
		p.offsets[i] = beUint(b[at : at+uint64(offSize)])
		if p.offsets[i] < 8 || p.offsets[i] >= table {
			return nil, fmt.Errorf("%w: object %d at offset %d", errPlist, i, p.offsets[i])
		}
	}
	return p.object(top, 0)
}

func beUint(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n
}

// need returns n bytes at off or an error.
func (p *bplist) need(off, n uint64) ([]byte, error) {
	if off > uint64(len(p.b)) || n > uint64(len(p.b))-off {
		return nil, fmt.Errorf("%w: %d bytes at %d past the end", errPlist, n, off)
	}
	return p.b[off : off+n], nil
}

// count reads an object's length from its marker's low nibble or, when
// that is 0xF, from the integer object that follows; it returns the
// length and where the content starts.
func (p *bplist) count(off uint64, nibble byte) (uint64, uint64, error) {
	if nibble != 0xF {
		return uint64(nibble), off + 1, nil
	}
	m, err := p.need(off+1, 1)
	if err != nil {
		return 0, 0, err
	}
	if m[0]>>4 != 0x1 || m[0]&0xF > 3 {
		return 0, 0, fmt.Errorf("%w: length marker %#x", errPlist, m[0])
	}
	size := uint64(1) << (m[0] & 0xF)
	v, err := p.need(off+2, size)
	if err != nil {
		return 0, 0, err
	}
	return beUint(v), off + 2 + size, nil
}

// object decodes object number ref.
func (p *bplist) object(ref uint64, depth int) (any, error) {
	if ref >= uint64(len(p.offsets)) {
		return nil, fmt.Errorf("%w: reference %d of %d objects", errPlist, ref, len(p.offsets))
	}
	if depth > maxPlistDepth || p.active[ref] {
		return nil, fmt.Errorf("%w: nested too deep or cyclic at object %d", errPlist, ref)
	}
	if p.budget--; p.budget < 0 {
		return nil, fmt.Errorf("%w: more than %d objects", errPlist, maxPlistObjects)
	}
	p.active[ref] = true
	defer func() { p.active[ref] = false }()
	off := p.offsets[ref]
	m, err := p.need(off, 1)
	if err != nil {
		return nil, err
	}
	kind, low := m[0]>>4, m[0]&0xF
	switch kind {
	case 0x0:
		switch low {
		case 0x8:
			return false, nil
		case 0x9:
			return true, nil
		}
		return nil, fmt.Errorf("%w: marker %#x", errPlist, m[0])
	case 0x1:
		if low > 3 {
			return nil, fmt.Errorf("%w: integer of 2^%d bytes", errPlist, low)
		}
		v, err := p.need(off+1, 1<<low)
		if err != nil {
			return nil, err
		}
		return int64(beUint(v)), nil
	case 0x2:
		switch low {
		case 2:
			v, err := p.need(off+1, 4)
			if err != nil {
				return nil, err
			}
			return float64(math.Float32frombits(binary.BigEndian.Uint32(v))), nil
		case 3:
			v, err := p.need(off+1, 8)
			if err != nil {
				return nil, err
			}
			return math.Float64frombits(binary.BigEndian.Uint64(v)), nil
		}
		return nil, fmt.Errorf("%w: real of 2^%d bytes", errPlist, low)
	case 0x3:
		v, err := p.need(off+1, 8)
		if err != nil || low != 3 {
			return nil, fmt.Errorf("%w: date at %d", errPlist, off)
		}
		s := math.Float64frombits(binary.BigEndian.Uint64(v))
		if math.IsNaN(s) || math.Abs(s) > 1e11 {
			return nil, fmt.Errorf("%w: date %v", errPlist, s)
		}
		return appleEpoch.Add(time.Duration(s * float64(time.Second))), nil
	}
	n, start, err := p.count(off, low)
	if err != nil {
		return nil, err
	}
	switch kind {
	case 0x4:
		v, err := p.need(start, n)
		return bytes.Clone(v), err
	case 0x5:
		v, err := p.need(start, n)
		return string(v), err
	case 0x6:
		if n > uint64(len(p.b)) {
			return nil, fmt.Errorf("%w: string of %d units", errPlist, n)
		}
		v, err := p.need(start, 2*n)
		if err != nil {
			return nil, err
		}
		u := make([]uint16, n)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(v[2*i:])
		}
		return string(utf16.Decode(u)), nil
	case 0x8:
		v, err := p.need(off+1, uint64(low)+1)
		return int64(beUint(v)), err
	case 0xA:
		refs, err := p.refs(start, n)
		if err != nil {
			return nil, err
		}
		a := make([]any, 0, len(refs))
		for _, r := range refs {
			v, err := p.object(r, depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	case 0xD:
		if n > uint64(len(p.b)) {
			return nil, fmt.Errorf("%w: dict of %d entries", errPlist, n)
		}
		refs, err := p.refs(start, 2*n)
		if err != nil {
			return nil, err
		}
		d := make(map[string]any, n)
		for i := uint64(0); i < n; i++ {
			k, err := p.object(refs[i], depth+1)
			if err != nil {
				return nil, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("%w: dict key of type %T", errPlist, k)
			}
			if d[key], err = p.object(refs[n+i], depth+1); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("%w: marker %#x", errPlist, m[0])
}

// refs reads n object references at off.
func (p *bplist) refs(off, n uint64) ([]uint64, error) {
	if n > uint64(len(p.b)) {
		return nil, fmt.Errorf("%w: %d references", errPlist, n)
	}
	v, err := p.need(off, n*uint64(p.refSize))
	if err != nil {
		return nil, err
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = beUint(v[i*p.refSize : (i+1)*p.refSize])
	}
	return out, nil
}

// plistString returns a dict's string value for the first key present.
func plistString(d map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := d[k].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// plistInt returns a dict's integer value and whether it is there.
func plistInt(d map[string]any, key string) (int64, bool) {
	switch v := d[key].(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	}
	return 0, false
}
