package simulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// b16Plan is the B16 anomaly on a declaration: one officer took two or
// three of review, inspection and release.
type b16Plan struct {
	officer *Officer
	steps   int
	second  time.Time // when the officer took the second step
	src     string
}

// modPlan is a modification or cancellation request (修改/撤销).
type modPlan struct {
	id, kind, ground   string
	requested, decided time.Time
	officer            *Officer
	approved           bool
	item               int // index of the item whose goods name is corrected
	before, after      string
}

// release lets the goods go once review and inspection are done and the
// vouchers are paid, unless the tax is aggregated or secured by a guarantee.
// The B01 anomaly releases before payment without either.
func (g *dayGen) release(p *declPlan, ready time.Time) {
	gate, unpaid := ready, false
	if !*p.rec.AggregatedTax && p.rec.GuaranteeNo == nil && len(p.vouchers) > 0 {
		if unpaid = g.releaseUnpaid(p, ready); !unpaid {
			for _, v := range p.vouchers {
				gate = later(gate, v.paidAt)
			}
		}
	}
	if !unpaid {
		g.releaseStep(p, gate)
	}
	p.states = append(p.states, state{"released", p.releasedAt})
	p.events = append(p.events, event{step: "release", officer: p.releaser, at: p.releasedAt, outcome: "released"})
	g.surcharges(p)
	if b := p.b16; b != nil {
		colour, note := orange, "the same officer reviewed and inspected"
		if b.steps == 3 {
			colour, note = red, "the same officer reviewed, inspected and released"
		} else if p.releaser == b.officer {
			note = "the same officer reviewed or inspected, and released"
		}
		g.truth(p, TruthRow{RuleID: "B16", Source: b.src, ObjectType: "declarations", ObjectKey: p.rec.DeclNo, OfficerID: b.officer.ID,
			Date: schemas.DateOf(b.second), Colour: colour, Note: note})
	}
}

// handlers are the officers who reviewed or inspected the declaration.
func (p *declPlan) handlers() []*Officer {
	out := []*Officer{}
	if p.reviewer != nil {
		out = append(out, p.reviewer)
	}
	if p.insp != nil {
		out = append(out, p.insp.team...)
	}
	return out
}

func releaseWork(g *dayGen) time.Duration { return time.Duration(5+g.rng.IntN(115)) * time.Minute }

// releaseUnpaid is the B01 anomaly, where it can be seen by the end and the
// vouchers can still be paid in time after it: release first, payment on a
// later day. "Tax" is read as duty and VAT (the 滞报金 is a fee); paid is
// compared by date, as paid_on is a date, so every planted voucher is paid
// on a later day than the release and every normal one before it.
func (g *dayGen) releaseUnpaid(p *declPlan, ready time.Time) bool {
	if !p.taxed || *p.rec.DutyPayable+*p.rec.VATPayable == 0 {
		return false
	}
	if p.fast != nil {
		return false
	}
	excl := g.releaseExcluded(p)
	t, o := g.handle(p, "release", ready, releaseWork(g), excl...)
	if !t.Before(g.w.End) {
		return false
	}
	day := schemas.DateOf(t)
	for _, v := range p.vouchers {
		if day >= payLimit(g.w, schemas.DateOf(v.issuedAt)) {
			return false
		}
	}
	src := g.deviate("B01")
	if src == "" {
		return false
	}
	p.releaser, p.releasedAt = g.tie(p, "release", t, o, excl...), t
	var owed schemas.Money
	for _, v := range p.vouchers {
		if schemas.DateOf(v.paidAt) <= day {
			g.payFrom(v, day+1)
		}
		if v.taxType == "duty" || v.taxType == "vat" {
			owed += v.amount
		}
	}
	colour := orange
	if owed > schemas.Yuan(100_000) {
		colour = red
	}
	g.truth(p, TruthRow{RuleID: "B01", Source: src, ObjectType: "declarations", ObjectKey: p.rec.DeclNo, OfficerID: p.releaser.ID,
		Date: day, Colour: colour, Note: fmt.Sprintf("released with %s tax unpaid, no guarantee, not aggregated", owed)})
	return true
}

// releaseStep picks when and by whom the goods are released after gate. The
// B16 anomaly has the reviewer or the inspector release them; where the
// reviewer already inspected, they release too half the time. B16's steps
// are the manual_review, the inspection (its recorded step or its officers)
// and the release; its date is the day of the officer's second step.
func (g *dayGen) releaseStep(p *declPlan, gate time.Time) {
	wh := releaseWork(g)
	if t, o := g.offDuty(p, gate.Add(wh)); o != nil {
		p.releaser, p.releasedAt = o, t
		return
	}
	if b := p.b16; b != nil {
		if g.rng.IntN(2) == 0 {
			if t := g.whenOnDuty(b.officer, gate.Add(wh), g.w.End); !t.IsZero() {
				p.releaser, p.releasedAt, b.steps = b.officer, t, 3
				return
			}
		}
	} else if g.fastRelease(p, gate) {
		return
	} else if x := g.b16Candidate(p); x != nil {
		if t := g.whenOnDuty(x, gate.Add(wh), g.w.End); !t.IsZero() {
			if src := g.deviate("B16"); src != "" {
				p.releaser, p.releasedAt = x, t
				p.b16 = &b16Plan{officer: x, steps: 2, second: t, src: src}
				return
			}
		}
	}
	excl := g.releaseExcluded(p)
	t, o := g.handle(p, "release", gate, wh, excl...)
	p.releaser, p.releasedAt = g.tie(p, "release", t, o, excl...), t
}

// b16Candidate is who could take the release as well: the reviewer or the
// lead inspector.
func (g *dayGen) b16Candidate(p *declPlan) *Officer {
	var c []*Officer
	if p.reviewer != nil {
		c = append(c, p.reviewer)
	}
	if p.insp != nil && !slices.Contains(c, p.insp.team[0]) {
		c = append(c, p.insp.team[0])
	}
	if len(c) == 0 {
		return nil
	}
	return c[g.rng.IntN(len(c))]
}

var modGrounds = []string{"XG01", "XG02", "XG03", "XG04"}

// modifyBefore is a request, for about 2.5 % of declarations without a
// control order (B03), to correct a goods name or, where no tax is due, to
// cancel the declaration; decided within about three working days, far
// inside A14's 20 WD. It returns when the declaration may be released, and
// false if it was cancelled.
func (g *dayGen) modifyBefore(p *declPlan, ready time.Time) (time.Time, bool) {
	if p.order != nil || g.rng.IntN(1000) >= 25 {
		return ready, true
	}
	cancel := len(p.vouchers) == 0 && p.routedAt.IsZero() && g.rng.IntN(10) < 3
	m := g.request(p, p.autoAt.Add(time.Duration(5+g.rng.IntN(55))*time.Minute), cancel)
	if cancel && m.approved {
		p.states = append(p.states, state{"cancelled", m.decided})
		return time.Time{}, false
	}
	return later(ready, m.decided), true
}

// modifyAfter is a post-release correction for about 1 % of released
// declarations; it never changes the tax (B04, B11).
func (g *dayGen) modifyAfter(p *declPlan) {
	if g.rng.IntN(100) == 0 {
		g.request(p, p.releasedAt.Add(time.Duration(1+g.rng.IntN(120))*time.Hour), false)
	}
}

// request plans one trader's request and its decision.
func (g *dayGen) request(p *declPlan, at time.Time, cancel bool) *modPlan {
	m := &modPlan{id: fmt.Sprintf("XG%s-%d", p.rec.DeclNo, len(p.mods)+1), kind: "modify", ground: modGrounds[g.rng.IntN(len(modGrounds))], requested: at}
	if cancel {
		m.kind = "cancel"
	} else {
		m.item = g.rng.IntN(len(p.items))
		m.before = *p.items[m.item].GoodsName
		m.after = m.before + "（更正）"
	}
	m.decided, m.officer = g.handle(p, "declaration_review", at, time.Duration(30+g.rng.IntN(1170))*time.Minute)
	m.approved = g.rng.IntN(100) < 85
	p.mods = append(p.mods, m)
	outcome := "rejected"
	if m.approved {
		outcome = "approved"
	}
	p.events = append(p.events,
		event{step: m.kind + "_request", at: at, outcome: "submitted", detail: `{"request_id":"` + m.id + `"}`},
		event{step: m.kind + "_decision", officer: m.officer, at: m.decided, outcome: outcome, detail: `{"request_id":"` + m.id + `"}`})
	return m
}

// changes is the request's changes array.
func (m *modPlan) changes() schemas.RawJSON {
	if m.kind == "cancel" {
		return "[]"
	}
	b, err := json.Marshal([]map[string]string{{"field": "goods_name", "before": m.before, "after": m.after}})
	if err != nil {
		panic(err)
	}
	return schemas.RawJSON(b)
}

// clearing is one declaration's release as C08 counts it: who released it
// for which consignee, on which day, and the seconds from acceptance to
// release (the difference of the whole seconds, as DuckDB's date_diff).
type clearing struct {
	officer, consignee string
	day                schemas.Date
	secs               float64
}

// clearingOf is the release at released of a declaration accepted at declared.
func clearingOf(officer, consignee string, declared, released time.Time) clearing {
	return clearing{officer, consignee, schemas.DateOf(released), float64(released.Unix() - declared.Unix())}
}

// The statistics of C08 at the defaults of its risk parameters: rules.md's
// volume and ratio, the orange ratio and the significance level the rule
// header adds.
const (
	c08WindowDays  = 90
	c08MinReleases = 20
	c08YellowRatio = 0.5
	c08OrangeRatio = 0.25
	c08Alpha       = 0.001
)

// median is the middle of xs, the mean of the two middle ones for an even
// count, as DuckDB's median; xs is sorted in place.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// speedHits is C08 as of last over the releases of the window ending on
// it: for each consignee and officer with at least 20 of its releases,
// against the other officers' at least 20 (the peers), the officer's
// median seconds from acceptance to release as a ratio of the peers'
// median, a hit below 0.5 (yellow), orange below 0.25, and significant:
// the sign test of the officer's releases quicker than the peers' median,
// P(X ≥ x) for X ~ Binomial(n, 1/2), adjusted by Benjamini–Hochberg over
// every tested pair (those not under 0.5 with p = 1), below 0.001. Without
// it, a fifth of the pairs would fire by chance: release times spread from
// minutes to days.
func speedHits(cs []clearing, last schemas.Date) []pairHit {
	from := last.AddDays(1 - c08WindowDays)
	type pair struct{ officer, consignee string }
	byPair, byEnt := map[pair][]float64{}, map[string][]pair{}
	for _, c := range cs {
		if c.day < from || c.day > last {
			continue
		}
		k := pair{c.officer, c.consignee}
		if byPair[k] == nil {
			byEnt[c.consignee] = append(byEnt[c.consignee], k)
		}
		byPair[k] = append(byPair[k], c.secs)
	}
	var tests []pairHit
	m := 0
	for _, ps := range byEnt {
		for _, k := range ps {
			own := byPair[k]
			var peers []float64
			for _, q := range ps {
				if q != k {
					peers = append(peers, byPair[q]...)
				}
			}
			if len(own) < c08MinReleases || len(peers) < c08MinReleases {
				continue
			}
			m++
			pm, om := median(peers), median(slices.Clone(own))
			if om >= c08YellowRatio*pm {
				continue
			}
			x := 0
			for _, s := range own {
				if s < pm {
					x++
				}
			}
			colour := yellow
			if om < c08OrangeRatio*pm {
				colour = orange
			}
			tests = append(tests, pairHit{officer: k.officer, ent: k.consignee, x: x, n: len(own), k: len(peers),
				p: binomUpper(len(own), x, 0.5), ratio: om / pm, colour: colour, due: last})
		}
	}
	return benjaminiHochberg(tests, m, c08Alpha)
}

// fastTrack is a planted C08 favour: the officer of the release post clears
// the consignee's declarations much faster than the peers do. When on duty
// as one arrives without a control order, they take it with probability
// bias, pushing the manual review through within minutes if quick, and
// release it as soon as it is paid (quick) or within a few hours (not
// quick); they leave its other declarations to the peers, so their share
// of the consignee's releases stays about even and C01 and C02 stay quiet.
type fastTrack struct {
	officer *Officer
	bias    float64
	quick   bool
	source  string
}

// fastMinPerOfficer is the consignee's releases per release officer that
// the window must be expected to hold for a planted fast track to be seen
// (C08 needs 20 on each side).
const fastMinPerOfficer = 20

// buildFastTracks plants C08 on officer–consignee pairs of the release post
// where the consignee's expected volume lets the statistic see it, and no
// planted C01 or C02 bias already works on the consignee or its brokers.
func (w *World) buildFastTracks() {
	w.fastTracks = map[*Ent][]*fastTrack{}
	rng := w.rng("fast-tracks", 0)
	workdays := float64(min(w.cfg.Days, c08WindowDays)) * 5 / 7
	perSub := float64(w.scale.DeclsPerDay) / float64(len(w.Subs)) * workdays
	for _, sub := range w.Subs {
		cum := w.cumWeight[sub]
		staff := w.Staff(sub, "release", w.cfg.Start)
		k := float64(len(staff))
		for _, e := range w.consignees[sub] {
			if len(staff) < 3 || perSub*e.weight/cum[len(cum)-1] < fastMinPerOfficer*k || w.colluded(e) {
				continue
			}
			for _, o := range staff {
				if src := w.deviation(rng, "C08"); src != "" {
					w.fastTracks[e] = append(w.fastTracks[e], &fastTrack{officer: o, bias: min(0.9, 4/k), quick: rng.IntN(10) < 6, source: src})
				}
			}
		}
	}
}

// colluded reports whether a planted C01 or C02 bias works on e or its brokers.
func (w *World) colluded(e *Ent) bool {
	for _, x := range append([]*Ent{e}, e.Brokers...) {
		if w.collusions[collusionKey{x, colludedPost}] != nil {
			return true
		}
	}
	return false
}

// fastTrack decides whether a favoured officer takes the declaration: one
// of the consignee's fast tracks whose officer holds the release post of
// its sub, is on duty as auto review ends, and has no tie to it.
func (g *dayGen) fastTrack(p *declPlan) {
	if p.order != nil {
		return
	}
	day := schemas.DateOf(p.autoAt)
	for _, f := range g.w.fastTracks[p.consignee] {
		ps := f.officer.At(day)
		if ps.Post == "release" && ps.Dept.Sub == p.sub && !p.tied(f.officer) && g.w.OnDuty(f.officer.ID, p.autoAt) && g.rng.Float64() < f.bias {
			p.fast = f
			return
		}
	}
}

// fastGate is how soon after auto review a fast-tracked declaration must be
// free to go (reviewed, paid) for the favoured officer to release it: they
// pick the ones they can clear the same day and leave the rest to the peers.
const fastGate = 3 * time.Hour

// fastRelease has the favoured officer release the declaration once it may
// go, if that is soon enough: minutes after the gate (quick) or two to six
// hours after, if they are on duty then. It reports whether they did.
func (g *dayGen) fastRelease(p *declPlan, gate time.Time) bool {
	f := p.fast
	if f == nil || gate.Sub(p.autoAt) > fastGate || slices.Contains(p.handlers(), f.officer) {
		return false
	}
	hold := time.Duration(3+g.rng.IntN(12)) * time.Minute
	if !f.quick {
		hold = time.Duration(120+g.rng.IntN(240)) * time.Minute
	}
	t := gate.Add(hold).Truncate(time.Second)
	if !g.w.OnDuty(f.officer.ID, t) {
		return false
	}
	p.releaser, p.releasedAt = f.officer, t
	return true
}

// releaseExcluded are the officers who may not take the declaration's
// release: those who reviewed or inspected it, and the consignee's
// favoured officers, who leave what they do not fast-track to the peers.
func (g *dayGen) releaseExcluded(p *declPlan) []*Officer {
	excl := p.handlers()
	for _, f := range g.w.fastTracks[p.consignee] {
		excl = append(excl, f.officer)
	}
	return excl
}

// speedTruth is the ground truth of C08 as of the last day: the hits of the
// statistic on the releases whose officer has a planted fast track on the
// consignee. A chance hit is no truth row (the sign test keeps those rare).
func (w *World) speedTruth(em *Emitter, facts []*DeclFacts) {
	var cs []clearing
	for _, f := range facts {
		if f.Releaser != nil && !f.ReleasedAt.IsZero() {
			cs = append(cs, clearingOf(f.Releaser.ID, f.Consignee.Code, f.DeclaredAt, f.ReleasedAt))
		}
	}
	ents := map[string]*Ent{}
	for _, f := range facts {
		ents[f.Consignee.Code] = f.Consignee
	}
	for _, h := range sortedHits(speedHits(cs, w.cfg.LastDay())) {
		if src := w.speedSource(h.officer, ents[h.ent]); src != "" {
			em.Truth(TruthRow{RuleID: "C08", Source: src, ObjectType: "pair", ObjectKey: h.officer + "|" + h.ent,
				OfficerID: h.officer, EntCode: h.ent, Date: w.cfg.LastDay(), Colour: h.colour,
				Note: fmt.Sprintf("median release time %.2f × the peers' over %d releases, %d of them quicker than the peers' median", h.ratio, h.n, h.x)})
		}
	}
}

// speedSource is the source of the planted cause of a C08 hit of officer on
// consignee e: a fast track, or a C01 bias, whose colluder takes the
// consignee's releases whenever on duty, so faster than peers who also
// release at night; "" if nothing planted explains it.
func (w *World) speedSource(officer string, e *Ent) string {
	for _, f := range w.fastTracks[e] {
		if f.officer.ID == officer {
			return f.source
		}
	}
	if c := w.collusions[collusionKey{e, colludedPost}]; c != nil && c.rule == "C01" && c.officer.ID == officer {
		return c.source
	}
	return ""
}
