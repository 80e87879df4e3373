package vercmp

import "testing"

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"24.1.2.3", "24.1.2.3", 0},
		{"24.1.10.0", "24.1.2.3", 1},
		{"24.1.2", "24.1.2.0", -1}, // Debian: a longer version with .0 is newer
		{"1:2.3-4ubuntu1", "2.3-4ubuntu1", 1},
		{"1:2.3-4ubuntu1", "1:2.3-4ubuntu2", -1},
		{"1:2.3-4ubuntu1", "1:2.3-4", 1},
		{"2.36-9+deb12u14", "2.36-9+deb12u4", 1},
		{"7.0b", "7.0", 1},
		{"7.0b", "7.0c", -1},
		{"7.0b", "7.1", -1},
		{"1.0~rc1", "1.0", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0+b1", "1.0", 1},
		{"0:5.14.0-427.13.1.el9_4", "0:5.14.0-362.8.1.el9_3", 1},
		{"", "0", 0},
		{"133.0.3", "133.0.10", -1},
	} {
		if got := Compare(c.a, c.b); got != c.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Compare(c.b, c.a); got != -c.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}
