package simulator

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// inspPlan is a physical inspection (查验) ordered by a control order.
type inspPlan struct {
	id                          string
	assigned, started, finished time.Time
	outside, request            bool
	team                        []*Officer // the first leads and records the step
	signed                      bool
	result, finding             string
}

var findings = []string{"申报品名与实货不符", "实货数量多于申报数量", "申报规格型号不符", "原产地标记与申报不符"}

// inspect carries out an inspection order after review: assigned minutes
// later, started within 1 WD and finished within 3 WD (A26) by two or three
// inspection officers who sign the record (B05), in the control area unless
// the trader asked in writing (B06). It returns when the inspection ended.
func (g *dayGen) inspect(p *declPlan, after time.Time) time.Time {
	in := &inspPlan{id: "CY" + p.rec.DeclNo, signed: true, result: "match"}
	p.insp = in
	in.assigned = after.Add(time.Duration(60+g.rng.IntN(1200)) * time.Second)
	p.states = append(p.states, state{"inspection", in.assigned})
	p.events = append(p.events, event{step: "inspection_assigned", at: in.assigned, outcome: "assigned", detail: `{"inspection_id":"` + in.id + `"}`})
	g.inspectionTiming(p, in)
	if g.rng.IntN(100) < 5 {
		in.outside, in.request = true, true
	}
	g.inspectionAnomalies(p, in)
	if g.rng.IntN(100) < g.findingPct(p, in) && !g.w.suppressed(in.team) {
		in.result, in.finding = "mismatch", findings[g.rng.IntN(len(findings))]
	}
	p.order.doneAt = in.finished
	p.events = append(p.events, event{step: "inspection", officer: in.team[0], at: in.finished, outcome: in.result, detail: `{"inspection_id":"` + in.id + `"}`})
	return in.finished
}

// inspectionTiming sets when the inspection starts and ends and who does
// it; the A26 anomaly starts or ends it late, where that is over before the
// simulation ends.
func (g *dayGen) inspectionTiming(p *declPlan, in *inspPlan) {
	ad := schemas.DateOf(in.assigned)
	n := 2 + g.rng.IntN(2)
	dur := time.Duration(30+g.rng.IntN(210)) * time.Minute
	if g.w.Cal.AddWorkdays(ad, 4) <= g.w.cfg.LastDay() {
		if src := g.deviate("A26"); src != "" {
			g.slowInspection(p, in, n, dur)
			g.slowInspectionTruth(p, in, src)
			return
		}
	}
	// The same day if a team is on duty long enough, else the next working day.
	s := in.assigned.Add(time.Duration(20+g.rng.IntN(100)) * time.Minute)
	sameDay := n
	if !g.w.Cal.IsWorkday(ad) {
		sameDay = 2
	}
	for ; schemas.DateOf(s.Add(dur)) == ad; s = s.Add(30 * time.Minute) {
		if g.crew(p, in, s, s.Add(dur), sameDay) {
			return
		}
	}
	if !g.crewOn(p, in, g.w.Cal.AddWorkdays(ad, 1), 0, dur, n) {
		panic(fmt.Sprintf("simulator: too few inspection officers on duty in %s", p.sub.ID))
	}
}

// crew sets the inspection to run from s to f if a team of n is on duty
// throughout; the C05 and B16 anomalies put a tied officer or the reviewer
// at its head.
func (g *dayGen) crew(p *declPlan, in *inspPlan, s, f time.Time, n int) bool {
	team := g.team(p, s, f, n)
	if team == nil {
		return false
	}
	in.started, in.finished, in.team = s, f, team
	if !f.Before(g.w.End) || schemas.DateOf(s) != schemas.DateOf(f) {
		return true
	}
	if tied := g.tiedOnDuty(p, "inspection", s, f); len(tied) > 0 {
		if src := g.deviate("C05"); src != "" {
			team[0] = tied[g.rng.IntN(len(tied))]
			g.hit(p, team[0], s, src)
			return true
		}
	}
	if r := p.reviewer; r != nil && g.w.OnDuty(r.ID, s) && g.w.OnDuty(r.ID, f) {
		if src := g.deviate("B16"); src != "" {
			team[0] = r
			p.b16 = &b16Plan{officer: r, steps: 2, second: f, src: src}
		}
	}
	return true
}

// crewOn runs the inspection on working day d, starting from k hours into
// the day's standard hours, at the first half hour a team is on duty.
func (g *dayGen) crewOn(p *declPlan, in *inspPlan, d schemas.Date, k int, dur time.Duration, n int) bool {
	for s := workStart(d).Add(time.Duration(k)*time.Hour + time.Duration(g.rng.IntN(180))*time.Minute); !s.Add(dur).After(workEnd(d)); s = s.Add(30 * time.Minute) {
		if g.crew(p, in, s, s.Add(dur), n) {
			return true
		}
	}
	return false
}

// slowInspection is the A26 anomaly: half start two or more working days
// after assignment, half start in time but finish after four or more.
func (g *dayGen) slowInspection(p *declPlan, in *inspPlan, n int, dur time.Duration) {
	ad, last := schemas.DateOf(in.assigned), g.w.cfg.LastDay()
	most := 4
	for most < 20 && g.w.Cal.AddWorkdays(ad, most+1) <= last {
		most++
	}
	pickDays := func(lo, yellowTo, orangeTo int) int {
		k := []int{lo + g.rng.IntN(yellowTo-lo+1), yellowTo + 1 + g.rng.IntN(orangeTo-yellowTo), orangeTo + 1 + g.rng.IntN(4)}[band(g.rng)]
		return min(k, most)
	}
	if g.rng.IntN(2) == 0 {
		if g.crewOn(p, in, g.w.Cal.AddWorkdays(ad, pickDays(2, 2, 3)), 0, dur, n) {
			return
		}
	} else {
		s, d := g.w.Cal.AddWorkdays(ad, 1), g.w.Cal.AddWorkdays(ad, pickDays(4, 5, 11))
		for k := range 8 {
			start := workStart(s).Add(time.Duration(30+g.rng.IntN(120)) * time.Minute)
			f := workStart(d).Add(time.Duration(k)*time.Hour + time.Duration(g.rng.IntN(60))*time.Minute)
			if team := g.team(p, start, f, n); team != nil {
				in.started, in.finished, in.team = start, f, team
				return
			}
		}
	}
	panic(fmt.Sprintf("simulator: too few inspection officers on duty in %s", p.sub.ID))
}

// slowInspectionTruth grades an A26 breach. "Within 1 WD of assignment"
// is read as an officer reads it: by the end of the first working day after
// the day of assignment (3 WD likewise), counted in dates, not hours. The
// multiple is the working days from the assignment date to the start (limit
// 1) or the end (limit 3), the worse of the two; the warning is due the
// calendar day after the first limit passed.
func (g *dayGen) slowInspectionTruth(p *declPlan, in *inspPlan, src string) {
	ad := schemas.DateOf(in.assigned)
	sd, fd := schemas.DateOf(in.started), schemas.DateOf(in.finished)
	startBy, finishBy := g.w.Cal.AddWorkdays(ad, 1), g.w.Cal.AddWorkdays(ad, 3)
	var due schemas.Date
	colour := ""
	if sd > startBy {
		due, colour = startBy+1, colourRatio(g.w.Cal.WorkdaysBetween(ad, sd), 1)
	}
	if fd > finishBy {
		if due == 0 || finishBy+1 < due {
			due = finishBy + 1
		}
		colour = worse(colour, colourRatio(g.w.Cal.WorkdaysBetween(ad, fd), 3))
	}
	g.truth(p, TruthRow{RuleID: "A26", Source: src, ObjectType: "inspections", ObjectKey: in.id, OfficerID: in.team[0].ID,
		Date: due, Colour: colour, Note: fmt.Sprintf("assigned %s, started %s, finished %s", ad, sd, fd)})
}

// inspectionAnomalies plants B05 (one officer, or the record unsigned) and
// B06 (outside the control area without the trader's request).
func (g *dayGen) inspectionAnomalies(p *declPlan, in *inspPlan) {
	if in.finished.Before(g.w.End) {
		if src := g.deviate("B05"); src != "" {
			note := "inspection record not signed"
			if g.rng.IntN(2) == 0 {
				in.team, note = in.team[:1], "inspected by one officer"
			} else {
				in.signed = false
			}
			g.truth(p, TruthRow{RuleID: "B05", Source: src, ObjectType: "inspections", ObjectKey: in.id, OfficerID: in.team[0].ID,
				Date: schemas.DateOf(in.finished), Colour: orange, Note: note})
		}
	}
	if in.started.Before(g.w.End) {
		if src := g.deviate("B06"); src != "" {
			in.outside, in.request = true, false
			g.truth(p, TruthRow{RuleID: "B06", Source: src, ObjectType: "inspections", ObjectKey: in.id, OfficerID: in.team[0].ID,
				Date: schemas.DateOf(in.started), Colour: orange, Note: "inspected outside the control area without the trader's request"})
		}
	}
}

// findingPct is the chance in a hundred that the inspection finds a
// discrepancy: 5 normally; for a consignee with a planted shield (C07),
// none while the shield holds the post, its true rate after.
func (g *dayGen) findingPct(p *declPlan, in *inspPlan) int {
	u := g.w.usualOf(p)
	switch {
	case u == nil:
		return 5
	case u.shielded(in.finished):
		return 0
	}
	return u.rate
}

// worse is the more severe of two colours ("" for none).
func worse(a, b string) string {
	rank := map[string]int{"": 0, yellow: 1, orange: 2, red: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// suppressed reports whether a planted B08 officer is on the team: the
// record then says "match, nothing found" whatever the goods hold.
func (w *World) suppressed(team []*Officer) bool {
	for _, o := range team {
		if w.suppressors[o] != "" {
			return true
		}
	}
	return false
}

// B08's statistics, as rules.md and the Conventions give them.
const (
	b08MinInspections = 30
	b08YellowZ        = 2
	b08OrangeZ        = 3
	b08RedZ           = 4
)

// inspectionSlot is one officer's place on a finished inspection.
type inspectionSlot struct {
	officer, sub string
	day          schemas.Date
	match        bool
}

// inspectionTruth is B08's ground truth as of the last day: every officer
// whose "match, nothing found" rate over n ≥ 30 inspections in a quarter
// lies more than 2 standard errors above the pooled rate of the other
// officers of the subordinate customs (z = (r − p)/√(p(1 − p)/n)), graded
// 2/3/4. Planted where the officer suppresses findings; the rest are the
// chance exceedances the threshold admits (about 2 % of officers), as
// background.
func (w *World) inspectionTruth(em *Emitter, facts []*DeclFacts) {
	sub := map[string]string{}
	for _, f := range facts {
		sub[f.DeclNo] = f.Sub.ID
	}
	e, _ := schemas.Lookup("inspections")
	latest := map[string]Record{}
	for _, r := range em.records["inspections"] {
		if l, ok := latest[r.Key]; !ok || r.UpdatedAt.After(l.UpdatedAt) {
			latest[r.Key] = r
		}
	}
	var slots []inspectionSlot
	for _, r := range latest {
		rec, err := e.Decode(r.JSON)
		if err != nil {
			panic(fmt.Sprintf("simulator made an invalid inspection: %v", err))
		}
		slots = append(slots, slotsOf(rec.(*schemas.Inspection), sub)...)
	}
	last := w.cfg.LastDay()
	for _, h := range inspectionHits(slots, last) {
		src := w.suppressors[w.OfficerByID(h.officer)]
		if src == "" {
			src = Background
		}
		em.Truth(TruthRow{RuleID: "B08", Source: src, ObjectType: "officers", ObjectKey: h.officer, OfficerID: h.officer,
			Date: h.due, Colour: h.colour, Period: h.period,
			Note: fmt.Sprintf("nothing found in %d of %d inspections, z = %.2f against the peers", h.x, h.n, h.p)})
	}
}

// slotsOf is a finished inspection's officers, with the subordinate
// customs of its declaration.
func slotsOf(in *schemas.Inspection, sub map[string]string) []inspectionSlot {
	if in.Result == nil || in.FinishedAt == nil || in.Officers == nil || in.DeclNo == nil {
		return nil
	}
	var ids []string
	if err := json.Unmarshal([]byte(*in.Officers), &ids); err != nil {
		panic(fmt.Sprintf("simulator made an invalid team for %s: %v", in.InspectionID, err))
	}
	var out []inspectionSlot
	for _, id := range ids {
		out = append(out, inspectionSlot{id, sub[*in.DeclNo], schemas.DateOf(*in.FinishedAt), *in.Result == "match"})
	}
	return out
}

// inspectionHits is B08 over the slots finished by last, per quarter of
// the finish and subordinate customs (pairHit.p holds z, ent is empty).
// An officer judged in two subordinate customs keeps the larger z.
func inspectionHits(slots []inspectionSlot, last schemas.Date) []pairHit {
	type key struct{ quarter, sub, officer string }
	n, m := map[key]int{}, map[key]int{}
	for _, s := range slots {
		if s.day > last {
			continue
		}
		for _, k := range []key{{quarterOf(s.day), s.sub, s.officer}, {quarterOf(s.day), s.sub, ""}} {
			n[k]++
			if s.match {
				m[k]++
			}
		}
	}
	best := map[[2]string]pairHit{} // an officer judged in two subs keeps the larger z
	for k, nn := range n {
		g := key{k.quarter, k.sub, ""}
		if k.officer == "" || nn < b08MinInspections || n[g] == nn {
			continue
		}
		p := float64(m[g]-m[k]) / float64(n[g]-nn)
		if p <= 0 || p >= 1 {
			continue
		}
		z := (float64(m[k])/float64(nn) - p) / math.Sqrt(p*(1-p)/float64(nn))
		if z <= b08YellowZ {
			continue
		}
		colour := yellow
		switch {
		case z > b08RedZ:
			colour = red
		case z > b08OrangeZ:
			colour = orange
		}
		h := pairHit{officer: k.officer, x: m[k], n: nn, p: z, colour: colour, period: k.quarter, due: min(last, quarterEnd(k.quarter))}
		if prev, ok := best[[2]string{k.officer, k.quarter}]; !ok || z > prev.p {
			best[[2]string{k.officer, k.quarter}] = h
		}
	}
	var out []pairHit
	for _, h := range best {
		out = append(out, h)
	}
	return sortedHits(out)
}
