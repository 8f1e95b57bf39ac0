package simulator

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// usualPlan is a planted C07 case: a release officer shields one
// consignee, whose inspections find nothing while the officer holds the
// post; the officer leaves it (swapped with an officer of another
// section) on leaves, and
// from then on its inspections find what is there, in rate of a hundred.
// The officer takes somewhat more of its releases than an even share, so
// that they are its usual officer, yet below C01's 3 × 1/k; the risk
// engine, which sees the consignee as risky, orders an inspection of
// usualInspectPct in a hundred of its declarations.
type usualPlan struct {
	ent     *Ent
	officer *Officer
	leaves  schemas.Date
	rate    int
	bias    float64
	source  string
}

// The planted case's scale, and the statistics of C07 at the defaults of
// its risk parameters: rules.md's 3 × and 20 inspections a side, the
// windows and the significance level the rule header adds.
const (
	usualInspectPct    = 50 // inspection orders per hundred declarations of a shielded consignee
	usualMinExpected   = 30 // inspections expected on each side of the transfer for a plant
	usualShareOfEven   = 2.2
	c07WindowDays      = 90
	c07MinInspections  = 20
	c07Ratio           = 3
	c07Alpha           = 0.001
	usualRotationPost  = "logistics"
	usualRotationField = "logistics"
)

// buildUsuals plants C07 on officer–consignee pairs of the release post:
// for each consignee big enough to show 30 inspections on each side of the
// middle of the period's working days (at the raised inspection rate) and
// with no other planted bias, each release officer of its customs who
// stays in post is asked w.deviation; the first planted is its shield,
// swapped with an officer of the customs' logistics section on a working
// day within one of that middle. One shield at most per customs (see
// plantUsual).
func (w *World) buildUsuals() {
	w.usuals = map[*Ent]*usualPlan{}
	first := w.Cal.NextWorkday(w.cfg.Start.AddDays(-1))
	total := w.Cal.WorkdaysBetween(first, w.cfg.LastDay())
	if total < 8 {
		return
	}
	side := float64(total/2 - 1)
	rng := w.rng("usuals", 0)
	for _, sub := range w.Subs {
		w.plantUsual(rng, sub, first, total, side)
	}
}

// plantUsual plants at most one shield in sub: every swap brings a new
// officer into the release post, and several would spread the consignees'
// releases over more officers than the even share of C01 assumes.
func (w *World) plantUsual(rng *rand.Rand, sub *Dept, first schemas.Date, total int, side float64) {
	cum := w.cumWeight[sub]
	staff := w.Staff(sub, colludedPost, w.cfg.Start)
	rotation := w.rotationSection(sub)
	if len(staff) < 3 || rotation == nil {
		return
	}
	k := float64(len(staff))
	perDay := float64(w.scale.DeclsPerDay) / float64(len(w.Subs))
	for _, e := range w.consignees[sub] {
		if perDay*e.weight/cum[len(cum)-1]*side*usualInspectPct/100 < usualMinExpected || w.colluded(e) || len(w.fastTracks[e]) > 0 {
			continue
		}
		for _, o := range staff {
			if len(o.Postings) > 1 || w.overdueRotation(o) {
				continue
			}
			if src := w.deviation(rng, "C07"); src != "" {
				leaves := w.Cal.AddWorkdays(first, total/2-1+rng.IntN(3))
				w.usuals[e] = &usualPlan{ent: e, officer: o, leaves: leaves, rate: 40 + rng.IntN(31),
					bias: (usualShareOfEven - 1) / (k - 1), source: src}
				w.swap(rng, o, rotation, leaves)
				return
			}
		}
	}
}

// swap rotates o out of the release post into section's post on day, and
// one of that post's officers who stays put into o's place, so that the
// release post keeps its strength (the peers' shares, C01; the officers
// on duty, B15). With nobody to swap, o just leaves.
func (w *World) swap(rng *rand.Rand, o *Officer, section *Dept, day schemas.Date) {
	from := o.At(day)
	var cands []*Officer
	for _, x := range w.Staff(section.Sub, usualRotationPost, w.cfg.Start) {
		if len(x.Postings) == 1 && !x.Leader && !w.overdueRotation(x) {
			cands = append(cands, x)
		}
	}
	o.Postings = append(o.Postings, Posting{From: day, Dept: section, Post: usualRotationPost})
	w.staff[staffKey{section.Sub, usualRotationPost}] = append(w.staff[staffKey{section.Sub, usualRotationPost}], o)
	if len(cands) == 0 {
		return
	}
	x := cands[rng.IntN(len(cands))]
	x.Postings = append(x.Postings, Posting{From: day, Dept: from.Dept, Post: from.Post})
	w.staff[staffKey{section.Sub, from.Post}] = append(w.staff[staffKey{section.Sub, from.Post}], x)
}

// rotationSection is the section of sub an officer rotated out of a
// sensitive post goes to.
func (w *World) rotationSection(sub *Dept) *Dept {
	for _, d := range w.DeptsUnder(sub) {
		if d.Function == usualRotationField {
			return d
		}
	}
	return nil
}

// usualOf is the planted shield of the declaration's consignee, nil if none.
func (w *World) usualOf(p *declPlan) *usualPlan { return w.usuals[p.consignee] }

// shielded reports whether an inspection of the declaration finishing at t
// is planted to find nothing: its consignee's shield still holds the post.
func (u *usualPlan) shielded(t time.Time) bool {
	return schemas.DateOf(t) < u.leaves
}

// transfer is an officer leaving a post: a new version of their record with
// another department or post, from day.
type transfer struct {
	officer string
	day     schemas.Date
}

// inspected is one finished inspection of a consignee's declaration.
type inspected struct {
	consignee string
	day       schemas.Date
	finding   bool
}

// transfersOf lists the officers' changes of department or post.
func transfersOf(officers []*Officer) []transfer {
	var out []transfer
	for _, o := range officers {
		for i := 1; i < len(o.Postings); i++ {
			if p, q := o.Postings[i-1], o.Postings[i]; p.Dept != q.Dept || p.Post != q.Post {
				out = append(out, transfer{o.ID, q.From})
			}
		}
	}
	return out
}

// shieldHits is C07 as of last. For each officer's latest transfer in the
// 90 days up to last, on day T: the consignees whose usual officer they
// were, i.e. who released strictly more of its declarations than anyone
// else in the 90 days before T; for each, its inspections finished in the
// 90 days before T (n_b, with x_b findings) and from T to last (n_a, x_a).
// With n_b and n_a at least 20 the pair is tested; it is a hit when the
// rate after is at least 3 × the rate before, x_a·n_b ≥ 3·x_b·n_a with
// x_a ≥ 1, and significant: Fisher's one-sided exact P(X ≥ x_a), X the
// findings after among the x_a + x_b, adjusted by Benjamini–Hochberg over
// every tested pair (the others with p = 1), below 0.001. Without the
// test, a consignee with no finding in 20 inspections and one in the next
// 20 — a matter of chance at a 5 % findings rate — would be a jump.
func shieldHits(transfers []transfer, rels []clearing, insps []inspected, last schemas.Date) []pairHit {
	latest := map[string]schemas.Date{}
	for _, t := range transfers {
		if t.day > last.AddDays(-c07WindowDays) && t.day <= last && t.day > latest[t.officer] {
			latest[t.officer] = t.day
		}
	}
	byDay := map[schemas.Date][]string{}
	for o, d := range latest {
		byDay[d] = append(byDay[d], o)
	}
	var tests []pairHit
	m := 0
	for day, officers := range byDay {
		for ent, o := range usualOfficers(rels, day.AddDays(-c07WindowDays), day) {
			if !slices.Contains(officers, o) {
				continue
			}
			nb, xb, na, xa := 0, 0, 0, 0
			for _, in := range insps {
				switch {
				case in.consignee != ent:
				case in.day >= day.AddDays(-c07WindowDays) && in.day < day:
					nb, xb = nb+1, xb+b2i(in.finding)
				case in.day >= day && in.day <= last:
					na, xa = na+1, xa+b2i(in.finding)
				}
			}
			if nb < c07MinInspections || na < c07MinInspections {
				continue
			}
			m++
			if xa == 0 || xa*nb < c07Ratio*xb*na {
				continue
			}
			tests = append(tests, pairHit{officer: o, ent: ent, x: xa, n: na, k: nb, ratio: float64(xb),
				p: hyperUpper(na, nb, xa, xa+xb), colour: orange, due: last, period: day.String()})
		}
	}
	return benjaminiHochberg(tests, m, c07Alpha)
}

// usualOfficers maps each consignee to the officer who released strictly
// more of its declarations than any other on the days [from, to).
func usualOfficers(rels []clearing, from, to schemas.Date) map[string]string {
	counts := map[string]map[string]int{}
	for _, r := range rels {
		if r.day >= from && r.day < to {
			if counts[r.consignee] == nil {
				counts[r.consignee] = map[string]int{}
			}
			counts[r.consignee][r.officer]++
		}
	}
	out := map[string]string{}
	for ent, byOfficer := range counts {
		best, top, ties := "", 0, 0
		for o, n := range byOfficer {
			switch {
			case n > top:
				best, top, ties = o, n, 0
			case n == top:
				ties++
			}
		}
		if ties == 0 {
			out[ent] = best
		}
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// hyperUpper is Fisher's one-sided P(X ≥ x): X the successes among n
// drawn from n + m items of which k are successes (hypergeometric).
func hyperUpper(n, m, x, k int) float64 {
	lc := func(a, b int) float64 {
		x, _ := math.Lgamma(float64(a + 1))
		y, _ := math.Lgamma(float64(b + 1))
		z, _ := math.Lgamma(float64(a - b + 1))
		return x - y - z
	}
	sum := 0.0
	for j := x; j <= min(k, n); j++ {
		if k-j <= m {
			sum += math.Exp(lc(n, j) + lc(m, k-j) - lc(n+m, k))
		}
	}
	return min(1, sum)
}

// shieldTruth is the ground truth of C07 as of the last day: the hits of
// the statistic on the records whose officer is a planted shield of the
// consignee. A chance hit on a normal transfer is no truth row.
func (w *World) shieldTruth(em *Emitter, facts []*DeclFacts) {
	var rels []clearing
	consignee := map[string]string{}
	ents := map[string]*Ent{}
	for _, f := range facts {
		consignee[f.DeclNo], ents[f.Consignee.Code] = f.Consignee.Code, f.Consignee
		if f.Releaser != nil && !f.ReleasedAt.IsZero() {
			rels = append(rels, clearingOf(f.Releaser.ID, f.Consignee.Code, f.DeclaredAt, f.ReleasedAt))
		}
	}
	for _, h := range sortedHits(shieldHits(transfersOf(w.Officers), rels, w.inspectedOf(em, consignee), w.cfg.LastDay())) {
		if u := w.usuals[ents[h.ent]]; u != nil && u.officer.ID == h.officer {
			em.Truth(TruthRow{RuleID: "C07", Source: u.source, ObjectType: "pair", ObjectKey: h.officer + "|" + h.ent,
				OfficerID: h.officer, EntCode: h.ent, Date: w.cfg.LastDay(), Colour: orange,
				Note: fmt.Sprintf("findings %d of %d inspections after the officer left on %s, %.0f of %d before", h.x, h.n, h.period, h.ratio, h.k)})
		}
	}
}

// inspectedOf reads the finished inspections from the emitted records (the
// last version of each), with their declaration's consignee.
func (w *World) inspectedOf(em *Emitter, consignee map[string]string) []inspected {
	e, err := schemas.Lookup("inspections")
	if err != nil {
		panic(err)
	}
	type version struct {
		at  time.Time
		rec *schemas.Inspection
	}
	last := map[string]version{}
	for _, r := range em.records[e.Name] {
		rec, err := e.Decode(r.JSON)
		if err != nil {
			panic(fmt.Sprintf("simulator made an invalid inspection: %v", err))
		}
		in := rec.(*schemas.Inspection)
		if v, ok := last[in.InspectionID]; !ok || !r.UpdatedAt.Before(v.at) {
			last[in.InspectionID] = version{r.UpdatedAt, in}
		}
	}
	var out []inspected
	for _, id := range slices.Sorted(maps.Keys(last)) {
		in := last[id].rec
		if in.FinishedAt != nil && in.Result != nil {
			out = append(out, inspected{consignee[*in.DeclNo], schemas.DateOf(*in.FinishedAt), *in.Result == "mismatch"})
		}
	}
	return out
}
