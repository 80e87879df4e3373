package installer

import (
	"fmt"
	"strings"
	"testing"
)

func TestProductVersion(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"0.1165.0+g26226e3", "0.0.1165"},
		{"0.70000.0+gabc", "0.1.4464"},
		{"v1.2.3", "1.2.3"},
		{"1.2.3", "1.2.3"},
		{"v1.2.3-dirty", "1.2.3"},
		{"v1.2.3-5-g26226e3", "1.2.3.5"},
		{"v1.2.3-5-g26226e3-dirty", "1.2.3.5"},
		{"v2.0.0-rc1", "2.0.0"},
		{"v255.255.65535", "255.255.65535"},
	} {
		got, err := ProductVersion(c.in)
		if err != nil || got != c.want {
			t.Errorf("ProductVersion(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "dev", "v256.0.0", "v1.256.0", "v1.2.65536", "1.2", "v1.2.3-../../x", "v1.2.3 x", "v1.2.3-'x"} {
		if got, err := ProductVersion(bad); err == nil {
			t.Errorf("ProductVersion(%q) = %q, want an error", bad, got)
		}
	}
	// Order is kept: untagged builds count up and stay below any tag.
	a, _ := ProductVersion("0.1165.0+gaaaaaaa")
	b, _ := ProductVersion("0.1166.0+gbbbbbbb")
	c, _ := ProductVersion("v0.1.0")
	if !(msiLess(a, b) && msiLess(b, c)) {
		t.Errorf("order lost: %s, %s, %s", a, b, c)
	}
}

// msiLess compares the first three fields as Windows Installer does.
func msiLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range 3 {
		var x, y int
		_, _ = fmtSscan(pa[i], &x), fmtSscan(pb[i], &y)
		if x != y {
			return x < y
		}
	}
	return false
}

func TestProductCode(t *testing.T) {
	a, b := ProductCode("v1.2.3"), ProductCode("v1.2.4")
	if a == b || a != ProductCode("v1.2.3") {
		t.Errorf("product codes %s %s", a, b)
	}
	if len(a) != 38 || a[0] != '{' || a[15] != '5' {
		t.Errorf("product code %s is not a braced version-5 UUID", a)
	}
}

func fmtSscan(s string, v *int) error { _, err := fmt.Sscan(s, v); return err }
