package simulator

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// clearanceEnv is what every day's generator reads and nobody writes: who
// is tied to which enterprise, and the clearance section chiefs.
type clearanceEnv struct {
	ties   map[*Ent][]*Officer // officers who declared an interest in the enterprise
	chiefs map[*Dept]*Officer  // chief of each sub's clearance section
	extra  schemas.Date        // from this day on the platform sends transport_mode
}

// clearanceStats counts, per rule, the objects that were eligible for a
// planted or background breach (w.deviation was asked about them).
type clearanceStats map[string]int

// c05Hit is one handling of a declaration by an officer tied to its
// consignee or broker; the ground truth keeps the first per pair.
type c05Hit struct {
	officer *Officer
	ent     *Ent
	at      time.Time
	source  string
	declNo  string
}

// dayResult is one simulated day's declarations with everything that
// follows from them.
type dayResult struct {
	em    *Emitter
	facts []*DeclFacts
	hits  []c05Hit
	stats clearanceStats
}

// generateClearance generates the declarations accepted in the simulated
// period with their items, events, control orders, inspections,
// modification requests and tax vouchers, and the ground truth of the
// clearance rules. It returns facts on every declaration, by decl_no.
func (w *World) generateClearance() (*Emitter, []*DeclFacts) {
	em, facts, _ := w.clearance()
	return em, facts
}

// clearance generates day by day on every core; each day draws from its own
// stream, so the result does not depend on how days are shared out.
func (w *World) clearance() (*Emitter, []*DeclFacts, clearanceStats) {
	env := w.clearanceEnv()
	days := make([]*dayResult, w.cfg.Days)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), w.cfg.Days)) {
		wg.Go(func() {
			r := &rota{w: w, on: map[dutyKey][]*Officer{}}
			for i := int(next.Add(1) - 1); i < len(days); i = int(next.Add(1) - 1) {
				days[i] = w.clearanceDay(env, r, i)
			}
		})
	}
	wg.Wait()
	em := newEmitter(w.End)
	stats := clearanceStats{}
	var facts []*DeclFacts
	var hits []c05Hit
	for _, d := range days {
		em.Merge(d.em)
		facts = append(facts, d.facts...)
		hits = append(hits, d.hits...)
		for k, v := range d.stats {
			stats[k] += v
		}
	}
	w.tiedHandlingTruth(em, hits)
	slices.SortFunc(facts, func(a, b *DeclFacts) int { return cmp.Compare(a.DeclNo, b.DeclNo) })
	return em, facts, stats
}

func (w *World) clearanceEnv() *clearanceEnv {
	env := &clearanceEnv{ties: map[*Ent][]*Officer{}, chiefs: map[*Dept]*Officer{}, extra: w.cfg.Start.AddDays(w.cfg.Days / 2)}
	for _, in := range w.Interests {
		env.ties[in.Ent] = append(env.ties[in.Ent], in.Officer)
	}
	for _, sub := range w.Subs {
		for _, s := range w.DeptsUnder(sub) {
			if s.Function == "clearance" {
				env.chiefs[sub] = w.SectionChief(s, w.cfg.Start)
			}
		}
	}
	return env
}

// tiedHandlingTruth is C05's ground truth: one row per officer–enterprise
// pair, dated by the first handling, whatever day generated it.
func (w *World) tiedHandlingTruth(em *Emitter, hits []c05Hit) {
	slices.SortStableFunc(hits, func(a, b c05Hit) int {
		return cmp.Or(cmp.Compare(a.officer.ID, b.officer.ID), cmp.Compare(a.ent.Code, b.ent.Code), a.at.Compare(b.at))
	})
	for i, h := range hits {
		if i > 0 && hits[i-1].officer == h.officer && hits[i-1].ent == h.ent {
			continue
		}
		em.Truth(TruthRow{
			RuleID: "C05", Source: h.source, ObjectType: "pair", ObjectKey: h.officer.ID + "|" + h.ent.Code,
			OfficerID: h.officer.ID, EntCode: h.ent.Code, Date: schemas.DateOf(h.at), Colour: red,
			Note: fmt.Sprintf("handled declaration %s of an enterprise named in the officer's interest declaration", h.declNo),
		})
	}
}
