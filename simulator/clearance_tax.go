package simulator

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// voucherPlan is a tax voucher (税款缴款书) and its payment.
type voucherPlan struct {
	no, taxType string
	amount      schemas.Money
	issuedAt    time.Time
	paidAt      time.Time
	surcharge   schemas.Money // 滞纳金 levied at payment, 0 if none
	// A fee (滞报金, 滞纳金) has the tariff officer who computed it, nil
	// when the system did, and may be cut or written off (waived from its
	// amount) at waivedAt by waiver, on a ground ("" for none).
	computer, waiver *Officer
	waivedAt         time.Time
	waived           schemas.Money
	ground           string
	writtenOff       bool
}

// payLimit is a voucher's last day of payment: 15 CD counted from the day
// after issue, rolled to the next working day.
func payLimit(w *World, issued schemas.Date) schemas.Date {
	return w.Cal.NextWorkday(issued.AddDays(15))
}

// declLimit is an import's last day of declaration: 14 CD counted from the
// day after arrival, rolled to the next working day.
func declLimit(w *World, arrival schemas.Date) schemas.Date {
	return w.Cal.NextWorkday(arrival.AddDays(14))
}

// leastLateDays is the fewest days late that make the 0.5 ‰ daily charge on
// base reach the 50-yuan threshold.
func leastLateDays(base schemas.Money) int {
	return int((10_000_000 + int64(base) - 1) / int64(base))
}

var exemptionCodes = []string{"JM01", "JM02", "JM03", "JM04"}

// arrival dates an import's arrival: declared within the rolled 14 CD, some
// on the rolled last day itself, about 2 % late with the 滞报金 levied,
// exempted or below the threshold; the A01 anomaly is late with nothing
// levied although the fee reaches 50 yuan.
func (g *dayGen) arrival(p *declPlan) {
	if *p.rec.IEFlag != "I" {
		return
	}
	value := *p.rec.CustomsValue
	if src := g.deviate("A01"); src != "" {
		a := g.lateArrival(max(leastLateDays(value), 1+g.rng.IntN(25)))
		p.rec.ArrivalDate = &a
		late := int(g.day - declLimit(g.w, a))
		fee := levy(value, late)
		g.truth(p, TruthRow{RuleID: "A01", Source: src, ObjectType: "declarations", ObjectKey: p.rec.DeclNo, Date: g.day,
			Colour: colourFee(fee), Note: fmt.Sprintf("declared %d days late, 滞报金 %s not levied", late, fee)})
		return
	}
	if g.rng.IntN(100) < 2 {
		g.lateDeclaration(p)
		return
	}
	lag := min(14, int(g.rng.ExpFloat64()*2.5))
	if g.rng.IntN(100) < 3 {
		// Declared on the last day of a limit rolled past days off.
		for l := 22; l > 14; l-- {
			if declLimit(g.w, g.day.AddDays(-l)) >= g.day {
				lag = l
				break
			}
		}
	}
	p.rec.ArrivalDate = ptr(g.day.AddDays(-lag))
}

// lateArrival is an arrival date that makes today at least late days past
// the rolled limit.
func (g *dayGen) lateArrival(late int) schemas.Date {
	for lag := 14 + late; ; lag++ {
		if a := g.day.AddDays(-lag); int(g.day-declLimit(g.w, a)) >= late {
			return a
		}
	}
}

// lateDeclaration is a late import handled properly: the fee is levied at
// acceptance, or exempted with a listed ground (and a fee_waiver step), or
// not levied because it is under 50 yuan. The A02 anomaly levies less than
// the fee.
func (g *dayGen) lateDeclaration(p *declPlan) {
	a := g.lateArrival(1 + g.rng.IntN(20))
	p.rec.ArrivalDate = &a
	value := *p.rec.CustomsValue
	fee := levy(value, int(g.day-declLimit(g.w, a)))
	if fee < levyThreshold {
		return
	}
	if g.rng.IntN(5) == 0 {
		code := exemptionCodes[g.rng.IntN(len(exemptionCodes))]
		p.rec.FeeExemptionCode = &code
		t, o := g.handle(p, "tariff_review", *p.rec.DeclaredAt, time.Duration(60+g.rng.IntN(420))*time.Minute)
		p.events = append(p.events, event{step: "fee_waiver", officer: o, at: t, outcome: "approved",
			detail: `{"ground_code":"` + code + `","amount":"` + fee.String() + `"}`})
		return
	}
	levied := fee
	if fee >= schemas.Yuan(100) {
		if src := g.deviate("A02"); src != "" {
			short := max(schemas.Yuan(50), schemas.Yuan(int64(fee)/100*int64(15+g.rng.IntN(56))/100))
			levied = fee - short
			g.truth(p, TruthRow{RuleID: "A02", Source: src, ObjectType: "declarations", ObjectKey: p.rec.DeclNo, Date: g.day,
				Colour: colourM1M2(short), Note: fmt.Sprintf("滞报金 %s levied, %s due", levied, fee)})
		}
	}
	p.rec.LateDeclarationFeeLevied = &levied
}

// assess issues the vouchers once review is done: duty, VAT, and the 滞报金
// if one was levied, each with its payment planned.
func (g *dayGen) assess(p *declPlan, at time.Time) {
	add := func(suffix, kind string, amount schemas.Money) {
		if amount > 0 {
			v := &voucherPlan{no: p.rec.DeclNo + suffix, taxType: kind, amount: amount, issuedAt: at}
			p.vouchers = append(p.vouchers, v)
			g.pay(p, v)
		}
	}
	add("-L01", "duty", *p.rec.DutyPayable)
	add("-A01", "vat", *p.rec.VATPayable)
	if p.rec.LateDeclarationFeeLevied != nil {
		add("-B01", "late_declaration_fee", *p.rec.LateDeclarationFeeLevied)
	}
}

// pay plans a voucher's payment: within the limit, mostly the same day or
// the next; one in a hundred tax vouchers is paid late with the 滞纳金
// levied (when it reaches 50 yuan). The A04 anomaly is paid late with no
// 滞纳金 although it reaches 50 yuan.
func (g *dayGen) pay(p *declPlan, v *voucherPlan) {
	limit := payLimit(g.w, schemas.DateOf(v.issuedAt))
	if v.taxType == "duty" || v.taxType == "vat" {
		need, room := leastLateDays(v.amount), int(g.w.cfg.LastDay()-limit)
		if need <= min(30, room) {
			if src := g.deviate("A04"); src != "" {
				late := need + g.rng.IntN(min(15, room-need)+1)
				v.paidAt = g.payMoment(v, limit.AddDays(late))
				g.truth(p, TruthRow{RuleID: "A04", Source: src, ObjectType: "tax_vouchers", ObjectKey: v.no, Date: limit.AddDays(late),
					Colour: colourM1M2(levy(v.amount, late)), Note: fmt.Sprintf("paid %d days late, 滞纳金 %s not levied", late, levy(v.amount, late))})
				return
			}
		}
		if g.rng.IntN(100) == 0 {
			late := 1 + g.rng.IntN(20)
			v.paidAt = g.payMoment(v, limit.AddDays(late))
			if s := levy(v.amount, late); s >= levyThreshold {
				v.surcharge = s
			}
			return
		}
	}
	g.payFrom(v, schemas.DateOf(v.issuedAt))
}

// payFrom pays a voucher on a day from from to its limit, mostly early.
func (g *dayGen) payFrom(v *voucherPlan, from schemas.Date) {
	limit := payLimit(g.w, schemas.DateOf(v.issuedAt))
	day := from
	switch u := g.rng.IntN(100); {
	case u < 25:
		day += schemas.Date(1 + g.rng.IntN(2))
	case u < 42:
		day += schemas.Date(3 + g.rng.IntN(8))
	case u < 45:
		day = limit
	}
	v.paidAt = g.payMoment(v, min(day, limit))
}

// payMoment is a moment on day, after the voucher's issue, when the trader pays.
func (g *dayGen) payMoment(v *voucherPlan, day schemas.Date) time.Time {
	if day <= schemas.DateOf(v.issuedAt) {
		return v.issuedAt.Add(time.Duration(5+g.rng.IntN(175)) * time.Minute)
	}
	return day.Time().Add(time.Duration(8*3600+g.rng.IntN(14*3600)) * time.Second)
}

// surcharges issues a 滞纳金 voucher for each voucher paid late with one levied.
func (g *dayGen) surcharges(p *declPlan) {
	for i, v := range p.vouchers {
		if v.surcharge == 0 {
			continue
		}
		s := &voucherPlan{no: fmt.Sprintf("%s-Z%02d", p.rec.DeclNo, i+1), taxType: "late_payment_surcharge",
			amount: v.surcharge, issuedAt: v.paidAt.Add(time.Duration(10+g.rng.IntN(50)) * time.Minute)}
		g.payFrom(s, schemas.DateOf(s.issuedAt))
		p.vouchers = append(p.vouchers, s)
	}
}

// feeRules are the rules about a declaration's fees and levies (A01–A04):
// the officer answerable is the one who confirmed its taxes and fees.
var feeRules = map[string]bool{"A01": true, "A02": true, "A03": true, "A04": true}

// feeDeclNo is the declaration of a fee rule's object: the declaration
// itself, or the voucher's (voucher numbers are decl_no-suffix).
func feeDeclNo(key string) string {
	no, _, _ := strings.Cut(key, "-")
	return no
}

// feeStep is the first step of a kind a declaration's events record.
type feeStep struct {
	at             time.Time
	event, officer string
}

// feeOfficers names the officer on the day's A01–A04 breaches once all the
// day's declarations are out: the declaration's first tariff reviewer (who
// confirms taxes and fees; acceptance is a system step), else its first
// manual reviewer, none if neither had acted by the end of the simulation.
// Tariff steps are added up to the very end of a declaration's plan (the
// fee_assessed steps of its 滞报金 and 滞纳金), so the officer is read back
// from the declaration_events emitted, which hold only what had happened
// by the end.
func (g *dayGen) feeOfficers() {
	em := g.res.em
	want := map[string]bool{}
	for _, t := range em.truth {
		if feeRules[t.RuleID] {
			want[feeDeclNo(t.ObjectKey)] = true
		}
	}
	if len(want) == 0 {
		return
	}
	first := map[[2]string]feeStep{} // (decl_no, step) → its first event
	for _, r := range em.records["declaration_events"] {
		// event_id is EV<decl_no>-<n>
		no := strings.TrimPrefix(r.Key[:strings.LastIndexByte(r.Key, '-')], "EV")
		if !want[no] {
			continue
		}
		var ev struct {
			Step      string  `json:"step"`
			OfficerID *string `json:"officer_id"`
		}
		if err := json.Unmarshal(r.JSON, &ev); err != nil {
			panic(fmt.Sprintf("simulator: decoding event %s: %v", r.Key, err))
		}
		if ev.OfficerID == nil || (ev.Step != "tariff_review" && ev.Step != "manual_review") {
			continue
		}
		k := [2]string{no, ev.Step}
		if f, ok := first[k]; !ok || r.UpdatedAt.Before(f.at) || r.UpdatedAt.Equal(f.at) && r.Key < f.event {
			first[k] = feeStep{r.UpdatedAt, r.Key, *ev.OfficerID}
		}
	}
	for i, t := range em.truth {
		if !feeRules[t.RuleID] {
			continue
		}
		no := feeDeclNo(t.ObjectKey)
		f, ok := first[[2]string{no, "tariff_review"}]
		if !ok {
			f = first[[2]string{no, "manual_review"}]
		}
		em.truth[i].OfficerID = f.officer
	}
}
