package snmp

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// parseWalk reads `snmpwalk -On -Oe` output into values, the way convert
// would have decoded the varbinds.
func parseWalk(t *testing.T, path string) []Value {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Value
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		oid, rest, ok := strings.Cut(line, " = ")
		if !ok {
			t.Fatalf("%s: bad line %q", path, line)
		}
		v := Value{OID: strings.TrimPrefix(oid, ".")}
		typ, val, _ := strings.Cut(rest, ": ")
		switch typ {
		case "STRING":
			v.Str = strings.Trim(val, `"`)
			v.Raw = []byte(v.Str)
		case `""`:
		case "Hex-STRING":
			b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(val), " ", ""))
			if err != nil {
				t.Fatalf("%s: %q: %v", path, line, err)
			}
			v.Raw, v.Str = b, printable(b)
		case "OID":
			v.Str = strings.TrimPrefix(val, ".")
		case "INTEGER", "Gauge32":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", path, line, err)
			}
			v.Kind, v.Num = KindNumber, float64(n)
		case "Counter32", "Counter64":
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", path, line, err)
			}
			v.Kind, v.Num, v.U64, v.Bits = KindCounter, float64(n), n, 32
			if typ == "Counter64" {
				v.Bits = 64
			}
		case "Timeticks":
			// "(12345) 0:02:03.45"
			n, err := strconv.ParseUint(strings.Trim(strings.Fields(val)[0], "()"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", path, line, err)
			}
			v.Kind, v.Num, v.U64 = KindTicks, float64(n), n
		default:
			t.Fatalf("%s: unknown type in %q", path, line)
		}
		if v.Kind != KindString {
			v.Str = strconv.FormatFloat(v.Num, 'f', -1, 64)
		}
		out = append(out, v)
	}
	return out
}

// fakeSource serves a captured walk.
type fakeSource struct {
	vals []Value
	errs error
}

func newFake(vals []Value) *fakeSource {
	vs := append([]Value(nil), vals...)
	sort.Slice(vs, func(i, j int) bool { return oidLess(vs[i].OID, vs[j].OID) })
	return &fakeSource{vals: vs}
}

func (f *fakeSource) Get(_ context.Context, oids []string) ([]Value, error) {
	if f.errs != nil {
		return nil, f.errs
	}
	var out []Value
	for _, o := range oids {
		for _, v := range f.vals {
			if v.OID == o {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

func (f *fakeSource) Walk(_ context.Context, root string, max int) ([]Value, error) {
	if f.errs != nil {
		return nil, f.errs
	}
	var out []Value
	for _, v := range f.vals {
		if hasPrefix(v.OID, root) {
			if len(out) >= max {
				return nil, fmt.Errorf("walk %s: %w (limit %d)", root, ErrTooMany, max)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// set replaces a value (to advance counters between runs).
func (f *fakeSource) set(oid string, v Value) {
	for i := range f.vals {
		if f.vals[i].OID == oid {
			v.OID = oid
			f.vals[i] = v
			return
		}
	}
	panic("no " + oid)
}
