package simulator

import (
	"cmp"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// clearanceView is a generated clearance dataset as of its end, decoded
// strictly from the records, for re-deriving the rules from them alone. The
// checks below use the contract, the calendar and the World's duty hours,
// never the generator's own helpers.
type clearanceView struct {
	w        *World
	ds       *Dataset
	stats    clearanceStats
	decls    map[string]*schemas.Declaration
	items    map[string][]*schemas.DeclarationItem
	events   map[string][]*schemas.DeclarationEvent // by decl_no, in time order
	orders   map[string]*schemas.ControlOrder
	insps    map[string]*schemas.Inspection
	mods     map[string]*schemas.ModificationRequest
	vouchers map[string][]*schemas.TaxVoucher // by decl_no
	paidAt   map[string]time.Time             // voucher_no → the version that recorded payment
	problems []string
}

// breach is one rule hit found in the records.
type breach struct {
	rule, key, objectType string
	date                  schemas.Date
	colour                string
	officer               string
}

var (
	viewMu    sync.Mutex
	viewCache = map[[2]float64]func() *clearanceView{}
)

// clearanceViewFor generates (once per pair of rates) the default small
// configuration's clearance data and decodes it.
func clearanceViewFor(background, anomaly float64) *clearanceView {
	viewMu.Lock()
	f, ok := viewCache[[2]float64{background, anomaly}]
	if !ok {
		f = sync.OnceValue(func() *clearanceView {
			cfg := DefaultConfig()
			cfg.BackgroundRate, cfg.AnomalyRate = background, anomaly
			w := newWorld(cfg)
			em, _, stats := w.clearance()
			ds, err := em.dataset(cfg)
			if err != nil {
				panic(err)
			}
			return decodeView(w, ds, stats)
		})
		viewCache[[2]float64{background, anomaly}] = f
	}
	viewMu.Unlock()
	return f()
}

func decodeView(w *World, ds *Dataset, stats clearanceStats) *clearanceView {
	v := &clearanceView{
		w: w, ds: ds, stats: stats, decls: map[string]*schemas.Declaration{}, items: map[string][]*schemas.DeclarationItem{},
		events: map[string][]*schemas.DeclarationEvent{}, orders: map[string]*schemas.ControlOrder{},
		insps: map[string]*schemas.Inspection{}, mods: map[string]*schemas.ModificationRequest{},
		vouchers: map[string][]*schemas.TaxVoucher{}, paidAt: map[string]time.Time{},
	}
	items := map[string]*schemas.DeclarationItem{}
	vouchers := map[string]*schemas.TaxVoucher{}
	for _, name := range []string{"declarations", "declaration_items", "declaration_events", "control_orders", "inspections", "modification_requests", "tax_vouchers"} {
		e, _ := schemas.Lookup(name)
		for _, r := range ds.Records(name) {
			rec, err := e.Decode(r.JSON)
			if err != nil {
				v.problems = append(v.problems, err.Error())
				continue
			}
			switch x := rec.(type) {
			case *schemas.Declaration:
				v.decls[x.DeclNo] = x
			case *schemas.DeclarationItem:
				items[r.Key] = x
			case *schemas.DeclarationEvent:
				v.events[*x.DeclNo] = append(v.events[*x.DeclNo], x)
			case *schemas.ControlOrder:
				v.orders[x.OrderID] = x
			case *schemas.Inspection:
				v.insps[x.InspectionID] = x
			case *schemas.ModificationRequest:
				v.mods[x.RequestID] = x
			case *schemas.TaxVoucher:
				vouchers[x.VoucherNo] = x
				if _, seen := v.paidAt[x.VoucherNo]; !seen && x.PaidOn != nil {
					v.paidAt[x.VoucherNo] = x.UpdatedAt
				}
			}
		}
	}
	for _, it := range items {
		v.items[it.DeclNo] = append(v.items[it.DeclNo], it)
	}
	for _, t := range vouchers {
		v.vouchers[*t.DeclNo] = append(v.vouchers[*t.DeclNo], t)
	}
	for _, evs := range v.events {
		slices.SortStableFunc(evs, func(a, b *schemas.DeclarationEvent) int { return a.OccurredAt.Compare(*b.OccurredAt) })
	}
	return v
}

// rolled is the last day of a limit of n CD counted from the day after d,
// moved to the next working day.
func (v *clearanceView) rolled(d schemas.Date, n int) schemas.Date {
	last := d.AddDays(n)
	for !v.w.Cal.IsWorkday(last) {
		last++
	}
	return last
}

// halfPermille is base × 0.0005 × days in whole yuan, fractions dropped.
func halfPermille(base schemas.Money, days int) schemas.Money {
	return schemas.Yuan(int64(base) * 5 * int64(days) / 1_000_000)
}

func money(m *schemas.Money) schemas.Money {
	if m == nil {
		return 0
	}
	return *m
}

func byM1M2(m schemas.Money) string {
	switch {
	case m < 1_000_000:
		return "yellow"
	case m < 10_000_000:
		return "orange"
	}
	return "red"
}

// byMultiple grades x against limit at 1×, 2× and 4×.
func byMultiple(x, limit int64) string {
	switch {
	case x >= 4*limit:
		return "red"
	case x >= 2*limit:
		return "orange"
	}
	return "yellow"
}

// breaches re-derives every clearance rule the generator plants.
func (v *clearanceView) breaches() []breach {
	var out []breach
	out = append(out, v.lateDeclarations()...)
	out = append(out, v.latePayments()...)
	out = append(out, v.slowReviews()...)
	out = append(out, v.inspectionBreaches()...)
	out = append(out, v.unpaidReleases()...)
	out = append(out, v.handCancels()...)
	out = append(out, v.separation()...)
	out = append(out, v.tiedHandling()...)
	out = append(out, v.modificationBreaches()...)
	out = append(out, v.valueBreaches()...)
	slices.SortFunc(out, func(a, b breach) int { return cmp.Or(cmp.Compare(a.rule, b.rule), cmp.Compare(a.key, b.key)) })
	return out
}

// lateDeclarations is A01 and A02.
func (v *clearanceView) lateDeclarations() []breach {
	var out []breach
	for no, d := range v.decls {
		if *d.IEFlag != "I" || d.ArrivalDate == nil {
			continue
		}
		day := schemas.DateOf(*d.DeclaredAt)
		late := int(day - v.rolled(*d.ArrivalDate, 14))
		if late <= 0 {
			continue
		}
		fee, levied := halfPermille(*d.CustomsValue, late), money(d.LateDeclarationFeeLevied)
		switch {
		case fee >= schemas.Yuan(50) && levied == 0 && d.FeeExemptionCode == nil:
			colour := "red"
			if fee < schemas.Yuan(1000) {
				colour = "yellow"
			} else if fee < schemas.Yuan(10000) {
				colour = "orange"
			}
			out = append(out, breach{rule: "A01", key: no, objectType: "declarations", date: day, colour: colour, officer: v.feeOfficer(no)})
		case levied > 0 && (fee-levied)*10 > fee && fee-levied >= schemas.Yuan(50):
			out = append(out, breach{rule: "A02", key: no, objectType: "declarations", date: day, colour: byM1M2(fee - levied), officer: v.feeOfficer(no)})
		}
	}
	return out
}

// latePayments is A04.
func (v *clearanceView) latePayments() []breach {
	var out []breach
	for _, vs := range v.vouchers {
		for _, t := range vs {
			if t.PaidOn == nil {
				continue
			}
			late := int(*t.PaidOn - v.rolled(*t.IssuedOn, 15))
			if s := halfPermille(*t.Amount, late); late > 0 && s >= schemas.Yuan(50) && money(t.SurchargeLevied) == 0 {
				out = append(out, breach{rule: "A04", key: t.VoucherNo, objectType: "tax_vouchers", date: *t.PaidOn, colour: byM1M2(s), officer: v.feeOfficer(*t.DeclNo)})
			}
		}
	}
	return out
}

// slowReviews is A25: from the auto review's routing to the manual review,
// or to the end where it is still open, in standard working hours.
func (v *clearanceView) slowReviews() []breach {
	var out []breach
	for no, evs := range v.events {
		var routed, done time.Time
		officer := ""
		for _, e := range evs {
			switch {
			case *e.Step == "auto_review" && *e.Outcome == "manual":
				routed = *e.OccurredAt
			case *e.Step == "manual_review" && done.IsZero():
				done, officer = *e.OccurredAt, *e.OfficerID
			}
		}
		if routed.IsZero() || (done.IsZero() && *v.decls[no].Status == "cancelled") {
			continue
		}
		if done.IsZero() {
			done = v.w.End
		}
		took := v.w.WorkHoursBetween(routed, done)
		if took <= 24*time.Hour {
			continue
		}
		day := schemas.DateOf(routed)
		for v.w.WorkHoursBetween(routed, day.AddDays(1).Time()) <= 24*time.Hour {
			day++
		}
		out = append(out, breach{rule: "A25", key: no, objectType: "declarations", date: day, colour: byMultiple(int64(took), int64(24*time.Hour)), officer: officer})
	}
	return out
}

// inspectionBreaches is A26, B05 and B06.
func (v *clearanceView) inspectionBreaches() []breach {
	var out []breach
	asOf := v.w.cfg.LastDay()
	for id, in := range v.insps {
		lead := ""
		var officers []string
		if in.Officers != nil {
			json.Unmarshal([]byte(*in.Officers), &officers)
			lead = officers[0]
		}
		ad := schemas.DateOf(*in.AssignedAt)
		var due schemas.Date
		colour := ""
		for _, lim := range []struct {
			at *time.Time
			wd int
		}{{in.StartedAt, 1}, {in.FinishedAt, 3}} {
			by, upto := v.w.Cal.AddWorkdays(ad, lim.wd), asOf
			if lim.at != nil {
				upto = schemas.DateOf(*lim.at)
			}
			if upto > by {
				if due == 0 || by+1 < due {
					due = by + 1
				}
				colour = worse(colour, byMultiple(int64(v.w.Cal.WorkdaysBetween(ad, upto)), int64(lim.wd)))
			}
		}
		if due != 0 {
			out = append(out, breach{rule: "A26", key: id, objectType: "inspections", date: due, colour: colour, officer: lead})
		}
		if in.FinishedAt != nil && (len(officers) < 2 || !*in.RecordSigned) {
			out = append(out, breach{rule: "B05", key: id, objectType: "inspections", date: schemas.DateOf(*in.FinishedAt), colour: "orange", officer: lead})
		}
		if in.StartedAt != nil && *in.Location == "outside" && (in.TraderRequest == nil || !*in.TraderRequest) {
			out = append(out, breach{rule: "B06", key: id, objectType: "inspections", date: schemas.DateOf(*in.StartedAt), colour: "orange", officer: lead})
		}
	}
	return out
}

// unpaidReleases is B01, comparing payment and release dates.
func (v *clearanceView) unpaidReleases() []breach {
	var out []breach
	for no, d := range v.decls {
		if *d.Status != "released" || *d.AggregatedTax || d.GuaranteeNo != nil {
			continue
		}
		day := schemas.DateOf(*d.ReleasedAt)
		var owed schemas.Money
		unpaid := false
		for _, t := range v.vouchers[no] {
			// Tax claimed after release (B14's additional tax) was not
			// owed at release.
			if (*t.TaxType == "duty" || *t.TaxType == "vat") && *t.IssuedOn <= day && (t.PaidOn == nil || *t.PaidOn > day) {
				unpaid, owed = true, owed+*t.Amount
			}
		}
		if unpaid {
			colour := "orange"
			if owed > schemas.Yuan(100_000) {
				colour = "red"
			}
			out = append(out, breach{rule: "B01", key: no, objectType: "declarations", date: day, colour: colour, officer: v.stepOfficer(no, "release")})
		}
	}
	return out
}

// handCancels is B07.
func (v *clearanceView) handCancels() []breach {
	var out []breach
	for id, o := range v.orders {
		if *o.Source == "system" && *o.Status == "cancelled" && o.CancelledBy != nil {
			colour := "orange"
			if o.CancelReason != nil {
				colour = "yellow"
			}
			out = append(out, breach{rule: "B07", key: id, objectType: "control_orders", date: schemas.DateOf(*o.CancelledAt), colour: colour, officer: *o.CancelledBy})
		}
	}
	return out
}

// feeOfficer is the officer answerable for a declaration's fees and levies
// (A01–A04): its first tariff reviewer, who confirms taxes and fees, else
// its first manual reviewer; "" when neither had acted.
func (v *clearanceView) feeOfficer(no string) string {
	return cmp.Or(v.stepOfficer(no, "tariff_review"), v.stepOfficer(no, "manual_review"))
}

// stepOfficer is the officer of a declaration's first step of a kind.
func (v *clearanceView) stepOfficer(no, step string) string {
	for _, e := range v.events[no] {
		if *e.Step == step && e.OfficerID != nil {
			return *e.OfficerID
		}
	}
	return ""
}

// handling is one officer's review, inspection or release of a declaration.
type handling struct {
	officer, kind, declNo string
	at                    time.Time
}

// handlings lists who reviewed, inspected (the recorded step and the
// inspection's officers) and released each declaration.
func (v *clearanceView) handlings() []handling {
	var out []handling
	for no, evs := range v.events {
		for _, e := range evs {
			switch *e.Step {
			case "manual_review":
				out = append(out, handling{*e.OfficerID, "review", no, *e.OccurredAt})
			case "inspection":
				out = append(out, handling{*e.OfficerID, "inspection", no, *e.OccurredAt})
			case "release":
				out = append(out, handling{*e.OfficerID, "release", no, *e.OccurredAt})
			}
		}
	}
	for _, in := range v.insps {
		if in.Officers == nil {
			continue
		}
		var ids []string
		json.Unmarshal([]byte(*in.Officers), &ids)
		for _, id := range ids {
			out = append(out, handling{id, "inspection", *in.DeclNo, *in.StartedAt})
		}
	}
	slices.SortFunc(out, func(a, b handling) int { return a.at.Compare(b.at) })
	return out
}

// separation is B16: the date is the officer's second kind of step.
func (v *clearanceView) separation() []breach {
	type key struct{ declNo, officer string }
	kinds := map[key][]handling{}
	for _, h := range v.handlings() {
		k := key{h.declNo, h.officer}
		if !slices.ContainsFunc(kinds[k], func(x handling) bool { return x.kind == h.kind }) {
			kinds[k] = append(kinds[k], h)
		}
	}
	var out []breach
	for k, hs := range kinds {
		if len(hs) >= 2 {
			colour := map[int]string{2: "orange", 3: "red"}[len(hs)]
			out = append(out, breach{rule: "B16", key: k.declNo, objectType: "declarations", date: schemas.DateOf(hs[1].at), colour: colour, officer: k.officer})
		}
	}
	return out
}

// tiedHandling is C05: one breach per officer–enterprise pair, dated by the
// first handling.
func (v *clearanceView) tiedHandling() []breach {
	declared := map[[2]string]schemas.Date{}
	for _, in := range v.w.Interests {
		declared[[2]string{in.Officer.ID, in.Ent.Code}] = in.DeclaredOn
	}
	first := map[[2]string]schemas.Date{}
	for _, h := range v.handlings() {
		d := v.decls[h.declNo]
		day := schemas.DateOf(h.at)
		for _, ent := range []string{*d.ConsigneeCode, *d.DeclarantCode} {
			pair := [2]string{h.officer, ent}
			if on, ok := declared[pair]; ok && on <= day {
				if f, seen := first[pair]; !seen || day < f {
					first[pair] = day
				}
			}
		}
	}
	var out []breach
	for pair, day := range first {
		out = append(out, breach{rule: "C05", key: pair[0] + "|" + pair[1], objectType: "pair", date: day, colour: "red", officer: pair[0]})
	}
	return out
}
