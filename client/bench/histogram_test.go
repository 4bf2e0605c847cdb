package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketBoundsCoverEveryValue(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	prev := -1
	check := func(v uint64) {
		i := bucketOf(v)
		lo, w := bucketRange(i)
		if v < lo || v >= lo+w {
			t.Fatalf("value %d in bucket %d = [%d, %d)", v, i, lo, lo+w)
		}
		if v >= 2*subCount && float64(w)/float64(lo) > 1.0/subCount {
			t.Fatalf("bucket %d [%d,+%d) is wider than 1/%d of its start", i, lo, w, subCount)
		}
	}
	for v := uint64(0); v < 100_000; v++ {
		check(v)
		if i := bucketOf(v); i < prev {
			t.Fatalf("bucket index falls at %d", v)
		} else {
			prev = i
		}
	}
	for range 100_000 {
		check(r.Uint64N(maxValue + 1))
	}
	check(maxValue)
	if got := bucketOf(math.MaxUint64); got != numBuckets-1 {
		t.Fatalf("a value above the cap goes to bucket %d, want the last (%d)", got, numBuckets-1)
	}
}

// exactQuantile uses the same definition as Histogram.Quantile.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func TestQuantilesWithinHalfAPercent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	dists := map[string]func() time.Duration{
		"uniform 0-10ms": func() time.Duration { return time.Duration(r.Int64N(int64(10 * time.Millisecond))) },
		"lognormal ~1ms": func() time.Duration { return time.Duration(math.Exp(r.NormFloat64()*1.2) * float64(time.Millisecond)) },
		"bimodal 50µs/2s": func() time.Duration {
			return [2]time.Duration{50 * time.Microsecond, 2 * time.Second}[r.IntN(2)] + time.Duration(r.IntN(1000))
		},
		"exponential 80ms": func() time.Duration { return time.Duration(r.ExpFloat64() * float64(80*time.Millisecond)) },
		"tiny ns":          func() time.Duration { return time.Duration(r.IntN(300)) },
	}
	for name, gen := range dists {
		t.Run(name, func(t *testing.T) {
			var h Histogram
			vals := make([]time.Duration, 50_000)
			var sum float64
			for i := range vals {
				vals[i] = gen()
				h.Record(vals[i])
				sum += float64(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0.001, 0.5, 0.9, 0.99, 0.999, 1} {
				got, want := h.Quantile(q), exactQuantile(vals, q)
				if diff := math.Abs(float64(got - want)); diff > 0.005*float64(want)+1 {
					t.Errorf("q%.3f = %v, exact %v (off by %.2f%%)", q, got, want, 100*diff/float64(want))
				}
			}
			if h.Count() != uint64(len(vals)) || h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
				t.Errorf("count/min/max = %d/%v/%v, want %d/%v/%v", h.Count(), h.Min(), h.Max(), len(vals), vals[0], vals[len(vals)-1])
			}
			if mean := time.Duration(sum / float64(len(vals))); h.Mean() != mean {
				t.Errorf("mean %v, want %v", h.Mean(), mean)
			}
		})
	}
}

func TestHistogramMergeEqualsOneHistogram(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var all, a, b Histogram
	for i := range 20_000 {
		v := time.Duration(r.Int64N(int64(time.Second)))
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(new(Histogram)) // merging an empty one changes nothing
	if m != all {
		t.Fatalf("merged histogram differs from one that recorded everything")
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Max() != 0 {
		t.Fatal("an empty histogram must report zeros")
	}
	h.Record(-time.Second) // a clock step backwards counts as 0
	h.Record(time.Hour)    // above the cap: counted, max stays exact
	if h.Count() != 2 || h.Min() != 0 || h.Max() != time.Hour {
		t.Fatalf("count %d min %v max %v", h.Count(), h.Min(), h.Max())
	}
	if got := h.Quantile(1); got != time.Hour {
		t.Fatalf("q1 = %v, want the exact max %v", got, time.Hour)
	}
	var one Histogram
	one.Record(1234567 * time.Nanosecond)
	if got := one.Quantile(0.5); got != 1234567 {
		t.Fatalf("a single value reads back as %v (clamped to min/max), got %d", 1234567, got)
	}
}
