package simulator

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// tariffLawDate is when the Tariff Law (关税法) replaced the 进出口关税条例:
// refunds of payments from then on may be claimed for 3 years, not 1 (B13).
var tariffLawDate = schemas.MustDate("2024-12-01")

// followUpGen is what the tax and procedures generators share: the world,
// their emitter, the as-of date that breaches are graded on, and how many
// objects each rule was given the chance to breach (the denominator of the
// background rate, which the tests check).
type followUpGen struct {
	w        *World
	em       *Emitter
	asOf     schemas.Date
	eligible map[string]int
}

func newFollowUpGen(w *World) *followUpGen {
	return &followUpGen{w: w, em: newEmitter(w.End), asOf: w.cfg.LastDay(), eligible: map[string]int{}}
}

// deviate decides whether an object that can visibly breach rule does.
func (g *followUpGen) deviate(rng *rand.Rand, rule string) string {
	g.eligible[rule]++
	return g.w.deviation(rng, rule)
}

// truth records a breach of rule on the object t names.
func (g *followUpGen) truth(t TruthRow, rule, src string, date schemas.Date, colour, note string) {
	t.RuleID, t.Source, t.Date, t.Colour, t.Note = rule, src, date, colour, note
	g.em.Truth(t)
}

// rollCD is the last day of an n-CD limit counted from the day after start,
// moved to the next working day when it ends on a day off.
func (g *followUpGen) rollCD(start schemas.Date, n int) schemas.Date {
	return g.w.Cal.NextWorkday(start.AddDays(n))
}

// withinCD is a working day after start that keeps an n-CD limit.
func (g *followUpGen) withinCD(rng *rand.Rand, start schemas.Date, n int) schemas.Date {
	return g.w.Cal.NextWorkday(start.AddDays(1 + rng.IntN(n)))
}

// lateCD is a working day up to span CD after a (rolled) limit.
func (g *followUpGen) lateCD(rng *rand.Rand, limit schemas.Date, span int) schemas.Date {
	return g.w.Cal.NextWorkday(limit.AddDays(1 + rng.IntN(span)))
}

// withinWD is one of the n working days after start.
func (g *followUpGen) withinWD(rng *rand.Rand, start schemas.Date, n int) schemas.Date {
	return g.w.Cal.AddWorkdays(start, 1+rng.IntN(n))
}

// lateWD is one of the span working days after a WD limit.
func (g *followUpGen) lateWD(rng *rand.Rand, limit schemas.Date, span int) schemas.Date {
	return g.w.Cal.AddWorkdays(limit, 1+rng.IntN(span))
}

// pastCD reports whether a CD limit has passed by the as-of date.
func (g *followUpGen) pastCD(limit schemas.Date) bool { return limit < g.asOf }

// pastWD reports whether a working day has passed after a WD limit by the
// as-of date; only then is a breach a whole working day late, whichever way
// the as-of date (maybe a holiday) is counted.
func (g *followUpGen) pastWD(limit schemas.Date) bool {
	return g.w.Cal.WorkdaysBetween(limit, g.asOf) >= 1
}

// upto is the day an action happened, or the as-of date while it has not.
func (g *followUpGen) upto(done schemas.Date) schemas.Date { return min(done, g.asOf) }

// colour grades a count: up to yellowMax yellow, up to orangeMax orange, else red.
func (g *followUpGen) colour(v, yellowMax, orangeMax int) string {
	switch {
	case v <= yellowMax:
		return "yellow"
	case v <= orangeMax:
		return "orange"
	}
	return "red"
}

// moneyColour grades an amount by M1/M2.
func (g *followUpGen) moneyColour(m schemas.Money) string {
	switch {
	case m < schemas.Yuan(10_000):
		return "yellow"
	case m < schemas.Yuan(100_000):
		return "orange"
	}
	return "red"
}

// officer picks one of the officers holding post in sub on day d.
func (g *followUpGen) officer(rng *rand.Rand, sub *Dept, post string, d schemas.Date) *Officer {
	staff := g.w.Staff(sub, post, d)
	if len(staff) == 0 {
		staff = g.w.staff[staffKey{sub, post}]
	}
	return staff[rng.IntN(len(staff))]
}

// synthDeclNo is a declaration number for a declaration outside the
// simulated data; series keeps the serials apart from the clearance
// generator's and between uses.
func (g *followUpGen) synthDeclNo(sub *Dept, d schemas.Date, ie byte, series, n int) string {
	return fmt.Sprintf("%s%04d%c%d%08d", sub.CustomsCode, d.Time().Year(), ie, series, n%100_000_000)
}

// count is about mean events: its whole part, plus one with its fraction's chance.
func (g *followUpGen) count(rng *rand.Rand, mean float64) int {
	n := int(mean)
	if rng.Float64() < mean-float64(n) {
		n++
	}
	return n
}

// versionStamper gives a record's successive versions their times: a
// working moment of the step's day, always after the previous version.
type versionStamper struct {
	w    *World
	rng  *rand.Rand
	last time.Time
}

func (s *versionStamper) at(d schemas.Date) time.Time {
	t := s.w.WorkMoment(s.rng, d)
	if !t.After(s.last) {
		t = s.last.Add(time.Duration(1+s.rng.IntN(30)) * time.Minute)
	}
	s.last = t
	return t
}

// addMonths is d moved by n months, clamped to the month's last day
// (31 January + 1 month = 28 or 29 February), as legal periods count.
func addMonths(d schemas.Date, n int) schemas.Date {
	y, m, day := d.Time().Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return schemas.DateOf(first.AddDate(0, 0, min(day, last)-1))
}

// taxGen generates the tax follow-up of the declarations: the tax
// authority's voucher checks and inquiries, and refunds.
type taxGen struct {
	*followUpGen
	entByUSCC map[string]*Ent
	serial    int // shared by checks, inquiries, refunds and invented numbers
}

func (w *World) generateTax(facts []*DeclFacts) *Emitter {
	em, _ := w.taxFollowUp(facts)
	return em
}

// taxFollowUp is generateTax, also returning the objects eligible per rule.
func (w *World) taxFollowUp(facts []*DeclFacts) (*Emitter, map[string]int) {
	g := &taxGen{followUpGen: newFollowUpGen(w), entByUSCC: make(map[string]*Ent, len(w.Ents))}
	for _, e := range w.Ents {
		g.entByUSCC[e.USCC] = e
	}
	g.voucherChecks(facts)
	g.routineInquiries()
	g.factRefunds(facts)
	g.earlierRefunds()
	return g.em, g.eligible
}

// next is a new serial number.
func (g *taxGen) next() int {
	g.serial++
	return g.serial
}

// subOf is the customs a declaration belongs to.
func (g *taxGen) subOf(f *DeclFacts) *Dept {
	switch {
	case f.Sub != nil:
		return f.Sub
	case f.Consignee != nil:
		return f.Consignee.Sub
	}
	return g.w.Subs[0]
}

// retentionEnd is the last day a check waits for the customs voucher
// (module V): the end of the second month after the issue month.
func retentionEnd(issued schemas.Date) schemas.Date {
	y, m, _ := issued.Time().Date()
	return schemas.DateOf(time.Date(y, m+3, 1, 0, 0, 0, 0, time.UTC)) - 1
}

// inventVoucher is a voucher number the customs side does not hold; the
// H marks it apart from the clearance generator's numbers.
func (g *taxGen) inventVoucher(sub *Dept, issued schemas.Date) string {
	return fmt.Sprintf("%s%sH%06d", sub.CustomsCode, issued.Time().Format("20060102"), g.next()%1_000_000)
}

// otherTaxpayer is the USCC of an enterprise other than uscc's.
func (g *taxGen) otherTaxpayer(rng *rand.Rand, uscc string) string {
	for {
		if e := g.w.Ents[rng.IntN(len(g.w.Ents))]; e.USCC != uscc {
			return e.USCC
		}
	}
}

// voucherChecks relays the taxpayers' checks of VAT vouchers: most paid
// vouchers are checked and match; a few unpaid ones are checked early and
// wait (retained); deviations are mismatches, duplicates and vouchers that
// customs never issued (missing).
func (g *taxGen) voucherChecks(facts []*DeclFacts) {
	rng := g.w.rng("tax-checks", 0)
	for _, f := range facts {
		for _, v := range f.Vouchers {
			if v.TaxType != "vat" {
				continue
			}
			switch u := rng.IntN(100); {
			case v.PaidOn != nil && u < 85:
				g.paidCheck(rng, f, v)
			case v.PaidOn == nil && u < 5 && retentionEnd(v.IssuedOn) > g.asOf:
				g.check(rng, v.VoucherNo, v.Taxpayer, v.IssuedOn, v.Amount, v.IssuedOn.AddDays(1+rng.IntN(10)))
			}
		}
	}
}

// check emits one submission and returns its check_id.
func (g *taxGen) check(rng *rand.Rand, voucherNo, uscc string, issued schemas.Date, amount schemas.Money, submitted schemas.Date) string {
	id := fmt.Sprintf("VC%09d", g.next())
	rec := &schemas.VoucherCheck{
		CheckID: id, VoucherNo: ptr(voucherNo), TaxpayerUSCC: ptr(uscc), IssuedOn: ptr(issued), Amount: ptr(amount),
		TaxPeriod: ptr(issued.Time().Format("2006-01")), SubmittedOn: ptr(submitted),
	}
	rec.UpdatedAt = submitted.Time().Add(time.Duration(7*3600+rng.IntN(14*3600)) * time.Second)
	g.em.Emit(rec)
	return id
}

func (g *taxGen) paidCheck(rng *rand.Rand, f *DeclFacts, v VoucherFacts) {
	submitted := v.PaidOn.AddDays(1 + rng.IntN(20))
	if submitted > g.asOf {
		return
	}
	src := g.deviate(rng, "V")
	switch k := rng.IntN(10); {
	case src == "" || k >= 8:
		g.check(rng, v.VoucherNo, v.Taxpayer, v.IssuedOn, v.Amount, submitted)
		if src != "" {
			g.missing(rng, g.subOf(f), v, src)
		}
	case k < 5:
		g.mismatch(rng, g.subOf(f), v, submitted, src)
	default:
		first := g.check(rng, v.VoucherNo, v.Taxpayer, v.IssuedOn, v.Amount, submitted)
		other := g.otherTaxpayer(rng, v.Taxpayer)
		second := submitted.AddDays(rng.IntN(int(g.asOf-submitted) + 1))
		dup := g.check(rng, v.VoucherNo, other, v.IssuedOn, v.Amount, second)
		note := "duplicate: voucher " + v.VoucherNo + " submitted by two taxpayers"
		g.vTruth(src, first, v.Taxpayer, second, note)
		g.vTruth(src, dup, other, second, note)
	}
}

// mismatch is a submission that differs from the customs voucher in one field.
func (g *taxGen) mismatch(rng *rand.Rand, sub *Dept, v VoucherFacts, submitted schemas.Date, src string) {
	issued, amount, uscc := v.IssuedOn, v.Amount, v.Taxpayer
	var what string
	switch rng.IntN(3) {
	case 0:
		amount, what = amount+schemas.Money(1+rng.Int64N(50_000)), "amount"
	case 1:
		issued, what = issued.AddDays(-1-rng.IntN(5)), "issue date"
	default:
		uscc, what = g.otherTaxpayer(rng, uscc), "taxpayer"
	}
	id := g.check(rng, v.VoucherNo, uscc, issued, amount, submitted)
	g.vTruth(src, id, uscc, submitted, fmt.Sprintf("mismatch: %s differs from customs voucher %s", what, v.VoucherNo))
	g.maybeInquiry(rng, v.VoucherNo, submitted, sub, g.entCode(uscc))
}

// missing is an older submission, by the same taxpayer, of a voucher number
// customs never issued; its retention window has ended.
func (g *taxGen) missing(rng *rand.Rand, sub *Dept, v VoucherFacts, src string) {
	issued := g.asOf.AddDays(-100 - rng.IntN(150))
	no := g.inventVoucher(sub, issued)
	amount := schemas.Money(100 + rng.Int64N(int64(v.Amount)*2+100))
	id := g.check(rng, no, v.Taxpayer, issued, amount, issued.AddDays(1+rng.IntN(40)))
	end := retentionEnd(issued)
	g.vTruth(src, id, v.Taxpayer, end+1, fmt.Sprintf("missing: customs holds no voucher %s at the end of its retention window %s", no, end))
	g.maybeInquiry(rng, no, end+1, sub, g.entCode(v.Taxpayer))
}

func (g *taxGen) entCode(uscc string) string {
	if e := g.entByUSCC[uscc]; e != nil {
		return e.Code
	}
	return ""
}

func (g *taxGen) vTruth(src, checkID, uscc string, date schemas.Date, note string) {
	g.em.Truth(TruthRow{RuleID: "V", Source: src, ObjectType: "voucher_checks", ObjectKey: checkID, EntCode: g.entCode(uscc), Date: date, Note: note})
}

// maybeInquiry has the tax authority ask customs about half the vouchers
// that did not match, some days after the outcome.
func (g *taxGen) maybeInquiry(rng *rand.Rand, voucherNo string, outcome schemas.Date, sub *Dept, ent string) {
	received := g.w.Cal.NextWorkday(outcome.AddDays(3 + rng.IntN(20)))
	if rng.IntN(2) == 0 && received <= g.asOf {
		g.inquiry(rng, voucherNo, received, sub, ent)
	}
}

// routineInquiries are the tax authority's other verification requests,
// about vouchers from before the simulated data.
func (g *taxGen) routineInquiries() {
	rng := g.w.rng("tax-inquiries", 0)
	perDay := float64(g.w.scale.DeclsPerDay) / 1000
	for d := g.asOf.AddDays(-180); d <= g.asOf; d++ {
		if !g.w.Cal.IsWorkday(d) {
			continue
		}
		for n := g.count(rng, perDay); n > 0; n-- {
			sub := g.w.Subs[rng.IntN(len(g.w.Subs))]
			g.inquiry(rng, g.inventVoucher(sub, d.AddDays(-20-rng.IntN(100))), d, sub, "")
		}
	}
}

// inquiry is answered within 30 CD unless it breaches A23.
func (g *taxGen) inquiry(rng *rand.Rand, voucherNo string, received schemas.Date, sub *Dept, ent string) {
	id := fmt.Sprintf("VI%s%07d", sub.CustomsCode, g.next())
	o := g.officer(rng, sub, "tariff_review", received)
	rec := &schemas.VoucherInquiry{InquiryID: id, VoucherNo: ptr(voucherNo), ReceivedOn: ptr(received), OfficerID: ptr(o.ID)}
	vs := &versionStamper{w: g.w, rng: rng}
	rec.UpdatedAt = vs.at(received)
	g.em.Emit(rec)
	limit := g.rollCD(received, 30)
	answered := g.withinCD(rng, received, 30)
	if g.pastCD(limit) {
		if src := g.deviate(rng, "A23"); src != "" {
			answered = g.lateCD(rng, limit, 100)
			since := int(g.upto(answered) - received)
			g.em.Truth(TruthRow{
				RuleID: "A23", Source: src, ObjectType: "voucher_inquiries", ObjectKey: id, OfficerID: o.ID, EntCode: ent,
				Date: limit + 1, Colour: g.colour(since, 45, 60), Note: fmt.Sprintf("received %s, answer due by %s; %d days since receipt", received, limit, since),
			})
		}
	}
	rec.AnsweredOn = ptr(answered)
	rec.UpdatedAt = vs.at(answered)
	g.em.Emit(rec)
}

// refundCase is a refund application before it is decided.
type refundCase struct {
	declNo   string // "" for a declaration from before the simulated data
	sub      *Dept
	ent      string // the consignee, where a declaration record names it
	paid     schemas.Money
	paidOn   schemas.Date
	accepted schemas.Date
}

// factRefunds has about one paid declaration in a hundred claim a refund.
func (g *taxGen) factRefunds(facts []*DeclFacts) {
	rng := g.w.rng("tax-refunds", 0)
	for _, f := range facts {
		if rng.IntN(100) != 0 {
			continue
		}
		var paid schemas.Money
		var paidOn schemas.Date
		for _, v := range f.Vouchers {
			if v.PaidOn != nil && (v.TaxType == "duty" || v.TaxType == "vat" || v.TaxType == "consumption") {
				paid += v.Amount
				paidOn = max(paidOn, *v.PaidOn)
			}
		}
		if paid <= 0 {
			continue
		}
		accepted := g.w.Cal.NextWorkday(paidOn.AddDays(3 + rng.IntN(60)))
		if accepted > g.asOf {
			continue
		}
		rc := refundCase{declNo: f.DeclNo, sub: g.subOf(f), paid: paid, paidOn: paidOn, accepted: accepted}
		if f.Consignee != nil {
			rc.ent = f.Consignee.Code
		}
		g.refund(rng, rc)
	}
}

// earlierRefunds are applications of the half year up to the as-of date for
// payments before the simulated data, so that A07 has limits that pass.
func (g *taxGen) earlierRefunds() {
	rng := g.w.rng("tax-refunds", 1)
	perDay := float64(g.w.scale.DeclsPerDay) / 500
	for d := g.asOf.AddDays(-180); d <= g.asOf; d++ {
		if !g.w.Cal.IsWorkday(d) {
			continue
		}
		for n := g.count(rng, perDay); n > 0; n-- {
			sub := g.w.Subs[rng.IntN(len(g.w.Subs))]
			g.refund(rng, refundCase{sub: sub, paid: schemas.Yuan(200 + rng.Int64N(300_000)), paidOn: d.AddDays(-10 - rng.IntN(200)), accepted: d})
		}
	}
}

// claimEnd is the last day a refund of a payment made on paid may be claimed.
func claimEnd(paid schemas.Date) schemas.Date {
	if paid < tariffLawDate {
		return addMonths(paid, 12)
	}
	return addMonths(paid, 36)
}

// refund emits an application and its decision, with the B13 and A07 deviations.
func (g *taxGen) refund(rng *rand.Rand, rc refundCase) {
	id := fmt.Sprintf("RF%s%07d", rc.sub.CustomsCode, g.next())
	o := g.officer(rng, rc.sub, "refund", rc.accepted)
	amount := max(1, rc.paid*schemas.Money(5+rng.IntN(96))/100)
	if src := g.deviate(rng, "B13"); src != "" {
		what := "amount above the tax paid"
		if rc.declNo == "" && rng.IntN(2) == 0 {
			rc.paidOn = addMonths(rc.accepted, -12).AddDays(-10 - rng.IntN(300))
			if rc.paidOn >= tariffLawDate {
				rc.paidOn = addMonths(rc.accepted, -36).AddDays(-10 - rng.IntN(300))
			}
			what = fmt.Sprintf("claimed after the window ended %s", claimEnd(rc.paidOn))
		} else {
			amount = rc.paid + schemas.Money(1+rng.Int64N(int64(rc.paid)/5+1))
		}
		version := "1"
		if rc.paidOn >= tariffLawDate {
			version = "2"
		}
		g.em.Truth(TruthRow{
			RuleID: "B13", Source: src, ObjectType: "refunds", ObjectKey: id, OfficerID: o.ID, EntCode: rc.ent,
			Date: rc.accepted, Colour: "red", RuleVersion: version, Note: "refund " + what,
		})
	}
	if rc.declNo == "" {
		rc.declNo = g.synthDeclNo(rc.sub, rc.paidOn, '1', 8, g.next())
	}
	limit := g.rollCD(rc.accepted, 30)
	decided := g.withinCD(rng, rc.accepted, 30)
	if g.pastCD(limit) {
		if src := g.deviate(rng, "A07"); src != "" {
			decided = g.lateCD(rng, limit, 90)
			since := int(g.upto(decided) - rc.accepted)
			g.em.Truth(TruthRow{
				RuleID: "A07", Source: src, ObjectType: "refunds", ObjectKey: id, OfficerID: o.ID, EntCode: rc.ent,
				Date: limit + 1, Colour: g.colour(since, 40, 60), Note: fmt.Sprintf("accepted %s, decision due by %s; %d days since acceptance", rc.accepted, limit, since),
			})
		}
	}
	rec := &schemas.Refund{
		RefundID: id, DeclNo: ptr(rc.declNo), AcceptedOn: ptr(rc.accepted), Amount: ptr(amount), TaxPaid: ptr(rc.paid),
		OriginalPaidOn: ptr(rc.paidOn), OfficerID: ptr(o.ID),
	}
	vs := &versionStamper{w: g.w, rng: rng}
	rec.UpdatedAt = vs.at(rc.accepted)
	g.em.Emit(rec)
	rec.DecidedOn = ptr(decided)
	rec.UpdatedAt = vs.at(decided)
	g.em.Emit(rec)
}
