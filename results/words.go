package results

// The numbers as every report writes them: one decimal, a unit.
import (
	"math"
	"strconv"
)

// Secs writes seconds with one decimal: "12.5s".
func Secs(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "s" }

// instant shows a moment truncated to the tenth of a second it falls in,
// so that it reads as the timeline's bucket does.
func instant(v float64) string { return Secs(instantS(v)) }

// instantS is v truncated to the tenth of a second it falls in.
func instantS(v float64) float64 { return math.Floor(v*10) / 10 }

// Decimal writes a number with one decimal: "180.0".
func Decimal(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// Percent writes a share (0.05) as a percentage with one decimal: "5.0%".
func Percent(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }
