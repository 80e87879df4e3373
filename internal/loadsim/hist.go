package loadsim

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histSub is the number of sub-buckets per power of two: values are kept
// to about 3 % precision, enough for percentiles, in fixed memory.
const histSub = 32

// Histogram records durations lock-free in log-linear microsecond buckets.
// The zero value is ready to use.
type Histogram struct {
	buckets [64 * histSub]atomic.Uint64
	count   atomic.Uint64
	max     atomic.Int64
}

func histBucket(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - 6 // v>>e is in [32, 64)
	return e*histSub + int(v>>e)
}

// histLower is the smallest value of bucket i; histLower(i+1) is the bound.
func histLower(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := i/histSub - 1
	return uint64(i%histSub+histSub) << e
}

// Record adds one duration; negative ones count as zero.
func (h *Histogram) Record(d time.Duration) {
	us := max(d.Microseconds(), 0)
	h.buckets[histBucket(uint64(us))].Add(1)
	h.count.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			break
		}
	}
}

// Count is the number of recorded durations.
func (h *Histogram) Count() uint64 { return h.count.Load() }

// Max is the largest recorded duration (exact).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the q-quantile (0 < q ≤ 1) as the middle of its bucket,
// or 0 without data.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			lo, hi := histLower(i), histLower(i+1)
			mid := time.Duration(lo+(hi-lo)/2) * time.Microsecond
			return min(mid, h.Max())
		}
	}
	return h.Max()
}

// Reset forgets everything recorded so far (for a new measuring window).
func (h *Histogram) Reset() {
	for i := range h.buckets {
		h.buckets[i].Store(0)
	}
	h.count.Store(0)
	h.max.Store(0)
}
