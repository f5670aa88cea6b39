package compare

import (
	"math"
	"testing"
)

// The Mann-Whitney U test against published values.
func TestCompareMannWhitneyKnownValues(t *testing.T) {
	// R's ?wilcox.test: Hollander & Wolfe (1973), 69f., permeability
	// constants of the human chorioamnion.
	hwX := []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	hwY := []float64{1.15, 0.88, 0.90, 0.74, 1.21}
	// SciPy's mannwhitneyu documentation: ages of male and female
	// workers.
	males := []float64{19, 22, 16, 29, 24}
	females := []float64{20, 11, 17, 12}
	// R's ?wilcox.test: airquality Ozone in May and in August, NAs
	// dropped; many ties.
	may := []float64{41, 36, 12, 18, 28, 23, 19, 8, 7, 16, 11, 14, 18, 14, 34, 6, 30, 11, 1, 11, 4, 32, 23, 45, 115, 37}
	aug := []float64{39, 9, 16, 78, 35, 66, 122, 89, 110, 44, 28, 65, 22, 59, 23, 31, 44, 21, 9, 45, 168, 73, 76, 118, 84, 85}
	sep := func(lo float64) []float64 { return []float64{lo, lo + 1, lo + 2, lo + 3, lo + 4} }

	tests := []struct {
		name string
		// mannWhitney(base, cur): U is cur's.
		base, cur []float64
		p         func(mwStat) float64
		wantU     float64
		wantP     float64
		tol       float64
	}{
		{"R: wilcox.test(x, y, alternative = \"greater\", exact = FALSE, correct = FALSE): W = 35, p-value = 0.1103",
			hwY, hwX, func(s mwStat) float64 { return s.pGreater(false) }, 35, 0.1103, 5e-5},
		{"the same with the continuity correction: z = (35 - 25 - 0.5)/sqrt(10*5*16/12)",
			hwY, hwX, func(s mwStat) float64 { return s.pGreater(true) }, 35, normalUpper(9.5 / math.Sqrt(10*5*16.0/12)), 1e-15},
		{"the other way round: pLess of the swapped samples",
			hwX, hwY, func(s mwStat) float64 { return s.pLess(false) }, 15, 0.1103, 5e-5},
		{"SciPy: mannwhitneyu(males, females, method=\"asymptotic\"): statistic 17.0, pvalue 0.11134688653314041",
			females, males, func(s mwStat) float64 { return s.pTwoSided(true) }, 17, 0.11134688653314041, 1e-12},
		{"R: wilcox.test(Ozone ~ Month, subset = Month %in% c(5, 8)): W = 127.5, p-value = 0.0001208 (ties)",
			aug, may, func(s mwStat) float64 { return s.pTwoSided(true) }, 127.5, 0.0001208, 5e-8},
		{"five a side, fully apart: U = 25, p = 1 - Phi(12/sqrt(25*11/12)) = 0.0061, under 0.01",
			sep(0), sep(10), func(s mwStat) float64 { return s.pGreater(true) }, 25, 0.006088, 5e-6},
		{"every value tied: no evidence",
			[]float64{3, 3, 3, 3, 3}, []float64{3, 3, 3, 3, 3}, func(s mwStat) float64 { return s.pGreater(true) }, 12.5, 1, 0},
		{"all zero against all 5%: ties on both sides, still clear",
			[]float64{0, 0, 0, 0, 0, 0}, []float64{0.05, 0.05, 0.05, 0.05, 0.05, 0.05}, func(s mwStat) float64 { return s.pGreater(true) },
			36, normalUpper((18 - 0.5) / math.Sqrt(36.0/12*(13-2*(216-6)/(12.0*11)))), 1e-15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mannWhitney(tt.base, tt.cur)
			if s.u != tt.wantU {
				t.Errorf("U: got %v, want %v", s.u, tt.wantU)
			}
			if p := tt.p(s); math.Abs(p-tt.wantP) > tt.tol {
				t.Errorf("p: got %.10g, want %.10g (±%g)", p, tt.wantP, tt.tol)
			}
		})
	}
}

func TestCompareNormalUpper(t *testing.T) {
	for _, tt := range []struct{ z, want float64 }{
		{0, 0.5}, {1.959963984540054, 0.025}, {2.3263478740408408, 0.01}, {3.090232306167813, 0.001},
		{-1.6448536269514722, 0.95}, {8.209536151601387, 1.1102230246251565e-16},
	} {
		if got := normalUpper(tt.z); math.Abs(got-tt.want) > 1e-12*max(1, tt.want*1e4) {
			t.Errorf("P(Z > %v): got %.17g, want %.17g", tt.z, got, tt.want)
		}
	}
}

// van Elteren's combination, by hand: stratum A, x 1 2 3 against y 4 5 6
// (U 9, mean 4.5, variance 9·7/12), weight 1/7; stratum B, x 1 2 against
// y 0 3 (U 2, mean 2, variance 4·5/12), weight 1/5.
func TestCompareVanElteren(t *testing.T) {
	st := mannWhitneyStrata([][]float64{{1, 2, 3}, {1, 2}}, [][]float64{{4, 5, 6}, {0, 3}})
	wantT, wantMean := 9.0/7+2.0/5, 4.5/7+2.0/5
	wantSD := math.Sqrt(9*7.0/12/49 + 4*5.0/12/25)
	if math.Abs(st.s.u-wantT) > 1e-12 || math.Abs(st.s.mean-wantMean) > 1e-12 || math.Abs(st.s.sd-wantSD) > 1e-12 {
		t.Errorf("T %v, mean %v, sd %v; want %v, %v, %v", st.s.u, st.s.mean, st.s.sd, wantT, wantMean, wantSD)
	}
	if st.sumU != 11 || st.strata != 2 {
		t.Errorf("sum of U %v over %d strata, want 11 over 2", st.sumU, st.strata)
	}
	if z := st.s.zGreater(false); math.Abs(z-1.5420) > 1e-4 {
		t.Errorf("z %v, want 1.5420", z)
	}
	// One stratum: the plain test, continuity correction included.
	x, y := []float64{1, 4, 2, 8}, []float64{3, 9, 7, 6, 5}
	one, plain := mannWhitneyStrata([][]float64{x}, [][]float64{y}), mannWhitney(x, y)
	if one.s != plain {
		t.Errorf("one stratum: %+v, want %+v", one.s, plain)
	}
	// A stratum empty on one side adds nothing.
	if two := mannWhitneyStrata([][]float64{x, {1}}, [][]float64{y, nil}); two.strata != 1 {
		t.Errorf("strata with samples on both sides: got %d, want 1", two.strata)
	}
}
