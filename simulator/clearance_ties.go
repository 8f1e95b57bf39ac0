package simulator

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// collusion is a planted bias of the officer assignment: when the colluding
// officer is on duty and eligible, they take the enterprise's release with
// probability bias, on top of their even chance among the peers on duty.
// C01 biases one consignee's releases, C02 one broker's (subtly: a share of
// about 35 % among the peers).
type collusion struct {
	rule    string
	officer *Officer
	bias    float64
	source  string
}

type collusionKey struct {
	ent  *Ent
	post string
}

// The planted assignment biases, and the statistics of C01 and C02 at the
// defaults of the rules' risk parameters (rules.md's, and the significance
// levels the rule headers add).
const (
	colludedPost      = "release" // every declaration is released: the post with the volume to see a bias
	c01WindowDays     = 90
	c01MinDecls       = 20
	c01Alpha          = 0.001
	c02MinDecls       = 20
	c02Alpha          = 0.001
	c02TargetShare    = 0.35 // the subtle colluder: 35 % of a broker's releases
	c02MaxShareOfEven = 2.5  // ... but below C01's 3 × 1/k, so C01 does not see it
	plantMinExpected  = 40   // plant only where the window will hold enough declarations to see it
)

var c01Ratios = []float64{4, 6.5, 9} // planted share × peers: yellow, orange, red bands

// buildCollusions plants the C01 and C02 biases on enterprises whose
// expected volume in the window is enough for the statistics to see them.
func (w *World) buildCollusions() {
	w.collusions = map[collusionKey]*collusion{}
	rng := w.rng("collusions", 0)
	workdays := float64(min(w.cfg.Days, c01WindowDays)) * 5 / 7
	perSub := float64(w.scale.DeclsPerDay) / float64(len(w.Subs)) * workdays
	expected := map[*Ent]float64{}
	for _, sub := range w.Subs { // in order: float sums must not follow map order
		cum := w.cumWeight[sub]
		for _, e := range w.consignees[sub] {
			n := perSub * e.weight / cum[len(cum)-1]
			expected[e] += n
			for _, b := range e.Brokers {
				expected[b] += n / float64(len(e.Brokers))
			}
		}
	}
	w.suppressors = map[*Officer]string{}
	for _, sub := range w.Subs {
		for _, o := range w.Staff(sub, "inspection", w.cfg.Start) {
			if src := w.deviation(rng, "B08"); src != "" {
				w.suppressors[o] = src
			}
		}
	}
	for _, e := range w.Ents {
		if expected[e] < plantMinExpected {
			continue
		}
		staff := w.Staff(e.Sub, colludedPost, w.cfg.Start)
		if len(staff) < 3 {
			continue
		}
		k := float64(len(staff))
		if e.Kind != "broker" {
			if src := w.deviation(rng, "C01"); src != "" {
				share := min(0.95, c01Ratios[band(rng)]/k)
				w.collusions[collusionKey{e, colludedPost}] = &collusion{"C01", staff[rng.IntN(len(staff))], (share - 1/k) / (1 - 1/k), src}
				continue
			}
		}
		if e.Kind != "consignee" {
			if src := w.deviation(rng, "C02"); src != "" {
				share := min(c02TargetShare, c02MaxShareOfEven/k)
				w.collusions[collusionKey{e, colludedPost}] = &collusion{"C02", staff[rng.IntN(len(staff))], max(0, (share-1/k)/(1-1/k)), src}
			}
		}
	}
}

// colluder is the planted bias on the declaration's consignee, else its
// broker, for post; nil if none.
func (w *World) colluder(p *declPlan, post string) *collusion {
	if c := w.collusions[collusionKey{p.consignee, post}]; c != nil {
		return c
	}
	return w.collusions[collusionKey{p.broker, post}]
}

// linked reports whether officer's hit on the consignee or broker e comes
// from a planted bias: their own, or one on an enterprise that shares
// declarations with e (a consignee's broker, a broker's consignee).
func (w *World) linked(officer *Officer, e *Ent, post string) *collusion {
	if c := w.collusions[collusionKey{e, post}]; c != nil && c.officer == officer {
		return c
	}
	if e.Kind != "broker" {
		for _, b := range append([]*Ent{e}, e.Brokers...) {
			if c := w.collusions[collusionKey{b, post}]; c != nil && c.officer == officer {
				return c
			}
		}
	}
	if e.Kind != "consignee" {
		for _, sub := range w.Subs {
			for _, c := range w.consignees[sub] {
				if slices.Contains(c.Brokers, e) || c == e {
					if x := w.collusions[collusionKey{c, post}]; x != nil && x.officer == officer {
						return x
					}
				}
			}
		}
	}
	return nil
}

// release is one handling step (of colludedPost, or manual review) as the
// statistics count it.
type release struct {
	post, officer, consignee, broker, sub string
	day                                   schemas.Date
}

// relationshipTruth is the ground truth of the statistical rules, which
// only the whole period's records decide: C01, C02, B08, C03, C07 and C08.
func (w *World) relationshipTruth(em *Emitter, facts []*DeclFacts) {
	w.collusionTruth(em, facts)
	w.inspectionTruth(em, facts)
	w.reassignTruth(em)
	w.speedTruth(em, facts)
	w.shieldTruth(em, facts)
}

// collusionTruth is the ground truth of C01 and C02 as of the last day: the
// hits of the two statistics, computed from the releases, whose officer a
// planted bias links to the enterprise. A chance hit on normal assignment
// is no truth row (the statistics keep those rare).
func (w *World) collusionTruth(em *Emitter, facts []*DeclFacts) {
	last := w.cfg.LastDay()
	var rels []release
	ents := map[string]*Ent{}
	for _, f := range facts {
		if f.Releaser == nil || f.ReleasedAt.IsZero() {
			continue
		}
		ents[f.Consignee.Code], ents[f.Broker.Code] = f.Consignee, f.Broker
		rels = append(rels, release{colludedPost, f.Releaser.ID, f.Consignee.Code, f.Broker.Code, f.Sub.ID, schemas.DateOf(f.ReleasedAt)})
	}
	for _, h := range sortedHits(shareHits(rels, last)) {
		if c := w.linked(w.OfficerByID(h.officer), ents[h.ent], h.period); c != nil {
			em.Truth(TruthRow{RuleID: "C01", Source: c.source, ObjectType: "pair", ObjectKey: h.officer + "|" + h.ent,
				OfficerID: h.officer, EntCode: h.ent, Date: last, Colour: h.colour,
				Note: fmt.Sprintf("released %d of the consignee's %d declarations in the window among %d officers", h.x, h.n, h.k)})
		}
	}
	for _, h := range sortedHits(brokerHits(rels, last)) {
		if c := w.linked(w.OfficerByID(h.officer), ents[h.ent], colludedPost); c != nil {
			em.Truth(TruthRow{RuleID: "C02", Source: c.source, ObjectType: "pair", ObjectKey: h.officer + "|" + h.ent,
				OfficerID: h.officer, EntCode: h.ent, Date: h.due, Colour: h.colour, Period: h.period,
				Note: fmt.Sprintf("released %d of the broker's %d declarations, p = %.3g", h.x, h.n, h.p)})
		}
	}
}

// sortedHits orders hits by officer, enterprise and period, so the truth
// does not follow map order.
func sortedHits(hs []pairHit) []pairHit {
	slices.SortFunc(hs, func(a, b pairHit) int {
		return cmp.Or(cmp.Compare(a.officer, b.officer), cmp.Compare(a.ent, b.ent), cmp.Compare(a.period, b.period))
	})
	return hs
}

// pairHit is one officer–enterprise hit of C01 or C02.
type pairHit struct {
	officer, ent   string
	x, n, k        int
	p, ratio       float64
	colour, period string
	due            schemas.Date
}

// shareHits is C01 over the steps of each post on the consignees'
// declarations in the window ending on last (period holds the post): the officer's share x/n of the consignee's n ≥ 20 releases against
// the even share 1/k among the k officers who released any, at least
// 3 × (yellow), 5 × (orange), 8 × (red), and significant: the one-sided
// binomial P(X ≥ x) against 1/k, adjusted by Benjamini–Hochberg over every
// (consignee, officer) of the post with n ≥ 20 (those under 3 × with p = 1),
// below 0.001. Without the test, chance alone puts one of 16 reviewers at
// 3 × on a consignee with 30 declarations about once in ten.
func shareHits(rels []release, last schemas.Date) []pairHit {
	from := last.AddDays(1 - c01WindowDays)
	type cell struct{ post, ent, officer string }
	counts := map[cell]int{}
	for _, r := range rels {
		if r.day >= from && r.day <= last {
			counts[cell{r.post, r.consignee, r.officer}]++
		}
	}
	n, k := map[cell]int{}, map[cell]int{}
	for c, x := range counts {
		n[cell{c.post, c.ent, ""}] += x
		k[cell{c.post, c.ent, ""}]++
	}
	m := map[string]int{}
	for c, nn := range n {
		if nn >= c01MinDecls {
			m[c.post] += k[c]
		}
	}
	tests := map[string][]pairHit{}
	for key, x := range counts {
		nn, kk := n[cell{key.post, key.ent, ""}], k[cell{key.post, key.ent, ""}]
		if nn < c01MinDecls || x*kk < 3*nn {
			continue
		}
		colour := yellow
		switch {
		case x*kk >= 8*nn:
			colour = red
		case x*kk >= 5*nn:
			colour = orange
		}
		tests[key.post] = append(tests[key.post], pairHit{officer: key.officer, ent: key.ent, x: x, n: nn, k: kk,
			p: binomUpper(nn, x, 1/float64(kk)), colour: colour, due: last, period: key.post})
	}
	var out []pairHit
	for post, ts := range tests {
		out = append(out, benjaminiHochberg(ts, m[post], c01Alpha)...)
	}
	return out
}

// brokerHits is C02: per quarter, subordinate customs and post, the count x
// of officer–broker releases against Binomial(n, p0), n the broker's releases
// (at least 20) and p0 the officer's share of all the post's releases; the
// one-sided p-values of every officer × eligible broker of a quarter are
// adjusted by Benjamini–Hochberg, and a pair is a hit below 0.001. A hit in
// the previous quarter too makes it red.
func brokerHits(rels []release, last schemas.Date) []pairHit {
	type group struct{ quarter, sub string }
	type cell struct {
		group
		officer, broker string
	}
	total, byOfficer, byBroker, pairs := map[group]int{}, map[cell]int{}, map[cell]int{}, map[cell]int{}
	for _, r := range rels {
		if r.day > last || r.post != colludedPost {
			continue
		}
		g := group{quarterOf(r.day), r.sub}
		total[g]++
		byOfficer[cell{g, r.officer, ""}]++
		byBroker[cell{g, "", r.broker}]++
		pairs[cell{g, r.officer, r.broker}]++
	}
	officers, brokers := map[group]int{}, map[group]int{}
	for c := range byOfficer {
		officers[c.group]++
	}
	for c, n := range byBroker {
		if n >= c02MinDecls {
			brokers[c.group]++
		}
	}
	m := map[string]int{}
	for g := range total {
		m[g.quarter] += officers[g] * brokers[g]
	}
	tests := map[string][]pairHit{}
	for c, x := range pairs {
		n, no, nt := byBroker[cell{c.group, "", c.broker}], byOfficer[cell{c.group, c.officer, ""}], total[c.group]
		if n < c02MinDecls {
			continue
		}
		p := 1.0
		if x*nt > n*no {
			p = binomUpper(n, x, float64(no)/float64(nt))
		}
		tests[c.quarter] = append(tests[c.quarter], pairHit{officer: c.officer, ent: c.broker, x: x, n: n, p: p, period: c.quarter})
	}
	hit := map[string]pairHit{}
	for q, ts := range tests {
		for _, h := range benjaminiHochberg(ts, m[q], c02Alpha) {
			k := h.officer + "|" + h.ent + "|" + q
			if prev, ok := hit[k]; !ok || h.p < prev.p {
				hit[k] = h
			}
		}
	}
	var out []pairHit
	for _, h := range hit {
		h.colour, h.due = orange, min(last, quarterEnd(h.period))
		if _, ok := hit[h.officer+"|"+h.ent+"|"+previousQuarter(h.period)]; ok {
			h.colour = red
		}
		out = append(out, h)
	}
	return out
}

// benjaminiHochberg returns the tests whose BH-adjusted p-value, over m
// tests in all (those not listed have p = 1), is below alpha. Ties are
// ranked by officer and enterprise, as the SQL ranks them.
func benjaminiHochberg(ts []pairHit, m int, alpha float64) []pairHit {
	slices.SortFunc(ts, func(a, b pairHit) int {
		return cmp.Or(cmp.Compare(a.p, b.p), cmp.Compare(a.officer, b.officer), cmp.Compare(a.ent, b.ent))
	})
	var out []pairHit
	adj := math.Inf(1)
	for i := len(ts) - 1; i >= 0; i-- {
		adj = min(adj, ts[i].p*float64(m)/float64(i+1))
		if adj < alpha {
			out = append(out, ts[i])
		}
	}
	return out
}

// binomUpper is P(X ≥ x) for X ~ Binomial(n, p): the sum of the terms from
// x on, each from the previous, started in logs; it stops once a term no
// longer changes the sum.
func binomUpper(n, x int, p float64) float64 {
	if x <= 0 {
		return 1
	}
	if x > n {
		return 0
	}
	lg := func(v int) float64 { r, _ := math.Lgamma(float64(v) + 1); return r }
	term := math.Exp(lg(n) - lg(x) - lg(n-x) + float64(x)*math.Log(p) + float64(n-x)*math.Log1p(-p))
	sum := 0.0
	for j := x; j <= n && term > sum*1e-17; j++ {
		sum += term
		term *= float64(n-j) / float64(j+1) * p / (1 - p)
	}
	return min(1, sum)
}

// quarterOf is the quarter label of d, as dim_date.quarter_label.
func quarterOf(d schemas.Date) string {
	t := d.Time()
	return fmt.Sprintf("%dQ%d", t.Year(), (int(t.Month())+2)/3)
}

// quarterEnd is the last day of quarter label q.
func quarterEnd(q string) schemas.Date {
	var y, n int
	fmt.Sscanf(q, "%dQ%d", &y, &n)
	return schemas.DateOf(time.Date(y, time.Month(3*n+1), 0, 0, 0, 0, 0, time.UTC))
}

// previousQuarter is the label of the quarter before q.
func previousQuarter(q string) string {
	var y, n int
	fmt.Sscanf(q, "%dQ%d", &y, &n)
	if n == 1 {
		return fmt.Sprintf("%dQ4", y-1)
	}
	return fmt.Sprintf("%dQ%d", y, n-1)
}

// pairWarningTruth is C04's ground truth from the a/b truth rows: an
// officer–enterprise pair with 2 or more distinct a/b warnings due in one
// quarter, orange from the day the second is due, red with 3 or more. It
// is planted when any of its warnings is.
func pairWarningTruth(rows []TruthRow) []TruthRow {
	type pairQuarter struct{ officer, ent, quarter string }
	byPair := map[pairQuarter][]TruthRow{}
	for _, r := range rows {
		if (r.RuleID[0] == 'A' || r.RuleID[0] == 'B') && r.OfficerID != "" && r.EntCode != "" {
			k := pairQuarter{r.OfficerID, r.EntCode, quarterOf(r.Date)}
			byPair[k] = append(byPair[k], r)
		}
	}
	var out []TruthRow
	for k, ws := range byPair {
		if len(ws) < 2 {
			continue
		}
		slices.SortFunc(ws, func(a, b TruthRow) int { return cmp.Compare(a.Date, b.Date) })
		t := TruthRow{RuleID: "C04", Source: Background, ObjectType: "pair", ObjectKey: k.officer + "|" + k.ent,
			OfficerID: k.officer, EntCode: k.ent, Date: ws[1].Date, Colour: orange, Period: k.quarter,
			Note: fmt.Sprintf("%d deadline or procedure warnings in %s", len(ws), k.quarter)}
		if len(ws) >= 3 {
			t.Colour = red
		}
		for _, w := range ws {
			if w.Source == Planted {
				t.Source = Planted
			}
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b TruthRow) int {
		return cmp.Or(cmp.Compare(a.ObjectKey, b.ObjectKey), cmp.Compare(a.Period, b.Period))
	})
	return out
}
