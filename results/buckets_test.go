package results

import (
	"testing"
	"time"
)

func TestMinBucket(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want time.Duration
	}{
		{0, time.Millisecond},
		{time.Second, time.Millisecond},
		{100 * time.Second, time.Millisecond},
		{100*time.Second + 1, 2 * time.Millisecond},
		{24 * time.Hour, 864 * time.Millisecond},
		{23 * time.Hour, 828 * time.Millisecond},
		{720 * time.Hour, 25920 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			got := MinBucket(tt.d)
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if n := Buckets(tt.d, got); n > MaxBuckets {
				t.Errorf("got %d buckets of %s, want at most %d", n, got, MaxBuckets)
			}
			if narrower := got - time.Millisecond; narrower > 0 && Buckets(tt.d, narrower) <= MaxBuckets {
				t.Errorf("%s fits too, want the narrowest", narrower)
			}
		})
	}
}

// TestNewAnalyzerCapsBuckets gives NewAnalyzer bucket widths that would
// need billions of buckets: it widens them, so that no run.json and no
// width allocates more than MaxBuckets.
func TestNewAnalyzerCapsBuckets(t *testing.T) {
	tests := []struct {
		name      string
		plan      time.Duration
		stoppedS  float64 // an interrupted run
		bucket    time.Duration
		wantWidth time.Duration
	}{
		{"720h at 1ms", 720 * time.Hour, 0, time.Millisecond, 25920 * time.Millisecond},
		{"720h at 1ns", 720 * time.Hour, 0, 1, 25920 * time.Millisecond},
		{"23h at 1ms", 23 * time.Hour, 0, time.Millisecond, 828 * time.Millisecond},
		{"24h at 1s fits", 24 * time.Hour, 0, time.Second, time.Second},
		{"100s at 1ms fits", 100 * time.Second, 0, time.Millisecond, time.Millisecond},
		{"720h interrupted after 10s, at 1ms", 720 * time.Hour, 10, time.Millisecond, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := &Run{Schema: RunSchema, Started: time.Unix(0, 0), Interrupted: tt.stoppedS > 0, StoppedS: tt.stoppedS,
				Phases: []PhasePlan{{Name: "a", EndS: tt.plan.Seconds(), Planned: 1, Rate: 1, RampTo: 1}}}
			rep := NewAnalyzer(run, Options{Bucket: tt.bucket}).Report()
			if rep.Analysis.Bucket != tt.wantWidth {
				t.Errorf("got a width of %s, want %s", rep.Analysis.Bucket, tt.wantWidth)
			}
			if len(rep.Timeline) > MaxBuckets+1 {
				t.Errorf("got %d buckets, want at most %d", len(rep.Timeline), MaxBuckets+1)
			}
		})
	}
}
