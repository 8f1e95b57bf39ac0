package simulator

import (
	"fmt"
	"math/rand/v2"
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
// about one in twelve; a document check is done by the manual review.
func (g *dayGen) autoReview(p *declPlan) {
	at := p.rec.DeclaredAt.Add(time.Duration(60+g.rng.IntN(840)) * time.Second)
	manual := g.rng.IntN(100) < 28
	if g.rng.IntN(100) < 8 {
		p.order = &orderPlan{id: "BK" + p.rec.DeclNo, action: "inspect", issuedAt: at}
		if g.rng.IntN(10) < 4 {
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
	o = g.tie(p, "declaration_review", at, o)
	p.reviewer, p.reviewedAt = o, at
	if src != "" {
		g.lateReviewTruth(p, src)
	}
	g.reassign(p)
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
// simulation ends. It returns the anomaly's source, "" if none.
func (g *dayGen) reviewTime(p *declPlan) (time.Time, *Officer, string) {
	if left := g.w.WorkHoursBetween(p.routedAt, g.w.End) - time.Hour; left > reviewLimit*11/10 {
		if src := g.deviate("A25"); src != "" {
			f := []float64{1.1 + 0.8*g.rng.Float64(), 2.1 + 1.7*g.rng.Float64(), 4.2 + 1.3*g.rng.Float64()}[band(g.rng)]
			wh := min(time.Duration(f*float64(reviewLimit)), left)
			at, o := g.handleWork(p, "declaration_review", p.routedAt, wh)
			return at, o, src
		}
	}
	wh := min(14*time.Hour, time.Duration(g.rng.ExpFloat64()*2.5*float64(time.Hour))) + 5*time.Minute
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
