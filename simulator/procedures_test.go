package simulator

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// The rules the tax and the procedures generators plant.
var (
	fuTaxRules  = []string{"A07", "A23", "B13", "V"}
	fuProcRules = []string{"A08", "A09", "A10", "A11", "A12", "A13", "A15", "A16", "A17", "A18", "A19", "B18"}
	fuRules     = slices.Concat(fuTaxRules, fuProcRules)
)

// fuHit is a breach found in the records, or a truth row, as compared: with
// the officer and enterprise the rule's warning names ("" for none).
type fuHit struct {
	rule, version, key, colour string
	date                       schemas.Date
	officer, ent               string
}

func (h fuHit) String() string {
	return fmt.Sprintf("%s v%s %s %s from %s officer %q ent %q", h.rule, h.version, h.key, h.colour, h.date, h.officer, h.ent)
}

func fuConfig(start string, days int, bg, anomaly float64, ruleRates map[string]float64) Config {
	cfg := DefaultConfig()
	cfg.Start, cfg.Days, cfg.BackgroundRate, cfg.AnomalyRate, cfg.RuleRates = schemas.MustDate(start), days, bg, anomaly, ruleRates
	return cfg
}

// fuRun generates the tax and procedures follow-up of hand-made declarations.
func fuRun(t *testing.T, cfg Config, declsPerDay int) (*World, []*DeclFacts, *Dataset, map[string]int) {
	t.Helper()
	w := newWorld(cfg)
	facts := fuFacts(w, declsPerDay)
	tax, eligible := w.taxFollowUp(facts)
	proc, pe := w.proceduresFollowUp(facts)
	for r, n := range pe {
		eligible[r] += n
	}
	em := newEmitter(w.End)
	em.Merge(tax)
	em.Merge(proc)
	ds, err := em.dataset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w, facts, ds, eligible
}

// fuLatest decodes every version of entity, checks that it is dated before
// the end, and returns each key's latest version and all its versions.
func fuLatest[T any](t *testing.T, w *World, ds *Dataset, entity string) (map[string]*T, map[string][]*T) {
	t.Helper()
	e, err := schemas.Lookup(entity)
	if err != nil {
		t.Fatal(err)
	}
	latest, all := map[string]*T{}, map[string][]*T{}
	for _, r := range ds.Records(entity) {
		rec, err := e.Decode(r.JSON)
		if err != nil {
			t.Fatalf("%s %s does not decode: %v", entity, r.Key, err)
		}
		if !r.UpdatedAt.Before(w.End) {
			t.Errorf("%s %s: version at %s is after the end", entity, r.Key, r.UpdatedAt)
		}
		v := rec.(*T)
		latest[r.Key] = v
		all[r.Key] = append(all[r.Key], v)
	}
	return latest, all
}

func fuGrade(v, yellowMax, orangeMax int) string {
	switch {
	case v <= yellowMax:
		return "yellow"
	case v <= orangeMax:
		return "orange"
	}
	return "red"
}

// fuEval finds the breaches in the records as of the last day, the way
// rules.md states the rules.
type fuEval struct {
	t    *testing.T
	w    *World
	asOf schemas.Date
	// consignees is each declaration's consignee, as the declaration
	// records the rules join give it; taxpayers the enterprise of a USCC
	// (the lowest ent_code where several share one); payers the enterprise
	// of each customs voucher's taxpayer.
	consignees, taxpayers, payers map[string]string
	hits                          []fuHit
}

// newFuEval reads the declarations from the records, or from the
// hand-made facts that stand for them.
func newFuEval(t *testing.T, w *World, ds *Dataset, facts []*DeclFacts) *fuEval {
	e := &fuEval{t: t, w: w, asOf: w.cfg.LastDay(), consignees: map[string]string{}, taxpayers: map[string]string{}, payers: map[string]string{}}
	for _, ent := range w.Ents {
		if c, ok := e.taxpayers[ent.USCC]; !ok || ent.Code < c {
			e.taxpayers[ent.USCC] = ent.Code
		}
	}
	decls, _ := fuLatest[schemas.Declaration](t, w, ds, "declarations")
	for no, d := range decls {
		if d.ConsigneeCode != nil {
			e.consignees[no] = *d.ConsigneeCode
		}
	}
	vouchers, _ := fuLatest[schemas.TaxVoucher](t, w, ds, "tax_vouchers")
	for no, v := range vouchers {
		if v.TaxpayerUSCC != nil {
			e.payers[no] = e.taxpayers[*v.TaxpayerUSCC]
		}
	}
	for _, f := range facts {
		if f.Consignee != nil {
			e.consignees[f.DeclNo] = f.Consignee.Code
		}
		for _, v := range f.Vouchers {
			e.payers[v.VoucherNo] = e.taxpayers[v.Taxpayer]
		}
	}
	return e
}

// consignee is the consignee of the declaration no names, "" if none.
func (e *fuEval) consignee(no *string) string {
	if no == nil {
		return ""
	}
	return e.consignees[*no]
}

func (e *fuEval) add(rule, key, colour string, date schemas.Date, officer *string, ent string) {
	e.hits = append(e.hits, fuHit{rule: rule, version: "1", key: key, colour: colour, date: date, officer: deref(officer), ent: ent})
}

func (e *fuEval) rollCD(d schemas.Date, n int) schemas.Date { return e.w.Cal.NextWorkday(d.AddDays(n)) }

// doneBy is the day of an optional step, or the as-of date.
func (e *fuEval) doneBy(d *schemas.Date) schemas.Date {
	if d == nil {
		return e.asOf
	}
	return *d
}

func (e *fuEval) doneAt(t *time.Time) schemas.Date {
	if t == nil {
		return e.asOf
	}
	return schemas.DateOf(t.In(schemas.Shanghai))
}

// wdLate is the working days from a WD limit to done; a breach less than a
// whole working day late would be graded differently by different readings.
func (e *fuEval) wdLate(rule, key string, limit, done schemas.Date) int {
	n := e.w.Cal.WorkdaysBetween(limit, done)
	if n < 1 {
		e.t.Errorf("%s %s: breached on %s but no working day after the limit %s", rule, key, done, limit)
	}
	return n
}

func (e *fuEval) procedures(ds *Dataset) {
	e.manuals(ds)
	e.admissions(ds)
	e.transits(ds)
	e.guarantees(ds)
	e.licences(ds)
}

func (e *fuEval) manuals(ds *Dataset) {
	manuals, _ := fuLatest[schemas.Manual](e.t, e.w, ds, "manuals")
	for key, m := range manuals {
		end := *m.ValidUntil
		for _, d := range []*schemas.Date{m.LastExportOn, m.TerminatedOn} {
			if d != nil {
				end = min(end, *d)
			}
		}
		if limit, done := e.rollCD(end, 30), e.doneBy(m.CloseoutFiledOn); done > limit {
			e.add("A08", key, fuGrade(int(done-end), 60, 90), limit+1, m.OfficerID, deref(m.EntCode))
		}
		if m.CloseoutAcceptedOn != nil {
			days := 30
			if m.ExtensionApproved != nil && *m.ExtensionApproved {
				days = 60
			}
			if limit, done := e.rollCD(*m.CloseoutAcceptedOn, days), e.doneBy(m.ClosedOn); done > limit {
				e.add("A09", key, fuGrade(int(done-limit), 15, 30), limit+1, m.OfficerID, deref(m.EntCode))
			}
		}
		if m.ClosedOn != nil && *m.UnexplainedBalanceValue > 0 {
			colour := "red"
			switch v := *m.UnexplainedBalanceValue; {
			case v < schemas.Yuan(10_000):
				colour = "yellow"
			case v < schemas.Yuan(100_000):
				colour = "orange"
			}
			e.add("B18", key, colour, *m.ClosedOn, m.OfficerID, deref(m.EntCode))
		}
	}
}

func (e *fuEval) admissions(ds *Dataset) {
	tas, history := fuLatest[schemas.TemporaryAdmission](e.t, e.w, ds, "temporary_admissions")
	for key, ta := range tas {
		due := *ta.DueOn
		if ta.ExtendedUntil != nil {
			due = *ta.ExtendedUntil
		}
		if done := e.doneBy(ta.ClosedOn); done > due {
			e.add("A10", key, fuGrade(int(done-due), 30, 90), due+1, ta.OfficerID, deref(ta.EntCode))
		}
		if *ta.ApprovalLevel == "gac" {
			continue
		}
		colour := "orange"
		if due > addMonths(*ta.AdmittedOn, 24) {
			colour = "red"
		}
		for _, v := range history[key] {
			if *v.Extensions > 3 || (v.ExtendedUntil != nil && *v.ExtendedUntil > addMonths(*v.AdmittedOn, 18)) {
				e.add("A11", key, colour, schemas.DateOf(v.UpdatedAt.In(schemas.Shanghai)), ta.OfficerID, deref(ta.EntCode))
				break
			}
		}
	}
}

func (e *fuEval) transits(ds *Dataset) {
	transits, _ := fuLatest[schemas.Transit](e.t, e.w, ds, "transits")
	for key, tr := range transits {
		if tr.ArrivalLimit != nil && tr.CancelledAt == nil {
			if limit, done := *tr.ArrivalLimit, e.doneAt(tr.ClosedAt); done > limit {
				e.add("A12", key, fuGrade(int(done-limit), 3, 10), limit+1, tr.OfficerID, e.consignee(tr.DeclNo))
			}
		}
		// An early declaration whose goods moved (it has an arrival limit)
		// is A12's: late arrival is a transit not closed, not a filing
		// left uncancelled.
		if *tr.Mode == "early_declaration" && tr.ArrivalLimit == nil && tr.ArrivedAt == nil {
			filed := schemas.DateOf(tr.FiledAt.In(schemas.Shanghai))
			if limit, done := e.rollCD(filed, 5), e.doneAt(tr.CancelledAt); done > limit {
				e.add("A13", key, fuGrade(int(done-filed), 10, 30), limit+1, tr.OfficerID, e.consignee(tr.DeclNo))
			}
		}
	}
}

func (e *fuEval) guarantees(ds *Dataset) {
	guarantees, _ := fuLatest[schemas.Guarantee](e.t, e.w, ds, "guarantees")
	for key, g := range guarantees {
		n := 5
		if *g.Kind == "general" {
			n = 10
		}
		if limit, done := e.w.Cal.AddWorkdays(e.doneAt(g.AppliedAt), n), e.doneAt(g.AcceptedAt); done > limit {
			e.add("A17", key, fuGrade(e.wdLate("A17", key, limit, done), 3, 10), limit+1, g.OfficerID, e.consignee(g.DeclNo))
		}
		if g.ObligationMet != nil {
			met := *g.ObligationMet
			if limit, done := e.w.Cal.AddWorkdays(met, 10), e.doneBy(g.ReturnNoticeOn); done > limit {
				e.wdLate("A18", key, limit, done)
				e.add("A18", key, fuGrade(int(done-met), 30, 90), limit+1, g.OfficerID, e.consignee(g.DeclNo))
			}
		}
		if g.ReturnNoticeOn == nil {
			continue
		}
		m3, m15 := e.rollCD(addMonths(*g.ReturnNoticeOn, 3), 0), e.rollCD(addMonths(*g.ReturnNoticeOn, 15), 0)
		uncollected := func(by schemas.Date) bool { return g.CollectedOn == nil || *g.CollectedOn > by }
		switch {
		case g.PublicNoticeOn == nil && e.asOf > m3 && uncollected(m3):
			colour := "orange"
			if e.asOf > m15 && uncollected(m15) {
				colour = "red"
			}
			e.add("A19", key, colour, m3+1, g.OfficerID, e.consignee(g.DeclNo))
		case g.PublicNoticeOn != nil && *g.PublicNoticeOn > m3:
			e.add("A19", key, "orange", m3+1, g.OfficerID, e.consignee(g.DeclNo))
		case e.doneBy(g.ConfiscatedOn) > m15 && uncollected(m15):
			e.add("A19", key, "red", m15+1, g.OfficerID, e.consignee(g.DeclNo))
		}
	}
}

func (e *fuEval) licences(ds *Dataset) {
	licences, _ := fuLatest[schemas.Licence](e.t, e.w, ds, "licences")
	for key, l := range licences {
		rule, n, yellow := "A16", 10, 5
		if *l.Kind == "licence" {
			rule, n, yellow = "A15", 20, 10
			if *l.ExtensionApproved {
				n = 30
			}
		}
		if limit, done := e.w.Cal.AddWorkdays(*l.AcceptedOn, n), e.doneBy(l.DecidedOn); done > limit {
			e.add(rule, key, fuGrade(e.wdLate(rule, key, limit, done), yellow, 2*yellow), limit+1, l.OfficerID, deref(l.EntCode))
		}
	}
}

// fuTruthHits is the dataset's truth rows of the follow-up rules.
func fuTruthHits(ds *Dataset) []fuHit {
	var out []fuHit
	for _, r := range ds.Truth {
		if slices.Contains(fuRules, r.RuleID) {
			out = append(out, fuHit{rule: r.RuleID, version: r.RuleVersion, key: r.ObjectKey, colour: r.Colour, date: r.Date, officer: r.OfficerID, ent: r.EntCode})
		}
	}
	return out
}

// fuCompare reports the breaches without a truth row and the truth rows
// without a breach.
func fuCompare(t *testing.T, found, truth []fuHit) {
	t.Helper()
	cmp := func(a, b fuHit) int { return strings.Compare(a.String(), b.String()) }
	slices.SortFunc(found, cmp)
	slices.SortFunc(truth, cmp)
	var extra, missing []string
	for i, j := 0, 0; i < len(found) || j < len(truth); {
		switch {
		case j == len(truth) || (i < len(found) && cmp(found[i], truth[j]) < 0):
			extra = append(extra, found[i].String())
			i++
		case i == len(found) || cmp(found[i], truth[j]) > 0:
			missing = append(missing, truth[j].String())
			j++
		default:
			i, j = i+1, j+1
		}
	}
	if len(extra) > 0 {
		t.Errorf("%d breaches in the records have no truth row, e.g. %s", len(extra), strings.Join(extra[:min(5, len(extra))], "; "))
	}
	if len(missing) > 0 {
		t.Errorf("%d truth rows have no breach in the records, e.g. %s", len(missing), strings.Join(missing[:min(5, len(missing))], "; "))
	}
}

// fuBoost raises the rates of the rules with few eligible objects, so that
// every rule is planted at least once.
var fuBoost = map[string]float64{"A08": 0.2, "A09": 0.2, "A13": 0.5, "A15": 0.1, "A19": 0.5, "B18": 0.2}

// fuCases span the default period (ending on a National Day holiday) and
// one that runs over the Spring Festival.
var fuCases = []struct {
	name      string
	cfg       Config
	perDay    int
	everyRule bool // every rule must have a truth row
}{
	{"clean", fuConfig("2026-09-07", 28, 0, 0, nil), 80, false},
	{"default period", fuConfig("2026-09-07", 28, 0.03, 0.05, fuBoost), 80, true},
	{"spring festival", fuConfig("2026-01-19", 45, 0.03, 0.05, fuBoost), 40, true},
}

// fuCheckCase compares the breaches of rules found in the records with the
// truth rows of those rules.
func fuCheckCase(t *testing.T, rules []string, found []fuHit, ds *Dataset, cfg Config, everyRule bool) {
	t.Helper()
	var truth []fuHit
	seen := map[string]bool{}
	for _, h := range fuTruthHits(ds) {
		if slices.Contains(rules, h.rule) {
			truth = append(truth, h)
			seen[h.rule] = true
		}
	}
	if cfg.BackgroundRate == 0 && cfg.AnomalyRate == 0 && (len(truth) > 0 || len(found) > 0) {
		t.Errorf("with no deviation rates: %d truth rows, %d breaches", len(truth), len(found))
	}
	for _, r := range rules {
		if everyRule && !seen[r] {
			t.Errorf("no truth row of %s", r)
		}
	}
	fuCompare(t, found, truth)
}

func TestProceduresTruthMatchesRecords(t *testing.T) {
	t.Parallel()
	for _, tc := range fuCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, facts, ds, _ := fuRun(t, tc.cfg, tc.perDay)
			e := newFuEval(t, w, ds, facts)
			e.procedures(ds)
			fuCheckCase(t, fuProcRules, e.hits, ds, tc.cfg, tc.everyRule)
		})
	}
}

// fuBinomial checks each rule's background breaches against the rate, at
// 4.5 standard deviations, where enough objects were eligible.
func fuBinomial(t *testing.T, ds *Dataset, eligible map[string]int, rules []string, rate float64) {
	t.Helper()
	got := map[string]float64{}
	for _, r := range ds.Truth {
		if r.Source != Background {
			t.Errorf("%s %s: source %s with an anomaly rate of 0", r.RuleID, r.ObjectKey, r.Source)
		}
		if r.RuleID == "V" && strings.HasPrefix(r.Note, "duplicate") {
			got[r.RuleID] += 0.5 // both submissions of one duplicate
		} else {
			got[r.RuleID]++
		}
	}
	tested := 0
	for _, rule := range rules {
		n := float64(eligible[rule])
		if n < 300 {
			continue
		}
		tested++
		sd := math.Sqrt(n * rate * (1 - rate))
		if math.Abs(got[rule]-n*rate) > 4.5*sd {
			t.Errorf("%s: %.0f background breaches among %.0f eligible, want %.0f ± %.0f", rule, got[rule], n, n*rate, 4.5*sd)
		}
	}
	if tested < len(rules)/2 {
		t.Errorf("only %d of %d rules had enough eligible objects: %v", tested, len(rules), eligible)
	}
}

func TestProceduresBackgroundRate(t *testing.T) {
	t.Parallel()
	cfg := fuConfig("2026-09-07", 28, 0.05, 0, nil)
	cfg.Scale = "district"
	w := newWorld(cfg)
	em, eligible := w.proceduresFollowUp(nil)
	ds, err := em.dataset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fuBinomial(t, ds, eligible, fuProcRules, cfg.BackgroundRate)
}

// TestProceduresDeterministic checks that the same config gives the same
// procedures and tax records, byte for byte, and the same truth.
func TestProceduresDeterministic(t *testing.T) {
	t.Parallel()
	cfg := fuConfig("2026-09-07", 28, 0.03, 0.05, nil)
	_, _, a, _ := fuRun(t, cfg, 30)
	_, _, b, _ := fuRun(t, cfg, 30)
	for _, name := range []string{"manuals", "temporary_admissions", "transits", "guarantees", "licences", "voucher_checks", "voucher_inquiries", "refunds"} {
		ra, rb := a.Records(name), b.Records(name)
		if len(ra) == 0 {
			t.Errorf("%s: no records", name)
		}
		if len(ra) != len(rb) {
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
