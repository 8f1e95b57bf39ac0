package simulator

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"

	"github.com/hlwarn/hlwarn/schemas"
)

// dspLimits are the disposal limits of rules.md in working days from the
// day a warning is raised, by colour.
var dspLimits = map[string]int{"yellow": 5, "orange": 10, "red": 15}

const (
	dspShare     = 0.6  // of the warnings old enough, those the integrity office takes up
	dspLateShare = 0.15 // of those, closed after the disposal limit
	dspMinAge    = 3    // working days a warning must be raised before the end to be taken up
)

var dspActions = map[string][]string{
	"yellow": {"reminder_talk", "rectification", "explain"},
	"orange": {"admonishment_talk", "letter_inquiry", "rectification"},
	"red":    {"case_referral", "post_adjustment", "admonishment_talk"},
}

var dspNotes = map[string]string{
	"verify": "核实中", "explain": "当事人已书面说明", "reminder_talk": "已提醒谈话", "admonishment_talk": "已诫勉谈话",
	"letter_inquiry": "已函询", "rectification": "已责令整改", "post_adjustment": "已调整岗位", "case_referral": "已移送纪检监察", "close": "办结",
}

// disposalGen records the integrity office's disposals of the expected warnings.
type disposalGen struct {
	*World
	em    *Emitter
	staff map[*Dept][]*Officer // supervision officers by direct customs
	ents  map[string]*Ent
}

// generateDisposals has the integrity office of the direct customs dispose
// of about 60 % of the warnings raised a few working days before the end: a
// supervision officer verifies, acts (a talk, rectification, ...) with a
// finding, and closes, mostly within the disposal limit. A warning dated
// before the period is raised on its first day, when the pipeline first
// runs. Each warning's chain draws from a stream keyed by its id, so it
// does not depend on the other warnings.
func (w *World) generateDisposals(truth []TruthRow) *Emitter {
	g := &disposalGen{World: w, em: newEmitter(w.End), staff: map[*Dept][]*Officer{}, ents: map[string]*Ent{}}
	for _, o := range w.Officers {
		if p := o.Postings[0]; p.Post == "supervision" && p.Dept.Direct != nil {
			g.staff[p.Dept.Direct] = append(g.staff[p.Dept.Direct], o)
		}
	}
	for _, e := range w.Ents {
		g.ents[e.Code] = e
	}
	rows := slices.Clone(truth)
	slices.SortFunc(rows, func(a, b TruthRow) int { return cmp.Compare(a.WarningID, b.WarningID) })
	rows = slices.CompactFunc(rows, func(a, b TruthRow) bool { return a.WarningID == b.WarningID })
	for _, t := range rows {
		raised := max(t.Date, w.cfg.Start)
		if w.Cal.WorkdaysBetween(raised, w.cfg.LastDay()) < dspMinAge {
			continue
		}
		rng := w.rng("disposals", dspStream(t.WarningID))
		if rng.Float64() < dspShare {
			g.chain(rng, t, raised)
		}
	}
	return g.em
}

// chain emits verify, action and close as one disposal each, on distinct
// working days; steps after the end have not happened yet.
func (g *disposalGen) chain(rng *rand.Rand, t TruthRow, raised schemas.Date) {
	staff := g.staff[g.direct(t)]
	if len(staff) == 0 {
		return
	}
	actor := staff[rng.IntN(len(staff))]
	limit := cmp.Or(dspLimits[t.Colour], dspLimits["yellow"])
	total := 3 + rng.IntN(limit-2)
	if rng.Float64() < dspLateShare {
		total = limit + 1 + rng.IntN(6)
	}
	verify := 1 + rng.IntN(min(2, total-2))
	finding := []string{"confirmed", "confirmed", "partly", "unfounded"}[rng.IntN(4)]
	action := "explain"
	if finding != "unfounded" {
		acts, ok := dspActions[t.Colour]
		if !ok {
			acts = dspActions["yellow"]
		}
		action = acts[rng.IntN(len(acts))]
	}
	steps := []struct {
		after   int
		action  string
		finding *string
	}{
		{verify, "verify", nil},
		{total - verify - 1, action, &finding},
		{1, "close", &finding},
	}
	day := raised
	for i, s := range steps {
		day = g.Cal.AddWorkdays(day, s.after)
		acted := g.WorkMoment(rng, day)
		rec := &schemas.Disposal{
			DisposalID: fmt.Sprintf("DSP%s-%d", t.WarningID[1:], i+1), WarningID: ptr(t.WarningID), Action: ptr(s.action),
			ActorID: ptr(actor.ID), ActedAt: ptr(acted), Finding: s.finding, Note: ptr(dspNotes[s.action]),
		}
		rec.UpdatedAt = acted
		g.em.Emit(rec)
	}
}

// direct is the direct customs whose integrity office handles the warning:
// the officer's, else the enterprise's, else the first.
func (g *disposalGen) direct(t TruthRow) *Dept {
	if o := g.OfficerByID(t.OfficerID); o != nil {
		if dc := o.At(t.Date).Dept.Direct; dc != nil {
			return dc
		}
	}
	if e := g.ents[t.EntCode]; e != nil {
		return e.Sub.Direct
	}
	return g.Directs[0]
}

// dspStream numbers a warning's random stream by a hash of its id.
func dspStream(warningID string) int {
	h := fnv.New64a()
	h.Write([]byte(warningID))
	return int(h.Sum64() >> 1)
}
