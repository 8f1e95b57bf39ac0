package simulator

import (
	"fmt"
	"slices"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// Limits of the valuation and duty-hours rules (A03, A24, B10, B15).
const (
	undeclaredLimit = 90 // CD from arrival before undeclared goods are handed over for sale (A03)
	challengeLimit  = 15 // WD a price challenge may stay open without consultation or close (A24)
)

var (
	// challengeValue and challengeTax make a price challenge due on an
	// undervalued declaration (B10): customs value or tax at least this.
	challengeValue = schemas.Yuan(100_000)
	challengeTax   = schemas.Yuan(20_000)
	// highTax is the tax that makes an off-duty release red (B15).
	highTax = schemas.Yuan(100_000)
)

// colourUpTo grades a count: up to yellowMax yellow, up to orangeMax orange, else red.
func colourUpTo(v, yellowMax, orangeMax int) string {
	switch {
	case v <= yellowMax:
		return yellow
	case v <= orangeMax:
		return orange
	}
	return red
}

// undeclaredDue is the last day of A03's 90 CD counted from the day after
// arrival, rolled to the next working day.
func undeclaredDue(w *World, arrival schemas.Date) schemas.Date {
	return w.Cal.NextWorkday(arrival.AddDays(undeclaredLimit))
}

// undeclared is the A03 anomaly on an import that arrived in time: the goods
// lay undeclared for more than 90 days and were not handed over for sale;
// the importer declares them today. The 滞报金 is levied in full, so A01 and
// A02 see nothing wrong with the fee. The colour is graded on the days since
// arrival (up to 120 yellow, up to 180 orange, more red).
func (g *dayGen) undeclared(p *declPlan) {
	r := &p.rec
	if *r.IEFlag != "I" || r.ArrivalDate == nil || r.LateDeclarationFeeLevied != nil || r.FeeExemptionCode != nil ||
		g.day > declLimit(g.w, *r.ArrivalDate) {
		return
	}
	src := g.deviate("A03")
	if src == "" {
		return
	}
	since := []int{91 + g.rng.IntN(30), 121 + g.rng.IntN(60), 181 + g.rng.IntN(120)}[band(g.rng)]
	a := g.day.AddDays(-since)
	for g.day <= undeclaredDue(g.w, a) {
		a--
	}
	since = int(g.day - a)
	r.ArrivalDate = &a
	if fee := levy(*r.CustomsValue, int(g.day-declLimit(g.w, a))); fee >= levyThreshold {
		r.LateDeclarationFeeLevied = &fee
	}
	g.truth(p, TruthRow{RuleID: "A03", Source: src, ObjectType: "declarations", ObjectKey: r.DeclNo,
		Date: undeclaredDue(g.w, a) + 1, Colour: colourUpTo(since, 120, 180),
		Note: fmt.Sprintf("arrived %s, declared %d days later, not handed over for sale", a, since)})
}

// priceChallenge is the price challenge (价格质疑) a manual reviewer o may
// open at at on item k, for about one in twenty referenced declarations; it
// is closed within a few working days, three in ten after a consultation
// (价格磋商, a price_challenge step with outcome consultation), well inside
// A24's 15 WD. The A24 anomaly opens one that nobody consults on or closes
// before the end, where its limit passes by then. It returns when the
// declaration may go on.
func (g *dayGen) priceChallenge(p *declPlan, o *Officer, at time.Time, k int32) time.Time {
	detail := fmt.Sprintf(`{"item_no":%d}`, k)
	step := func(o *Officer, at time.Time, outcome string) event {
		return event{step: "price_challenge", officer: o, at: at, outcome: outcome, detail: detail}
	}
	opened, last := schemas.DateOf(at), g.w.cfg.LastDay()
	if limit := g.w.Cal.AddWorkdays(opened, challengeLimit); g.w.Cal.WorkdaysBetween(limit, last) >= 1 {
		if src := g.deviate("A24"); src != "" {
			t, c := g.handle(p, "declaration_review", g.w.End, time.Duration(1+g.rng.IntN(40))*time.Hour)
			p.events = append(p.events, step(o, at, "open"), step(c, t, "closed"))
			since := g.w.Cal.WorkdaysBetween(opened, last)
			g.truth(p, TruthRow{RuleID: "A24", Source: src, ObjectType: "declarations", ObjectKey: p.rec.DeclNo, OfficerID: o.ID,
				Date: limit + 1, Colour: colourUpTo(since, 30, 60),
				Note: fmt.Sprintf("price challenge on item %d open since %s, %d working days, no consultation", k, opened, since)})
			return t
		}
	}
	if g.rng.IntN(100) >= 5 {
		return at
	}
	p.events = append(p.events, step(o, at, "open"))
	from := at
	if g.rng.IntN(10) < 3 {
		t, c := g.handle(p, "declaration_review", at, time.Duration(2+g.rng.IntN(7))*time.Hour)
		p.events = append(p.events, step(c, t, "consultation"))
		from = t
	}
	t, c := g.handle(p, "declaration_review", from, time.Duration(9+g.rng.IntN(20))*time.Hour)
	p.events = append(p.events, step(c, t, "closed"))
	return t
}

// b10Plan is the B10 anomaly: an item declared below 70 % of its reference
// price on a declaration where a price challenge was due, let through
// without one.
type b10Plan struct {
	item int
	src  string
	lost schemas.Money // duty and VAT on the value missing against the reference price
}

// undervalue plants B10 on an import with a referenced item and a
// customs value of at least 100 000 or tax of at least 20 000: the first
// referenced item is declared at 35–68 % of its reference price by raising
// its quantity, its value (and so the declaration's tax) unchanged. The
// reviewer then raises no price challenge.
func (g *dayGen) undervalue(p *declPlan) {
	k := slices.IndexFunc(p.items, func(it schemas.DeclarationItem) bool { return it.ReferencePrice != nil })
	if k < 0 || *p.rec.IEFlag != "I" || (*p.rec.CustomsValue < challengeValue && *p.rec.DutyPayable+*p.rec.VATPayable < challengeTax) {
		return
	}
	src := g.deviate("B10")
	if src == "" {
		return
	}
	it := &p.items[k]
	ref, v := int64(*it.ReferencePrice), int64(*it.CustomsValue)
	qty := max(1, int64(float64(v)*10_000/(float64(ref)*(0.35+0.33*g.rng.Float64()))))
	for v*10_000/qty*10 >= ref*7 {
		qty++
	}
	it.Qty, it.UnitPrice = ptr(schemas.Decimal(qty*1_000_000)), ptr(schemas.Decimal(v*10_000/qty))
	p.b10 = &b10Plan{item: k, src: src, lost: taxLost(p, *it, qty)}
}

// taxLost is the duty and VAT on the value an item lacks against its
// reference price (reference × quantity − customs value), each rounded to
// the fen; VAT only where the declaration bears VAT. qty is the item's
// quantity in whole units.
func taxLost(p *declPlan, it schemas.DeclarationItem, qty int64) schemas.Money {
	short := int64(*it.ReferencePrice)*qty/10_000 - int64(*it.CustomsValue)
	duty := (short*int64(*it.DutyRate) + 500_000) / 1_000_000
	lost := duty
	if *p.rec.VATPayable > 0 {
		lost += ((short+duty)*13 + 50) / 100
	}
	return schemas.Money(lost)
}

// undervaluedTruth records B10 once the declaration is released: the
// warning is due on the release day and answerable by the manual reviewer,
// else by the releaser; graded by M1/M2 on the tax lost.
func (g *dayGen) undervaluedTruth(p *declPlan) {
	b := p.b10
	if b == nil || !p.releasedAt.Before(g.w.End) {
		return
	}
	o := p.releaser
	if p.reviewer != nil {
		o = p.reviewer
	}
	it := p.items[b.item]
	g.truth(p, TruthRow{RuleID: "B10", Source: b.src, ObjectType: "declarations", ObjectKey: p.rec.DeclNo, OfficerID: o.ID,
		Date: schemas.DateOf(p.releasedAt), Colour: colourM1M2(b.lost),
		Note: fmt.Sprintf("item %d at %s against a reference price of %s, no price challenge; tax lost %s", it.ItemNo, it.UnitPrice, it.ReferencePrice, b.lost)})
}

// offHoursPlan is the B15 anomaly of one release officer: on one working day of
// a month, the officer releases several of the day's declarations in the
// evening, outside their duty hours. A red one releases declarations with
// tax of at least M2 only, the others only declarations below it, so the
// colour is as planned.
type offHoursPlan struct {
	officer *Officer
	src     string
	red     bool
	want    int
	taxes   []schemas.Money // the tax of each declaration released off duty
}

// offHoursPlans finds the B15 anomalies of the day, by sub.
func (g *dayGen) offHoursPlans() map[*Dept][]*offHoursPlan {
	if !g.w.Cal.IsWorkday(g.day) {
		return nil
	}
	out := map[*Dept][]*offHoursPlan{}
	for _, sub := range g.w.Subs {
		for _, o := range g.w.Staff(sub, "release", g.day) {
			ep, eligible := g.w.offHoursDay(o, sub, g.day)
			if eligible {
				g.res.stats["B15"]++
			}
			if ep != nil {
				out[sub] = append(out[sub], ep)
			}
		}
	}
	return out
}

// offHoursDay asks about B15 for each working day the officer holds the
// release post of sub, from the start of day's month (or of the simulation)
// up to day, on a stream of the officer's month, until one day has it: one
// anomaly a month at most, so that every day's generator finds the same day
// without seeing the others. It returns the anomaly if that day is day, and
// whether day was still eligible.
func (w *World) offHoursDay(o *Officer, sub *Dept, day schemas.Date) (*offHoursPlan, bool) {
	t := day.Time()
	rng := w.rng("B15/"+o.ID, t.Year()*12+int(t.Month()))
	first := max(w.cfg.Start, day.AddDays(1-t.Day()))
	for d := first; d <= day; d++ {
		if p := o.At(d); !w.Cal.IsWorkday(d) || p.Post != "release" || p.Dept.Sub != sub {
			continue
		}
		src := w.deviation(rng, "B15")
		if src == "" {
			continue
		}
		if d < day {
			return nil, false
		}
		ep := &offHoursPlan{officer: o, src: src}
		switch band(rng) {
		case 0:
			ep.want = 3 + rng.IntN(5)
		case 1:
			ep.want = 10 + rng.IntN(5)
		default:
			ep.red, ep.want = true, 1+rng.IntN(3)
		}
		return ep, true
	}
	return nil, true
}

// offDuty has an officer with a B15 anomaly release the declaration, after
// the moment it may be released, between 19:00 and 23:50 of the day when the
// officer is not on duty; nil when no anomaly takes it.
func (g *dayGen) offDuty(p *declPlan, after time.Time) (time.Time, *Officer) {
	eps := g.offHours[p.sub]
	lo, hi := later(after, g.day.Time().Add(19*time.Hour)), g.day.Time().Add(23*time.Hour+50*time.Minute)
	if len(eps) == 0 || p.b16 != nil || !lo.Before(hi) {
		return time.Time{}, nil
	}
	tax := *p.rec.DutyPayable + *p.rec.VATPayable
	for _, ep := range eps {
		if len(ep.taxes) >= ep.want || ep.red != (tax >= highTax) || p.tied(ep.officer) || slices.Contains(p.handlers(), ep.officer) {
			continue
		}
		for range 4 {
			t := lo.Add(time.Duration(g.rng.Int64N(int64(hi.Sub(lo))))).Truncate(time.Second)
			if t.After(after) && !g.w.OnDuty(ep.officer.ID, t) {
				ep.taxes = append(ep.taxes, tax)
				return t, ep.officer
			}
		}
	}
	return time.Time{}, nil
}

// offHoursTruth records the day's B15 anomalies that show: three or more
// off-duty releases in the month (ten or more orange), or any on a
// declaration with tax of at least M2 (red). The warning is about the
// officer and the month, due on the day. Run once the day's declarations
// are all out, it also names the officers on the day's fee breaches, which
// only the finished declarations show.
func (g *dayGen) offHoursTruth() {
	g.feeOfficers()
	for _, sub := range g.w.Subs {
		for _, ep := range g.offHours[sub] {
			n := len(ep.taxes)
			colour := yellow
			switch {
			case ep.red && n > 0:
				colour = red
			case n >= 10:
				colour = orange
			case n < 3:
				continue
			}
			g.res.em.Truth(TruthRow{RuleID: "B15", Source: ep.src, ObjectType: "officers", ObjectKey: ep.officer.ID, OfficerID: ep.officer.ID,
				Date: g.day, Colour: colour, Period: g.day.Time().Format("2006-01"),
				Note: fmt.Sprintf("%d releases outside duty hours on %s", n, g.day)})
		}
	}
}
