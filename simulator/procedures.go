package simulator

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// procGen generates the procedures that run beside clearance: processing-
// trade manuals, temporary admissions, transits, guarantees and licences.
// Most start before the simulated period, so that their limits pass inside it.
type procGen struct {
	*followUpGen
	serial int
}

func (w *World) generateProcedures(facts []*DeclFacts) *Emitter {
	em, _ := w.proceduresFollowUp(facts)
	return em
}

// proceduresFollowUp is generateProcedures, also returning the objects
// eligible per rule.
func (w *World) proceduresFollowUp(facts []*DeclFacts) (*Emitter, map[string]int) {
	g := &procGen{followUpGen: newFollowUpGen(w)}
	g.manuals(facts)
	g.temporaryAdmissions(facts)
	g.transits()
	g.guarantees(facts)
	g.licences()
	return g.em, g.eligible
}

func (g *procGen) next() int {
	g.serial++
	return g.serial
}

// stamper starts a record's versions.
func (g *procGen) stamper(rng *rand.Rand) *versionStamper {
	return &versionStamper{w: g.w, rng: rng}
}

// prevWorkday is d if it is a working day, else the last one before it.
func (g *procGen) prevWorkday(d schemas.Date) schemas.Date {
	for !g.w.Cal.IsWorkday(d) {
		d--
	}
	return d
}

// workdaysBefore is the working day k working days before the working day d.
func (g *procGen) workdaysBefore(d schemas.Date, k int) schemas.Date {
	for i := 0; i < k; {
		if d--; g.w.Cal.IsWorkday(d) {
			i++
		}
	}
	return d
}

// manuals gives the manuals the declarations name a record running through
// the period, and about one consignee in eight a new manual every five to
// ten months from about two years before the as-of date.
func (g *procGen) manuals(facts []*DeclFacts) {
	rng := g.w.rng("manuals", 0)
	used := map[string]bool{}
	for _, f := range facts {
		if f.ManualNo == "" || used[f.ManualNo] || f.Consignee == nil || schemas.Formats["manual_no"](f.ManualNo) != nil {
			continue
		}
		used[f.ManualNo] = true
		e := f.Consignee
		begin := g.w.Cal.NextWorkday(g.w.cfg.Start.AddDays(-30 - rng.IntN(300)))
		rec := &schemas.Manual{
			ManualNo: f.ManualNo, EntCode: ptr(e.Code), CustomsCode: ptr(e.Sub.CustomsCode), ValidUntil: ptr(g.asOf.AddDays(30 + rng.IntN(300))),
			OfficerID: ptr(g.officer(rng, e.Sub, "processing_trade", begin).ID),
		}
		rec.UpdatedAt = g.w.WorkMoment(rng, begin)
		g.em.Emit(rec)
	}
	for _, e := range g.w.Ents {
		if e.Kind == "broker" || rng.IntN(8) != 0 {
			continue
		}
		for begin := g.asOf.AddDays(-600 + rng.IntN(200)); begin <= g.asOf; begin = begin.AddDays(150 + rng.IntN(150)) {
			g.manual(rng, e, g.w.Cal.NextWorkday(begin), used)
		}
	}
}

// manual runs one manual: it ends at expiry, or earlier at the last export
// or a termination, and is then filed for close-out, accepted and closed.
func (g *procGen) manual(rng *rand.Rand, e *Ent, begin schemas.Date, used map[string]bool) {
	no := fmt.Sprintf("%c%s%02d%05d", "BC"[rng.IntN(2)], e.Sub.CustomsCode, begin.Time().Year()%100, g.next()%100_000)
	if used[no] {
		return
	}
	used[no] = true
	rec := &schemas.Manual{
		ManualNo: no, EntCode: ptr(e.Code), CustomsCode: ptr(e.Sub.CustomsCode), ValidUntil: ptr(addMonths(begin, 12)),
		OfficerID: ptr(g.officer(rng, e.Sub, "processing_trade", begin).ID),
	}
	vs := g.stamper(rng)
	rec.UpdatedAt = vs.at(begin)
	g.em.Emit(rec)
	end := *rec.ValidUntil
	switch u := rng.IntN(10); {
	case u < 3:
		end = g.w.Cal.NextWorkday(end.AddDays(-20 - rng.IntN(120)))
		rec.LastExportOn = ptr(end)
	case u < 4:
		end = g.w.Cal.NextWorkday(begin.AddDays(60 + rng.IntN(240)))
		rec.TerminatedOn = ptr(end)
	}
	if end != *rec.ValidUntil {
		rec.UpdatedAt = vs.at(end)
		g.em.Emit(rec)
	}
	g.closeOut(rng, rec, vs, end)
}

// closeOut files, accepts and closes a manual that ended on end (A08, A09, B18).
func (g *procGen) closeOut(rng *rand.Rand, rec *schemas.Manual, vs *versionStamper, end schemas.Date) {
	truth := TruthRow{ObjectType: "manuals", ObjectKey: rec.ManualNo, OfficerID: *rec.OfficerID, EntCode: *rec.EntCode}
	limit := g.rollCD(end, 30)
	filed := g.withinCD(rng, end, 30)
	if g.pastCD(limit) {
		if src := g.deviate(rng, "A08"); src != "" {
			filed = g.lateCD(rng, limit, 150)
			since := int(g.upto(filed) - end)
			g.truth(truth, "A08", src, limit+1, g.colour(since, 60, 90), fmt.Sprintf("ended %s, close-out filing due by %s; %d days since", end, limit, since))
		}
	}
	rec.CloseoutFiledOn = ptr(filed)
	rec.UpdatedAt = vs.at(filed)
	g.em.Emit(rec)
	accepted := g.withinWD(rng, filed, 5)
	if accepted > g.asOf {
		return
	}
	rec.CloseoutAcceptedOn, rec.ExtensionApproved = ptr(accepted), ptr(false)
	rec.UpdatedAt = vs.at(accepted)
	g.em.Emit(rec)
	days, from := 30, accepted
	if rng.IntN(10) == 0 {
		days, from = 60, g.prevWorkday(accepted.AddDays(10+rng.IntN(15)))
		rec.ExtensionApproved = ptr(true)
		rec.UpdatedAt = vs.at(from)
		g.em.Emit(rec)
	}
	limit = g.rollCD(accepted, days)
	closed := g.withinCD(rng, from, int(accepted.AddDays(days)-from))
	if g.pastCD(limit) {
		if src := g.deviate(rng, "A09"); src != "" {
			closed = g.lateCD(rng, limit, 120)
			late := int(g.upto(closed) - limit)
			g.truth(truth, "A09", src, limit+1, g.colour(late, 15, 30), fmt.Sprintf("close-out accepted %s, due by %s; %d days late", accepted, limit, late))
		}
	}
	if closed > g.asOf {
		return
	}
	balance := schemas.Money(0)
	if src := g.deviate(rng, "B18"); src != "" {
		balance = schemas.Yuan([]int64{100, 10_000, 100_000}[rng.IntN(3)] * (1 + rng.Int64N(9)))
		g.truth(truth, "B18", src, closed, g.moneyColour(balance), fmt.Sprintf("closed %s with an unexplained balance worth %s", closed, balance))
	}
	rec.ClosedOn, rec.UnexplainedBalanceValue = ptr(closed), ptr(balance)
	rec.UpdatedAt = vs.at(closed)
	g.em.Emit(rec)
}

// temporaryAdmissions admits the period's ATA-mode imports (2600) and, for
// the 30 months up to the as-of date, about one admission a month for every
// 40 enterprises.
func (g *procGen) temporaryAdmissions(facts []*DeclFacts) {
	rng := g.w.rng("temporary-admissions", 0)
	for _, f := range facts {
		if f.TradeMode == "2600" && f.IE == "I" && !f.ReleasedAt.IsZero() && f.Consignee != nil {
			g.admission(rng, f.DeclNo, f.Consignee, schemas.DateOf(f.ReleasedAt))
		}
	}
	perDay := float64(g.w.scale.Enterprises) / 40 / 21
	for d := addMonths(g.asOf, -30); d <= g.asOf; d++ {
		if !g.w.Cal.IsWorkday(d) {
			continue
		}
		for n := g.count(rng, perDay); n > 0; n-- {
			g.admission(rng, "", g.w.PickConsignee(rng, g.w.Subs[rng.IntN(len(g.w.Subs))]), d)
		}
	}
}

// extensionPlan is the months from admission that each extension runs to,
// whether the GAC approved it, and the A11 breach planted in it, if any.
type extensionPlan struct {
	months  []int
	gac     bool
	breach  int // 1-based extension that breaks A11, 0 if none
	src     string
	colour  string
	breachW string
}

func (g *procGen) planExtensions(rng *rand.Rand, admitted schemas.Date) extensionPlan {
	var p extensionPlan
	if admitted <= addMonths(g.asOf, -16) {
		p.src = g.deviate(rng, "A11")
	}
	switch u := rng.IntN(100); {
	case p.src != "":
		p.colour = "orange"
		switch rng.IntN(3) {
		case 0:
			p.months, p.breach, p.breachW = []int{9, 12, 15, 18}, 4, "a fourth extension"
		case 1:
			p.months, p.breach, p.breachW = []int{9, 20 + rng.IntN(3)}, 2, "extended beyond 18 months"
		default:
			p.months, p.breach, p.breachW, p.colour = []int{9, 26 + rng.IntN(4)}, 2, "extended beyond 24 months", "red"
		}
	case u < 2:
		p.gac = true
		for i := range 4 + rng.IntN(3) {
			p.months = append(p.months, 9+3*i)
		}
	case u < 62:
	case u < 87:
		p.months = []int{9}
	case u < 96:
		p.months = []int{9, 12}
	default:
		p.months = []int{9, 12, 15}
	}
	return p
}

// admission runs one temporary admission: due in 6 months, extended, then
// re-exported by the due date (A10, A11).
func (g *procGen) admission(rng *rand.Rand, declNo string, e *Ent, admitted schemas.Date) {
	id := fmt.Sprintf("TA%s%08d", e.Sub.CustomsCode, g.next())
	if declNo == "" {
		declNo = g.synthDeclNo(e.Sub, admitted, '1', 7, g.serial)
	}
	o := g.officer(rng, e.Sub, "tariff_review", admitted)
	due := g.w.Cal.NextWorkday(addMonths(admitted, 6))
	rec := &schemas.TemporaryAdmission{
		TANo: id, DeclNo: ptr(declNo), EntCode: ptr(e.Code), AdmittedOn: ptr(admitted), DueOn: ptr(due),
		Extensions: ptr(int32(0)), ApprovalLevel: ptr("customs"), OfficerID: ptr(o.ID),
	}
	vs := g.stamper(rng)
	rec.UpdatedAt = vs.at(admitted)
	g.em.Emit(rec)
	truth := TruthRow{ObjectType: "temporary_admissions", ObjectKey: id, OfficerID: o.ID, EntCode: e.Code}
	plan := g.planExtensions(rng, admitted)
	last := admitted
	for i, m := range plan.months {
		last = g.w.Cal.NextWorkday(due.AddDays(-3 - rng.IntN(20)))
		due = g.w.Cal.NextWorkday(addMonths(admitted, m))
		rec.Extensions, rec.ExtendedUntil = ptr(int32(i+1)), ptr(due)
		if plan.gac && i == 3 {
			rec.ApprovalLevel = ptr("gac")
		}
		rec.UpdatedAt = vs.at(last)
		g.em.Emit(rec)
		if i+1 == plan.breach {
			g.truth(truth, "A11", plan.src, last, plan.colour, fmt.Sprintf("%s without GAC approval: %d extensions, until %s", plan.breachW, i+1, due))
		}
	}
	closed := g.w.Cal.NextWorkday(last.AddDays(1 + rng.IntN(int(due-last))))
	if g.pastCD(due) {
		if src := g.deviate(rng, "A10"); src != "" {
			closed = g.lateCD(rng, due, 200)
			late := int(g.upto(closed) - due)
			g.truth(truth, "A10", src, due+1, g.colour(late, 30, 90), fmt.Sprintf("due %s, not re-exported; %d days overdue", due, late))
		}
	}
	rec.ClosedOn = ptr(closed)
	rec.UpdatedAt = vs.at(closed)
	g.em.Emit(rec)
}

// portCustoms are the other ends of transits.
var portCustoms = []string{"2248", "2233", "5316", "5349", "4218", "5141", "0110"}

// transits files about one transit a day per 250 declarations, from 30 days
// before the period: direct and export transits get an arrival limit at
// filing; early-declared ones get it when the goods move, or are cancelled
// if they never do (A12, A13).
func (g *procGen) transits() {
	rng := g.w.rng("transits", 0)
	perDay := float64(g.w.scale.DeclsPerDay) / float64(len(g.w.Subs)) / 250
	for _, sub := range g.w.Subs {
		for d := g.w.cfg.Start.AddDays(-30); d <= g.asOf; d++ {
			if !g.w.Cal.IsWorkday(d) {
				continue
			}
			for n := g.count(rng, perDay); n > 0; n-- {
				g.transit(rng, sub, d)
			}
		}
	}
}

func (g *procGen) transit(rng *rand.Rand, sub *Dept, d schemas.Date) {
	id := fmt.Sprintf("ZG%s%s%06d", sub.CustomsCode, d.Time().Format("060102"), g.next()%1_000_000)
	mode, ie := "direct", byte('1')
	switch u := rng.IntN(100); {
	case u < 30:
		mode, ie = "export", '0'
	case u < 45:
		mode = "early_declaration"
	}
	port := portCustoms[rng.IntN(len(portCustoms))]
	for port == sub.CustomsCode {
		port = portCustoms[rng.IntN(len(portCustoms))]
	}
	from, to := port, sub.CustomsCode
	if mode == "export" {
		from, to = to, from
	}
	o := g.officer(rng, sub, "logistics", d)
	rec := &schemas.Transit{
		TransitNo: id, DeclNo: ptr(g.synthDeclNo(sub, d, ie, 6, g.serial)), Mode: ptr(mode), DepartureCustoms: ptr(from),
		DestinationCustoms: ptr(to), OfficerID: ptr(o.ID),
	}
	vs := g.stamper(rng)
	rec.FiledAt = ptr(vs.at(d))
	truth := TruthRow{ObjectType: "transits", ObjectKey: id, OfficerID: o.ID}
	if mode != "early_declaration" {
		rec.ArrivalLimit = ptr(g.w.Cal.NextWorkday(d.AddDays(1 + rng.IntN(4))))
		rec.UpdatedAt = *rec.FiledAt
		g.em.Emit(rec)
		arrival := g.w.Cal.NextWorkday(d.AddDays(1 + rng.IntN(int(*rec.ArrivalLimit-d))))
		g.arrive(rng, rec, vs, arrival, truth)
		return
	}
	rec.UpdatedAt = *rec.FiledAt
	g.em.Emit(rec)
	window := g.rollCD(d, 5)
	if rng.IntN(4) == 0 {
		cancel := g.withinCD(rng, d, 5)
		if g.pastCD(window) {
			if src := g.deviate(rng, "A13"); src != "" {
				cancel = g.lateCD(rng, window, 40)
				since := int(g.upto(cancel) - d)
				g.truth(truth, "A13", src, window+1, g.colour(since, 10, 30), fmt.Sprintf("early declaration filed %s, unused and not cancelled by %s; %d days since", d, window, since))
			}
		}
		rec.CancelledAt = ptr(vs.at(cancel))
		rec.UpdatedAt = *rec.CancelledAt
		g.em.Emit(rec)
		return
	}
	moved := g.w.Cal.NextWorkday(d.AddDays(1 + rng.IntN(2)))
	rec.ArrivalLimit = ptr(g.w.Cal.NextWorkday(moved.AddDays(1 + rng.IntN(3))))
	rec.UpdatedAt = vs.at(moved)
	g.em.Emit(rec)
	// The goods arrive within the 5 CD too, so the data counts as used
	// whether a rule looks at the arrival limit or at the arrival.
	arrival := g.w.Cal.NextWorkday(moved.AddDays(rng.IntN(int(min(*rec.ArrivalLimit, window)-moved) + 1)))
	g.arrive(rng, rec, vs, arrival, truth)
}

// arrive records the goods' arrival and the transit's close, normally the
// same day and by the arrival limit (A12).
func (g *procGen) arrive(rng *rand.Rand, rec *schemas.Transit, vs *versionStamper, arrival schemas.Date, truth TruthRow) {
	limit := *rec.ArrivalLimit
	closing := arrival
	if g.pastCD(limit) {
		if src := g.deviate(rng, "A12"); src != "" {
			closing = g.lateCD(rng, limit, 20)
			if rng.IntN(2) == 0 {
				arrival = closing
			}
			late := int(g.upto(closing) - limit)
			g.truth(truth, "A12", src, limit+1, g.colour(late, 3, 10), fmt.Sprintf("arrival limit %s, not closed; %d days overdue", limit, late))
		}
	}
	rec.ArrivedAt = ptr(vs.at(arrival))
	rec.UpdatedAt = *rec.ArrivedAt
	g.em.Emit(rec)
	closed := vs.last.Add(time.Duration(20+rng.IntN(100)) * time.Minute)
	if closing != arrival {
		closed = vs.at(closing)
	}
	vs.last = closed
	rec.ClosedAt, rec.UpdatedAt = ptr(closed), closed
	g.em.Emit(rec)
}

// licences has the enterprises apply, over the 150 days up to the as-of
// date, for about three decisions a day per 400 enterprises: a third
// licences (20 WD, 30 with an extension; A15), the rest exemption
// confirmations (10 WD; A16).
func (g *procGen) licences() {
	rng := g.w.rng("licences", 0)
	perDay := 3 * float64(g.w.scale.Enterprises) / 400
	for d := g.asOf.AddDays(-150); d <= g.asOf; d++ {
		if !g.w.Cal.IsWorkday(d) {
			continue
		}
		for n := g.count(rng, perDay); n > 0; n-- {
			e := g.w.PickConsignee(rng, g.w.Subs[rng.IntN(len(g.w.Subs))])
			if rng.IntN(3) == 0 {
				g.licence(rng, e, d, "licence", "A15", "logistics", 20, 10)
			} else {
				g.licence(rng, e, d, "exemption", "A16", "tariff_review", 10, 5)
			}
		}
	}
}

// licence runs one application; a late decision is graded by the working
// days past the limit: up to yellowMax yellow, up to twice that orange.
func (g *procGen) licence(rng *rand.Rand, e *Ent, d schemas.Date, kind, rule, post string, n, yellowMax int) {
	prefix := "XK" // 许可
	if kind == "exemption" {
		prefix = "JM" // 减免
	}
	id := fmt.Sprintf("%s%s%08d", prefix, e.Sub.CustomsCode, g.next())
	o := g.officer(rng, e.Sub, post, d)
	rec := &schemas.Licence{AppID: id, Kind: ptr(kind), EntCode: ptr(e.Code), AcceptedOn: ptr(d), ExtensionApproved: ptr(false), OfficerID: ptr(o.ID)}
	vs := g.stamper(rng)
	rec.UpdatedAt = vs.at(d)
	g.em.Emit(rec)
	from := d
	if kind == "licence" && rng.IntN(10) == 0 {
		n, from = 30, g.w.Cal.AddWorkdays(d, 12+rng.IntN(7))
		rec.ExtensionApproved = ptr(true)
		rec.UpdatedAt = vs.at(from)
		g.em.Emit(rec)
	}
	limit := g.w.Cal.AddWorkdays(d, n)
	decided := g.withinWD(rng, from, g.w.Cal.WorkdaysBetween(from, limit))
	if g.pastWD(limit) {
		if src := g.deviate(rng, rule); src != "" {
			decided = g.lateWD(rng, limit, 35)
			late := g.w.Cal.WorkdaysBetween(limit, g.upto(decided))
			g.truth(TruthRow{ObjectType: "licences", ObjectKey: id, OfficerID: o.ID, EntCode: e.Code}, rule, src, limit+1,
				g.colour(late, yellowMax, 2*yellowMax), fmt.Sprintf("%s accepted %s, decision due by %s; %d working days late", kind, d, limit, late))
		}
	}
	rec.DecidedOn = ptr(decided)
	rec.UpdatedAt = vs.at(decided)
	g.em.Emit(rec)
}
