// Package report renders a *results.Report: the text for a terminal, the
// Markdown summary for CI, the self-contained HTML page with its charts,
// and JUnit XML. Every string from the scenario or a target is escaped
// for the output it goes to. It only reads a report and writes it out: it
// must not analyse (results does, and the numbers and the diagnosis it
// prints come from there) nor compare reports (results/compare does).
package report
