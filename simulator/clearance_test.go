package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// clearanceRules are the rules whose ground truth the clearance generator writes.
var clearanceRules = []string{"A01", "A02", "A04", "A25", "A26", "B01", "B05", "B06", "B07", "B16", "C05"}

func TestClearanceDecodes(t *testing.T) {
	t.Parallel()
	for _, rates := range [][2]float64{{0, 0}, {0.01, 0.03}} {
		v := clearanceViewFor(rates[0], rates[1])
		if len(v.problems) > 0 {
			t.Errorf("rates %v: %d records break the contract, e.g. %s", rates, len(v.problems), v.problems[0])
		}
		if len(v.decls) < 10_000 {
			t.Errorf("rates %v: only %d declarations in four weeks at small scale", rates, len(v.decls))
		}
	}
}

func TestClearanceCleanRunBreachesNothing(t *testing.T) {
	t.Parallel()
	v := clearanceViewFor(0, 0)
	if b := v.breaches(); len(b) > 0 {
		t.Errorf("%d breaches without any rate, e.g. %+v", len(b), b[0])
	}
	if len(v.ds.Truth) > 0 {
		t.Errorf("%d truth rows without any rate, e.g. %+v", len(v.ds.Truth), v.ds.Truth[0])
	}
	checks := []struct {
		name  string
		check func(*clearanceView) []string
	}{
		{"late declarations are levied exactly", checkLateFees},
		{"late payments carry their surcharge", checkSurcharges},
		{"release follows payment", checkReleaseAfterPayment},
		{"officers act on duty", checkOnDuty},
		{"modifications decided in time and tax-neutral", checkModifications},
		{"price challenges closed within 15 WD", checkPriceChallenges},
		{"unit prices at least 70 % of the reference", checkReferencePrices},
		{"reassignments stay rare", checkReassignments},
	}
	for _, c := range checks {
		if bad := c.check(v); len(bad) > 0 {
			t.Errorf("%s: %d failures, e.g. %s", c.name, len(bad), bad[0])
		}
	}
}

func TestClearanceTruthMatchesRecords(t *testing.T) {
	t.Parallel()
	v := clearanceViewFor(0.01, 0.03)
	found := map[string]breach{}
	for _, b := range v.breaches() {
		found[b.rule+" "+b.key] = b
	}
	seen := map[string]bool{}
	perRule := map[string]int{}
	for _, r := range v.ds.Truth {
		k := r.RuleID + " " + r.ObjectKey
		perRule[r.RuleID]++
		if seen[k] {
			t.Errorf("truth row %s twice", k)
		}
		seen[k] = true
		b, ok := found[k]
		if !ok {
			t.Errorf("truth row %+v: the records show no breach", r)
			continue
		}
		if b.date != r.Date || b.colour != r.Colour || b.objectType != r.ObjectType || (b.officer != "" && b.officer != r.OfficerID) {
			t.Errorf("truth row %s: date %s colour %s type %s officer %s; the records give %s %s %s %s",
				k, r.Date, r.Colour, r.ObjectType, r.OfficerID, b.date, b.colour, b.objectType, b.officer)
		}
		if r.Source != Planted && r.Source != Background {
			t.Errorf("truth row %s: source %q", k, r.Source)
		}
	}
	for k, b := range found {
		if !seen[k] {
			t.Errorf("breach %+v in the records has no truth row", b)
		}
	}
	for _, rule := range clearanceRules {
		if perRule[rule] == 0 && rule != "C05" && rule != "A02" {
			t.Errorf("rule %s: no truth rows at a 3 %% anomaly rate", rule)
		}
	}
}

func TestClearanceBackgroundRate(t *testing.T) {
	t.Parallel()
	const rate = 0.05
	v := clearanceViewFor(rate, 0)
	got := map[string]int{}
	for _, r := range v.ds.Truth {
		if r.Source != Background {
			t.Fatalf("truth row %+v is not background with a zero anomaly rate", r)
		}
		got[r.RuleID]++
	}
	for _, rule := range clearanceRules {
		n := v.stats[rule]
		if rule == "C05" || n < 100 {
			// C05's truth is per pair, not per eligible handling; small
			// populations say little about the rate.
			continue
		}
		mean, sd := float64(n)*rate, math.Sqrt(float64(n)*rate*(1-rate))
		if k := float64(got[rule]); math.Abs(k-mean) > 4*sd+1 {
			t.Errorf("rule %s: %v background breaches among %d eligible, want about %.0f ± %.0f", rule, k, n, mean, 4*sd)
		}
	}
	for _, rule := range []string{"A01", "A04", "A25", "A26", "B01", "B05", "B06", "B07", "B16"} {
		if v.stats[rule] < 100 {
			t.Errorf("rule %s: only %d eligible objects", rule, v.stats[rule])
		}
	}
}

func TestClearanceDeterministic(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Days = 8
	cfg.AnomalyRate = 0.05
	a, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range schemas.Entities() {
		ra, rb := a.Records(e.Name), b.Records(e.Name)
		if len(ra) != len(rb) {
			t.Errorf("%s: %d and %d versions", e.Name, len(ra), len(rb))
			continue
		}
		for i := range ra {
			if ra[i].Key != rb[i].Key || !ra[i].UpdatedAt.Equal(rb[i].UpdatedAt) || !bytes.Equal(ra[i].JSON, rb[i].JSON) {
				t.Errorf("%s version %d differs: %s and %s", e.Name, i, ra[i].JSON, rb[i].JSON)
				break
			}
		}
	}
	ja, _ := json.Marshal(a.Truth)
	jb, _ := json.Marshal(b.Truth)
	if !bytes.Equal(ja, jb) {
		t.Error("the ground truth differs between two runs")
	}
	if len(a.Records("declarations")) == 0 {
		t.Error("no declarations generated")
	}
}

// BenchmarkGenerateDistrict30 times the whole Generate at district scale
// over 30 days.
func BenchmarkGenerateDistrict30(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Scale, cfg.Days = "district", 30
	decls := 0
	start := time.Now()
	for b.Loop() {
		ds, err := Generate(cfg)
		if err != nil {
			b.Fatal(err)
		}
		decls = 0
		for _, r := range ds.Records("declarations") {
			if bytes.Contains(r.JSON, []byte(`"status":"accepted"`)) {
				decls++
			}
		}
	}
	b.ReportMetric(float64(decls)*float64(b.N)/time.Since(start).Seconds(), "decls/s")
}

func checkLateFees(v *clearanceView) []string {
	var bad []string
	for no, d := range v.decls {
		if d.ArrivalDate == nil {
			continue
		}
		late := int(schemas.DateOf(*d.DeclaredAt) - v.rolled(*d.ArrivalDate, 14))
		fee := halfPermille(*d.CustomsValue, late)
		levied := money(d.LateDeclarationFeeLevied)
		switch {
		case late <= 0 && (levied != 0 || d.FeeExemptionCode != nil):
			bad = append(bad, no+": on time but a fee or exemption")
		case late > 0 && fee >= schemas.Yuan(50) && levied != fee && d.FeeExemptionCode == nil:
			bad = append(bad, fmt.Sprintf("%s: %d days late, levied %s of %s", no, late, levied, fee))
		case late > 0 && fee < schemas.Yuan(50) && levied != 0:
			bad = append(bad, no+": fee under 50 levied")
		}
	}
	return bad
}

func checkSurcharges(v *clearanceView) []string {
	var bad []string
	for no, vs := range v.vouchers {
		levied := schemas.Money(0)
		charged := schemas.Money(0)
		for _, t := range vs {
			if *t.TaxType == "late_payment_surcharge" {
				charged += *t.Amount
			}
			if t.PaidOn == nil {
				continue
			}
			late := int(*t.PaidOn - v.rolled(*t.IssuedOn, 15))
			want := halfPermille(*t.Amount, late)
			if late <= 0 || want < schemas.Yuan(50) {
				want = 0
			}
			if money(t.SurchargeLevied) != want {
				bad = append(bad, fmt.Sprintf("%s: %d days late, surcharge %s, want %s", t.VoucherNo, late, money(t.SurchargeLevied), want))
			}
			levied += want
		}
		if charged > levied {
			bad = append(bad, fmt.Sprintf("%s: surcharge vouchers %s for %s levied", no, charged, levied))
		}
	}
	return bad
}

func checkReleaseAfterPayment(v *clearanceView) []string {
	var bad []string
	for no, d := range v.decls {
		if *d.Status != "released" || *d.AggregatedTax || d.GuaranteeNo != nil {
			continue
		}
		for _, t := range v.vouchers[no] {
			if *t.TaxType == "late_payment_surcharge" {
				continue
			}
			if paid, ok := v.paidAt[t.VoucherNo]; !ok || !paid.Before(*d.ReleasedAt) {
				bad = append(bad, fmt.Sprintf("%s released %s, voucher %s paid %s", no, d.ReleasedAt, t.VoucherNo, paid))
			}
		}
	}
	return bad
}

func checkOnDuty(v *clearanceView) []string {
	var bad []string
	at := func(officer string, t time.Time, what string) {
		if !v.w.OnDuty(officer, t) {
			bad = append(bad, fmt.Sprintf("%s by %s at %s off duty", what, officer, t.Format(time.RFC3339)))
		}
	}
	for _, evs := range v.events {
		for _, e := range evs {
			if e.OfficerID != nil {
				at(*e.OfficerID, *e.OccurredAt, *e.Step)
			}
		}
	}
	for id, in := range v.insps {
		var ids []string
		if in.Officers != nil {
			json.Unmarshal([]byte(*in.Officers), &ids)
		}
		for _, o := range ids {
			at(o, *in.StartedAt, "start of "+id)
			if in.FinishedAt != nil {
				at(o, *in.FinishedAt, "end of "+id)
			}
		}
	}
	for id, m := range v.mods {
		if m.OfficerID != nil {
			at(*m.OfficerID, *m.DecidedAt, "decision on "+id)
		}
	}
	return bad
}

func checkModifications(v *clearanceView) []string {
	var bad []string
	for id, m := range v.mods {
		if o := v.orders["BK"+*m.DeclNo]; o != nil && (*o.Status == "active" || !m.RequestedAt.After(o.UpdatedAt)) {
			bad = append(bad, id+": request while a control order is open (B03)")
		}
		if money(m.TaxDelta) != 0 {
			bad = append(bad, id+": changes the tax")
		}
		limit := v.w.Cal.AddWorkdays(schemas.DateOf(*m.RequestedAt), 20)
		if (m.DecidedAt == nil && v.w.cfg.LastDay() > limit) || (m.DecidedAt != nil && schemas.DateOf(*m.DecidedAt) > limit) {
			bad = append(bad, id+": decided after 20 WD")
		}
	}
	return bad
}

func checkPriceChallenges(v *clearanceView) []string {
	var bad []string
	for no, evs := range v.events {
		var opened time.Time
		for _, e := range evs {
			if *e.Step != "price_challenge" {
				continue
			}
			if *e.Outcome == "open" {
				opened = *e.OccurredAt
			} else if v.w.Cal.WorkdaysBetween(schemas.DateOf(opened), schemas.DateOf(*e.OccurredAt)) > 15 {
				bad = append(bad, no+": price challenge open beyond 15 WD")
			}
		}
	}
	return bad
}

func checkReferencePrices(v *clearanceView) []string {
	var bad []string
	for no, its := range v.items {
		for _, it := range its {
			if it.ReferencePrice != nil && *it.UnitPrice*10 < *it.ReferencePrice*7 {
				bad = append(bad, fmt.Sprintf("%s item %d: unit price %s under 70 %% of %s", no, it.ItemNo, it.UnitPrice, it.ReferencePrice))
			}
		}
	}
	return bad
}

func checkReassignments(v *clearanceView) []string {
	to := map[string]int{}
	for _, evs := range v.events {
		for _, e := range evs {
			if *e.Step == "reassign" {
				var d struct{ To string }
				json.Unmarshal([]byte(*e.Detail), &d)
				to[d.To]++
			}
		}
	}
	var bad []string
	for o, n := range to {
		if n >= 5 {
			bad = append(bad, fmt.Sprintf("officer %s got %d reassignments", o, n))
		}
	}
	if len(to) == 0 {
		bad = append(bad, "no reassignment at all")
	}
	slices.Sort(bad)
	return bad
}
