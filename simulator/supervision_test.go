package simulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

var supRules = map[string]bool{"A20": true, "A21": true, "A22": true, "B09": true, "B17": true}

func supConfig(bg, anomaly float64, ruleRates map[string]float64) Config {
	cfg := DefaultConfig()
	cfg.BackgroundRate, cfg.AnomalyRate, cfg.RuleRates = bg, anomaly, ruleRates
	return cfg
}

// supHandFacts makes n imports of one subordinate customs over the period:
// most released within a day, a third inspected, most inspections matching.
func supHandFacts(w *World, n int) []*DeclFacts {
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	sub := w.Subs[0]
	var out []*DeclFacts
	for i := range n {
		d := w.cfg.Start.AddDays(rng.IntN(w.cfg.Days))
		if !w.Cal.IsWorkday(d) {
			continue
		}
		f := &DeclFacts{
			DeclNo: fmt.Sprintf("%s%d1%09d", sub.CustomsCode, d.Time().Year(), i), Sub: sub, IE: "I", TradeMode: "0110",
			Consignee: w.PickConsignee(rng, sub), DeclaredAt: w.WorkMoment(rng, d), Status: "accepted",
			Duty: schemas.Yuan(rng.Int64N(200000)), VAT: schemas.Yuan(rng.Int64N(300000)),
		}
		if rng.IntN(3) == 0 {
			f.Inspection, f.Result = fmt.Sprintf("INS%09d", i), "match"
			if rng.IntN(5) == 0 {
				f.Result = "mismatch"
			}
		}
		if rel := w.AddWorkHours(f.DeclaredAt, time.Duration(1+rng.IntN(12))*time.Hour); rel.Before(w.End) && f.Result != "mismatch" {
			f.ReleasedAt, f.Status = rel, "released"
		}
		out = append(out, f)
	}
	return out
}

// supView is the supervision records as of the period's last day.
type supView struct {
	cases      map[string]*schemas.Case
	audits     map[string]*schemas.Audit
	leads      map[string]*schemas.Lead
	matchDecls map[string]bool // inspected with result match
}

// supLatest decodes every version of entity, checks that each is before the
// end, later than the key's previous one and, for the entities of the
// supervision and disposal generators, in working hours; it returns the
// latest version of each key and all of them.
func supLatest[T any](t *testing.T, w *World, ds *Dataset, entity string) (map[string]*T, map[string][]*T) {
	t.Helper()
	e, err := schemas.Lookup(entity)
	if err != nil {
		t.Fatal(err)
	}
	latest, all := map[string]*T{}, map[string][]*T{}
	last := map[string]time.Time{}
	for _, r := range ds.Records(entity) {
		rec, err := e.Decode(r.JSON)
		if err != nil {
			t.Fatalf("%s %s does not decode: %v", entity, r.Key, err)
		}
		at := r.UpdatedAt.In(schemas.Shanghai)
		d := schemas.DateOf(at)
		offHours := !w.Cal.IsWorkday(d) || at.Before(workStart(d)) || !at.Before(workEnd(d))
		if !at.Before(w.End) || offHours && entity != "inspections" {
			t.Errorf("%s %s: version at %s is outside working hours or after the end", entity, r.Key, at)
		}
		if p, ok := last[r.Key]; ok && !at.After(p) {
			t.Errorf("%s %s: version at %s not after the previous at %s", entity, r.Key, at, p)
		}
		last[r.Key] = at
		latest[r.Key] = rec.(*T)
		all[r.Key] = append(all[r.Key], rec.(*T))
	}
	return latest, all
}

func supViewOf(t *testing.T, w *World, ds *Dataset, facts []*DeclFacts) supView {
	t.Helper()
	v := supView{matchDecls: map[string]bool{}}
	v.cases, _ = supLatest[schemas.Case](t, w, ds, "cases")
	v.audits, _ = supLatest[schemas.Audit](t, w, ds, "audits")
	v.leads, _ = supLatest[schemas.Lead](t, w, ds, "leads")
	insp, _ := supLatest[schemas.Inspection](t, w, ds, "inspections")
	for _, in := range insp {
		if in.Result != nil && *in.Result == "match" && in.DeclNo != nil {
			v.matchDecls[*in.DeclNo] = true
		}
	}
	for _, f := range facts {
		if f.Result == "match" {
			v.matchDecls[f.DeclNo] = true
		}
	}
	return v
}

// supHit is a breach the records show: its colour, due date, and the
// officer and enterprise the rule names ("" where the records do not say).
type supHit struct {
	colour       string
	date         schemas.Date
	officer, ent string
}

// supBreaches reads rules.md's A20, A21, A22, B09 and B17 off the records,
// as of the last day, keyed by rule|object key.
func supBreaches(w *World, v supView) map[string]supHit {
	asOf, cal := w.cfg.LastDay(), w.Cal
	out := map[string]supHit{}
	late := func(rule, key string, limit schemas.Date, done *schemas.Date, y, o int, officer, ent *string) {
		end := asOf
		if done != nil {
			end = *done
		}
		if n := int(end - limit); n > 0 {
			out[rule+"|"+key] = supHit{supBand(n, y, o), limit + 1, deref(officer), deref(ent)}
		}
	}
	for no, c := range v.cases {
		late("A20", no, cal.NextWorkday(c.FiledOn.AddDays(90)), c.DecidedOn, 30, 90, c.OfficerID, c.EntCode)
		if h := c.GoodsHeldSince; h != nil && !*c.HoldExtensionApproved {
			if limit := cal.NextWorkday(h.AddDays(365)); limit < asOf {
				colour := "orange"
				if asOf-*h >= 730 {
					colour = "red"
				}
				out["A21|"+no] = supHit{colour, limit + 1, deref(c.OfficerID), deref(c.EntCode)}
			}
		}
		if c.DecidedOn != nil {
			switch {
			case c.Decision == nil || *c.Decision == "pending":
				out["B17|"+no] = supHit{"red", *c.DecidedOn, deref(c.OfficerID), deref(c.EntCode)}
			case *c.Decision == "penalty" && *c.EvadedTax > 0 && (*c.Fine*100 < *c.EvadedTax*30 || *c.Fine > *c.EvadedTax*2):
				out["B17|"+no] = supHit{"orange", *c.DecidedOn, deref(c.OfficerID), deref(c.EntCode)}
			}
		}
		if c.DeclNo != nil && v.matchDecls[*c.DeclNo] {
			supFirst(out, "B09|"+*c.DeclNo, *c.FiledOn, deref(c.EntCode))
		}
	}
	for id, a := range v.audits {
		if a.ReportOn != nil {
			late("A22", id, cal.NextWorkday(a.ReportOn.AddDays(30)), a.ConcludedOn, 15, 60, a.OfficerID, a.EntCode)
		}
		if a.DeclNo != nil && v.matchDecls[*a.DeclNo] && a.Finding != nil && *a.Finding == "discrepancy" {
			supFirst(out, "B09|"+*a.DeclNo, *a.ConcludedOn, deref(a.EntCode))
		}
	}
	return out
}

// supFirst keeps B09's first finding on a declaration. Its enterprise is
// the finding's, which the generator takes from the declaration's
// consignee; its officer, the matching inspection's lead, is not checked:
// the supervision generator does not know it.
func supFirst(out map[string]supHit, key string, d schemas.Date, ent string) {
	if h, ok := out[key]; !ok || d < h.date {
		out[key] = supHit{"red", d, "", ent}
	}
}

// deref is *s, "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func supTruth(ds *Dataset) map[string]TruthRow {
	out := map[string]TruthRow{}
	for _, r := range ds.Truth {
		if supRules[r.RuleID] {
			out[r.RuleID+"|"+r.ObjectKey] = r
		}
	}
	return out
}

// supSimConfig plants every supervision rule often enough to be seen.
func supSimConfig() Config {
	return supConfig(0.05, 0.1, map[string]float64{"A21": 0.5, "B09": 0.2})
}

// supSim is the whole simulation under supSimConfig, generated once for the
// tests that only read it.
var supSim = sync.OnceValues(func() (*Dataset, error) { return Generate(supSimConfig()) })

// supRun generates the supervision records, either alone on hand-made
// declarations or within the whole simulation.
func supRun(t *testing.T, cfg Config, whole bool) (*World, *Dataset, []*DeclFacts) {
	t.Helper()
	if whole {
		gen := func() (*Dataset, error) { return Generate(cfg) }
		if reflect.DeepEqual(cfg, supSimConfig()) {
			gen = supSim
		}
		ds, err := gen()
		if err != nil {
			t.Fatal(err)
		}
		return newWorld(cfg), ds, nil
	}
	w := newWorld(cfg)
	facts := supHandFacts(w, 4000)
	ds, err := w.generateSupervision(facts).dataset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w, ds, facts
}

func TestSupervisionNormalKeepsLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		whole bool
	}{{"hand-made declarations", false}, {"whole simulation", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, ds, facts := supRun(t, supConfig(0, 0, nil), tc.whole)
			v := supViewOf(t, w, ds, facts)
			if len(v.cases) < 100 || len(v.audits) < 50 || len(v.leads) == 0 {
				t.Fatalf("too little data: %d cases, %d audits, %d leads", len(v.cases), len(v.audits), len(v.leads))
			}
			for k, h := range supBreaches(w, v) {
				t.Errorf("normal data breaches %s (%s from %s)", k, h.colour, h.date)
			}
			if n := len(supTruth(ds)); n > 0 {
				t.Errorf("%d truth rows without any rate", n)
			}
			if !tc.whole {
				supCheckPreference(t, v, facts)
			}
		})
	}
}

// supCheckPreference checks that cases follow mismatches far more often than
// other declarations.
func supCheckPreference(t *testing.T, v supView, facts []*DeclFacts) {
	t.Helper()
	onDecl := map[string]bool{}
	for _, c := range v.cases {
		if c.DeclNo != nil {
			onDecl[*c.DeclNo] = true
		}
	}
	var mismatch, mismatchCases, other, otherCases int
	for _, f := range facts {
		if f.Result == "mismatch" {
			mismatch++
			if onDecl[f.DeclNo] {
				mismatchCases++
			}
		} else {
			other++
			if onDecl[f.DeclNo] {
				otherCases++
			}
		}
	}
	if mismatch == 0 || float64(mismatchCases)/float64(mismatch) < 0.2 || float64(otherCases)/float64(other) > 0.01 {
		t.Errorf("cases on %d of %d mismatches and %d of %d others", mismatchCases, mismatch, otherCases, other)
	}
}

func TestSupervisionMatchStaysClean(t *testing.T) {
	t.Parallel()
	cfg := supConfig(0, 0, nil)
	w := newWorld(cfg)
	g := &supervisionGen{World: w, em: newEmitter(w.End), asOf: cfg.LastDay()}
	facts := supHandFacts(w, 3000)
	cases, _ := g.declSeeds(facts)
	for _, s := range cases {
		if s.decl.Result == "match" {
			t.Errorf("case on %s, inspected with result match", s.decl.DeclNo)
		}
	}
	for _, tc := range []struct {
		inspection, result string
		released           bool
		want               bool
	}{
		{"", "", true, true}, {"", "", false, false}, {"INS1", "", true, false},
		{"INS1", "match", true, false}, {"INS1", "mismatch", false, true},
	} {
		f := &DeclFacts{Inspection: tc.inspection, Result: tc.result}
		if got := supCaseShare(f, tc.released) > 0; got != tc.want {
			t.Errorf("inspection %q result %q released %v: case possible %v", tc.inspection, tc.result, tc.released, got)
		}
	}
	findings := map[string]map[string]int{"match": {}, "mismatch": {}}
	for i, f := range facts {
		if findings[f.Result] == nil {
			continue
		}
		opened := w.Cal.NextWorkday(cfg.Start.AddDays(-120 + i%60))
		g.emitAudit(auditSeed{sub: f.Sub, ent: f.Consignee, decl: f, opened: opened, report: w.Cal.AddWorkdays(opened, 10)}, fmt.Sprintf("AUDT%06d", i))
	}
	ds, err := g.em.dataset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	result := map[string]string{}
	for _, f := range facts {
		result[f.DeclNo] = f.Result
	}
	audits, _ := supLatest[schemas.Audit](t, w, ds, "audits")
	for _, a := range audits {
		findings[result[*a.DeclNo]][*a.Finding]++
	}
	if findings["match"]["discrepancy"] > 0 || findings["match"]["none"] < 100 || findings["mismatch"]["discrepancy"] == 0 {
		t.Errorf("audit findings by inspection result: %v", findings)
	}
}

func TestSupervisionTruthIsBreaches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		seed  uint64
		whole bool
	}{
		{"hand-made declarations", 1, false},
		{"hand-made declarations, other seed", 2, false},
		{"whole simulation", supSimConfig().Seed, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := supSimConfig()
			cfg.Seed = tc.seed
			w, ds, facts := supRun(t, cfg, tc.whole)
			hits, truth := supBreaches(w, supViewOf(t, w, ds, facts)), supTruth(ds)
			if n := len(slices.DeleteFunc(slices.Clone(ds.Truth), func(r TruthRow) bool { return !supRules[r.RuleID] })); n != len(truth) {
				t.Errorf("%d truth rows for %d objects", n, len(truth))
			}
			for k, r := range truth {
				if h, ok := hits[k]; !ok || h.colour != r.Colour || h.date != r.Date || h.ent != r.EntCode || h.officer != "" && h.officer != r.OfficerID {
					t.Errorf("truth %s %s from %s (%s): records show %+v", k, r.Colour, r.Date, r.Note, h)
				}
			}
			for k, h := range hits {
				if _, ok := truth[k]; !ok {
					t.Errorf("breach %s (%s from %s) has no truth row", k, h.colour, h.date)
				}
			}
			perRule := map[string]int{}
			for _, r := range truth {
				perRule[r.RuleID]++
			}
			for rule := range supRules {
				if perRule[rule] == 0 {
					t.Errorf("no %s rows; got %v", rule, perRule)
				}
			}
		})
	}
}

func TestSupervisionBackgroundRate(t *testing.T) {
	t.Parallel()
	const p = 0.2
	w, ds, facts := supRun(t, supConfig(p, 0, nil), false)
	v := supViewOf(t, w, ds, facts)
	asOf := w.cfg.LastDay()
	eligible := map[string]int{}
	for _, c := range v.cases {
		if w.Cal.NextWorkday(c.FiledOn.AddDays(90)) < asOf {
			eligible["A20"]++
		}
		if c.DecidedOn != nil {
			eligible["B17"]++
		}
		if h := c.GoodsHeldSince; h != nil && w.Cal.NextWorkday(h.AddDays(365)) < asOf {
			eligible["A21"]++
		}
	}
	for _, a := range v.audits {
		b09 := a.DeclNo != nil && v.matchDecls[*a.DeclNo] && a.Finding != nil && *a.Finding == "discrepancy"
		if a.ReportOn != nil && !b09 && w.Cal.NextWorkday(a.ReportOn.AddDays(30)) < asOf {
			eligible["A22"]++
		}
	}
	for _, f := range facts {
		if f.Result == "match" && !f.ReleasedAt.IsZero() && w.Cal.WorkdaysBetween(schemas.DateOf(f.ReleasedAt), asOf) >= 3 {
			eligible["B09"]++
		}
	}
	got := map[string]int{}
	for _, r := range supTruth(ds) {
		if r.Source != Background {
			t.Errorf("%s %s is %s with no anomaly rate", r.RuleID, r.ObjectKey, r.Source)
		}
		got[r.RuleID]++
	}
	checked := 0
	for rule, n := range eligible {
		if n < 50 {
			continue
		}
		checked++
		mean, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
		if math.Abs(float64(got[rule])-mean) > 4*sd+1 {
			t.Errorf("%s: %d background breaches among %d eligible, want about %.0f ± %.0f", rule, got[rule], n, mean, 4*sd)
		}
	}
	if checked < 4 {
		t.Errorf("only %d rules had 50 eligible objects: %v", checked, eligible)
	}
}

func TestSupervisionLeadsVerified(t *testing.T) {
	t.Parallel()
	w, ds, _ := supRun(t, supConfig(0, 0, nil), false)
	_, all := supLatest[schemas.Lead](t, w, ds, "leads")
	if len(all) < 5 {
		t.Fatalf("only %d leads", len(all))
	}
	verified := 0
	for id, vs := range all {
		if *vs[0].Verified != "pending" {
			t.Errorf("lead %s starts %s", id, *vs[0].Verified)
		}
		for _, l := range vs[1:] {
			if *l.Verified == "pending" {
				t.Errorf("lead %s returns to pending", id)
			}
		}
		if len(vs) > 1 {
			verified++
		}
	}
	if verified == 0 {
		t.Error("no lead was verified")
	}
}

func TestSupervisionDeterministic(t *testing.T) {
	t.Parallel()
	a, err := supSim()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(supSimConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, entity := range []string{"cases", "audits", "leads", "disposals"} {
		if len(a.Records(entity)) == 0 {
			t.Errorf("no %s", entity)
		}
		if !reflect.DeepEqual(a.Records(entity), b.Records(entity)) {
			t.Errorf("%s differ between two runs", entity)
		}
	}
	if !reflect.DeepEqual(a.Truth, b.Truth) {
		t.Error("truth differs between two runs")
	}
}

func BenchmarkSupervisionDistrict(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Scale = "district"
	w := newWorld(cfg)
	facts := supHandFacts(w, 20000*cfg.Days)
	b.ResetTimer()
	for b.Loop() {
		em := w.generateSupervision(facts)
		w.generateDisposals(em.truth)
	}
}
