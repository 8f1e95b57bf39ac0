package simulator

import (
	"cmp"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// TestTiesBinomUpper checks the binomial upper tail against exact values
// (sums of exact rational terms).
func TestTiesBinomUpper(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n, x int
		p    float64
		want float64
	}{
		{20, 8, 1.0 / 8, 0.0018522166466554309},
		{100, 35, 1.0 / 8, 6.155857939110826e-09},
		{40, 14, 1.0 / 8, 0.00021576332310545559},
		{1000, 160, 1.0 / 9, 1.92416956061245e-06},
		{10, 1, 0.5, 0.9990234375},
		{10, 10, 0.5, 0.0009765625},
		{500, 60, 0.1, 0.08098716222703263},
		{2000, 320, 1.0 / 8, 2.808965528478293e-06},
		{10, 0, 0.5, 1},
		{10, 11, 0.5, 0},
	} {
		if got := binomUpper(c.n, c.x, c.p); math.Abs(got-c.want) > 1e-9*c.want {
			t.Errorf("P(Bin(%d, %.4f) >= %d) = %.17g, want %.17g", c.n, c.p, c.x, got, c.want)
		}
	}
}

// TestTiesBenjaminiHochberg checks the step-up on a textbook case: with
// m = 10 and alpha 0.05 the thresholds are 0.005, 0.01, ...; the third
// smallest p-value (0.012 <= 0.015) carries the first two with it.
func TestTiesBenjaminiHochberg(t *testing.T) {
	t.Parallel()
	var ts []pairHit
	for i, p := range []float64{0.04, 0.012, 0.001, 0.011, 0.5, 0.03} {
		ts = append(ts, pairHit{officer: string(rune('a' + i)), p: p})
	}
	var got []string
	for _, h := range benjaminiHochberg(ts, 10, 0.05) {
		got = append(got, h.officer)
	}
	slices.Sort(got)
	if want := []string{"b", "c", "d"}; !slices.Equal(got, want) {
		t.Errorf("significant %v, want %v", got, want)
	}
}

// TestTiesQuarters checks the quarter labels C02 counts by.
func TestTiesQuarters(t *testing.T) {
	t.Parallel()
	if q := quarterOf(schemas.MustDate("2026-09-30")); q != "2026Q3" {
		t.Errorf("quarter of 09-30 = %s", q)
	}
	if e := quarterEnd("2026Q4"); e != schemas.MustDate("2026-12-31") {
		t.Errorf("end of 2026Q4 = %s", e)
	}
	if p := previousQuarter("2026Q1"); p != "2025Q4" {
		t.Errorf("quarter before 2026Q1 = %s", p)
	}
	if d := addYears(schemas.MustDate("2020-02-29"), 5); d != schemas.MustDate("2025-02-28") {
		t.Errorf("5 years after 2020-02-29 = %s", d)
	}
}

// tiesData generates the small configuration with C01, C02 and B08
// planted at rates that give several cases, and their ground truth. C03
// and C08 are not planted: their draws would reshuffle the data B08's few
// suppressors are seen in.
var tiesData = sync.OnceValues(func() (*clearanceView, []TruthRow) {
	return relationshipData(DefaultConfig().Days, map[string]float64{"C01": 0.08, "C02": 0.3, "B08": 0.1, "C03": 0, "C08": 0})
})

// favourData generates the small configuration over six weeks, for the
// volume C07 and C08 need, with C03, C07 and C08 planted at rates that give
// several cases, and the ground truth.
var favourData = sync.OnceValues(func() (*clearanceView, []TruthRow) {
	return relationshipData(42, map[string]float64{"C03": 0.03, "C07": 0.05, "C08": 0.03})
})

// relationshipData generates the small configuration's clearance over days
// with the given planted rates, decoded, and the statistical relationship
// truth.
func relationshipData(days int, rates map[string]float64) (*clearanceView, []TruthRow) {
	cfg := DefaultConfig()
	cfg.Days = days
	cfg.RuleRates = rates
	w := newWorld(cfg)
	em, facts, stats := w.clearance()
	truth := newEmitter(w.End)
	truth.records = em.records
	w.relationshipTruth(truth, facts)
	ds, err := em.dataset(cfg)
	if err != nil {
		panic(err)
	}
	return decodeView(w, ds, stats), truth.truth
}

// tiesReleases re-derives the handlings from the records: the release and
// manual review events with their declaration's consignee, broker and the
// subordinate customs of the department that recorded them.
func (v *clearanceView) tiesReleases() []release {
	sub := map[string]string{}
	for _, d := range v.w.Depts {
		if d.Sub != nil {
			sub[d.ID] = d.Sub.ID
		}
	}
	var out []release
	for no, evs := range v.events {
		d := v.decls[no]
		for _, e := range evs {
			post := map[string]string{"release": "release", "manual_review": "declaration_review"}[*e.Step]
			if post != "" && e.OfficerID != nil {
				out = append(out, release{post, *e.OfficerID, *d.ConsigneeCode, *d.DeclarantCode, sub[*e.DeptID], schemas.DateOf(*e.OccurredAt)})
			}
		}
	}
	return out
}

// TestTiesCollusion re-derives C01 and C02 from the records and checks that
// every truth row is a hit with the truth's colour, that the planted pairs
// are found, and that hardly any hit comes from normal assignment.
func TestTiesCollusion(t *testing.T) {
	t.Parallel()
	v, truth := tiesData()
	last := v.w.cfg.LastDay()
	found := map[string]string{}
	for _, h := range shareHits(v.tiesReleases(), last) {
		found["C01 "+h.officer+"|"+h.ent] = h.colour
	}
	for _, h := range brokerHits(v.tiesReleases(), last) {
		found["C02 "+h.officer+"|"+h.ent] = h.colour
	}
	perRule := map[string]int{}
	for _, r := range truth {
		if r.RuleID != "C01" && r.RuleID != "C02" {
			continue
		}
		perRule[r.RuleID]++
		if c, ok := found[r.RuleID+" "+r.ObjectKey]; !ok || c != r.Colour {
			t.Errorf("%s %s (%s): re-derived %q", r.RuleID, r.ObjectKey, r.Colour, c)
		}
	}
	if perRule["C01"] == 0 || perRule["C02"] == 0 {
		t.Errorf("truth rows per rule %v, want some of C01 and C02", perRule)
	}
	planted := map[string]int{}
	for _, c := range v.w.collusions {
		planted[c.rule]++
	}
	t.Logf("planted %v, truth %v, hits %d", planted, perRule, len(found))
	if extra := len(found) - perRule["C01"] - perRule["C02"]; extra > len(truth)/10 {
		t.Errorf("%d hits not in the truth (normal assignment firing), %d truth rows", extra, len(truth))
	}
}

// TestTiesNormalAssignmentQuiet checks that without planted biases the
// statistics find nothing at all.
func TestTiesNormalAssignmentQuiet(t *testing.T) {
	t.Parallel()
	v := clearanceViewFor(0, 0)
	rels := v.tiesReleases()
	if hs := shareHits(rels, v.w.cfg.LastDay()); len(hs) > 0 {
		t.Errorf("C01 fires on normal assignment: %+v", hs[0])
	}
	if hs := brokerHits(rels, v.w.cfg.LastDay()); len(hs) > 0 {
		t.Errorf("C02 fires on normal assignment: %+v", hs[0])
	}
}

// TestTiesDeterministic checks that the planted biases depend on the seed alone.
func TestTiesDeterministic(t *testing.T) {
	t.Parallel()
	key := func(w *World) []string {
		var out []string
		for k, c := range w.collusions {
			out = append(out, k.ent.Code+k.post+c.rule+c.officer.ID+c.source)
		}
		slices.Sort(out)
		return out
	}
	cfg := DefaultConfig()
	cfg.RuleRates = map[string]float64{"C01": 0.1, "C02": 0.3}
	a, b := key(newWorld(cfg)), key(newWorld(cfg))
	if len(a) == 0 || !slices.Equal(a, b) {
		t.Errorf("collusions differ between two builds of one config (%d, %d)", len(a), len(b))
	}
}

// TestTiesLongTenure re-derives C06 from the officers' records as of the
// last day: an active officer whose current version holds a sensitive post
// since 5 years or more, graded 5/6/7 years.
func TestTiesLongTenure(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.RuleRates = map[string]float64{"C06": 0.2}
	ds, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := schemas.Lookup("officers")
	latest := map[string]*schemas.Officer{}
	for _, r := range ds.Records("officers") {
		rec, err := e.Decode(r.JSON)
		if err != nil {
			t.Fatal(err)
		}
		latest[r.Key] = rec.(*schemas.Officer)
	}
	last := cfg.LastDay()
	want := map[string]string{}
	for id, o := range latest {
		if *o.Status != "active" || !slices.Contains(SensitivePosts, *o.Post) || addYears(*o.PostSince, 5) > last {
			continue
		}
		colour := yellow
		switch {
		case addYears(*o.PostSince, 7) <= last:
			colour = red
		case addYears(*o.PostSince, 6) <= last:
			colour = orange
		}
		want[id] = colour + " " + addYears(*o.PostSince, 5).String()
	}
	got := map[string]string{}
	for _, r := range ds.Truth {
		if r.RuleID == "C06" {
			got[r.ObjectKey] = r.Colour + " " + r.Date.String()
		}
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Errorf("C06: %d truth rows, %d re-derived", len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("C06 %s: truth %q, re-derived %q", id, got[id], w)
		}
	}
}

// TestTiesPairWarnings checks C04's truth from a/b truth rows: two
// warnings of one pair in a quarter are orange from the second, three red;
// one per quarter, or without an officer or enterprise, is nothing.
func TestTiesPairWarnings(t *testing.T) {
	t.Parallel()
	d := schemas.MustDate
	rows := []TruthRow{
		{RuleID: "A01", ObjectKey: "1", OfficerID: "o1", EntCode: "e1", Date: d("2026-09-08")},
		{RuleID: "B01", ObjectKey: "2", OfficerID: "o1", EntCode: "e1", Date: d("2026-09-21")},
		{RuleID: "A01", ObjectKey: "3", OfficerID: "o2", EntCode: "e2", Date: d("2026-09-10")},
		{RuleID: "A01", ObjectKey: "4", OfficerID: "o2", EntCode: "e2", Date: d("2026-09-15")},
		{RuleID: "B16", ObjectKey: "5", OfficerID: "o2", EntCode: "e2", Date: d("2026-09-28")},
		{RuleID: "A04", ObjectKey: "6", OfficerID: "o3", EntCode: "e3", Date: d("2026-09-30")},
		{RuleID: "B07", ObjectKey: "7", OfficerID: "o3", EntCode: "e3", Date: d("2026-10-08")},
		{RuleID: "B05", ObjectKey: "8", OfficerID: "o4", Date: d("2026-09-10")},
		{RuleID: "B05", ObjectKey: "9", OfficerID: "o4", Date: d("2026-09-11")},
		{RuleID: "C05", ObjectKey: "o3|e3", OfficerID: "o3", EntCode: "e3", Date: d("2026-10-09")},
	}
	got := pairWarningTruth(rows)
	slices.SortFunc(got, func(a, b TruthRow) int { return cmp.Compare(a.ObjectKey, b.ObjectKey) })
	want := []TruthRow{
		{RuleID: "C04", ObjectKey: "o1|e1", Colour: orange, Date: d("2026-09-21"), Period: "2026Q3"},
		{RuleID: "C04", ObjectKey: "o2|e2", Colour: red, Date: d("2026-09-15"), Period: "2026Q3"},
	}
	if len(got) != len(want) {
		t.Fatalf("C04 truth %+v, want %+v", got, want)
	}
	for i, w := range want {
		g := got[i]
		if g.ObjectKey != w.ObjectKey || g.Colour != w.Colour || g.Date != w.Date || g.Period != w.Period || g.RuleID != "C04" {
			t.Errorf("C04 truth %+v, want %+v", g, w)
		}
	}
}

// TestTiesInspectionRate re-derives B08 from the inspection records (team,
// result, finish, the declaration's customs code) and checks it against the
// truth, and that most planted officers who hide findings are found.
func TestTiesInspectionRate(t *testing.T) {
	t.Parallel()
	v, truth := tiesData()
	subOf := map[string]string{}
	for _, s := range v.w.Subs {
		subOf[s.CustomsCode] = s.ID
	}
	var slots []inspectionSlot
	for _, in := range v.insps {
		if in.Result == nil || in.FinishedAt == nil {
			continue
		}
		var ids []string
		if err := json.Unmarshal([]byte(*in.Officers), &ids); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			slots = append(slots, inspectionSlot{id, subOf[*v.decls[*in.DeclNo].CustomsCode], schemas.DateOf(*in.FinishedAt), *in.Result == "match"})
		}
	}
	want := map[string]string{}
	for _, h := range inspectionHits(slots, v.w.cfg.LastDay()) {
		want[h.officer+" "+h.period] = h.colour
	}
	got, planted := map[string]string{}, 0
	for _, r := range truth {
		if r.RuleID == "B08" {
			got[r.ObjectKey+" "+r.Period] = r.Colour
			if r.Source == Planted {
				planted++
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("B08 truth %v, re-derived %v", got, want)
	}
	t.Logf("B08: %d suppressors planted, %d truth rows, %d of them planted", len(v.w.suppressors), len(got), planted)
	// At small scale over four weeks a suppressor's z is about 2 (some 130
	// inspections a quarter, and the team mates of suppressors lift the
	// peers' rate), so only about half are found, which way the draws
	// fall: require one, and most truth rows to be planted.
	if len(v.w.suppressors) == 0 || planted == 0 || planted*2 < len(got) {
		t.Errorf("B08: %d planted officers, %d found, %d truth rows", len(v.w.suppressors), planted, len(got))
	}
}

// TestTiesReassignments re-derives C03 from the reassign steps of the
// records: per receiving officer and quarter, the distinct declarations
// handed over, yellow from 5 on the day of the fifth, orange from 10, red
// from 20. Every such officer must be a truth row with that day and colour
// (normal reassignment never reaches five), and the planted favourites must
// be among them.
func TestTiesReassignments(t *testing.T) {
	t.Parallel()
	v, truth := favourData()
	type cell struct{ to, quarter string }
	first := map[cell]map[string]time.Time{}
	for no, evs := range v.events {
		for _, e := range evs {
			if *e.Step != "reassign" {
				continue
			}
			var d struct{ To string }
			if err := json.Unmarshal([]byte(*e.Detail), &d); err != nil {
				t.Fatal(err)
			}
			c := cell{d.To, quarterOf(schemas.DateOf(*e.OccurredAt))}
			if first[c] == nil {
				first[c] = map[string]time.Time{}
			}
			if at, ok := first[c][no]; !ok || e.OccurredAt.Before(at) {
				first[c][no] = *e.OccurredAt
			}
		}
	}
	want := map[string]string{}
	for c, decls := range first {
		if len(decls) < 5 {
			continue
		}
		var ats []time.Time
		for _, at := range decls {
			ats = append(ats, at)
		}
		slices.SortFunc(ats, time.Time.Compare)
		colour := "yellow"
		if len(decls) >= 20 {
			colour = "red"
		} else if len(decls) >= 10 {
			colour = "orange"
		}
		want[c.to+" "+c.quarter] = colour + " " + schemas.DateOf(ats[4]).String()
	}
	got, favoured := map[string]string{}, 0
	for _, r := range truth {
		if r.RuleID == "C03" {
			got[r.ObjectKey+" "+r.Period] = r.Colour + " " + r.Date.String()
			for _, f := range v.w.favourites[v.w.OfficerByID(r.OfficerID).At(r.Date).Dept.Sub] {
				if f.ID == r.OfficerID {
					favoured++
				}
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("C03 truth %v, re-derived %v", got, want)
	}
	t.Logf("C03: %d truth rows, %d of them favourites: %v", len(got), favoured, got)
	if len(got) == 0 || favoured != len(got) {
		t.Errorf("C03: %d truth rows, %d of them the chief's favourites", len(got), favoured)
	}
}

// TestTiesSpeed re-derives C08 from the records — the release events with
// their declaration's acceptance and consignee — and checks that the truth
// rows are exactly the hits on planted fast tracks, with their colours, that
// most fast tracks are found and that hardly any hit comes from normal
// release.
func TestTiesSpeed(t *testing.T) {
	t.Parallel()
	v, truth := favourData()
	var cs []clearing
	volume := map[string]int{}
	for no, evs := range v.events {
		d := v.decls[no]
		for _, e := range evs {
			if *e.Step == "release" && e.OfficerID != nil {
				cs = append(cs, clearingOf(*e.OfficerID, *d.ConsigneeCode, *d.DeclaredAt, *e.OccurredAt))
				volume[*e.OfficerID+"|"+*d.ConsigneeCode]++
			}
		}
	}
	ents := map[string]*Ent{}
	for _, e := range v.w.Ents {
		ents[e.Code] = e
	}
	want, chance := map[string]string{}, 0
	for _, h := range speedHits(cs, v.w.cfg.LastDay()) {
		if k := h.officer + "|" + h.ent; v.w.speedSource(h.officer, ents[h.ent]) != "" {
			want[k] = h.colour
		} else {
			chance++
			t.Logf("C08 chance hit %+v", h)
		}
	}
	got := map[string]string{}
	for _, r := range truth {
		if r.RuleID == "C08" {
			got[r.ObjectKey] = r.Colour
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("C08 truth %v, re-derived %v", got, want)
	}
	planted, seen := 0, 0
	for e, fs := range v.w.fastTracks {
		for _, f := range fs {
			planted++
			if k := f.officer.ID + "|" + e.Code; volume[k] >= 20 {
				seen++
				if got[k] == "" {
					t.Errorf("C08: fast track %s released %d, not found", k, volume[k])
				}
			}
		}
	}
	// The fast tracks keep the favoured officers' shares even: C01 and C02
	// must not see them.
	for _, h := range append(shareHits(v.tiesReleases(), v.w.cfg.LastDay()), brokerHits(v.tiesReleases(), v.w.cfg.LastDay())...) {
		if v.w.linked(v.w.OfficerByID(h.officer), ents[h.ent], colludedPost) == nil {
			t.Errorf("C01/C02 hit %s|%s not from a planted bias", h.officer, h.ent)
		}
	}
	t.Logf("C08: %d fast tracks planted, %d with 20 releases, %d truth rows %v, %d chance hits", planted, seen, len(got), got, chance)
	if seen == 0 || chance > 0 {
		t.Errorf("C08: %d planted fast tracks with volume, %d chance hits", seen, chance)
	}
}
