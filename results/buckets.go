package results

import "time"

// MaxBuckets caps the buckets of a timeline. Each bucket costs about
// 860 bytes while a report is built and 160 bytes of report.json
// (measured: 100,000 buckets allocate 86 MB and write 16 MB), so a run
// of 24 hours, the longest a scenario may plan, fits in buckets of a
// second, and no width asks for more memory than that.
const MaxBuckets = 100_000

// TimelineLength returns the length of run's timeline: its plan, or the
// part of it that ran when it was interrupted.
func TimelineLength(run *Run) time.Duration {
	d := run.Schedule().Duration()
	if run.Interrupted {
		d = min(d, time.Duration(run.StoppedS*float64(time.Second)))
	}
	return max(d, 0)
}

// Buckets returns how many buckets of width w a timeline of length d
// has, the one after the plan aside; w must be above 0.
func Buckets(d, w time.Duration) int64 {
	n := int64(d / w)
	if d%w != 0 {
		n++
	}
	return n
}

// MinBucket returns the narrowest bucket width, in whole milliseconds,
// with which a timeline of length d has at most MaxBuckets buckets.
func MinBucket(d time.Duration) time.Duration {
	w := (d + MaxBuckets - 1) / MaxBuckets
	w = (w + time.Millisecond - 1).Truncate(time.Millisecond)
	return max(w, time.Millisecond)
}
