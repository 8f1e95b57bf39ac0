package simulator

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/hlwarn/hlwarn/schemas"
)

// Volumes of the supervision processes. Enterprise cases, audits and long
// holds scale with the daily declarations, so every scale has enough of them
// to plant breaches in; backlogs reach back far enough for the 90-CD (A20),
// 30-CD (A22) and one-year (A21) limits to pass within the period.
const (
	supCaseOnMismatch   = 0.4    // of declarations whose inspection found a mismatch
	supCaseOnOther      = 0.0003 // of declarations released without inspection
	supAuditOnDecl      = 0.0005 // of released declarations, audited during the period
	supEntCasesPerDecl  = 0.002  // enterprise cases per working day, per daily declaration
	supAuditsPerDecl    = 0.001  // audit reports per working day, per daily declaration
	supLongHoldsPerDecl = 0.01   // transferred cases whose goods are held for years
	supCaseBacklog      = 240    // days before the period since which cases run into it
	supAuditBacklog     = 150
	supLeadBacklog      = 90
)

var (
	supLeadSources    = []string{"petition", "petition", "petition", "audit", "inspection", "self_report", "other", "other"}
	supLeadCategories = []string{"收受礼品礼金", "违规干预执法", "泄露工作秘密", "违规兼职取酬", "工作作风", "与管理相对人不当往来"}
)

// supervisionGen generates cases, audits and leads, grading every breach as
// of the period's last day.
type supervisionGen struct {
	*World
	em   *Emitter
	asOf schemas.Date
}

// caseSeed is a case to be filed.
type caseSeed struct {
	sub      *Dept
	ent      *Ent
	decl     *DeclFacts // nil for a case on the enterprise alone
	kind     string
	filed    schemas.Date
	longHold bool   // smuggling goods held for years as evidence of a transferred case
	b09      string // Planted or Background: the declaration's inspection said match
}

// auditSeed is an audit to be opened.
type auditSeed struct {
	sub            *Dept
	ent            *Ent
	decl           *DeclFacts
	opened, report schemas.Date
	concluded      schemas.Date // fixed only for a B09 audit, which must conclude by the end
	b09            string
}

type leadSeed struct {
	officer  *Officer
	direct   *Dept
	received schemas.Date
}

// generateSupervision generates cases (A20, A21, B17), audits (A22), the
// B09 discrepancies on declarations inspected as matching, and leads.
//
// Conventions the rules rely on: a case's goods are released by a version
// that sets goods_held_since to null; decided_on is A20's action date even
// when the case was closed without a decision; B17 treats a case with
// decided_on set and decision null or pending as closed with no decision,
// and checks the fine of penalty decisions on revenue cases (evaded_tax > 0).
func (w *World) generateSupervision(facts []*DeclFacts) *Emitter {
	g := &supervisionGen{World: w, em: newEmitter(w.End), asOf: w.cfg.LastDay()}
	cases, audits := g.declSeeds(facts)
	cases = append(cases, g.entCaseSeeds()...)
	audits = append(audits, g.entAuditSeeds()...)
	ids := supNumber(cases, "CASE", func(s caseSeed) (schemas.Date, *Dept) { return s.filed, s.sub })
	for i, s := range cases {
		g.emitCase(s, ids[i])
	}
	ids = supNumber(audits, "AUD", func(s auditSeed) (schemas.Date, *Dept) { return s.opened, s.sub })
	for i, s := range audits {
		g.emitAudit(s, ids[i])
	}
	g.emitLeads()
	return g.em
}

// declSeeds picks the declarations that lead to a case or an audit. A case
// never follows an inspection that said match, and an audit of such a
// declaration finds nothing, unless B09 is planted on it.
func (g *supervisionGen) declSeeds(facts []*DeclFacts) ([]caseSeed, []auditSeed) {
	rng := g.rng("supervision-decls", 0)
	var cases []caseSeed
	var audits []auditSeed
	for _, f := range facts {
		if f.Sub == nil || f.Consignee == nil {
			continue
		}
		released := !f.ReleasedAt.IsZero()
		var rd schemas.Date
		if released {
			rd = schemas.DateOf(f.ReleasedAt.In(schemas.Shanghai))
		}
		if f.Result == "match" && released && g.Cal.WorkdaysBetween(rd, g.asOf) >= 3 {
			if src := g.deviation(rng, "B09"); src != "" {
				c, a := g.plantB09(rng, f, rd, src)
				cases, audits = append(cases, c...), append(audits, a...)
				continue
			}
		}
		if rng.Float64() < supCaseShare(f, released) {
			base := rd
			if !released {
				base = schemas.DateOf(f.DeclaredAt.In(schemas.Shanghai))
			}
			kind := "violation"
			if f.Result == "mismatch" && rng.IntN(10) < 3 {
				kind = "smuggling"
			}
			if filed := g.Cal.AddWorkdays(base, 1+rng.IntN(5)); filed <= g.asOf {
				cases = append(cases, caseSeed{sub: f.Sub, ent: f.Consignee, decl: f, kind: kind, filed: filed})
			}
		}
		if released && rng.Float64() < supAuditOnDecl {
			opened := g.Cal.AddWorkdays(rd, 1+rng.IntN(10))
			audits = append(audits, auditSeed{sub: f.Sub, ent: f.Consignee, decl: f, opened: opened, report: g.Cal.AddWorkdays(opened, 5+rng.IntN(15))})
		}
	}
	return cases, audits
}

// supCaseShare is the chance a declaration leads to a case: mostly after an
// inspection found a mismatch, rarely without inspection, never while an
// inspection is unfinished or after one that said match.
func supCaseShare(f *DeclFacts, released bool) float64 {
	switch {
	case f.Result == "mismatch":
		return supCaseOnMismatch
	case f.Inspection == "" && released:
		return supCaseOnOther
	}
	return 0
}

// plantB09 has a case or an audit find a discrepancy on a released
// declaration whose inspection said match, concluding by the period's end.
func (g *supervisionGen) plantB09(rng *rand.Rand, f *DeclFacts, released schemas.Date, src string) ([]caseSeed, []auditSeed) {
	n := g.Cal.WorkdaysBetween(released, g.asOf)
	if rng.IntN(2) == 0 {
		return []caseSeed{{sub: f.Sub, ent: f.Consignee, decl: f, kind: "violation", filed: g.Cal.AddWorkdays(released, 1+rng.IntN(n)), b09: src}}, nil
	}
	o := 1 + rng.IntN(n-2)
	opened := g.Cal.AddWorkdays(released, o)
	report := g.Cal.AddWorkdays(opened, 1)
	concluded := g.Cal.AddWorkdays(report, 1+rng.IntN(min(10, n-o-1)))
	return nil, []auditSeed{{sub: f.Sub, ent: f.Consignee, decl: f, opened: opened, report: report, concluded: concluded, b09: src}}
}

// entCaseSeeds files cases against enterprises without a declaration of the
// period, from the backlog through the period, plus the long holds.
func (g *supervisionGen) entCaseSeeds() []caseSeed {
	rng := g.rng("supervision-cases", 0)
	var out []caseSeed
	rate := supEntCasesPerDecl * float64(g.scale.DeclsPerDay)
	for d := g.cfg.Start.AddDays(-supCaseBacklog); d <= g.asOf; d++ {
		if !g.Cal.IsWorkday(d) {
			continue
		}
		for k := supDraws(rng, rate); k > 0; k-- {
			sub := g.Subs[rng.IntN(len(g.Subs))]
			kind := "violation"
			if rng.IntN(4) == 0 {
				kind = "smuggling"
			}
			out = append(out, caseSeed{sub: sub, ent: g.PickConsignee(rng, sub), kind: kind, filed: d})
		}
	}
	for k := supDraws(rng, supLongHoldsPerDecl*float64(g.scale.DeclsPerDay)); k > 0; k-- {
		// Keep holds clear of the one- and two-year marks, so that a
		// planted breach's colour does not hang on how a boundary is read.
		days := 200 + rng.IntN(700)
		if days > 355 && days < 385 {
			days += 30
		}
		if days > 715 && days < 765 {
			days += 50
		}
		sub := g.Subs[rng.IntN(len(g.Subs))]
		out = append(out, caseSeed{sub: sub, ent: g.PickConsignee(rng, sub), kind: "smuggling", filed: g.prevWorkday(g.asOf.AddDays(-days)), longHold: true})
	}
	return out
}

// entAuditSeeds schedules the enterprise audits whose reports fall from the
// backlog to two months past the end (those still in fieldwork at the end).
func (g *supervisionGen) entAuditSeeds() []auditSeed {
	rng := g.rng("supervision-audits", 0)
	var out []auditSeed
	rate := supAuditsPerDecl * float64(g.scale.DeclsPerDay)
	for d := g.cfg.Start.AddDays(-supAuditBacklog); d <= g.asOf.AddDays(60); d++ {
		if !g.Cal.IsWorkday(d) {
			continue
		}
		for k := supDraws(rng, rate); k > 0; k-- {
			sub := g.Subs[rng.IntN(len(g.Subs))]
			opened := g.prevWorkday(d.AddDays(-15 - rng.IntN(46)))
			if opened <= g.asOf {
				out = append(out, auditSeed{sub: sub, ent: g.PickConsignee(rng, sub), opened: opened, report: d})
			}
		}
	}
	return out
}

// emitCase files a case and follows it through decision and the hold of
// its goods, recording its breaches.
func (g *supervisionGen) emitCase(s caseSeed, no string) {
	rng := g.rng("case/"+no, 0)
	off := g.pickStaff(rng, s.sub, "anti_smuggling", s.filed)
	if off == nil {
		return
	}
	c := &schemas.Case{CaseNo: no, Kind: ptr(s.kind), EntCode: ptr(s.ent.Code), FiledOn: ptr(s.filed),
		EvadedTax: ptr(supEvadedTax(rng, s)), Decision: ptr("pending"), OfficerID: ptr(off.ID)}
	if s.decl != nil {
		c.DeclNo = ptr(s.decl.DeclNo)
	}
	t := TruthRow{ObjectType: "cases", ObjectKey: no, OfficerID: off.ID, EntCode: s.ent.Code}
	var ms supMilestones
	ms.on(s.filed, func() {})
	decided := g.actionDay(rng, s.filed, caseDecision, t)
	decision := g.caseVerdict(rng, c, s, decided, t, &ms)
	g.caseHold(rng, c, s, decided, decision, t, &ms)
	if s.b09 != "" {
		g.em.Truth(TruthRow{RuleID: "B09", Source: s.b09, ObjectType: "declarations", ObjectKey: s.decl.DeclNo, OfficerID: s.decl.inspectorID(), EntCode: s.ent.Code,
			Date: s.filed, Colour: "red", Note: fmt.Sprintf("inspection said match; case %s filed %s", no, s.filed)})
	}
	g.emitMilestones(rng, c, ms)
}

// limitRule is a calendar-day limit on an action and the rule that
// watches it: normal actions fall in [minDays, limitDays] after the start;
// a breach is late by a yellow/orange/red band of days.
type limitRule struct {
	rule                 string
	minDays, limitDays   int
	yellowMax, orangeMax int
	start, action        string // for the truth note: "filed", "decision"
}

// actionDay is when an action under the limit happens, starting from start:
// within the limit normally; late, with a truth row, for a planted or
// accidental breach that shows by the as-of date.
func (g *supervisionGen) actionDay(rng *rand.Rand, start schemas.Date, l limitRule, t TruthRow) schemas.Date {
	day := g.workdayWithin(rng, start, l.minDays, l.limitDays)
	limit := g.Cal.NextWorkday(start.AddDays(l.limitDays))
	if limit >= g.asOf {
		return day
	}
	src := g.deviation(rng, l.rule)
	if src == "" {
		return day
	}
	day = g.Cal.NextWorkday(limit.AddDays(supLateDays(rng, l.yellowMax, l.orangeMax)))
	late := g.overdue(limit, day)
	t.RuleID, t.Source, t.Date, t.Colour = l.rule, src, limit+1, supBand(late, l.yellowMax, l.orangeMax)
	t.Note = fmt.Sprintf("%s %s, %s due %s, %d days late", l.start, start, l.action, limit, late)
	g.em.Truth(t)
	return day
}

// The limits of cases (A20: decided within 90 CD of filing) and audits
// (A22: concluded within 30 CD of the report).
var (
	caseDecision    = limitRule{rule: "A20", minDays: 20, limitDays: 90, yellowMax: 30, orangeMax: 90, start: "filed", action: "decision"}
	auditConclusion = limitRule{rule: "A22", minDays: 10, limitDays: 30, yellowMax: 15, orangeMax: 60, start: "report", action: "conclusion"}
)

// caseVerdict schedules the decision and returns it ("" for none): a fine
// within 30 %–200 % of the evaded tax on revenue cases, unless B17 plants a
// fine outside that range or a close without a decision.
func (g *supervisionGen) caseVerdict(rng *rand.Rand, c *schemas.Case, s caseSeed, decided schemas.Date, t TruthRow, ms *supMilestones) string {
	evaded := *c.EvadedTax
	revenue := evaded > 0
	decision := "penalty"
	switch {
	case s.longHold, s.kind == "smuggling" && revenue && rng.IntN(2) == 0:
		decision = "transferred"
	case !revenue && rng.IntN(5) == 0:
		decision = "no_penalty"
	}
	var fine *schemas.Money
	if decision == "penalty" {
		fine = ptr(schemas.Yuan(1000 + rng.Int64N(49000)))
		if revenue {
			fine = ptr(supFineWithin(rng, evaded))
		}
	}
	if decided <= g.asOf {
		if src := g.deviation(rng, "B17"); src != "" {
			t.RuleID, t.Source, t.Date = "B17", src, decided
			if decision == "penalty" && revenue && rng.IntN(2) == 0 {
				fine = ptr(supFineOutside(rng, evaded))
				t.Colour, t.Note = "orange", fmt.Sprintf("fine %s on evaded tax %s", *fine, evaded)
			} else {
				decision, fine = []string{"pending", ""}[rng.IntN(2)], nil
				t.Colour, t.Note = "red", fmt.Sprintf("closed %s without a decision", decided)
			}
			g.em.Truth(t)
		}
	}
	ms.on(decided, func() {
		c.DecidedOn, c.Fine, c.Decision = ptr(decided), fine, nil
		if decision != "" {
			c.Decision = ptr(decision)
		}
	})
	if decision == "pending" {
		return ""
	}
	return decision
}

// caseHold seizes the goods of some cases at filing. They are released at a
// penalty decision, otherwise within the year; long holds stay held with an
// approved extension, which A21 withholds.
func (g *supervisionGen) caseHold(rng *rand.Rand, c *schemas.Case, s caseSeed, decided schemas.Date, decision string, t TruthRow, ms *supMilestones) {
	share := 0.25
	if s.kind == "smuggling" {
		share = 0.7
	}
	if !s.longHold && rng.Float64() >= share {
		return
	}
	c.GoodsHeldSince, c.HoldExtensionApproved = ptr(s.filed), ptr(false)
	if s.longHold {
		g.longHold(rng, c, s.filed, t, ms)
		return
	}
	release := decided
	if decision != "penalty" && decision != "no_penalty" {
		release = g.workdayWithin(rng, decided, 10, 120)
	}
	release = min(release, g.prevWorkday(s.filed.AddDays(360)))
	ms.on(release, func() { c.GoodsHeldSince = nil })
}

func (g *supervisionGen) longHold(rng *rand.Rand, c *schemas.Case, held schemas.Date, t TruthRow, ms *supMilestones) {
	limit := g.Cal.NextWorkday(held.AddDays(365))
	approved := g.prevWorkday(held.AddDays(300 + rng.IntN(60)))
	if limit < g.asOf {
		if src := g.deviation(rng, "A21"); src != "" {
			days := int(g.asOf - held)
			t.RuleID, t.Source, t.Date, t.Colour = "A21", src, limit+1, "orange"
			if days >= 730 {
				t.Colour = "red"
			}
			t.Note = fmt.Sprintf("goods held since %s (%d days), no extension", held, days)
			g.em.Truth(t)
			return
		}
	}
	ms.on(approved, func() { c.HoldExtensionApproved = ptr(true) })
}

// emitAudit opens an audit, issues its report and concludes it within 30
// CD, or late for an A22 breach.
func (g *supervisionGen) emitAudit(s auditSeed, id string) {
	rng := g.rng("audit/"+id, 0)
	off := g.pickStaff(rng, s.sub, "audit", s.opened)
	if off == nil {
		return
	}
	a := &schemas.Audit{AuditID: id, EntCode: ptr(s.ent.Code), OfficerID: ptr(off.ID)}
	if s.decl != nil {
		a.DeclNo = ptr(s.decl.DeclNo)
	}
	var ms supMilestones
	ms.on(s.opened, func() {})
	ms.on(s.report, func() { a.ReportOn = ptr(s.report) })
	concluded, finding := s.concluded, "discrepancy"
	if s.b09 != "" {
		g.em.Truth(TruthRow{RuleID: "B09", Source: s.b09, ObjectType: "declarations", ObjectKey: s.decl.DeclNo, OfficerID: s.decl.inspectorID(), EntCode: s.ent.Code,
			Date: concluded, Colour: "red", Note: fmt.Sprintf("inspection said match; audit %s found a discrepancy on %s", id, concluded)})
	} else {
		concluded = g.actionDay(rng, s.report, auditConclusion, TruthRow{ObjectType: "audits", ObjectKey: id, OfficerID: off.ID, EntCode: s.ent.Code})
		if finding = "none"; (s.decl == nil || s.decl.Result != "match") && rng.IntN(10) < 3 {
			finding = "discrepancy"
		}
	}
	ms.on(concluded, func() { a.ConcludedOn, a.Finding = ptr(concluded), ptr(finding) })
	g.emitMilestones(rng, a, ms)
}

// emitLeads receives a trickle of integrity leads about officers, each
// verified some weeks later; a confirmation is sometimes partial first.
func (g *supervisionGen) emitLeads() {
	rng := g.rng("leads", 0)
	var seeds []leadSeed
	rate := float64(len(g.Officers)) / 1000
	for d := g.cfg.Start.AddDays(-supLeadBacklog); d <= g.asOf; d++ {
		if !g.Cal.IsWorkday(d) {
			continue
		}
		for k := supDraws(rng, rate); k > 0; k-- {
			o := g.Officers[rng.IntN(len(g.Officers))]
			if p := o.At(d); p.Dept.Direct != nil && p.Post != "supervision" {
				seeds = append(seeds, leadSeed{officer: o, direct: p.Dept.Direct, received: d})
			}
		}
	}
	ids := supNumber(seeds, "LEAD", func(s leadSeed) (schemas.Date, *Dept) { return s.received, s.direct })
	for i, s := range seeds {
		lrng := g.rng("lead/"+ids[i], 0)
		l := &schemas.Lead{LeadID: ids[i], OfficerID: ptr(s.officer.ID), Source: ptr(supLeadSources[lrng.IntN(len(supLeadSources))]),
			ReceivedOn: ptr(s.received), Category: ptr(supLeadCategories[lrng.IntN(len(supLeadCategories))]), Verified: ptr("pending")}
		var ms supMilestones
		ms.on(s.received, func() {})
		verdict := g.workdayWithin(lrng, s.received, 20, 90)
		outcome := []string{"confirmed", "partly", "unfounded", "unfounded", "unfounded"}[lrng.IntN(5)]
		if outcome == "confirmed" && lrng.IntN(3) == 0 {
			ms.on(verdict, func() { l.Verified = ptr("partly") })
			verdict = g.workdayWithin(lrng, verdict, 10, 40)
		}
		ms.on(verdict, func() { l.Verified = ptr(outcome) })
		g.emitMilestones(lrng, l, ms)
	}
}

// supMilestones gathers a record's changes by day. Each day's changes make
// one version, so a record never has two versions at one moment.
type supMilestones []supMilestone

type supMilestone struct {
	day   schemas.Date
	apply func()
}

func (ms *supMilestones) on(d schemas.Date, apply func()) { *ms = append(*ms, supMilestone{d, apply}) }

// emitMilestones applies the changes in day order, emitting the record once
// per day at a moment of that day's working hours.
func (g *supervisionGen) emitMilestones(rng *rand.Rand, rec any, ms supMilestones) {
	slices.SortStableFunc(ms, func(a, b supMilestone) int { return cmp.Compare(a.day, b.day) })
	v := schemas.VersionOf(rec)
	for i := 0; i < len(ms); {
		d := ms[i].day
		for ; i < len(ms) && ms[i].day == d; i++ {
			ms[i].apply()
		}
		v.UpdatedAt = g.WorkMoment(rng, d)
		g.em.Emit(rec)
	}
}

// pickStaff draws an officer holding post in sub on day d, preferring those
// whose posting had begun by then (Staff reaches back before it for days
// older than the officers' records).
func (g *supervisionGen) pickStaff(rng *rand.Rand, sub *Dept, post string, d schemas.Date) *Officer {
	staff := g.Staff(sub, post, d)
	if begun := slices.DeleteFunc(slices.Clone(staff), func(o *Officer) bool { return o.At(d).From > d }); len(begun) > 0 {
		staff = begun
	}
	if len(staff) == 0 {
		return nil
	}
	return staff[rng.IntN(len(staff))]
}

// workdayWithin is a random working day after from, at most maxDays calendar
// days after it and, days off permitting, at least minDays: a step that
// keeps a calendar-day limit of maxDays whether or not the limit rolls.
func (g *supervisionGen) workdayWithin(rng *rand.Rand, from schemas.Date, minDays, maxDays int) schemas.Date {
	d := from.AddDays(minDays + rng.IntN(maxDays-minDays+1))
	for d > from && !g.Cal.IsWorkday(d) {
		d--
	}
	if d == from {
		d = g.Cal.NextWorkday(from + 1)
	}
	return d
}

func (g *supervisionGen) prevWorkday(d schemas.Date) schemas.Date {
	for !g.Cal.IsWorkday(d) {
		d--
	}
	return d
}

// overdue is the days late, as of the last day, of a step due by limit that
// happens on done (perhaps after the end).
func (g *supervisionGen) overdue(limit, done schemas.Date) int {
	return int(min(done, g.asOf) - limit)
}

// supBand grades days late: up to y yellow, up to o orange, more red.
func supBand(late, y, o int) string {
	switch {
	case late <= y:
		return "yellow"
	case late <= o:
		return "orange"
	}
	return "red"
}

// supLateDays draws a lateness in one of the three bands of supBand.
func supLateDays(rng *rand.Rand, y, o int) int {
	switch rng.IntN(3) {
	case 0:
		return 1 + rng.IntN(y)
	case 1:
		return y + 1 + rng.IntN(o-y)
	}
	return o + 1 + rng.IntN(o)
}

// supDraws is rate made a whole count: its fraction decides one more.
func supDraws(rng *rand.Rand, rate float64) int {
	n := int(rate)
	if rng.Float64() < rate-float64(n) {
		n++
	}
	return n
}

// supEvadedTax is the tax a case says was evaded: none for three cases in
// ten (licence and procedure violations), else a share of the declaration's
// tax or a heavy-tailed whole-yuan amount.
func supEvadedTax(rng *rand.Rand, s caseSeed) schemas.Money {
	if !s.longHold && rng.IntN(10) < 3 {
		return 0
	}
	if s.decl != nil {
		if tax := s.decl.Duty + s.decl.VAT; tax >= schemas.Yuan(5000) {
			return schemas.Yuan(int64(tax) / 100 * (10 + rng.Int64N(50)) / 100)
		}
	}
	return schemas.Yuan(5000 + int64(rng.ExpFloat64()*60000))
}

// supFineWithin is a whole-yuan fine within 30 %–200 % of a whole-yuan
// evaded tax, both bounds included.
func supFineWithin(rng *rand.Rand, evaded schemas.Money) schemas.Money {
	e := int64(evaded) / 100
	lo, hi := (e*30+99)/100, 2*e
	return schemas.Yuan(lo + rng.Int64N(hi-lo+1))
}

// supFineOutside is a fine well below 30 % or well above 200 % of the evaded tax.
func supFineOutside(rng *rand.Rand, evaded schemas.Money) schemas.Money {
	e := int64(evaded) / 100
	if rng.IntN(2) == 0 {
		return schemas.Yuan(e * (5 + rng.Int64N(21)) / 100)
	}
	return schemas.Yuan(e * (220 + rng.Int64N(181)) / 100)
}

// supNumber sorts items by day and customs and returns their ids: prefix,
// customs code, year and a serial counted per customs and year.
func supNumber[T any](items []T, prefix string, key func(T) (schemas.Date, *Dept)) []string {
	slices.SortStableFunc(items, func(a, b T) int {
		da, sa := key(a)
		db, sb := key(b)
		return cmp.Or(cmp.Compare(da, db), cmp.Compare(sa.Index, sb.Index), cmp.Compare(sa.CustomsCode, sb.CustomsCode))
	})
	seq := map[string]int{}
	ids := make([]string, len(items))
	for i, it := range items {
		d, dept := key(it)
		k := dept.CustomsCode + strconv.Itoa(d.Time().Year())
		seq[k]++
		ids[i] = fmt.Sprintf("%s%s%05d", prefix, k, seq[k])
	}
	return ids
}

// inspectorID is the lead officer of the declaration's inspection, whom B09
// holds answerable for its "match", or "" if it never started.
func (f *DeclFacts) inspectorID() string {
	if f.Inspector == nil {
		return ""
	}
	return f.Inspector.ID
}
