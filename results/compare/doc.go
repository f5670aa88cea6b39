// Package compare compares two reports, BASE and NEW: per phase and over
// all the phases, the latency percentiles, the achieved rate, the shares
// of each status class, the recovery and the onsets, each with its change,
// its limit (Limits) and a one-sided Mann-Whitney U test on the per-second
// buckets (van Elteren's stratified form overall), a verdict, and the
// comparison as text, Markdown and JSON. It reads reports that results
// made; it must not analyse a run nor render a single report
// (results/report does).
package compare
