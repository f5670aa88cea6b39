package compare

import (
	"math"
	"sort"
)

// The one-sided Mann-Whitney U test, and van Elteren's stratified form.
//
// Two samples x (BASE's buckets) and y (NEW's) are ranked together, tied
// values sharing the mean of their ranks. U counts the pairs (x_i, y_j)
// with y_j > x_i, a tie counting half: U = R_y - n_y(n_y+1)/2, where R_y
// is the sum of y's ranks. Without a difference between the samples U has
// mean n_x·n_y/2 and variance n_x·n_y/12 · ((N+1) - Σ(t³-t)/(N(N-1))),
// N = n_x+n_y, the sum running over groups of t tied values; for samples
// of five or more a side U is close enough to normal to read a p-value
// from its standard score (Lehmann, Nonparametrics, 1975; R's
// wilcox.test with exact = FALSE does the same).

// mwStat is the U statistic of y against x and the moments of its
// distribution when the samples do not differ.
type mwStat struct {
	u, mean, sd float64
}

func mannWhitney(x, y []float64) mwStat {
	type obs struct {
		v   float64
		isY bool
	}
	all := make([]obs, 0, len(x)+len(y))
	for _, v := range x {
		all = append(all, obs{v, false})
	}
	for _, v := range y {
		all = append(all, obs{v, true})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	var ry, ties float64
	for i := 0; i < len(all); {
		j := i
		for j+1 < len(all) && all[j+1].v == all[i].v {
			j++
		}
		r := float64(i+j+2) / 2 // ranks i+1 .. j+1 share their mean
		for k := i; k <= j; k++ {
			if all[k].isY {
				ry += r
			}
		}
		t := float64(j - i + 1)
		ties += t*t*t - t
		i = j + 1
	}
	nx, ny := float64(len(x)), float64(len(y))
	n := nx + ny
	s := mwStat{u: ry - ny*(ny+1)/2, mean: nx * ny / 2}
	if n > 1 {
		s.sd = math.Sqrt(max(nx*ny/12*((n+1)-ties/(n*(n-1))), 0))
	}
	return s
}

// mwStrataStat combines the U tests of several strata, van Elteren's
// way: T = Σ w_k·U_k with w_k = 1/(N_k+1), N_k the size of stratum k, has
// mean Σ w_k·m_k and variance Σ w_k²·σ_k² (van Elteren, 1960). It
// compares buckets only with buckets of the same phase, which are alike,
// and weighs each phase about equally. With one stratum, w = 1: the
// plain test.
type mwStrataStat struct {
	s          mwStat  // T, its mean and sd
	sumU       float64 // Σ U_k
	best       float64 // the largest T - mean samples of these sizes allow
	sdDistinct float64 // the sd of T without ties
	strata     int     // strata with samples on both sides
}

func mannWhitneyStrata(xs, ys [][]float64) mwStrataStat {
	var r mwStrataStat
	var v, vd float64
	for k := range xs {
		if len(xs[k]) == 0 || len(ys[k]) == 0 {
			continue
		}
		m := mannWhitney(xs[k], ys[k])
		n1, n2 := float64(len(xs[k])), float64(len(ys[k]))
		w := 1.0
		if len(xs) > 1 {
			w = 1 / (n1 + n2 + 1)
		}
		r.s.u += w * m.u
		r.s.mean += w * m.mean
		v += w * w * m.sd * m.sd
		r.sumU += m.u
		r.best += w * n1 * n2 / 2
		vd += w * w * n1 * n2 * (n1 + n2 + 1) / 12
		r.strata++
	}
	r.s.sd, r.sdDistinct = math.Sqrt(v), math.Sqrt(vd)
	return r
}

// mwScore is the standard score of a distance d from the mean.
func mwScore(d, sd float64, cont bool) float64 {
	if sd == 0 {
		return 0
	}
	if cont {
		d -= 0.5
	}
	return d / sd
}

// zGreater is the standard score of U towards "y is higher", with the
// continuity correction when cont.
func (s mwStat) zGreater(cont bool) float64 {
	return mwScore(s.u-s.mean, s.sd, cont)
}

// zLess is the standard score of U towards "y is lower".
func (s mwStat) zLess(cont bool) float64 {
	return mwScore(s.mean-s.u, s.sd, cont)
}

// pGreater is the one-sided p-value that y tends to be higher than x.
func (s mwStat) pGreater(cont bool) float64 {
	if s.sd == 0 {
		return 1 // every value tied: no evidence either way
	}
	return normalUpper(s.zGreater(cont))
}

// pLess is the one-sided p-value that y tends to be lower than x.
func (s mwStat) pLess(cont bool) float64 {
	if s.sd == 0 {
		return 1
	}
	return normalUpper(s.zLess(cont))
}

// pTwoSided is the two-sided p-value that x and y differ; the continuity
// correction moves U half a step towards the mean, as R and SciPy do.
func (s mwStat) pTwoSided(cont bool) float64 {
	if s.sd == 0 {
		return 1
	}
	d := s.u - s.mean
	if cont && d != 0 {
		d -= math.Copysign(0.5, d)
	}
	return min(2*normalUpper(math.Abs(d)/s.sd), 1)
}

// normalUpper is P(Z > z) for a standard normal Z, accurate far into the
// tail.
func normalUpper(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }
