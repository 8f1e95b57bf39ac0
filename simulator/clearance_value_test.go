package simulator

import (
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// valueRules are the rules of clearance_value.go and B02 (procedures.go).
var valueRules = []string{"A03", "A24", "B02", "B10", "B15"}

// valueBreaches re-derives A03, A24, B10 and B15 from the clearance records.
func (v *clearanceView) valueBreaches() []breach {
	var out []breach
	out = append(out, v.undeclaredGoods()...)
	out = append(out, v.openChallenges()...)
	out = append(out, v.unchallengedPrices()...)
	for _, b := range v.offDutyActs() {
		out = append(out, b.breach)
	}
	return out
}

// undeclaredGoods is A03: an import accepted after the 90 CD from arrival
// (counted from the day after, rolled), graded on the days since arrival.
func (v *clearanceView) undeclaredGoods() []breach {
	var out []breach
	for no, d := range v.decls {
		if *d.IEFlag != "I" || d.ArrivalDate == nil {
			continue
		}
		limit, day := v.rolled(*d.ArrivalDate, 90), schemas.DateOf(*d.DeclaredAt)
		if day <= limit {
			continue
		}
		out = append(out, breach{rule: "A03", key: no, objectType: "declarations", date: limit + 1, colour: gradeUpTo(int(day-*d.ArrivalDate), 120, 180),
			officer: v.feeOfficer(no)})
	}
	return out
}

func gradeUpTo(x, yellowMax, orangeMax int) string {
	switch {
	case x <= yellowMax:
		return "yellow"
	case x <= orangeMax:
		return "orange"
	}
	return "red"
}

// openChallenges is A24: a price challenge whose first consultation or
// close comes after the 15th working day from its opening, or that has
// neither by the last day when that day is past the limit.
func (v *clearanceView) openChallenges() []breach {
	var out []breach
	asOf := v.w.cfg.LastDay()
	for no, evs := range v.events {
		for i, e := range evs {
			if *e.Step != "price_challenge" || *e.Outcome != "open" {
				continue
			}
			opened := schemas.DateOf(*e.OccurredAt)
			upto := asOf
			for _, f := range evs[i+1:] {
				if *f.Step == "price_challenge" && (*f.Outcome == "consultation" || *f.Outcome == "closed") {
					upto = min(upto, schemas.DateOf(*f.OccurredAt))
					break
				}
			}
			limit := v.w.Cal.AddWorkdays(opened, 15)
			if upto > limit {
				out = append(out, breach{rule: "A24", key: no, objectType: "declarations", date: limit + 1,
					colour: gradeUpTo(v.w.Cal.WorkdaysBetween(opened, upto), 30, 60), officer: *e.OfficerID})
			}
		}
	}
	return out
}

// unchallengedPrices is B10: a released import worth at least 100 000 or
// taxed at least 20 000, with an item under 70 % of its reference price and
// no price challenge; graded on the duty and VAT the missing value bears.
func (v *clearanceView) unchallengedPrices() []breach {
	var out []breach
	for no, d := range v.decls {
		tax := *d.DutyPayable + *d.VATPayable
		if *d.IEFlag != "I" || d.ReleasedAt == nil || (*d.CustomsValue < schemas.Yuan(100_000) && tax < schemas.Yuan(20_000)) ||
			slices.ContainsFunc(v.events[no], func(e *schemas.DeclarationEvent) bool { return *e.Step == "price_challenge" }) {
			continue
		}
		var lost int64
		low := false
		for _, it := range v.items[no] {
			if it.ReferencePrice == nil || *it.UnitPrice*10 >= *it.ReferencePrice*7 {
				continue
			}
			low = true
			lost += v.lostOn(it, *d.VATPayable > 0)
		}
		if !low {
			continue
		}
		officer := v.stepOfficer(no, "manual_review")
		if officer == "" {
			officer = v.stepOfficer(no, "release")
		}
		out = append(out, breach{rule: "B10", key: no, objectType: "declarations", date: schemas.DateOf(*d.ReleasedAt),
			colour: byM1M2(schemas.Money(lost)), officer: officer})
	}
	return out
}

// lostOn is the duty (and VAT) in fen on reference × quantity − value, in
// exact arithmetic: reference and quantity are millionths.
func (v *clearanceView) lostOn(it *schemas.DeclarationItem, vat bool) int64 {
	refValue := new(big.Int).Mul(big.NewInt(int64(*it.ReferencePrice)), big.NewInt(int64(*it.Qty)))
	refValue.Quo(refValue, big.NewInt(10_000_000_000)) // millionths² → fen
	short := refValue.Int64() - int64(*it.CustomsValue)
	duty := (short*int64(*it.DutyRate) + 500_000) / 1_000_000
	if !vat {
		return duty
	}
	return duty + ((short+duty)*13+50)/100
}

// offDutyBreach is a B15 breach with its month.
type offDutyBreach struct {
	breach
	period string
}

// offDutyActs is B15: approvals, releases and modification decisions by an
// officer outside the officer's duty hours, per officer and month; three
// or more yellow, ten or more orange, any on a declaration taxed at least
// 100 000 red. Due on the day of the third, or of the first high-tax one.
func (v *clearanceView) offDutyActs() []offDutyBreach {
	steps := []string{"manual_review", "tariff_review", "fee_waiver", "release", "modify_decision", "cancel_decision"}
	type key struct{ officer, month string }
	acts := map[key][]time.Time{}
	high := map[key]schemas.Date{}
	for no, evs := range v.events {
		d := v.decls[no]
		for _, e := range evs {
			if e.OfficerID == nil || !slices.Contains(steps, *e.Step) || v.w.OnDuty(*e.OfficerID, *e.OccurredAt) {
				continue
			}
			k := key{*e.OfficerID, e.OccurredAt.In(schemas.Shanghai).Format("2006-01")}
			acts[k] = append(acts[k], *e.OccurredAt)
			day := schemas.DateOf(*e.OccurredAt)
			if *d.DutyPayable+*d.VATPayable >= schemas.Yuan(100_000) && (high[k] == 0 || day < high[k]) {
				high[k] = day
			}
		}
	}
	var out []offDutyBreach
	for k, ts := range acts {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		b := breach{rule: "B15", key: k.officer, objectType: "officers", officer: k.officer, colour: "yellow"}
		switch {
		case high[k] != 0:
			b.colour, b.date = "red", high[k]
			if len(ts) >= 3 {
				b.date = min(b.date, schemas.DateOf(ts[2]))
			}
		case len(ts) >= 3:
			b.date = schemas.DateOf(ts[2])
			if len(ts) >= 10 {
				b.colour = "orange"
			}
		default:
			continue
		}
		out = append(out, offDutyBreach{b, k.month})
	}
	return out
}

// guaranteeReleases is B02: a declaration released against a guarantee
// whose record says a required licence is missing.
func guaranteeReleases(v *clearanceView) []breach {
	e, _ := schemas.Lookup("guarantees")
	missing := map[string]bool{}
	for _, r := range v.ds.Records("guarantees") {
		rec, err := e.Decode(r.JSON)
		if err != nil {
			v.problems = append(v.problems, err.Error())
			continue
		}
		g := rec.(*schemas.Guarantee)
		missing[g.GuaranteeNo] = g.LicenceMissing != nil && *g.LicenceMissing
	}
	var out []breach
	for no, d := range v.decls {
		if d.ReleasedAt != nil && d.GuaranteeNo != nil && missing[*d.GuaranteeNo] {
			out = append(out, breach{rule: "B02", key: no, objectType: "declarations", date: schemas.DateOf(*d.ReleasedAt),
				colour: "red", officer: v.stepOfficer(no, "release")})
		}
	}
	return out
}

// valueDataset generates, once, the whole default small dataset with the
// value rules' anomaly rates raised, and decodes its clearance records.
var valueDataset = sync.OnceValue(func() *clearanceView {
	cfg := DefaultConfig()
	cfg.RuleRates = map[string]float64{"A03": 0.02, "A24": 0.3, "B02": 0.2, "B10": 0.1, "B15": 0.03}
	ds, err := Generate(cfg)
	if err != nil {
		panic(err)
	}
	return decodeView(newWorld(cfg), ds, nil)
})

func TestValueTruthMatchesRecords(t *testing.T) {
	t.Parallel()
	v := valueDataset()
	type id struct{ rule, key, period string }
	found := map[id]breach{}
	add := func(b breach, period string) {
		k := id{b.rule, b.key, period}
		if _, dup := found[k]; dup {
			t.Errorf("breach %v found twice", k)
		}
		found[k] = b
	}
	for _, b := range append(append(append(v.undeclaredGoods(), v.openChallenges()...), v.unchallengedPrices()...), guaranteeReleases(v)...) {
		add(b, "")
	}
	for _, b := range v.offDutyActs() {
		add(b.breach, b.period)
	}
	if len(v.problems) > 0 {
		t.Fatalf("%d records break the contract, e.g. %s", len(v.problems), v.problems[0])
	}
	perRule := map[string]map[string]int{}
	seen := map[id]bool{}
	for _, r := range v.ds.Truth {
		if !slices.Contains(valueRules, r.RuleID) {
			continue
		}
		k := id{r.RuleID, r.ObjectKey, r.Period}
		if seen[k] {
			t.Errorf("truth row %v twice", k)
		}
		seen[k] = true
		if perRule[r.RuleID] == nil {
			perRule[r.RuleID] = map[string]int{}
		}
		perRule[r.RuleID][r.Colour]++
		b, ok := found[k]
		switch {
		case !ok:
			t.Errorf("truth row %+v: the records show no breach", r)
		case b.date != r.Date || b.colour != r.Colour || b.objectType != r.ObjectType || (b.officer != "" && b.officer != r.OfficerID):
			t.Errorf("truth row %v: date %s colour %s type %s officer %s; the records give %s %s %s %s",
				k, r.Date, r.Colour, r.ObjectType, r.OfficerID, b.date, b.colour, b.objectType, b.officer)
		}
	}
	for k, b := range found {
		if !seen[k] {
			t.Errorf("breach %+v (%v) in the records has no truth row", b, k)
		}
	}
	for _, rule := range valueRules {
		if n := perRule[rule]; len(n) == 0 {
			t.Errorf("rule %s: no truth rows at a raised rate", rule)
		}
	}
	t.Logf("truth rows by rule and colour: %v", perRule)
	for _, rule := range []string{"A03", "B10", "B15"} {
		if len(perRule[rule]) < 2 {
			t.Errorf("rule %s: colours %v, want a mix", rule, perRule[rule])
		}
	}
}

func TestValueCleanRunBreachesNothing(t *testing.T) {
	t.Parallel()
	v := clearanceViewFor(0, 0)
	if b := v.valueBreaches(); len(b) > 0 {
		t.Errorf("%d breaches without any rate, e.g. %+v", len(b), b[0])
	}
	consulted := 0
	for _, evs := range v.events {
		for _, e := range evs {
			if *e.Step == "price_challenge" && *e.Outcome == "consultation" {
				consulted++
			}
		}
	}
	if consulted == 0 {
		t.Error("no price challenge goes through a consultation")
	}
}

// TestValueRates checks that the value rules plant about their rate among
// the eligible objects, and that the eligible populations are not trivial.
func TestValueRates(t *testing.T) {
	t.Parallel()
	v := clearanceViewFor(0.01, 0.03)
	got := map[string]int{}
	for _, r := range v.ds.Truth {
		got[r.RuleID]++
	}
	for _, c := range []struct {
		rule     string
		min      int     // eligible objects at least
		showRate float64 // share of breaches that show by the end
	}{{"A03", 5000, 1}, {"B10", 300, 0.8}, {"A24", 50, 1}, {"B15", 100, 0.5}} {
		n := v.stats[c.rule]
		if n < c.min {
			t.Errorf("rule %s: only %d eligible objects", c.rule, n)
			continue
		}
		want := float64(n) * 0.04 * c.showRate
		t.Logf("rule %s: %d truth rows among %d eligible", c.rule, got[c.rule], n)
		if k := float64(got[c.rule]); k > float64(n)*0.04*1.5+5 || k < want/2-5 {
			t.Errorf("rule %s: %v truth rows among %d eligible, want about %.0f", c.rule, k, n, want)
		}
	}
}

// TestValueOffHoursOrderFree checks that a B15 anomaly's day does not
// depend on which day's generator asks, nor in what order: walking the days
// backwards finds the same anomalies as walking them forwards, one a month
// at most.
func TestValueOffHoursOrderFree(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.RuleRates = map[string]float64{"B15": 0.1}
	w := newWorld(cfg)
	found := 0
	for _, sub := range w.Subs {
		for _, o := range w.Staff(sub, "release", cfg.Start) {
			forward := map[schemas.Date]offHoursPlan{}
			months := map[string]int{}
			for d := cfg.Start; d <= cfg.LastDay(); d++ {
				if ep, _ := w.offHoursDay(o, sub, d); ep != nil {
					forward[d] = *ep
					months[d.Time().Format("2006-01")]++
				}
			}
			for d := cfg.LastDay(); d >= cfg.Start; d-- {
				ep, _ := w.offHoursDay(o, sub, d)
				if f, ok := forward[d]; ok != (ep != nil) || (ok && (f.src != ep.src || f.want != ep.want || f.red != ep.red)) {
					t.Errorf("officer %s on %s: forwards %+v, backwards %+v", o.ID, d, f, ep)
				}
			}
			for m, n := range months {
				if n > 1 {
					t.Errorf("officer %s: %d anomaly days in %s", o.ID, n, m)
				}
			}
			found += len(forward)
		}
	}
	if found == 0 {
		t.Error("no B15 anomaly at a 10 % rate")
	}
}
