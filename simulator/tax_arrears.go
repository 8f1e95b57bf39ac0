package simulator

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// The limits of rules.md the arrears generator keeps or plants breaches of.
const (
	arrearsLimitCD   = 90  // A05: days past the payment limit before enforcement is due
	arrearsYellowMax = 120 // A05: days past the payment limit graded yellow
	arrearsOrangeMax = 180 // A05: ... orange; red beyond
	deferralMonths   = 6   // A06: longest deferral, counted from the issue date
)

// How far back the back-dated vouchers reach: arrears far enough for every
// A05 colour; deferrals that a six-month limit lets run past the as-of date
// (counted back from it); claims over a span as long as the arrears'.
const (
	arrearsSpanDays  = 400
	deferralSpanDays = 150
	claimSpanDays    = 200
)

// arrearsGen generates tax vouchers issued before the simulated period,
// whose follow-up reaches into it: arrears that are enforced, or not (A05);
// deferrals, with or without a guarantee (A06); and additional tax claimed
// after release, with or without a violation case on the declaration (B14).
type arrearsGen struct {
	*followUpGen
	serial int
}

// generateArrears is the followUp of Generate; it needs no declaration facts.
func (w *World) generateArrears(_ []*DeclFacts) *Emitter {
	em, _ := w.arrearsFollowUp()
	return em
}

// arrearsFollowUp is generateArrears, also returning the objects eligible per rule.
func (w *World) arrearsFollowUp() (*Emitter, map[string]int) {
	g := &arrearsGen{followUpGen: newFollowUpGen(w)}
	perDay := float64(w.scale.DeclsPerDay) / 100
	start := g.w.cfg.Start
	g.eachWorkday("arrears", start.AddDays(-arrearsSpanDays), perDay, g.arrear)
	g.eachWorkday("deferrals", g.asOf.AddDays(-deferralSpanDays), perDay, g.deferral)
	g.eachWorkday("claims", start.AddDays(-claimSpanDays), perDay, g.claim)
	return g.em, g.eligible
}

// eachWorkday calls gen about perDay times on each working day from from
// to the day before the simulated period, with the stream's generator.
func (g *arrearsGen) eachWorkday(stream string, from schemas.Date, perDay float64, gen func(*rand.Rand, schemas.Date)) {
	rng := g.w.rng("tax-"+stream, 0)
	for d := from; d < g.w.cfg.Start; d++ {
		if !g.w.Cal.IsWorkday(d) {
			continue
		}
		for n := g.count(rng, perDay); n > 0; n-- {
			gen(rng, d)
		}
	}
}

// backVoucher is a voucher of a declaration outside the simulated data,
// issued on day d to a consignee of a random customs.
func (g *arrearsGen) backVoucher(rng *rand.Rand, d schemas.Date, vs *versionStamper) (*schemas.TaxVoucher, *Ent) {
	sub := g.w.Subs[rng.IntN(len(g.w.Subs))]
	ent := g.w.PickConsignee(rng, sub)
	g.serial++
	declNo := g.synthDeclNo(sub, d, '1', 9, g.serial)
	kind, suffix := "duty", "-L01"
	if rng.IntN(2) == 0 {
		kind, suffix = "vat", "-A01"
	}
	rec := &schemas.TaxVoucher{
		VoucherNo: declNo + suffix, DeclNo: ptr(declNo), TaxType: ptr(kind), TaxpayerUSCC: ptr(ent.USCC),
		Amount: ptr(schemas.Yuan(200 + rng.Int64N(300_000))), IssuedOn: ptr(d), Status: ptr("issued"),
	}
	rec.UpdatedAt = vs.at(d)
	return rec, ent
}

// paidBy is a working day from issued to limit (a working day itself).
func (g *arrearsGen) paidBy(rng *rand.Rand, issued, limit schemas.Date) schemas.Date {
	return g.w.Cal.NextWorkday(issued.AddDays(rng.IntN(int(limit-issued) + 1)))
}

// pay emits the voucher paid on day.
func (g *arrearsGen) pay(rec *schemas.TaxVoucher, vs *versionStamper, day schemas.Date) {
	rec.PaidOn, rec.Status, rec.UpdatedAt = ptr(day), ptr("paid"), vs.at(day)
	g.em.Emit(rec)
}

// arrear is a voucher issued on d: nine in ten are paid within the limit,
// the others fall into arrears and are enforced within 90 CD of the limit
// (and stay unpaid while enforcement runs). The A05 deviation leaves one
// unpaid and unenforced past that, or enforces it late.
func (g *arrearsGen) arrear(rng *rand.Rand, d schemas.Date) {
	vs := &versionStamper{w: g.w, rng: rng}
	rec, ent := g.backVoucher(rng, d, vs)
	g.em.Emit(rec)
	limit := payLimit(g.w, d)
	enforceBy := g.rollCD(limit, arrearsLimitCD)
	if g.pastCD(enforceBy) {
		if src := g.deviate(rng, "A05"); src != "" {
			g.lateEnforcement(rng, rec, vs, ent, limit, enforceBy, src)
			return
		}
	}
	if rng.IntN(10) > 0 {
		g.pay(rec, vs, g.paidBy(rng, d, limit))
		return
	}
	enforced := g.withinCD(rng, limit, arrearsLimitCD)
	rec.EnforcementOn, rec.UpdatedAt = ptr(enforced), vs.at(enforced)
	g.em.Emit(rec)
}

// lateEnforcement is an A05 breach: the voucher stays unpaid, and seven in
// ten are not enforced by the as-of date; the others are enforced late.
func (g *arrearsGen) lateEnforcement(rng *rand.Rand, rec *schemas.TaxVoucher, vs *versionStamper, ent *Ent, limit, enforceBy schemas.Date, src string) {
	done := g.asOf.AddDays(1)
	if rng.IntN(10) < 3 {
		done = g.lateCD(rng, enforceBy, 60)
		rec.EnforcementOn, rec.UpdatedAt = ptr(done), vs.at(done)
		g.em.Emit(rec)
	}
	days := int(g.upto(done) - limit)
	g.truth(TruthRow{ObjectType: "tax_vouchers", ObjectKey: rec.VoucherNo, EntCode: ent.Code}, "A05", src, enforceBy+1,
		g.colour(days, arrearsYellowMax, arrearsOrangeMax),
		fmt.Sprintf("payment due by %s, enforcement due by %s; %d days past the limit unpaid without enforcement", limit, enforceBy, days))
}

// deferral is a voucher issued on d whose payment customs defers, on a
// working day before its limit, to a day after the as-of date within six
// months of issue, against a guarantee. The A06 deviation defers it longer
// or takes no guarantee, where the deferral is granted by the as-of date.
// Deferred vouchers stay unpaid while it runs.
func (g *arrearsGen) deferral(rng *rand.Rand, d schemas.Date) {
	vs := &versionStamper{w: g.w, rng: rng}
	rec, ent := g.backVoucher(rng, d, vs)
	g.em.Emit(rec)
	granted := g.paidBy(rng, d, payLimit(g.w, d))
	longest := addMonths(d, deferralMonths)
	until := g.asOf.AddDays(1 + rng.IntN(int(longest-g.asOf)))
	guarantee := ptr(fmt.Sprintf("YQ%s%08d", (*rec.DeclNo)[:4], g.serial))
	src := ""
	if granted <= g.asOf {
		src = g.deviate(rng, "A06")
	}
	what := "without a guarantee"
	if src != "" && rng.IntN(2) == 0 {
		until = longest.AddDays(1 + rng.IntN(120))
		what = fmt.Sprintf("until %s, beyond %s", until, longest)
	} else if src != "" {
		guarantee = nil
	}
	rec.DeferredUntil, rec.DeferralGuaranteeNo, rec.UpdatedAt = ptr(until), guarantee, vs.at(granted)
	g.em.Emit(rec)
	if src != "" {
		colour := "orange"
		if *rec.Amount > schemas.Yuan(100_000) {
			colour = "red"
		}
		g.truth(TruthRow{ObjectType: "tax_vouchers", ObjectKey: rec.VoucherNo, EntCode: ent.Code}, "A06", src, granted, colour,
			fmt.Sprintf("tax %s issued %s deferred %s", *rec.Amount, d, what))
	}
}

// claim is additional duty (补征) claimed on d on a declaration released
// before: within a year of release (B14's 12 months are at least 365 days),
// or later where a violation case on the declaration allows it (追征). The
// B14 deviation claims more than a year (at least 367 days, past any
// 12 months) after release without a case.
func (g *arrearsGen) claim(rng *rand.Rand, d schemas.Date) {
	sub := g.w.Subs[rng.IntN(len(g.w.Subs))]
	ent := g.w.PickConsignee(rng, sub)
	src := g.deviate(rng, "B14")
	lag, flagged := 30+rng.IntN(320), false
	switch {
	case src != "":
		lag = 367 + rng.IntN(400)
	case rng.IntN(5) == 0:
		lag, flagged = 400+rng.IntN(600), true
	}
	released := d.AddDays(-lag)
	for !g.w.Cal.IsWorkday(released) {
		released-- // earlier keeps a late claim late, and a timely one (349 days plus a holiday at most) in time
	}
	declNo := g.releasedDeclaration(rng, sub, ent, released)
	if flagged {
		g.violationCase(rng, sub, ent, declNo, released, d)
	}
	vs := &versionStamper{w: g.w, rng: rng}
	rec := &schemas.TaxVoucher{
		VoucherNo: declNo + "-L02", DeclNo: ptr(declNo), TaxType: ptr("duty"), TaxpayerUSCC: ptr(ent.USCC),
		Amount: ptr(schemas.Yuan(500 + rng.Int64N(200_000))), IssuedOn: ptr(d), Status: ptr("issued"),
	}
	rec.UpdatedAt = vs.at(d)
	g.em.Emit(rec)
	g.pay(rec, vs, g.paidBy(rng, d, payLimit(g.w, d)))
	if src != "" {
		g.truth(TruthRow{ObjectType: "tax_vouchers", ObjectKey: rec.VoucherNo, EntCode: ent.Code}, "B14", src, d, "orange",
			fmt.Sprintf("additional duty claimed %s on %s released %s, more than a year before, with no violation case", d, declNo, released))
	}
}

// releasedDeclaration emits an import declared within days of arrival,
// its duty and VAT paid on the day, released on day released; it returns
// the declaration number.
func (g *arrearsGen) releasedDeclaration(rng *rand.Rand, sub *Dept, ent *Ent, released schemas.Date) string {
	declared := released.AddDays(-1 - rng.IntN(3))
	for !g.w.Cal.IsWorkday(declared) {
		declared--
	}
	g.serial++
	no := g.synthDeclNo(sub, declared, '1', 9, g.serial)
	value := schemas.Yuan(10_000 + rng.Int64N(2_000_000))
	duty := value / 10
	vat := (value + duty) * 13 / 100
	vs := &versionStamper{w: g.w, rng: rng}
	declaredAt := vs.at(declared)
	rec := &schemas.Declaration{
		DeclNo: no, CustomsCode: ptr(sub.CustomsCode), IEFlag: ptr("I"), TradeMode: ptr("0110"), ConsigneeCode: ptr(ent.Code),
		DeclarantCode: ptr(g.w.PickBroker(rng, ent).Code), ArrivalDate: ptr(declared.AddDays(-rng.IntN(5))), DeclaredAt: ptr(declaredAt),
		CustomsValue: ptr(value), DutyPayable: ptr(duty), VATPayable: ptr(vat), AggregatedTax: ptr(false), Status: ptr("accepted"),
	}
	rec.UpdatedAt = declaredAt
	g.em.Emit(rec)
	for _, v := range []struct {
		suffix, kind string
		amount       schemas.Money
	}{{"-L01", "duty", duty}, {"-A01", "vat", vat}} {
		issuedAt := declaredAt.Add(time.Duration(10+rng.IntN(50)) * time.Minute)
		t := &schemas.TaxVoucher{
			VoucherNo: no + v.suffix, DeclNo: ptr(no), TaxType: ptr(v.kind), TaxpayerUSCC: ptr(ent.USCC),
			Amount: ptr(v.amount), IssuedOn: ptr(declared), Status: ptr("issued"),
		}
		t.UpdatedAt = issuedAt
		g.em.Emit(t)
		t.PaidOn, t.Status, t.UpdatedAt = ptr(declared), ptr("paid"), issuedAt.Add(time.Duration(5+rng.IntN(60))*time.Minute)
		g.em.Emit(t)
	}
	rec.Status, rec.ReleasedAt = ptr("released"), ptr(vs.at(released))
	rec.UpdatedAt = *rec.ReleasedAt
	g.em.Emit(rec)
	return no
}

// violationCase is a violation case on the declaration, filed between its
// release and the claim and decided within the A20 limit with a fine of
// 50 %–150 % of the tax evaded, as B17 allows.
func (g *arrearsGen) violationCase(rng *rand.Rand, sub *Dept, ent *Ent, declNo string, released, claimed schemas.Date) {
	filed := g.w.Cal.NextWorkday(released.AddDays(30 + rng.IntN(int(claimed-released)-60)))
	decided := g.w.Cal.NextWorkday(filed.AddDays(20 + rng.IntN(60)))
	evaded := schemas.Yuan(500 + rng.Int64N(200_000))
	g.serial++
	rec := &schemas.Case{
		CaseNo: fmt.Sprintf("ZJ%s%08d", sub.CustomsCode, g.serial), Kind: ptr("violation"), EntCode: ptr(ent.Code), DeclNo: ptr(declNo),
		FiledOn: ptr(filed), EvadedTax: ptr(evaded), Decision: ptr("pending"),
		OfficerID: ptr(g.officer(rng, sub, "anti_smuggling", filed).ID),
	}
	vs := &versionStamper{w: g.w, rng: rng}
	rec.UpdatedAt = vs.at(filed)
	g.em.Emit(rec)
	rec.DecidedOn, rec.Decision = ptr(decided), ptr("penalty")
	rec.Fine = ptr(evaded * schemas.Money(50+rng.IntN(101)) / 100)
	rec.UpdatedAt = vs.at(decided)
	g.em.Emit(rec)
}
