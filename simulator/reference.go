package simulator

import (
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// ptr is a pointer to v, for the contract structs' nullable fields.
func ptr[T any](v T) *T { return &v }

// at is day d at hh:mm platform time.
func at(d schemas.Date, hh, mm int) time.Time {
	return d.Time().Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

// emitReference emits the reference data: departments, officers with a
// version per posting, duty rosters (with withdrawn rows as tombstones),
// enterprises with credit-class changes, and interest declarations.
func (w *World) emitReference(em *Emitter) {
	since := w.cfg.Start.AddDays(-3 * 365)
	for _, d := range w.Depts {
		rec := &schemas.Department{
			DeptID: d.ID, Name: ptr(d.Name), Level: ptr(d.Level), CustomsCode: ptr(d.CustomsCode),
			Function: ptr(d.Function), ValidFrom: ptr(since),
		}
		if d.Parent != nil {
			rec.ParentID = ptr(d.Parent.ID)
		}
		rec.UpdatedAt = at(since, 9, 0)
		em.Emit(rec)
	}
	for _, o := range w.Officers {
		for i, p := range o.Postings {
			rec := &schemas.Officer{
				OfficerID: o.ID, Name: ptr(o.Name), DeptID: ptr(p.Dept.ID), Post: ptr(p.Post),
				PostSince: ptr(p.From), IsLeader: ptr(o.Leader), Status: ptr("active"),
			}
			rec.UpdatedAt = at(p.From, 9, 0).Add(time.Duration(i) * time.Second)
			em.Emit(rec)
		}
	}
	w.emitRoster(em)
	w.emitEnterprises(em)
	for _, in := range w.Interests {
		rec := &schemas.InterestDeclaration{OfficerID: in.Officer.ID, EntCode: in.Ent.Code, Relation: ptr(in.Relation), DeclaredOn: ptr(in.DeclaredOn)}
		rec.UpdatedAt = at(in.DeclaredOn, 10, 0)
		em.Emit(rec)
	}
	for _, t := range w.pendingTruth {
		em.Truth(t)
	}
}

// emitRoster publishes each shift a week ahead; a withdrawn shift is
// deleted two days before, which the platform records as a tombstone.
func (w *World) emitRoster(em *Emitter) {
	for _, o := range w.Officers {
		days := w.roster[o.ID]
		for d := w.cfg.Start; d < w.cfg.End(); d++ {
			s, ok := days[d]
			if !ok {
				continue
			}
			rec := &schemas.DutyRoster{OfficerID: o.ID, DutyDate: d, ShiftStart: ptr(s.Start), ShiftEnd: ptr(s.End)}
			rec.UpdatedAt = at(d.AddDays(-7), 10, 0)
			em.Emit(rec)
			if s.Deleted {
				rec.Deleted = true
				rec.UpdatedAt = at(d.AddDays(-2), 16, 0)
				em.Emit(rec)
			}
		}
	}
}

// emitEnterprises registers each enterprise before the period; about 1 % are
// reclassified during it.
func (w *World) emitEnterprises(em *Emitter) {
	rng := w.rng("enterprise-versions", 0)
	for _, e := range w.Ents {
		rec := &schemas.Enterprise{EntCode: e.Code, USCC: ptr(e.USCC), Name: ptr(e.Name), Kind: ptr(e.Kind), CreditClass: ptr(e.Credit), RegisteredCustoms: ptr(e.Sub.CustomsCode)}
		rec.UpdatedAt = at(w.cfg.Start.AddDays(-1-rng.IntN(1000)), 9, 30)
		em.Emit(rec)
		if rng.IntN(100) == 0 {
			d := w.cfg.Start.AddDays(rng.IntN(w.cfg.Days))
			rec.CreditClass = ptr([]string{"general", "dishonest", "advanced_certified"}[rng.IntN(3)])
			rec.UpdatedAt = w.WorkMoment(rng, d)
			em.Emit(rec)
		}
	}
}
