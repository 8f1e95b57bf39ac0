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
	excl := p.handlers()
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
	} else if x := g.b16Candidate(p); x != nil {
		if t := g.whenOnDuty(x, gate.Add(wh), g.w.End); !t.IsZero() {
			if src := g.deviate("B16"); src != "" {
				p.releaser, p.releasedAt = x, t
				p.b16 = &b16Plan{officer: x, steps: 2, second: t, src: src}
				return
			}
		}
	}
	excl := p.handlers()
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
