package results

// A damaged run folder, said out loud: a record file cut short, an empty
// one, an events file cut inside its last line, a missing expect.json,
// a run.json of a run that never ended. Each gets an entry in
// report.json's "damaged", a sentence in the diagnosis and a warning in
// every report format; the expectations of a damaged run are not judged.

import (
	"fmt"
	"strconv"
)

// What is wrong with a damaged file (Damaged.Problem).
const (
	// DamageCut: the file ends inside a record (results) or a line
	// (events.jsonl); what follows the last whole one was dropped.
	DamageCut = "cut"
	// DamageCutInHeader: the record file ends inside its first record,
	// which carries the encoding's header: not one record can be read.
	DamageCutInHeader = "cut-in-header"
	// DamageEmpty: the record file holds no byte, though every run sends
	// requests.
	DamageEmpty = "empty"
	// DamageMissing: a file every run writes is not in the folder.
	DamageMissing = "missing"
	// DamageNotEnded: run.json is still the one written as the attack
	// started (results.Run.Running): gatecrash was killed before the end.
	DamageNotEnded = "not-ended"
)

// Damaged is one file of a run folder that is not whole: the report
// covers what was recorded, and says what was not.
type Damaged struct {
	// File is the file's name in the run folder.
	File string `json:"file"`
	// Problem is what is wrong with it: DamageCut, DamageCutInHeader,
	// DamageEmpty, DamageMissing or DamageNotEnded.
	Problem string `json:"problem"`
	// Dropped says what the report lacks for it, in words.
	Dropped string `json:"dropped"`
	// DroppedBytes counts the bytes after the last whole record or line
	// that were not read; DroppedLines the lines skipped. Both zero when
	// nothing in the file was skipped (a missing file, a run not ended).
	DroppedBytes int64 `json:"dropped_bytes"`
	DroppedLines int   `json:"dropped_lines"`
	// Warning says it all in one sentence: the diagnosis and every report
	// format carry it.
	Warning string `json:"warning"`
}

// Ending says how a record file read by EachRecord ended.
type Ending struct {
	// Records counts the whole records read.
	Records int
	// Empty is true when the file holds no byte at all.
	Empty bool
	// Dropped counts the bytes after the last whole record: a last record
	// cut short. Zero when the file ends on a whole record.
	Dropped int64
}

// RecordsDamage returns the damage an Ending shows in the record file
// named file, and false when it shows none.
func RecordsDamage(file string, e Ending) (Damaged, bool) {
	switch {
	case e.Empty:
		return Damaged{File: file, Problem: DamageEmpty, Dropped: "every request: not one was recorded",
			Warning: fmt.Sprintf("The %s file is empty: not one request was recorded, so the report has none.", file)}, true
	case e.Dropped > 0 && e.Records == 0:
		return Damaged{File: file, Problem: DamageCutInHeader, DroppedBytes: e.Dropped,
			Dropped: fmt.Sprintf("all %s: the file ends inside its first record", bytesWords(e.Dropped)),
			Warning: fmt.Sprintf("The %s file is cut inside its first record (%s): not one request could be read, so the report has none.", file, bytesWords(e.Dropped))}, true
	case e.Dropped > 0:
		return Damaged{File: file, Problem: DamageCut, DroppedBytes: e.Dropped,
			Dropped: fmt.Sprintf("%s after record %d, the last whole one", bytesWords(e.Dropped), e.Records),
			Warning: fmt.Sprintf("The %s file is cut: %s after its last whole record (the %s) were dropped, so the report covers only the %s read.", file, bytesWords(e.Dropped), ordinal(e.Records), plural(e.Records, "request"))}, true
	}
	return Damaged{}, false
}

// LinesDamage returns the damage of a JSON-lines file named file whose
// line number line, of n bytes, was cut short and skipped.
func LinesDamage(file string, line, n int) Damaged {
	return linesDamage(file, line, n, "what the proxy recorded last")
}

// TriesDamage returns the damage of a tries file named file whose last
// line, line number line of n bytes, is cut short.
func TriesDamage(file string, line, n int) Damaged {
	return linesDamage(file, line, n, "the last try the client recorded")
}

// StreamsDamage returns the damage of a streams file named file whose
// last line, line number line of n bytes, is cut short.
func StreamsDamage(file string, line, n int) Damaged {
	return linesDamage(file, line, n, "the last stream the client recorded")
}

// linesDamage is the damage of a JSON-lines file whose last line is cut
// short; lost says what that line held.
func linesDamage(file string, line, n int, lost string) Damaged {
	return Damaged{File: file, Problem: DamageCut, DroppedBytes: int64(n), DroppedLines: 1,
		Dropped: fmt.Sprintf("line %d (%s), cut short", line, bytesWords(int64(n))),
		Warning: fmt.Sprintf("%s is cut: its last line (line %d, %s) is not whole and was skipped, so %s is missing.", file, line, bytesWords(int64(n)), lost)}
}

// ExpectMissing returns the damage of a missing expect.json, named file:
// the expectations are unknown, so none can be judged.
func ExpectMissing(file string) Damaged {
	return Damaged{File: file, Problem: DamageMissing, Dropped: "the scenario's expectations: none was judged",
		Warning: fmt.Sprintf("%s is missing: the scenario's expectations are unknown, so none was judged; run the scenario again to judge them.", file)}
}

// NotEnded returns the damage of a run.json, named file, written as the
// attack started and never completed: gatecrash was killed, the last
// request recorded was sent at stoppedS.
func NotEnded(file string, stoppedS float64) Damaged {
	return Damaged{File: file, Problem: DamageNotEnded,
		Dropped: fmt.Sprintf("the run did not end: gatecrash was killed; nothing after %s was recorded", Secs(stoppedS)),
		Warning: fmt.Sprintf("The run did not end: gatecrash was killed (%s still says running), so the report covers what was recorded, up to %s.", file, Secs(stoppedS))}
}

// damageWords are the damage warnings, one sentence each.
func damageWords(r *Report) []string {
	out := make([]string, len(r.Damaged))
	for i, d := range r.Damaged {
		out[i] = d.Warning
	}
	return out
}

// notMeasured is the detail of every verdict of a damaged run.
const notMeasured = "not measured: the run is damaged"

// bytesWords says "1 byte", "37 bytes".
func bytesWords(n int64) string {
	if n == 1 {
		return "1 byte"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// ordinal says "1st", "2nd", "412th".
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}
