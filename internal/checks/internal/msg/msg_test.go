package msg

import (
	"errors"
	"fmt"
	"testing"
)

func TestNum(t *testing.T) {
	for _, tc := range []struct {
		v      float64
		prec   int
		en, de string
	}{
		{85.24, 1, "85.2", "85,2"},
		{0, 1, "0.0", "0,0"},
		{1234.56, 1, "1,234.6", "1.234,6"},
		{1234567, 0, "1,234,567", "1.234.567"},
		{100, 0, "100", "100"},
		{-3.25, 1, "-3.2", "-3,2"},
		{-0.01, 1, "0.0", "0,0"},
	} {
		en, de := Num(tc.v, tc.prec)
		if en != tc.en || de != tc.de {
			t.Errorf("Num(%v, %d) = %q, %q; want %q, %q", tc.v, tc.prec, en, de, tc.en, tc.de)
		}
	}
}

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		n      uint64
		en, de string
	}{
		{512, "512 B", "512 B"},
		{1536, "1.5 KB", "1,5 KB"},
		{80 << 30, "80.0 GB", "80,0 GB"},
		{13207024435, "12.3 GB", "12,3 GB"},
		{2 << 40, "2.0 TB", "2,0 TB"},
	} {
		en, de := Bytes(tc.n)
		if en != tc.en || de != tc.de {
			t.Errorf("Bytes(%d) = %q, %q; want %q, %q", tc.n, en, de, tc.en, tc.de)
		}
	}
}

func TestUnsupported(t *testing.T) {
	if err := Unsupported(fmt.Errorf("reading: %w", errors.New("not implemented yet"))); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("not implemented not mapped: %v", err)
	}
	other := errors.New("permission denied")
	if err := Unsupported(other); errors.Is(err, errors.ErrUnsupported) || err != other {
		t.Errorf("other error changed: %v", err)
	}
	if Unsupported(nil) != nil {
		t.Error("nil changed")
	}
}
