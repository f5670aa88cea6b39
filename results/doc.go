// Package results owns the data of a run after the attack and its
// analysis: the record file (one vegeta result per request), run.json's
// plan, the gateway's testimony, the analysis that says when and why
// gateway errors appeared (timeline, phases, onset, attribution of every
// failure to a cause with its evidence, masked faults, the faults that
// never bit, statistics and the
// mergeable histogram), the Report type with its JSON and its one-paragraph
// diagnosis, and the verdicts of expectations (after the run, and live
// while it goes). Cause names come from results/causes. It must not render
// a report as text, Markdown, HTML or JUnit (results/report does), nor
// compare two reports (results/compare does), nor start anything: it reads
// and writes files and values only.
package results
