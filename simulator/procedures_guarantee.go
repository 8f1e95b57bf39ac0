package simulator

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// guarantees lodges the guarantees the declarations name and, over the 20
// months up to the as-of date, guarantees for earlier declarations and
// general guarantees: about one a month for every 30 enterprises.
func (g *procGen) guarantees(facts []*DeclFacts) {
	rng := g.w.rng("guarantees", 0)
	for _, f := range facts {
		if f.GuaranteeNo != "" && !f.DeclaredAt.IsZero() && f.DeclaredAt.Before(g.w.End) {
			g.declGuarantee(rng, f)
		}
	}
	rng = g.w.rng("guarantees", 1)
	perDay := float64(g.w.scale.Enterprises) / 30 / 21
	for d := g.asOf.AddDays(-600); d <= g.asOf; d++ {
		if !g.w.Cal.IsWorkday(d) {
			continue
		}
		for n := g.count(rng, perDay); n > 0; n-- {
			g.earlierGuarantee(rng, g.w.Subs[rng.IntN(len(g.w.Subs))], d)
		}
	}
}

// declGuarantee is accepted before the declaration it covers, so the
// guarantee post's delay, if any, lies in how long before it was applied for
// (A17). The obligation is met when the declaration's vouchers are all paid.
func (g *procGen) declGuarantee(rng *rand.Rand, f *DeclFacts) {
	sub := f.Sub
	if sub == nil {
		sub = g.w.Subs[0]
	}
	declared := f.DeclaredAt.In(schemas.Shanghai)
	day := schemas.DateOf(declared)
	end := workEnd(day)
	if declared.Before(end) {
		end = declared
	}
	var accepted time.Time
	if span := end.Sub(workStart(day)) - 5*time.Minute; g.w.Cal.IsWorkday(day) && span > 0 {
		accepted = workStart(day).Add(time.Duration(rng.Int64N(int64(span))))
	} else {
		day = g.prevWorkday(day - 1)
		accepted = g.w.WorkMoment(rng, day)
	}
	rec := &schemas.Guarantee{
		GuaranteeNo: f.GuaranteeNo, DeclNo: ptr(f.DeclNo), Kind: ptr("single"), Amount: ptr(max(f.Duty+f.VAT, schemas.Yuan(100))),
		LicenceMissing: ptr(g.licenceMissing(rng, f)), OfficerID: ptr(g.officer(rng, sub, "guarantee", day).ID),
	}
	truth := TruthRow{ObjectType: "guarantees", ObjectKey: f.GuaranteeNo, OfficerID: *rec.OfficerID}
	if f.Consignee != nil {
		truth.EntCode = f.Consignee.Code
	}
	k := rng.IntN(6)
	if src := g.deviate(rng, "A17"); src != "" {
		late := 1 + rng.IntN(15)
		k = 5 + late
		applied := g.workdaysBefore(day, k)
		g.truth(truth, "A17", src, g.w.Cal.AddWorkdays(applied, 5)+1, g.colour(late, 3, 10), fmt.Sprintf("applied %s, accepted %s; %d working days late", applied, day, late))
	}
	applied := accepted.Add(-time.Duration(1+rng.IntN(60)) * time.Minute)
	if k > 0 {
		applied = g.w.WorkMoment(rng, g.workdaysBefore(day, k))
	}
	rec.AppliedAt, rec.UpdatedAt = ptr(applied), applied
	g.em.Emit(rec)
	rec.AcceptedAt, rec.UpdatedAt = ptr(accepted), accepted
	g.em.Emit(rec)
	var met schemas.Date
	for _, v := range f.Vouchers {
		if v.PaidOn == nil {
			return
		}
		met = max(met, *v.PaidOn, day)
	}
	if met != 0 {
		g.release(rng, rec, &versionStamper{w: g.w, rng: rng, last: accepted}, met, truth)
	}
}

// licenceMissing says whether a required licence is missing when the
// guarantee is lodged: for a third of the declarations not yet released,
// which wait for it. The B02 anomaly releases the goods against the
// guarantee all the same; its warning is about the release, due that day.
func (g *procGen) licenceMissing(rng *rand.Rand, f *DeclFacts) bool {
	if f.ReleasedAt.IsZero() {
		return rng.IntN(3) == 0
	}
	src := g.deviate(rng, "B02")
	if src == "" {
		return false
	}
	t := TruthRow{ObjectType: "declarations", ObjectKey: f.DeclNo}
	if f.Releaser != nil {
		t.OfficerID = f.Releaser.ID
	}
	if f.Consignee != nil {
		t.EntCode = f.Consignee.Code
	}
	g.truth(t, "B02", src, schemas.DateOf(f.ReleasedAt), red,
		fmt.Sprintf("released %s against guarantee %s with a required licence missing", f.ReleasedAt.Format(time.DateTime), f.GuaranteeNo))
	return true
}

// earlierGuarantee is a single guarantee for a declaration from before the
// simulated data, or a general guarantee whose obligation ends with its term.
func (g *procGen) earlierGuarantee(rng *rand.Rand, sub *Dept, d schemas.Date) {
	id := fmt.Sprintf("DB%s%08d", sub.CustomsCode, g.next())
	o := g.officer(rng, sub, "guarantee", d)
	rec := &schemas.Guarantee{
		GuaranteeNo: id, Kind: ptr("single"), Amount: ptr(schemas.Yuan(5_000 + rng.Int64N(2_000_000))),
		LicenceMissing: ptr(false), OfficerID: ptr(o.ID),
	}
	n := 5
	if rng.IntN(10) < 3 {
		rec.Kind, n = ptr("general"), 10
	} else {
		rec.DeclNo = ptr(g.synthDeclNo(sub, d, '1', 5, g.serial))
	}
	truth := TruthRow{ObjectType: "guarantees", ObjectKey: id, OfficerID: o.ID}
	vs := g.stamper(rng)
	rec.AppliedAt = ptr(vs.at(d))
	rec.UpdatedAt = *rec.AppliedAt
	g.em.Emit(rec)
	limit := g.w.Cal.AddWorkdays(d, n)
	accepted := d
	if k := rng.IntN(n + 1); k > 0 {
		accepted = g.w.Cal.AddWorkdays(d, k)
	}
	if g.pastWD(limit) {
		if src := g.deviate(rng, "A17"); src != "" {
			accepted = g.lateWD(rng, limit, 15)
			late := g.w.Cal.WorkdaysBetween(limit, g.upto(accepted))
			g.truth(truth, "A17", src, limit+1, g.colour(late, 3, 10), fmt.Sprintf("applied %s, acceptance due by %s; %d working days late", d, limit, late))
		}
	}
	rec.AcceptedAt = ptr(vs.at(accepted))
	rec.UpdatedAt = *rec.AcceptedAt
	g.em.Emit(rec)
	met := g.w.Cal.NextWorkday(accepted.AddDays(5 + rng.IntN(60)))
	if *rec.Kind == "general" {
		met = g.w.Cal.NextWorkday(addMonths(accepted, 6+rng.IntN(7)))
	}
	g.release(rng, rec, vs, met, truth)
}

// release sends the return notice once the obligation is met (A18); most
// guarantors collect within two months, the rest are given public notice at
// 3 months and the guarantee is confiscated at 15 (A19).
func (g *procGen) release(rng *rand.Rand, rec *schemas.Guarantee, vs *versionStamper, met schemas.Date, truth TruthRow) {
	rec.ObligationMet = ptr(met)
	rec.UpdatedAt = vs.at(met)
	g.em.Emit(rec)
	limit := g.w.Cal.AddWorkdays(met, 10)
	notice := g.withinWD(rng, met, 10)
	if g.pastWD(limit) {
		if src := g.deviate(rng, "A18"); src != "" {
			notice = g.lateWD(rng, limit, 80)
			since := int(g.upto(notice) - met)
			g.truth(truth, "A18", src, limit+1, g.colour(since, 30, 90), fmt.Sprintf("obligation met %s, return notice due by %s; %d days since", met, limit, since))
		}
	}
	rec.ReturnNoticeOn = ptr(notice)
	rec.UpdatedAt = vs.at(notice)
	g.em.Emit(rec)
	if rng.IntN(100) >= 8 {
		rec.CollectedOn = ptr(g.w.Cal.NextWorkday(notice.AddDays(1 + rng.IntN(60))))
		rec.UpdatedAt = vs.at(*rec.CollectedOn)
		g.em.Emit(rec)
		return
	}
	m3, m15 := g.w.Cal.NextWorkday(addMonths(notice, 3)), g.w.Cal.NextWorkday(addMonths(notice, 15))
	public, confiscate := true, true
	if g.pastCD(m3) {
		if src := g.deviate(rng, "A19"); src != "" {
			public, confiscate = false, false
			date, colour, what := m3+1, "orange", "no public notice"
			if g.pastCD(m15) {
				colour = "red"
				if rng.IntN(2) == 0 {
					public, date, what = true, m15+1, "public notice but no confiscation"
				}
			}
			g.truth(truth, "A19", src, date, colour, fmt.Sprintf("uncollected since the return notice of %s: %s", notice, what))
		}
	}
	if public {
		rec.PublicNoticeOn = ptr(g.prevWorkday(addMonths(notice, 3)))
		rec.UpdatedAt = vs.at(*rec.PublicNoticeOn)
		g.em.Emit(rec)
	}
	if confiscate {
		rec.ConfiscatedOn = ptr(g.prevWorkday(addMonths(notice, 15)))
		rec.UpdatedAt = vs.at(*rec.ConfiscatedOn)
		g.em.Emit(rec)
	}
}
