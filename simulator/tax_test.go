package simulator

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// fuFacts makes about perDay declarations per working day of the period:
// mostly general-trade imports with a duty and a VAT voucher, most paid
// within ten days, plus some processing-trade, temporary-admission and
// guaranteed ones.
func fuFacts(w *World, perDay int) []*DeclFacts {
	rng := rand.New(rand.NewPCG(11, uint64(perDay)))
	var out []*DeclFacts
	for d := w.cfg.Start; d <= w.cfg.LastDay(); d++ {
		if !w.Cal.IsWorkday(d) {
			continue
		}
		for range perDay {
			sub := w.Subs[rng.IntN(len(w.Subs))]
			at := w.WorkMoment(rng, d)
			f := &DeclFacts{
				DeclNo: fmt.Sprintf("%s%d1%03d%06d", sub.CustomsCode, at.Year(), at.YearDay(), len(out)), Sub: sub, IE: "I", TradeMode: "0110",
				Consignee: w.PickConsignee(rng, sub), DeclaredAt: at, Status: "accepted",
				Duty: schemas.Yuan(1 + rng.Int64N(50_000)), VAT: schemas.Yuan(1 + rng.Int64N(80_000)),
			}
			switch u := rng.IntN(100); {
			case u < 5:
				f.TradeMode, f.ManualNo = "0214", fmt.Sprintf("B%s%07d", sub.CustomsCode, rng.IntN(40))
			case u < 8:
				f.TradeMode, f.GuaranteeNo = "2600", "DB"+f.DeclNo
			case u < 12:
				f.GuaranteeNo = "DB" + f.DeclNo
			}
			if rel := w.AddWorkHours(at, time.Duration(1+rng.IntN(20))*time.Hour); rel.Before(w.End) && rng.IntN(10) > 0 {
				f.ReleasedAt, f.Status = rel, "released"
			}
			for k, kind := range []string{"duty", "vat"} {
				v := VoucherFacts{VoucherNo: fmt.Sprintf("%s-%d", f.DeclNo, k), TaxType: kind, Amount: []schemas.Money{f.Duty, f.VAT}[k], IssuedOn: d, Taxpayer: f.Consignee.USCC}
				if paid := d.AddDays(rng.IntN(12)); paid <= w.cfg.LastDay() && rng.IntN(10) > 0 {
					v.PaidOn = ptr(paid)
				}
				f.Vouchers = append(f.Vouchers, v)
			}
			out = append(out, f)
		}
	}
	return out
}

// fuPaidVAT is the customs side of the voucher check: paid VAT vouchers.
func fuPaidVAT(facts []*DeclFacts) map[string]VoucherFacts {
	out := map[string]VoucherFacts{}
	for _, f := range facts {
		for _, v := range f.Vouchers {
			if v.TaxType == "vat" && v.PaidOn != nil {
				out[v.VoucherNo] = v
			}
		}
	}
	return out
}

func (e *fuEval) tax(ds *Dataset, customs map[string]VoucherFacts) {
	checked := e.checks(ds, customs)
	inquiries, _ := fuLatest[schemas.VoucherInquiry](e.t, e.w, ds, "voucher_inquiries")
	for key, q := range inquiries {
		if limit, done := e.rollCD(*q.ReceivedOn, 30), e.doneBy(q.AnsweredOn); done > limit {
			// The enterprise is the taxpayer who last submitted the
			// voucher for a cross-check, else customs' voucher's.
			ent := cmp.Or(checked[*q.VoucherNo], e.payers[*q.VoucherNo])
			e.add("A23", key, fuGrade(int(done-*q.ReceivedOn), 45, 60), limit+1, q.OfficerID, ent)
		}
	}
	refunds, _ := fuLatest[schemas.Refund](e.t, e.w, ds, "refunds")
	for key, r := range refunds {
		if limit, done := e.rollCD(*r.AcceptedOn, 30), e.doneBy(r.DecidedOn); done > limit {
			e.add("A07", key, fuGrade(int(done-*r.AcceptedOn), 40, 60), limit+1, r.OfficerID, e.consignee(r.DeclNo))
		}
		version, window := "2", 36
		if *r.OriginalPaidOn < schemas.MustDate("2024-12-01") {
			version, window = "1", 12
		}
		if *r.Amount > *r.TaxPaid || *r.AcceptedOn > addMonths(*r.OriginalPaidOn, window) {
			e.hits = append(e.hits, fuHit{rule: "B13", version: version, key: key, colour: "red", date: *r.AcceptedOn, officer: deref(r.OfficerID), ent: e.consignee(r.DeclNo)})
		}
	}
}

// checks grades each submission as module V does. It returns the
// enterprise of the taxpayer who last submitted each voucher number (by
// submission day, then check id).
func (e *fuEval) checks(ds *Dataset, customs map[string]VoucherFacts) map[string]string {
	checks, _ := fuLatest[schemas.VoucherCheck](e.t, e.w, ds, "voucher_checks")
	taxpayers, last := map[string][]string{}, map[string]schemas.Date{}
	latest := map[string]string{} // voucher_no → check_id
	for key, c := range checks {
		if !slices.Contains(taxpayers[*c.VoucherNo], *c.TaxpayerUSCC) {
			taxpayers[*c.VoucherNo] = append(taxpayers[*c.VoucherNo], *c.TaxpayerUSCC)
		}
		last[*c.VoucherNo] = max(last[*c.VoucherNo], *c.SubmittedOn)
		if id, ok := latest[*c.VoucherNo]; !ok || cmp.Or(cmp.Compare(*c.SubmittedOn, *checks[id].SubmittedOn), cmp.Compare(key, id)) > 0 {
			latest[*c.VoucherNo] = key
		}
	}
	submitter := map[string]string{}
	for no, id := range latest {
		submitter[no] = e.taxpayers[*checks[id].TaxpayerUSCC]
	}
	for key, c := range checks {
		if *c.TaxPeriod != c.IssuedOn.Time().Format("2006-01") {
			e.t.Errorf("check %s: tax period %s for a voucher issued %s", key, *c.TaxPeriod, c.IssuedOn)
		}
		v, known := customs[*c.VoucherNo]
		if known && *v.PaidOn >= *c.SubmittedOn {
			e.t.Errorf("check %s submitted %s, before customs recorded the payment on %s", key, c.SubmittedOn, v.PaidOn)
		}
		switch {
		case len(taxpayers[*c.VoucherNo]) > 1:
			e.add("V", key, "", last[*c.VoucherNo], nil, e.taxpayers[*c.TaxpayerUSCC])
		case known && (v.Amount != *c.Amount || v.IssuedOn != *c.IssuedOn || v.Taxpayer != *c.TaxpayerUSCC):
			e.add("V", key, "", *c.SubmittedOn, nil, e.taxpayers[*c.TaxpayerUSCC])
		case !known && retentionEnd(*c.IssuedOn) < e.asOf:
			e.add("V", key, "", retentionEnd(*c.IssuedOn)+1, nil, e.taxpayers[*c.TaxpayerUSCC])
		}
	}
	return submitter
}

func TestTaxTruthMatchesRecords(t *testing.T) {
	t.Parallel()
	for _, tc := range fuCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, facts, ds, _ := fuRun(t, tc.cfg, tc.perDay)
			e := newFuEval(t, w, ds, facts)
			e.tax(ds, fuPaidVAT(facts))
			fuCheckCase(t, fuTaxRules, e.hits, ds, tc.cfg, tc.everyRule)
			if n := len(ds.Records("voucher_checks")); n < len(fuPaidVAT(facts))/3 {
				t.Errorf("%d checks of %d paid VAT vouchers", n, len(fuPaidVAT(facts)))
			}
		})
	}
}

func TestTaxBackgroundRate(t *testing.T) {
	t.Parallel()
	cfg := fuConfig("2026-09-07", 28, 0.05, 0, nil)
	cfg.Scale = "district"
	w := newWorld(cfg)
	em, eligible := w.taxFollowUp(fuFacts(w, 150))
	ds, err := em.dataset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fuBinomial(t, ds, eligible, fuTaxRules, cfg.BackgroundRate)
}

// TestTaxGenerate runs the whole simulator and checks the follow-up's truth
// against its records, with the customs side of the voucher check taken
// from the generated tax vouchers.
func TestTaxGenerate(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.BackgroundRate, cfg.AnomalyRate = 0.02, 0.03
	ds, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(cfg)
	vouchers, _ := fuLatest[schemas.TaxVoucher](t, w, ds, "tax_vouchers")
	customs := map[string]VoucherFacts{}
	for no, v := range vouchers {
		if *v.TaxType == "vat" && *v.Status == "paid" {
			customs[no] = VoucherFacts{VoucherNo: no, Amount: *v.Amount, IssuedOn: *v.IssuedOn, PaidOn: v.PaidOn, Taxpayer: *v.TaxpayerUSCC}
		}
	}
	e := newFuEval(t, w, ds, nil)
	e.tax(ds, customs)
	e.procedures(ds)
	fuCompare(t, e.hits, fuTruthHits(ds))
	for _, name := range []string{"manuals", "temporary_admissions", "transits", "guarantees", "licences", "voucher_inquiries", "refunds"} {
		if len(ds.Records(name)) == 0 {
			t.Errorf("no %s generated", name)
		}
	}
}
