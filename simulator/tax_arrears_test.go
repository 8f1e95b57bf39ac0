package simulator

import (
	"math"
	"slices"
	"testing"

	"github.com/hlwarn/hlwarn/schemas"
)

var arrRules = []string{"A05", "A06", "B14"}

// arrBreaches reads A05, A06 and B14 off the records as of the last day,
// the way rules.md states them: a voucher unpaid and unenforced more than
// 90 CD past its (rolled, or deferred) limit, graded by days past the limit
// 120/180; a deferral beyond 6 months of issue or without a guarantee, red
// above M2; duty, VAT or consumption tax issued more than a year after the
// declaration's release with no case on the declaration filed by then.
func arrBreaches(t *testing.T, w *World, ds *Dataset) []fuHit {
	t.Helper()
	asOf := w.cfg.LastDay()
	vouchers, history := fuLatest[schemas.TaxVoucher](t, w, ds, "tax_vouchers")
	decls, _ := fuLatest[schemas.Declaration](t, w, ds, "declarations")
	cases, _ := fuLatest[schemas.Case](t, w, ds, "cases")
	flagged := map[string][]schemas.Date{}
	for _, c := range cases {
		if c.DeclNo != nil {
			flagged[*c.DeclNo] = append(flagged[*c.DeclNo], *c.FiledOn)
		}
	}
	taxpayers := map[string]string{} // USCC → its lowest ent_code
	for _, e := range w.Ents {
		if c, ok := taxpayers[e.USCC]; !ok || e.Code < c {
			taxpayers[e.USCC] = e.Code
		}
	}
	var out []fuHit
	// The warnings name no officer (a voucher has none) and the taxpayer's
	// enterprise, else the declaration's consignee.
	hit := func(rule, key, colour string, date schemas.Date) {
		v := vouchers[key]
		ent := taxpayers[deref(v.TaxpayerUSCC)]
		if d := decls[deref(v.DeclNo)]; ent == "" && d != nil {
			ent = deref(d.ConsigneeCode)
		}
		out = append(out, fuHit{rule: rule, version: "1", key: key, colour: colour, date: date, ent: ent})
	}
	for no, v := range vouchers {
		limit := w.Cal.NextWorkday(v.IssuedOn.AddDays(15))
		if v.DeferredUntil != nil {
			limit = w.Cal.NextWorkday(*v.DeferredUntil)
		}
		done := asOf
		for _, d := range []*schemas.Date{v.PaidOn, v.EnforcementOn} {
			if d != nil {
				done = min(done, *d)
			}
		}
		if enforceBy := w.Cal.NextWorkday(limit.AddDays(90)); *v.Status != "written_off" && done > enforceBy {
			hit("A05", no, fuGrade(int(done-limit), 120, 180), enforceBy+1)
		}
		if v.DeferredUntil != nil {
			if since := arrDeferralBreach(history[no]); since != 0 {
				colour := "orange"
				if *v.Amount > schemas.Yuan(100_000) {
					colour = "red"
				}
				hit("A06", no, colour, since)
			}
		}
		d := decls[*v.DeclNo]
		if d == nil || d.ReleasedAt == nil || !slices.Contains([]string{"duty", "vat", "consumption"}, *v.TaxType) {
			continue
		}
		released := schemas.DateOf(d.ReleasedAt.In(schemas.Shanghai))
		if *v.IssuedOn > addMonths(released, 12) && !slices.ContainsFunc(flagged[*v.DeclNo], func(f schemas.Date) bool { return f <= *v.IssuedOn }) {
			hit("B14", no, "orange", *v.IssuedOn)
		}
	}
	return out
}

// arrDeferralBreach is the day of the first version of a voucher whose
// deferral breaks A06, or 0.
func arrDeferralBreach(versions []*schemas.TaxVoucher) schemas.Date {
	for _, v := range versions {
		if v.DeferredUntil != nil && (*v.DeferredUntil > addMonths(*v.IssuedOn, 6) || v.DeferralGuaranteeNo == nil) {
			return schemas.DateOf(v.UpdatedAt.In(schemas.Shanghai))
		}
	}
	return 0
}

// arrTruth is the truth rows of the arrears rules.
func arrTruth(ds *Dataset) []fuHit {
	var out []fuHit
	for _, r := range ds.Truth {
		if slices.Contains(arrRules, r.RuleID) {
			out = append(out, fuHit{rule: r.RuleID, version: r.RuleVersion, key: r.ObjectKey, colour: r.Colour, date: r.Date, officer: r.OfficerID, ent: r.EntCode})
		}
	}
	return out
}

func arrRun(t *testing.T, cfg Config) (*World, *Dataset, map[string]int) {
	t.Helper()
	w := newWorld(cfg)
	em, eligible := w.arrearsFollowUp()
	ds, err := em.dataset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w, ds, eligible
}

func TestArrearsTruthMatchesRecords(t *testing.T) {
	t.Parallel()
	boost := map[string]float64{"A05": 0.05, "A06": 0.2, "B14": 0.1}
	for _, tc := range []struct {
		name  string
		cfg   Config
		clean bool
	}{
		{"clean", fuConfig("2026-09-07", 28, 0, 0, nil), true},
		{"default period", fuConfig("2026-09-07", 28, 0.03, 0.05, boost), false},
		{"spring festival", fuConfig("2026-01-19", 45, 0.03, 0.05, boost), false},
		{"short run", fuConfig("2026-09-28", 8, 0.03, 0.05, boost), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, ds, _ := arrRun(t, tc.cfg)
			found, truth := arrBreaches(t, w, ds), arrTruth(ds)
			if tc.clean && (len(found) > 0 || len(truth) > 0) {
				t.Errorf("with no deviation rates: %d breaches, %d truth rows", len(found), len(truth))
			}
			fuCompare(t, found, truth)
			colours := map[string]bool{}
			for _, h := range truth {
				colours[h.rule+" "+h.colour] = true
			}
			for _, want := range []string{"A05 yellow", "A05 orange", "A05 red", "A06 orange", "A06 red", "B14 orange"} {
				if !tc.clean && !colours[want] {
					t.Errorf("no truth row graded %s", want)
				}
			}
		})
	}
}

// TestArrearsRates checks the background and planted breaches per rule
// against their rates at district scale, at 4.5 standard deviations.
func TestArrearsRates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		source      string
		bg, planted float64
	}{{Background, 0.05, 0}, {Planted, 0, 0.03}} {
		t.Run(tc.source, func(t *testing.T) {
			t.Parallel()
			cfg := fuConfig("2026-09-07", 28, tc.bg, tc.planted, nil)
			cfg.Scale = "district"
			_, ds, eligible := arrRun(t, cfg)
			got := map[string]float64{}
			for _, r := range ds.Truth {
				if r.Source != tc.source {
					t.Fatalf("%s %s: source %s", r.RuleID, r.ObjectKey, r.Source)
				}
				got[r.RuleID]++
			}
			rate := tc.bg + tc.planted
			for _, rule := range arrRules {
				n := float64(eligible[rule])
				if n < 1000 {
					t.Errorf("%s: only %.0f eligible objects", rule, n)
				}
				if sd := math.Sqrt(n * rate * (1 - rate)); math.Abs(got[rule]-n*rate) > 4.5*sd {
					t.Errorf("%s: %.0f breaches among %.0f eligible, want %.0f ± %.0f", rule, got[rule], n, n*rate, 4.5*sd)
				}
			}
		})
	}
}

func TestArrearsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := fuConfig("2026-09-07", 28, 0.03, 0.05, nil)
	_, a, _ := arrRun(t, cfg)
	_, b, _ := arrRun(t, cfg)
	for _, name := range []string{"tax_vouchers", "declarations", "cases"} {
		ra, rb := a.Records(name), b.Records(name)
		if len(ra) == 0 || len(ra) != len(rb) {
			t.Fatalf("%s: %d versions, then %d", name, len(ra), len(rb))
		}
		for i := range ra {
			if ra[i].Key != rb[i].Key || !ra[i].UpdatedAt.Equal(rb[i].UpdatedAt) || string(ra[i].JSON) != string(rb[i].JSON) {
				t.Fatalf("%s version %d differs: %s then %s", name, i, ra[i].JSON, rb[i].JSON)
			}
		}
	}
	if !slices.Equal(a.Truth, b.Truth) {
		t.Errorf("truth differs between runs: %d then %d rows", len(a.Truth), len(b.Truth))
	}
}

// TestArrearsGenerate re-derives the arrears rules from the whole simulated
// dataset: the other generators' vouchers, declarations and cases must not
// breach them, nor hide a planted breach.
func TestArrearsGenerate(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.BackgroundRate, cfg.AnomalyRate = 0.02, 0.03
	ds, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	found, truth := arrBreaches(t, newWorld(cfg), ds), arrTruth(ds)
	if len(truth) == 0 {
		t.Error("no arrears truth rows in the generated dataset")
	}
	fuCompare(t, found, truth)
}
