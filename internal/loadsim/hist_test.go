package loadsim

import (
	"testing"
	"time"
)

func TestHistBucketsAreMonotonicAndTight(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<22; v += 1 + v/64 {
		b := histBucket(v)
		if b < prev {
			t.Fatalf("bucket(%d) = %d < bucket of a smaller value %d", v, b, prev)
		}
		prev = b
		if lo, hi := histLower(b), histLower(b+1); v < lo || v >= hi {
			t.Fatalf("value %d in bucket %d = [%d, %d)", v, b, lo, hi)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 {
		t.Fatal("empty histogram has a quantile")
	}
	// 1..1000 ms: p50 ≈ 500 ms, p99 ≈ 990 ms, within the bucket precision.
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	check := func(q float64, want time.Duration) {
		t.Helper()
		got := h.Quantile(q)
		if d := got - want; d < -want/25 || d > want/25 {
			t.Errorf("quantile %v = %v, want %v ± 4 %%", q, got, want)
		}
	}
	check(0.5, 500*time.Millisecond)
	check(0.99, 990*time.Millisecond)
	if h.Max() != time.Second || h.Count() != 1000 {
		t.Errorf("max %v count %d", h.Max(), h.Count())
	}
	h.Reset()
	if h.Count() != 0 || h.Quantile(0.5) != 0 {
		t.Error("reset kept data")
	}
}
