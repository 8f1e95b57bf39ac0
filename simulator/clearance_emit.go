package simulator

import (
	"fmt"
	"strings"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// emit writes a planned declaration out as record versions and its facts.
func (g *dayGen) emit(p *declPlan) {
	g.modify(p)
	em := g.res.em
	g.emitDeclaration(p)
	for i := range p.items {
		it := p.items[i]
		it.UpdatedAt = *p.rec.DeclaredAt
		em.Emit(&it)
	}
	for i, e := range p.events {
		ev := &schemas.DeclarationEvent{
			EventID: fmt.Sprintf("EV%s-%02d", p.rec.DeclNo, i+1), DeclNo: ptr(p.rec.DeclNo), Step: ptr(e.step),
			DeptID: ptr(p.sub.ID), OccurredAt: ptr(e.at), Outcome: ptr(e.outcome),
		}
		if e.officer != nil {
			ev.OfficerID, ev.DeptID = ptr(e.officer.ID), ptr(e.officer.At(schemas.DateOf(e.at)).Dept.ID)
		}
		if e.detail != "" {
			ev.Detail = ptr(schemas.RawJSON(e.detail))
		}
		ev.UpdatedAt = e.at
		em.Emit(ev)
	}
	g.emitOrder(p)
	g.emitInspection(p)
	g.emitMods(p)
	g.emitVouchers(p)
	g.res.facts = append(g.res.facts, g.facts(p))
}

// emitDeclaration writes a version at each change of status and at each
// approved change of the tax.
func (g *dayGen) emitDeclaration(p *declPlan) {
	rec := p.rec
	var last time.Time
	put := func(at time.Time) {
		rec.UpdatedAt = bump(last, at)
		last = rec.UpdatedAt
		g.res.em.Emit(&rec)
	}
	cuts := p.taxChanges()
	for _, st := range p.states {
		for ; len(cuts) > 0 && cuts[0].decided.Before(st.at); cuts = cuts[1:] {
			rec.DutyPayable, rec.VATPayable = ptr(cuts[0].duty), ptr(cuts[0].vat)
			put(cuts[0].decided)
		}
		rec.Status = ptr(st.status)
		if st.status == "released" {
			rec.ReleasedAt = ptr(st.at)
		}
		put(st.at)
	}
	for _, c := range cuts {
		rec.DutyPayable, rec.VATPayable = ptr(c.duty), ptr(c.vat)
		put(c.decided)
	}
}

// bump is t, or a second after prev if t is not later: versions of one key
// never share an updated_at.
func bump(prev, t time.Time) time.Time {
	if !t.After(prev) {
		return prev.Add(time.Second)
	}
	return t
}

func (g *dayGen) emitOrder(p *declPlan) {
	o := p.order
	if o == nil {
		return
	}
	rec := &schemas.ControlOrder{OrderID: o.id, DeclNo: ptr(p.rec.DeclNo), IssuedAt: ptr(o.issuedAt), Source: ptr("system"), Action: ptr(o.action), Status: ptr("active")}
	rec.UpdatedAt = o.issuedAt
	g.res.em.Emit(rec)
	if o.doneAt.IsZero() {
		return
	}
	rec.Status = ptr("executed")
	if o.cancelledBy != nil {
		rec.Status, rec.CancelledBy, rec.CancelledAt = ptr("cancelled"), ptr(o.cancelledBy.ID), ptr(o.doneAt)
		if o.reason != "" {
			rec.CancelReason = ptr(o.reason)
		}
	}
	rec.UpdatedAt = bump(o.issuedAt, o.doneAt)
	g.res.em.Emit(rec)
}

func (g *dayGen) emitInspection(p *declPlan) {
	in := p.insp
	if in == nil {
		return
	}
	ids := make([]string, len(in.team))
	for i, o := range in.team {
		ids[i] = `"` + o.ID + `"`
	}
	rec := &schemas.Inspection{InspectionID: in.id, DeclNo: ptr(p.rec.DeclNo), OrderID: ptr(p.order.id), AssignedAt: ptr(in.assigned)}
	g.res.em.EmitVersions(rec,
		func() { rec.UpdatedAt = in.assigned },
		func() {
			rec.StartedAt, rec.UpdatedAt = ptr(in.started), bump(in.assigned, in.started)
			rec.Location, rec.TraderRequest = ptr("control_area"), ptr(in.request)
			if in.outside {
				rec.Location = ptr("outside")
			}
			rec.Officers = ptr(schemas.RawJSON("[" + strings.Join(ids, ",") + "]"))
		},
		func() {
			rec.FinishedAt, rec.UpdatedAt = ptr(in.finished), bump(rec.UpdatedAt, in.finished)
			rec.RecordSigned, rec.Result = ptr(in.signed), ptr(in.result)
			if in.finding != "" {
				rec.Finding = ptr(in.finding)
			}
		})
}

// emitMods writes the ordinary requests and the planted ones.
func (g *dayGen) emitMods(p *declPlan) {
	for _, m := range p.mods {
		g.emitRequest(m.req(p))
	}
	for _, r := range p.reqs {
		g.emitRequest(r)
	}
}

// emitRequest writes a request, its extension and its decision, and the
// items an approval changed.
func (g *dayGen) emitRequest(r *reqPlan) {
	rec := &schemas.ModificationRequest{
		RequestID: r.id, DeclNo: ptr(r.declNo), Kind: ptr(r.kind), InitiatedBy: ptr("trader"),
		RequestedAt: ptr(r.requested), Changes: ptr(r.changes), TaxDelta: ptr(r.taxDelta),
	}
	if r.ground != "" {
		rec.GroundCode = ptr(r.ground)
	}
	rec.UpdatedAt = r.requested
	g.res.em.Emit(rec)
	if !r.extended.IsZero() {
		rec.ExtensionApproved, rec.UpdatedAt = ptr(true), bump(rec.UpdatedAt, r.extended)
		g.res.em.Emit(rec)
	}
	rec.DecidedAt, rec.OfficerID, rec.Decision = ptr(r.decided), ptr(r.officer.ID), ptr("rejected")
	if rec.ExtensionApproved == nil {
		rec.ExtensionApproved = ptr(false)
	}
	if r.approved {
		rec.Decision = ptr("approved")
	}
	rec.UpdatedAt = bump(rec.UpdatedAt, r.decided)
	g.res.em.Emit(rec)
	if r.approved {
		for _, it := range r.items {
			it.UpdatedAt = rec.UpdatedAt
			g.res.em.Emit(&it)
		}
	}
}

func (g *dayGen) emitVouchers(p *declPlan) {
	for _, v := range p.vouchers {
		rec := &schemas.TaxVoucher{
			VoucherNo: v.no, DeclNo: ptr(p.rec.DeclNo), TaxType: ptr(v.taxType), TaxpayerUSCC: ptr(p.consignee.USCC),
			Amount: ptr(v.amount), IssuedOn: ptr(schemas.DateOf(v.issuedAt)), Status: ptr("issued"),
		}
		rec.UpdatedAt = v.issuedAt
		g.res.em.Emit(rec)
		if !v.waivedAt.IsZero() {
			rec.WaivedBy, rec.Amount = ptr(v.waiver.ID), ptr(v.amount-v.waived)
			if v.ground != "" {
				rec.WaiverReason = ptr(v.ground)
			}
			if v.writtenOff {
				rec.Status, rec.Amount = ptr("written_off"), ptr(v.amount)
			}
			rec.UpdatedAt = bump(rec.UpdatedAt, v.waivedAt)
			g.res.em.Emit(rec)
		}
		if v.paidAt.IsZero() {
			continue
		}
		rec.PaidOn, rec.Status = ptr(schemas.DateOf(v.paidAt)), ptr("paid")
		if v.surcharge > 0 {
			rec.SurchargeLevied = ptr(v.surcharge)
		}
		rec.UpdatedAt = bump(rec.UpdatedAt, v.paidAt)
		g.res.em.Emit(rec)
	}
}

// facts is the declaration as it stands at the end of the simulation.
func (g *dayGen) facts(p *declPlan) *DeclFacts {
	end := g.w.End
	f := &DeclFacts{
		DeclNo: p.rec.DeclNo, Sub: p.sub, IE: *p.rec.IEFlag, TradeMode: *p.rec.TradeMode, Consignee: p.consignee, Broker: p.broker,
		DeclaredAt: *p.rec.DeclaredAt, Status: p.status(end), CustomsValue: *p.rec.CustomsValue,
		Duty: *p.rec.DutyPayable, VAT: *p.rec.VATPayable,
	}
	for _, c := range p.taxChanges() {
		if c.decided.Before(end) {
			f.Duty, f.VAT = c.duty, c.vat
		}
	}
	if p.rec.ManualNo != nil {
		f.ManualNo = *p.rec.ManualNo
	}
	if p.rec.ArrivalDate != nil {
		f.ArrivalDate = *p.rec.ArrivalDate
	}
	if p.rec.GuaranteeNo != nil {
		f.GuaranteeNo = *p.rec.GuaranteeNo
	}
	if p.reviewer != nil && p.reviewedAt.Before(end) {
		f.Reviewer = p.reviewer
	}
	if in := p.insp; in != nil && in.assigned.Before(end) {
		f.Inspection = in.id
		if !in.started.IsZero() && in.started.Before(end) && len(in.team) > 0 {
			f.Inspector = in.team[0]
		}
		if in.finished.Before(end) {
			f.Result = in.result
		}
	}
	if p.releaser != nil && p.releasedAt.Before(end) {
		f.Releaser, f.ReleasedAt = p.releaser, p.releasedAt
	}
	for _, v := range p.vouchers {
		if !v.issuedAt.Before(end) {
			continue
		}
		vf := VoucherFacts{VoucherNo: v.no, TaxType: v.taxType, Amount: v.amount, IssuedOn: schemas.DateOf(v.issuedAt), Taxpayer: p.consignee.USCC}
		if !v.waivedAt.IsZero() && v.waivedAt.Before(end) && !v.writtenOff {
			vf.Amount -= v.waived
		}
		if !v.paidAt.IsZero() && v.paidAt.Before(end) {
			vf.PaidOn = ptr(schemas.DateOf(v.paidAt))
		}
		f.Vouchers = append(f.Vouchers, vf)
	}
	return f
}
