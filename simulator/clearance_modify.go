package simulator

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// reqChange is one entry of a request's changes array.
type reqChange struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// reqPlan is a modification or cancellation request (修改/撤销) as it is
// written out: the trader's ordinary requests, the backlog of requests
// made before the simulation (A14) and the planted changes of B03, B04 and
// B11.
type reqPlan struct {
	id, declNo, kind, ground     string    // ground "" for none
	requested, extended, decided time.Time // extended zero: no extension
	officer                      *Officer
	approved                     bool
	changes                      schemas.RawJSON
	taxDelta                     schemas.Money
	items                        []schemas.DeclarationItem // the changed items, written at an approval
	duty, vat                    schemas.Money             // the declaration's tax after an approved change of tax
}

// A14's limits and grades, in working days.
const (
	modLimitWD     = 20
	modExtendedWD  = 30
	modYellowMaxWD = 10
	modOrangeMaxWD = 25
	// backlogDays is how many days before the start the backlog of open
	// requests reaches back.
	backlogDays = 40
	// b04Cycle spaces an officer's B04 hits: they come only from the
	// declarations of one day in b04Cycle, one a day, and are decided
	// within b04Lag days, so no officer has three in a quarter.
	b04Cycle = 52
	b04Lag   = 7
)

// req is an ordinary request of the clearance generator as written out.
func (m *modPlan) req(p *declPlan) *reqPlan {
	r := &reqPlan{id: m.id, declNo: p.rec.DeclNo, kind: m.kind, ground: m.ground, requested: m.requested,
		decided: m.decided, officer: m.officer, approved: m.approved, changes: m.changes()}
	if m.approved && m.kind == "modify" {
		it := p.items[m.item]
		it.GoodsName = ptr(m.after)
		r.items = []schemas.DeclarationItem{it}
	}
	return r
}

// changesJSON encodes a changes array.
func changesJSON(cs ...reqChange) schemas.RawJSON {
	if len(cs) == 0 {
		return "[]"
	}
	b, err := json.Marshal(cs)
	if err != nil {
		panic(err)
	}
	return schemas.RawJSON(b)
}

// modify plants, once the declaration's plan is complete, at most one of
// B03, B11 and B04 on a declaration without an ordinary request, and
// handles its fee vouchers. The first declaration of a day also brings
// that day's share of the backlog.
func (g *dayGen) modify(p *declPlan) {
	if len(g.res.facts) == 0 {
		g.backlog()
	}
	if len(p.mods) == 0 && !g.plantB03(p) && !g.plantB11(p) {
		g.plantB04(p)
	}
	g.feeWaivers(p)
}

// dutyItem is the index of a random item carrying duty, -1 if none.
func (g *dayGen) dutyItem(p *declPlan) int {
	var ks []int
	for k, it := range p.items {
		if *it.DutyRate > 0 {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		return -1
	}
	return ks[g.rng.IntN(len(ks))]
}

// taxCut is an approved change of item k that lowers its duty rate: a new
// HS code of a lower-rated line, or a preferential origin at half the rate.
func (g *dayGen) taxCut(p *declPlan, k int, field string) *reqPlan {
	it := p.items[k]
	old := *it.DutyRate
	var cs []reqChange
	if field == "hs_code" {
		var lower []goods
		for _, c := range goodsCatalogue {
			if c.rate < old && c.hs != *it.HSCode {
				lower = append(lower, c)
			}
		}
		c := lower[g.rng.IntN(len(lower))]
		cs = append(cs, reqChange{"hs_code", *it.HSCode, c.hs})
		it.HSCode, it.DutyRate = ptr(c.hs), ptr(c.rate)
	} else {
		to := []string{"NZ", "CL", "AU", "KR"}[g.rng.IntN(4)]
		if to == *it.OriginCountry {
			to = "SG"
		}
		cs = append(cs, reqChange{"origin_country", *it.OriginCountry, to})
		it.OriginCountry, it.DutyRate = ptr(to), ptr(old/2)
	}
	cs = append(cs, reqChange{"duty_rate", old.String(), it.DutyRate.String()})
	its := append([]schemas.DeclarationItem(nil), p.items...)
	its[k] = it
	duty := dutyOf(its)
	vat := vatOf(*p.rec.CustomsValue, duty)
	return &reqPlan{kind: "modify", approved: true, changes: changesJSON(cs...), items: []schemas.DeclarationItem{it},
		duty: duty, vat: vat, taxDelta: duty + vat - *p.rec.DutyPayable - *p.rec.VATPayable}
}

// file adds a planted request to the plan with its two events.
func (g *dayGen) file(p *declPlan, r *reqPlan, ground string, requested, decided time.Time, by *Officer) {
	r.id, r.declNo, r.ground = fmt.Sprintf("XG%s-%d", p.rec.DeclNo, len(p.mods)+len(p.reqs)+1), p.rec.DeclNo, ground
	r.requested, r.decided, r.officer = requested, decided, by
	p.reqs = append(p.reqs, r)
	detail := `{"request_id":"` + r.id + `"}`
	p.events = append(p.events,
		event{step: "modify_request", at: requested, outcome: "submitted", detail: detail},
		event{step: "modify_decision", officer: by, at: decided, outcome: "approved", detail: detail})
}

// plantB03 is the B03 anomaly: a change approved while the inspection an
// order called for is under way, lowering the tax (red) or not (orange).
func (g *dayGen) plantB03(p *declPlan) bool {
	o, in := p.order, p.insp
	if o == nil || in == nil || o.cancelledBy != nil || !in.finished.Before(g.w.End) {
		return false
	}
	at := in.assigned.Add(time.Duration(5+g.rng.IntN(55)) * time.Minute)
	t, by := g.handle(p, "declaration_review", at, time.Duration(10+g.rng.IntN(40))*time.Minute)
	if !t.Before(in.finished) {
		return false
	}
	src := g.deviate("B03")
	if src == "" {
		return false
	}
	var r *reqPlan
	if k := g.dutyItem(p); k >= 0 && g.rng.IntN(10) < 4 {
		r = g.taxCut(p, k, "origin_country")
	} else {
		k := g.rng.IntN(len(p.items))
		name := *p.items[k].GoodsName
		it := p.items[k]
		it.GoodsName = ptr(name + "（更正）")
		r = &reqPlan{kind: "modify", approved: true, changes: changesJSON(reqChange{"goods_name", name, *it.GoodsName}),
			items: []schemas.DeclarationItem{it}}
	}
	g.file(p, r, modGrounds[g.rng.IntN(len(modGrounds))], at, t, by)
	colour, note := orange, "modified during the inspection"
	if r.taxDelta < 0 {
		colour, note = red, fmt.Sprintf("modified during the inspection, tax down %s", -r.taxDelta)
	}
	g.truth(p, TruthRow{RuleID: "B03", Source: src, ObjectType: "modification_requests", ObjectKey: r.id, OfficerID: by.ID,
		Date: schemas.DateOf(t), Colour: colour, Note: note})
	return true
}

// plantB11 is the B11 anomaly: before release, an HS code changed to a
// lower-rated line without a ground code.
func (g *dayGen) plantB11(p *declPlan) bool {
	if p.order != nil || p.releasedAt.IsZero() {
		return false
	}
	k := g.dutyItem(p)
	if k < 0 {
		return false
	}
	at := p.autoAt.Add(time.Duration(5+g.rng.IntN(55)) * time.Minute)
	t, by := g.handle(p, "declaration_review", at, time.Duration(20+g.rng.IntN(100))*time.Minute)
	if !t.Before(p.releasedAt) || !t.Before(g.w.End) {
		return false
	}
	src := g.deviate("B11")
	if src == "" {
		return false
	}
	r := g.taxCut(p, k, "hs_code")
	g.file(p, r, "", at, t, by)
	g.truth(p, TruthRow{RuleID: "B11", Source: src, ObjectType: "modification_requests", ObjectKey: r.id, OfficerID: by.ID,
		Date: schemas.DateOf(t), Colour: colourM1M2(-r.taxDelta), Note: fmt.Sprintf("HS code changed without a ground, tax down %s", -r.taxDelta)})
	return true
}

// plantB04 is the B04 anomaly: after release, a change with a ground that
// lowers the tax. Days are generated apart, so a quarter's count per
// officer cannot be seen here; instead each officer takes B04 hits only
// from one day in b04Cycle, one a day, decided within b04Lag days: never
// three in a quarter, and the colour is the tax lost's alone.
func (g *dayGen) plantB04(p *declPlan) bool {
	k := g.dutyItem(p)
	if p.releasedAt.IsZero() || k < 0 {
		return false
	}
	var cands []*Officer
	// The cycle filters first, sparing a posting lookup per officer for
	// nearly every declaration.
	for _, o := range g.w.staff[staffKey{p.sub, "declaration_review"}] {
		if b04Day(o, g.day) && o.At(g.day).Post == "declaration_review" && o.At(g.day).Dept.Sub == p.sub && !p.tied(o) && !g.b04Today(o) {
			cands = append(cands, o)
		}
	}
	if len(cands) == 0 {
		return false
	}
	by := cands[g.rng.IntN(len(cands))]
	at := p.releasedAt.Add(time.Duration(60+g.rng.IntN(47*60)) * time.Minute)
	bound := g.day.AddDays(b04Lag + 1).Time()
	if g.w.End.Before(bound) {
		bound = g.w.End
	}
	t := g.whenOnDuty(by, at.Add(time.Duration(20+g.rng.IntN(100))*time.Minute), bound)
	if t.IsZero() {
		return false
	}
	src := g.deviate("B04")
	if src == "" {
		return false
	}
	r := g.taxCut(p, k, []string{"hs_code", "origin_country"}[g.rng.IntN(2)])
	g.file(p, r, modGrounds[g.rng.IntN(len(modGrounds))], at, t, by)
	g.truth(p, TruthRow{RuleID: "B04", Source: src, ObjectType: "modification_requests", ObjectKey: r.id, OfficerID: by.ID,
		Date: schemas.DateOf(t), Colour: colourM1M2(-r.taxDelta), Note: fmt.Sprintf("changed after release, tax down %s", -r.taxDelta)})
	return true
}

// b04Day reports whether o may take a B04 hit from the declarations of day d.
func b04Day(o *Officer, d schemas.Date) bool {
	n, _ := strconv.Atoi(o.ID)
	return (int(d)+n)%b04Cycle == 0
}

// b04Today reports whether o already has a B04 hit from today's declarations.
func (g *dayGen) b04Today(o *Officer) bool {
	for _, t := range g.res.em.truth {
		if t.RuleID == "B04" && t.OfficerID == o.ID {
			return true
		}
	}
	return false
}

// taxChanges are the plan's approved requests that change the tax, in the
// order they were decided.
func (p *declPlan) taxChanges() []*reqPlan {
	var out []*reqPlan
	for _, r := range p.reqs {
		if r.approved && r.taxDelta != 0 {
			out = append(out, r)
		}
	}
	return out
}

// backlog is the share of day i of the requests made on the i-th day
// before the start, on declarations accepted before it: decided within
// about eight working days, some on the 20th. The A14 anomaly leaves one
// undecided past its limit of 20 WD, or 30 with an extension.
func (g *dayGen) backlog() {
	i := int(g.day - g.w.cfg.Start)
	day := g.w.cfg.Start.AddDays(-1 - i)
	if i >= backlogDays || !g.w.Cal.IsWorkday(day) {
		return
	}
	per := g.w.scale.DeclsPerDay * 25 / 1000 / len(g.w.Subs)
	for _, sub := range g.w.Subs {
		for k := range per * (90 + g.rng.IntN(21)) / 100 {
			g.backlogRequest(sub, day, k)
		}
	}
}

// backlogRequest is one request of day on a declaration outside the data.
func (g *dayGen) backlogRequest(sub *Dept, day schemas.Date, k int) {
	no := fmt.Sprintf("%s%04d14%03d%05d", sub.CustomsCode, day.Time().Year(), day.Time().YearDay(), k)
	r := &reqPlan{id: "XG" + no + "-1", declNo: no, kind: "modify", ground: modGrounds[g.rng.IntN(len(modGrounds))],
		requested: g.w.WorkMoment(g.rng, day), approved: g.rng.IntN(100) < 85, changes: "[]"}
	if g.rng.IntN(5) == 0 {
		r.kind = "cancel"
	} else {
		name := goodsCatalogue[g.rng.IntN(len(goodsCatalogue))].name
		r.changes = changesJSON(reqChange{"goods_name", name, name + "（更正）"})
	}
	p := &declPlan{sub: sub}
	limit := g.w.Cal.AddWorkdays(day, modLimitWD)
	post := "declaration_review"
	src := g.deviate("A14")
	switch {
	case src != "":
		g.lateDecision(p, r, day, src)
	case g.rng.IntN(20) == 0:
		r.decided, r.officer = g.handle(p, post, workStart(limit), time.Duration(g.rng.IntN(7*60))*time.Minute)
		if schemas.DateOf(r.decided) > limit {
			r.decided, r.officer = g.handle(p, post, r.requested, time.Hour)
		}
	default:
		r.decided, r.officer = g.handle(p, post, r.requested, time.Duration(60+g.rng.IntN(71*60))*time.Minute)
	}
	g.emitRequest(r)
}

// lateDecision is the A14 anomaly on a backlog request: decided some
// working days past its limit, if by the end at all, with its truth as of
// the last day.
func (g *dayGen) lateDecision(p *declPlan, r *reqPlan, day schemas.Date, src string) {
	wd := modLimitWD
	if g.rng.IntN(10) < 3 {
		r.extended, wd = g.w.WorkMoment(g.rng, g.w.Cal.AddWorkdays(day, 10+g.rng.IntN(9))), modExtendedWD
	}
	over := 1 + g.rng.IntN(modYellowMaxWD)
	if u := g.rng.IntN(100); u >= 85 {
		over = modOrangeMaxWD + 1 + g.rng.IntN(20)
	} else if u >= 60 {
		over = modYellowMaxWD + 1 + g.rng.IntN(modOrangeMaxWD-modYellowMaxWD)
	}
	target := g.w.Cal.AddWorkdays(day, wd+over)
	r.decided, r.officer = g.handle(p, "declaration_review", workStart(target), time.Duration(g.rng.IntN(6*60))*time.Minute)
	end := g.w.End
	if r.extended.IsZero() || !r.extended.Before(end) {
		wd = modLimitWD
	}
	limit := g.w.Cal.AddWorkdays(day, wd)
	upto, officer := g.w.cfg.LastDay(), ""
	if r.decided.Before(end) {
		upto, officer = schemas.DateOf(r.decided), r.officer.ID
	}
	n := g.w.Cal.WorkdaysBetween(limit, upto)
	if n < 1 {
		return
	}
	colour := red
	if n <= modYellowMaxWD {
		colour = yellow
	} else if n <= modOrangeMaxWD {
		colour = orange
	}
	g.res.em.Truth(TruthRow{RuleID: "A14", Source: src, ObjectType: "modification_requests", ObjectKey: r.id, OfficerID: officer,
		Date: g.w.Cal.AddWorkdays(limit, 1), Colour: colour, Note: fmt.Sprintf("request undecided %d WD past its %d-WD limit", n, wd)})
}

// feeWaivers records who computed each 滞报金 and 滞纳金 and waives some.
func (g *dayGen) feeWaivers(p *declPlan) {
	for _, v := range p.vouchers {
		if v.taxType == "late_declaration_fee" || v.taxType == "late_payment_surcharge" {
			g.feeWaiver(p, v)
		}
	}
}

// feeWaiver records the tariff officer on duty when the fee was computed
// (the system, when nobody was) and, for one fee in five, a cut or a
// write-off of a 滞纳金 with a listed ground by another tariff officer. A
// 滞报金 is only cut, before its payment, which release waits for. The B12
// anomaly waives without a listed ground, or has the officer who computed
// the fee waive it.
func (g *dayGen) feeWaiver(p *declPlan, v *voucherPlan) {
	if !v.issuedAt.Before(g.w.End) {
		return
	}
	v.computer = g.pick(p, "tariff_review", v.issuedAt)
	if v.computer != nil {
		p.events = append(p.events, event{step: "tariff_review", officer: v.computer, at: v.issuedAt, outcome: "fee_assessed",
			detail: `{"voucher_no":"` + v.no + `","amount":"` + v.amount.String() + `"}`})
	}
	surcharge := v.taxType == "late_payment_surcharge"
	bound := v.paidAt
	if surcharge {
		bound = payLimit(g.w, schemas.DateOf(v.issuedAt)).AddDays(1).Time()
	}
	if g.w.End.Before(bound) {
		bound = g.w.End
	}
	t, by := g.handle(p, "tariff_review", v.issuedAt, time.Duration(15+g.rng.IntN(225))*time.Minute, v.computer)
	if !t.Before(bound) {
		return
	}
	src := g.deviate("B12")
	ground := exemptionCodes[g.rng.IntN(len(exemptionCodes))]
	switch {
	case src != "" && v.computer != nil && g.rng.IntN(2) == 0:
		if t2 := g.whenOnDuty(v.computer, v.issuedAt.Add(10*time.Minute), bound); !t2.IsZero() {
			t, by = t2, v.computer
		} else {
			ground = g.unlistedGround()
		}
	case src != "":
		ground = g.unlistedGround()
	case g.rng.IntN(5) != 0:
		return
	}
	g.waive(p, v, t, by, ground, surcharge)
	if src != "" {
		note := "fee waived without a listed ground"
		if by == v.computer {
			note = "fee waived by the officer who computed it"
		}
		g.truth(p, TruthRow{RuleID: "B12", Source: src, ObjectType: "declaration_events", ObjectKey: fmt.Sprintf("EV%s-%02d", p.rec.DeclNo, len(p.events)),
			OfficerID: by.ID, Date: schemas.DateOf(t), Colour: colourM1M2(v.waived), Note: fmt.Sprintf("%s: %s", note, v.waived)})
	}
}

// unlistedGround is no ground at all, or a code outside the listed ones.
func (g *dayGen) unlistedGround() string {
	if g.rng.IntN(5) < 3 {
		return ""
	}
	return fmt.Sprintf("QT%02d", 1+g.rng.IntN(9))
}

// waive cuts the fee, or writes a 滞纳金 off, at t and adds the fee_waiver
// step; a 滞纳金 cut after it was due to be paid is paid just after.
func (g *dayGen) waive(p *declPlan, v *voucherPlan, t time.Time, by *Officer, ground string, surcharge bool) {
	v.waivedAt, v.waiver, v.ground = t, by, ground
	if surcharge && g.rng.IntN(10) < 4 {
		v.writtenOff, v.waived, v.paidAt = true, v.amount, time.Time{}
	} else {
		v.waived = max(schemas.Yuan(1), schemas.Yuan(int64(v.amount)/100*int64(20+g.rng.IntN(71))/100))
		if !t.Before(v.paidAt) {
			v.paidAt = t.Add(time.Duration(5+g.rng.IntN(175)) * time.Minute)
			if schemas.DateOf(v.paidAt) != schemas.DateOf(t) {
				v.paidAt = t.Add(time.Minute)
			}
		}
	}
	detail := `{"voucher_no":"` + v.no + `",`
	if ground != "" {
		detail += `"ground_code":"` + ground + `",`
	}
	p.events = append(p.events, event{step: "fee_waiver", officer: by, at: t, outcome: "approved", detail: detail + `"amount":"` + v.waived.String() + `"}`})
}
