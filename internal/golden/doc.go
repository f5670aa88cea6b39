// Package golden holds the golden-file check the tests share (the root's
// report goldens, results, results/report and results/compare): it
// compares what a test made with a file under the package's testdata, or
// rewrites the file when the test runs with -update. Only tests import
// it; it must hold nothing else.
package golden
