package snmp

import (
	"errors"
	"fmt"
	"math"

	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"github.com/wacht-rmm/wacht/internal/check"
)

// Kind says how a value may be used.
type Kind int

// Value kinds.
const (
	KindString  Kind = iota
	KindNumber       // INTEGER, Gauge32, Unsigned32, Opaque float/double
	KindCounter      // Counter32 / Counter64: only the rate is meaningful
	KindTicks        // TimeTicks, hundredths of a second
)

// Value is one decoded varbind, independent of gosnmp's types.
type Value struct {
	OID  string // numeric, without leading dot
	Kind Kind
	Num  float64
	U64  uint64 // counters and ticks, exact
	Bits int    // 32 or 64 for counters
	Str  string // strings, OIDs, addresses; also the text form of numbers
	Raw  []byte // OCTET STRING bytes (bit masks such as printer error states)
}

// maxString bounds a string value kept from a response.
const maxString = 1024

var errNoValue = errors.New("no such object")

// NormOID validates a numeric OID and returns it without leading dot.
func NormOID(s string) (string, error) { return check.ParseOID(s) }

// convert turns a gosnmp varbind into a Value. It never panics on
// malformed input: unexpected Go types become errors.
func convert(pdu gosnmp.SnmpPDU) (Value, error) {
	v := Value{OID: strings.TrimPrefix(pdu.Name, ".")}
	switch pdu.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null:
		return v, fmt.Errorf("%s: %w", v.OID, errNoValue)
	}
	switch x := pdu.Value.(type) {
	case int:
		v.Kind, v.Num = KindNumber, float64(x)
	case uint:
		v.Kind, v.Num, v.U64 = KindNumber, float64(x), uint64(x)
	case uint32:
		v.Kind, v.Num, v.U64 = KindNumber, float64(x), uint64(x)
	case uint64:
		v.Kind, v.Num, v.U64 = KindNumber, float64(x), x
	case float32:
		v.Kind, v.Num = KindNumber, float64(x)
	case float64:
		v.Kind, v.Num = KindNumber, x
	case []byte:
		v.Str = printable(x)
		v.Raw = append([]byte(nil), x[:min(len(x), maxString)]...)
	case string:
		v.Str = strings.TrimPrefix(limit(x), ".")
		if pdu.Type != gosnmp.ObjectIdentifier {
			v.Str = limit(x)
		}
	case nil:
		return v, fmt.Errorf("%s: empty value of type %v", v.OID, pdu.Type)
	default:
		return v, fmt.Errorf("%s: unexpected value type %T", v.OID, x)
	}
	switch pdu.Type {
	case gosnmp.Counter32:
		v.Kind, v.Bits = KindCounter, 32
	case gosnmp.Counter64:
		v.Kind, v.Bits = KindCounter, 64
	case gosnmp.TimeTicks:
		v.Kind = KindTicks
	}
	if v.Kind != KindString {
		if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
			return v, fmt.Errorf("%s: not a finite number", v.OID)
		}
		v.Str = strconv.FormatFloat(v.Num, 'f', -1, 64)
	}
	return v, nil
}

func limit(s string) string {
	if len(s) <= maxString {
		return s
	}
	s = s[:maxString]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// printable shows an OCTET STRING as text when it is text, else as hex
// ("02 FC 00 00 00 01"), like net-snmp does.
func printable(b []byte) string {
	if len(b) > maxString {
		b = b[:maxString]
	}
	s := strings.TrimRight(string(b), "\x00")
	if utf8.ValidString(s) {
		ok := true
		for _, r := range s {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
				ok = false
				break
			}
		}
		if ok {
			return s
		}
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02X", c)
	}
	return sb.String()
}

// hasPrefix reports whether oid lies under root.
func hasPrefix(oid, root string) bool {
	return oid == root || strings.HasPrefix(oid, root+".")
}
