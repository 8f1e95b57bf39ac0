package simulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// orderPlan is a control order (布控指令) and what became of it.
type orderPlan struct {
	id, action  string
	issuedAt    time.Time
	doneAt      time.Time // executed or cancelled
	cancelledBy *Officer
	reason      string
}

// reviewLimit is the internal limit on manual review (A25).
const reviewLimit = 24 * time.Hour

// autoReview is the system's check minutes after acceptance: it sends about
// three in ten declarations to manual review and raises a control order on
// about one in twelve (an inspection on half the declarations of a
// consignee a C07 shield protects, which the risk engine sees as risky); a
// document check is done by the manual review.
func (g *dayGen) autoReview(p *declPlan) {
	at := p.rec.DeclaredAt.Add(time.Duration(60+g.rng.IntN(840)) * time.Second)
	manual := g.rng.IntN(100) < 28
	orderPct, documentTenths := 8, 4
	if g.w.usualOf(p) != nil {
		orderPct, documentTenths = usualInspectPct, 0
	}
	if g.rng.IntN(100) < orderPct {
		p.order = &orderPlan{id: "BK" + p.rec.DeclNo, action: "inspect", issuedAt: at}
		if g.rng.IntN(10) < documentTenths {
			p.order.action, manual = "document_check", true
		}
	}
	p.autoAt = at
	outcome := "pass"
	if manual {
		outcome, p.routedAt = "manual", at
		p.states = append(p.states, state{"under_review", at})
	}
	p.events = append(p.events, event{step: "auto_review", at: at, outcome: outcome})
	if p.order == nil {
		return
	}
	p.events = append(p.events, event{step: "control_hit", at: at, outcome: p.order.action, detail: `{"order_id":"` + p.order.id + `"}`})
	if p.order.action == "inspect" {
		g.handCancel(p)
	}
}

// handCancel is the B07 anomaly: an inspection officer cancels the system's
// inspection order by hand (人工干预布控), mostly giving a reason.
func (g *dayGen) handCancel(p *declPlan) {
	o := p.order
	t, by := g.handle(p, "inspection", o.issuedAt, time.Duration(10+g.rng.IntN(110))*time.Minute)
	if !t.Before(g.w.End) {
		return
	}
	src := g.deviate("B07")
	if src == "" {
		return
	}
	o.doneAt, o.cancelledBy = t, by
	colour, note := orange, "system inspection order cancelled by hand without a reason"
	if g.rng.IntN(10) < 7 {
		o.reason = "企业信用良好，经研判取消查验"
		colour, note = yellow, "system inspection order cancelled by hand with a reason"
	}
	// B07 turns red if the enterprise later has a case; cases come from
	// another generator, which must raise the colour when it files one.
	g.truth(p, TruthRow{RuleID: "B07", Source: src, ObjectType: "control_orders", ObjectKey: o.id, OfficerID: by.ID, Date: schemas.DateOf(t), Colour: colour, Note: note})
}

// review is manual review where auto review sent the declaration, then
// tariff review or a price challenge for some. It returns when the
// declaration is ready for release, and false if it was returned.
func (g *dayGen) review(p *declPlan) (time.Time, bool) {
	ready := p.autoAt
	if p.routedAt.IsZero() {
		g.assess(p, ready)
		return ready, true
	}
	at, o, src := g.reviewTime(p)
	p.reviewer, p.reviewedAt = g.tie(p, "declaration_review", at, o), at
	if !g.favour(p) {
		g.reassign(p)
	}
	o = p.reviewer
	if src != "" {
		g.lateReviewTruth(p, src)
	}
	detail := `{"routed_at":"` + p.routedAt.Format(time.RFC3339) + `"}`
	if p.order == nil && p.rec.LateDeclarationFeeLevied == nil && p.rec.FeeExemptionCode == nil && g.rng.IntN(100) < 3 {
		p.events = append(p.events, event{step: "manual_review", officer: o, at: at, outcome: "return", detail: detail},
			event{step: "return", officer: o, at: at, outcome: "returned", detail: `{"reason":"申报要素不全"}`})
		p.states = append(p.states, state{"returned", at})
		return time.Time{}, false
	}
	p.events = append(p.events, event{step: "manual_review", officer: o, at: at, outcome: "pass", detail: detail})
	if p.order != nil && p.order.action == "document_check" {
		p.order.doneAt = at
	}
	ready = at
	if *p.rec.DutyPayable > 0 && g.rng.IntN(100) < 15 {
		t, to := g.handle(p, "tariff_review", at, time.Duration(30+g.rng.IntN(330))*time.Minute)
		p.events = append(p.events, event{step: "tariff_review", officer: to, at: t, outcome: "confirmed"})
		ready = t
	}
	if k := referenced(p.items); k > 0 && p.b10 == nil {
		ready = later(ready, g.priceChallenge(p, o, at, k))
	}
	g.assess(p, ready)
	return ready, true
}

// referenced is the first item with a reference price, 0 if none.
func referenced(its []schemas.DeclarationItem) int32 {
	for _, it := range its {
		if it.ReferencePrice != nil {
			return it.ItemNo
		}
	}
	return 0
}

// reviewTime is when and by whom manual review is finished: normally within
// 14 working hours plus what handle may add, under the 24 of A25; as the
// A25 anomaly 1.1 to 5.5 times the limit, as long as that is over before the
// simulation ends; within minutes where a favoured officer pushes it
// through (C08). It returns the anomaly's source, "" if none.
func (g *dayGen) reviewTime(p *declPlan) (time.Time, *Officer, string) {
	if left := g.w.WorkHoursBetween(p.routedAt, g.w.End) - time.Hour; left > reviewLimit*11/10 && p.fast == nil {
		if src := g.deviate("A25"); src != "" {
			f := []float64{1.1 + 0.8*g.rng.Float64(), 2.1 + 1.7*g.rng.Float64(), 4.2 + 1.3*g.rng.Float64()}[band(g.rng)]
			wh := min(time.Duration(f*float64(reviewLimit)), left)
			at, o := g.handleWork(p, "declaration_review", p.routedAt, wh)
			return at, o, src
		}
	}
	wh := min(14*time.Hour, time.Duration(g.rng.ExpFloat64()*2.5*float64(time.Hour))) + 5*time.Minute
	if p.fast != nil && p.fast.quick {
		wh = time.Duration(5+g.rng.IntN(20)) * time.Minute
	}
	at, o := g.handle(p, "declaration_review", p.routedAt, wh)
	return at, o, ""
}

// band draws a colour band for a planted overrun: yellow 60 %, orange 30 %, red 10 %.
func band(rng *rand.Rand) int {
	switch u := rng.IntN(10); {
	case u < 6:
		return 0
	case u < 9:
		return 1
	}
	return 2
}

// lateReviewTruth records an A25 breach. The review runs from the auto
// review's routing to the manual_review step. Working hours are the standard
// 08:30–17:30 of working days, whatever shift the reviewer works, as the
// duty roster only says when an officer is there, not how long a step may
// take. The warning is due on the day the 24th hour runs out, and graded by
// the hours taken (or taken so far at the end).
func (g *dayGen) lateReviewTruth(p *declPlan, src string) {
	upto := p.reviewedAt
	if upto.After(g.w.End) {
		upto = g.w.End
	}
	took := g.w.WorkHoursBetween(p.routedAt, upto)
	if took <= reviewLimit {
		return
	}
	due := g.w.AddWorkHours(g.w.AddWorkHours(p.routedAt, reviewLimit), time.Second)
	officer := ""
	if p.reviewedAt.Before(g.w.End) {
		officer = p.reviewer.ID
	}
	g.truth(p, TruthRow{
		RuleID: "A25", Source: src, ObjectType: "declarations", ObjectKey: p.rec.DeclNo, OfficerID: officer,
		Date: schemas.DateOf(due), Colour: colourRatio(took, reviewLimit),
		Note: fmt.Sprintf("manual review took %.1f working hours (limit 24)", took.Hours()),
	})
}

// reassign has the clearance section chief hand a manual review over to
// another officer before it is done, for one review a fortnight per sub at
// most, so that no officer collects five in a quarter (C03) by chance.
func (g *dayGen) reassign(p *declPlan) {
	chief := g.env.chiefs[p.sub]
	if chief == nil || int(g.day-g.w.cfg.Start)%14 != 3 || g.reassigns[p.sub] > 0 {
		return
	}
	t := p.reviewedAt.Add(-time.Duration(10+g.rng.IntN(50)) * time.Minute)
	if !t.After(p.routedAt) || !g.w.OnDuty(chief.ID, t) {
		return
	}
	from := g.pick(p, "declaration_review", t, p.reviewer)
	if from == nil {
		return
	}
	g.reassigns[p.sub]++
	p.events = append(p.events, event{step: "reassign", officer: chief, at: t, outcome: "reassigned",
		detail: `{"from":"` + from.ID + `","to":"` + p.reviewer.ID + `"}`})
}

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// favourWeights share the planted reassignments (C03) among a chief's
// favourites: one is favoured most, the others less, so that their counts
// fall in different colour bands.
var favourWeights = []float64{0.6, 0.25, 0.15}

// buildFavourites picks, for every subordinate customs, the reviewers its
// clearance chief would favour if the chief bends the assignment (C03).
func (w *World) buildFavourites() {
	w.favourites = map[*Dept][]*Officer{}
	rng := w.rng("favourites", 0)
	for _, sub := range w.Subs {
		staff := w.Staff(sub, "declaration_review", w.cfg.Start)
		if len(staff) <= 2*len(favourWeights) {
			continue
		}
		for _, i := range rng.Perm(len(staff))[:len(favourWeights)] {
			w.favourites[sub] = append(w.favourites[sub], staff[i])
		}
	}
}

// favourDraws is the declaration's own stream for C03: whether the chief
// hands its manual review to a favourite (the first draw, which the ground
// truth repeats to tell planted hand-overs from normal ones) and when.
func (w *World) favourDraws(declNo string) *rand.Rand { return w.rng("favour/"+declNo, 0) }

// favourSource is the first draw of the declaration's C03 stream.
func (w *World) favourSource(declNo string) string {
	return w.deviation(w.favourDraws(declNo), "C03")
}

// favour is the C03 anomaly on a manual review with duty at stake: the
// clearance section chief takes it from the reviewer it fell to and hands
// it to one of the chief's favourites on duty, with a reassign step ten
// minutes to an hour before the review is done. It reports whether it did.
// It draws from the declaration's own stream, so that asking leaves the
// day's draws as they were.
func (g *dayGen) favour(p *declPlan) bool {
	chief, favs := g.env.chiefs[p.sub], g.w.favourites[p.sub]
	if chief == nil || len(favs) == 0 || *p.rec.DutyPayable == 0 || p.tied(p.reviewer) {
		return false
	}
	day := schemas.DateOf(p.reviewedAt)
	var on []*Officer
	var weights []float64
	for i, f := range favs {
		if ps := f.At(day); f != p.reviewer && ps.Post == "declaration_review" && ps.Dept.Sub == p.sub && !p.tied(f) && g.w.OnDuty(f.ID, p.reviewedAt) {
			on, weights = append(on, f), append(weights, favourWeights[i])
		}
	}
	rng := g.w.favourDraws(p.rec.DeclNo)
	src := g.w.deviation(rng, "C03")
	t := p.reviewedAt.Add(-time.Duration(10+rng.IntN(50)) * time.Minute)
	if len(on) == 0 || !t.After(p.routedAt) || !g.w.OnDuty(chief.ID, t) {
		return false
	}
	g.res.stats["C03"]++
	if src == "" {
		return false
	}
	to := on[weighted(rng, weights)]
	p.events = append(p.events, event{step: "reassign", officer: chief, at: t, outcome: "reassigned",
		detail: `{"from":"` + p.reviewer.ID + `","to":"` + to.ID + `"}`})
	p.reviewer = to
	return true
}

// weighted draws an index with probability proportional to its weight.
func weighted(rng *rand.Rand, weights []float64) int {
	total := 0.0
	for _, x := range weights {
		total += x
	}
	u := rng.Float64() * total
	for i, x := range weights {
		if u < x {
			return i
		}
		u -= x
	}
	return len(weights) - 1
}

// handOver is one declaration handed by hand to an officer, as the
// reassign steps of the records show it.
type handOver struct {
	to, declNo string
	at         time.Time
}

// c03Counts are rules.md's counts of reassignments to one officer in a
// quarter from which C03 is yellow, orange and red.
var c03Counts = [3]int{5, 10, 20}

// reassignHits is C03 as of last: per receiving officer and quarter of the
// step, the distinct declarations handed to them (the first hand-over of
// each), with the day the fifth came and the colour of the count.
func reassignHits(hs []handOver, last schemas.Date) []pairHit {
	type cell struct{ to, quarter string }
	first := map[string]handOver{}
	for _, h := range hs {
		k := h.to + "|" + h.declNo
		if schemas.DateOf(h.at) <= last && (first[k].at.IsZero() || h.at.Before(first[k].at)) {
			first[k] = h
		}
	}
	byCell := map[cell][]handOver{}
	for _, h := range first {
		c := cell{h.to, quarterOf(schemas.DateOf(h.at))}
		byCell[c] = append(byCell[c], h)
	}
	var out []pairHit
	for c, list := range byCell {
		if len(list) < c03Counts[0] {
			continue
		}
		slices.SortFunc(list, func(a, b handOver) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.declNo, b.declNo)) })
		colour := yellow
		switch {
		case len(list) >= c03Counts[2]:
			colour = red
		case len(list) >= c03Counts[1]:
			colour = orange
		}
		out = append(out, pairHit{officer: c.to, x: len(list), colour: colour, period: c.quarter,
			due: schemas.DateOf(list[c03Counts[0]-1].at)})
	}
	return out
}

// reassignTruth is the ground truth of C03 from the reassign steps the
// clearance emitted: every officer and quarter with five or more hand-overs
// among which the chief's planted favouritism (or its background twin) had
// a part; normal reassignment stays under five by construction.
func (w *World) reassignTruth(em *Emitter) {
	e, err := schemas.Lookup("declaration_events")
	if err != nil {
		panic(err)
	}
	var hs []handOver
	for _, r := range em.records[e.Name] {
		if !bytes.Contains(r.JSON, []byte(`"step":"reassign"`)) {
			continue
		}
		rec, err := e.Decode(r.JSON)
		if err != nil {
			panic(fmt.Sprintf("simulator made an invalid event: %v", err))
		}
		ev := rec.(*schemas.DeclarationEvent)
		var d struct{ To string }
		if ev.Detail != nil && json.Unmarshal([]byte(*ev.Detail), &d) == nil && d.To != "" {
			hs = append(hs, handOver{d.To, *ev.DeclNo, *ev.OccurredAt})
		}
	}
	last := w.cfg.LastDay()
	bySource := map[string]string{}
	for _, h := range hs {
		if src := w.favourSource(h.declNo); src == Planted || bySource[h.to+quarterOf(schemas.DateOf(h.at))] == "" {
			bySource[h.to+quarterOf(schemas.DateOf(h.at))] = src
		}
	}
	for _, h := range sortedHits(reassignHits(hs, last)) {
		src := bySource[h.officer+h.period]
		if src == "" {
			continue
		}
		em.Truth(TruthRow{RuleID: "C03", Source: src, ObjectType: "officers", ObjectKey: h.officer, OfficerID: h.officer,
			Date: h.due, Colour: h.colour, Period: h.period,
			Note: fmt.Sprintf("%d declarations reassigned by hand to the officer in %s", h.x, h.period)})
	}
}
