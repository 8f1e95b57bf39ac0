package simulator

import (
	"fmt"
	"strings"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// emit writes a planned declaration out as record versions and its facts.
func (g *dayGen) emit(p *declPlan) {
	em := g.res.em
	rec := p.rec
	var last time.Time
	for _, st := range p.states {
		rec.Status = ptr(st.status)
		if st.status == "released" {
			rec.ReleasedAt = ptr(st.at)
		}
		rec.UpdatedAt = bump(last, st.at)
		last = rec.UpdatedAt
		em.Emit(&rec)
	}
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

func (g *dayGen) emitMods(p *declPlan) {
	for _, m := range p.mods {
		rec := &schemas.ModificationRequest{
			RequestID: m.id, DeclNo: ptr(p.rec.DeclNo), Kind: ptr(m.kind), InitiatedBy: ptr("trader"), GroundCode: ptr(m.ground),
			RequestedAt: ptr(m.requested), Changes: ptr(m.changes()), TaxDelta: ptr(schemas.Money(0)),
		}
		rec.UpdatedAt = m.requested
		g.res.em.Emit(rec)
		rec.DecidedAt, rec.OfficerID, rec.ExtensionApproved = ptr(m.decided), ptr(m.officer.ID), ptr(false)
		rec.Decision = ptr("rejected")
		if m.approved {
			rec.Decision = ptr("approved")
		}
		rec.UpdatedAt = bump(m.requested, m.decided)
		g.res.em.Emit(rec)
		if m.approved && m.kind == "modify" {
			it := p.items[m.item]
			it.GoodsName, it.UpdatedAt = ptr(m.after), rec.UpdatedAt
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
		rec.PaidOn, rec.Status = ptr(schemas.DateOf(v.paidAt)), ptr("paid")
		if v.surcharge > 0 {
			rec.SurchargeLevied = ptr(v.surcharge)
		}
		rec.UpdatedAt = bump(v.issuedAt, v.paidAt)
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
		if v.paidAt.Before(end) {
			vf.PaidOn = ptr(schemas.DateOf(v.paidAt))
		}
		f.Vouchers = append(f.Vouchers, vf)
	}
	return f
}
