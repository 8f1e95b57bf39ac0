package simulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hlwarn/hlwarn/schemas"
)

// dspHandTruth makes n warnings of every colour dated from three weeks
// before the period to its last day, about officers, enterprises or neither.
func dspHandTruth(w *World, n int) []TruthRow {
	rng := rand.New(rand.NewPCG(11, uint64(n)))
	em := newEmitter(w.End)
	colours := []string{"yellow", "orange", "red"}
	for i := range n {
		t := TruthRow{RuleID: "A20", Source: Planted, ObjectType: "cases", ObjectKey: fmt.Sprintf("CASE%06d", i),
			Date: w.cfg.Start.AddDays(-21 + rng.IntN(w.cfg.Days+21)), Colour: colours[i%3]}
		switch i % 3 {
		case 0:
			t.OfficerID = w.Officers[rng.IntN(len(w.Officers))].ID
		case 1:
			t.EntCode = w.Ents[rng.IntN(len(w.Ents))].Code
		}
		em.Truth(t)
	}
	return em.truth
}

// dspChains decodes the disposals and groups them by warning, in step order.
func dspChains(t *testing.T, w *World, em *Emitter) map[string][]*schemas.Disposal {
	t.Helper()
	ds, err := em.dataset(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := supLatest[schemas.Disposal](t, w, ds, "disposals")
	chains := map[string][]*schemas.Disposal{}
	for _, d := range latest {
		chains[*d.WarningID] = append(chains[*d.WarningID], d)
	}
	for _, c := range chains {
		slices.SortFunc(c, func(a, b *schemas.Disposal) int { return strings.Compare(a.DisposalID, b.DisposalID) })
	}
	return chains
}

func TestDisposalChains(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		days int
	}{{"four weeks over the holidays", 28}, {"ten days", 10}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			cfg.Days = tc.days
			w := newWorld(cfg)
			truth := dspHandTruth(w, 1500)
			chains := dspChains(t, w, w.generateDisposals(truth))
			byID := map[string]TruthRow{}
			eligible := 0
			for _, r := range truth {
				byID[r.WarningID] = r
				if w.Cal.WorkdaysBetween(max(r.Date, cfg.Start), cfg.LastDay()) >= dspMinAge {
					eligible++
				}
			}
			late, closed := 0, 0
			for id, c := range chains {
				r, ok := byID[id]
				if !ok {
					t.Fatalf("disposals of unknown warning %s", id)
				}
				if dspCheckChain(t, w, r, c) {
					closed++
					if raised := max(r.Date, cfg.Start); w.Cal.WorkdaysBetween(raised, schemas.DateOf(c[2].ActedAt.In(schemas.Shanghai))) > dspLimits[r.Colour] {
						late++
					}
				}
			}
			mean, sd := float64(eligible)*dspShare, math.Sqrt(float64(eligible)*dspShare*(1-dspShare))
			if math.Abs(float64(len(chains))-mean) > 4*sd {
				t.Errorf("%d of %d eligible warnings disposed, want about %.0f", len(chains), eligible, mean)
			}
			if closed == 0 || late == 0 || float64(late) > 0.3*float64(closed) {
				t.Errorf("%d of %d closed chains late, want a few", late, closed)
			}
		})
	}
}

// dspCheckChain checks one warning's disposals and reports whether it was closed.
func dspCheckChain(t *testing.T, w *World, r TruthRow, c []*schemas.Disposal) bool {
	t.Helper()
	raised := max(r.Date, w.cfg.Start)
	want := []string{"verify", "", "close"}
	for i, d := range c {
		if d.DisposalID != fmt.Sprintf("DSP%s-%d", r.WarningID[1:], i+1) {
			t.Errorf("warning %s: step %d has id %s", r.WarningID, i+1, d.DisposalID)
		}
		if want[i] != "" && *d.Action != want[i] || want[i] == "" && (*d.Action == "verify" || *d.Action == "close") {
			t.Errorf("warning %s: step %d is %s", r.WarningID, i+1, *d.Action)
		}
		if (i == 0) != (d.Finding == nil) {
			t.Errorf("warning %s: step %d (%s) has finding %v", r.WarningID, i+1, *d.Action, d.Finding)
		}
		acted := schemas.DateOf(d.ActedAt.In(schemas.Shanghai))
		if !d.ActedAt.Equal(d.UpdatedAt) || acted <= raised || d.ActedAt.Before(w.Start) || (i > 0 && acted <= schemas.DateOf(c[i-1].ActedAt.In(schemas.Shanghai))) {
			t.Errorf("warning %s raised %s: step %d acted at %s", r.WarningID, raised, i+1, d.ActedAt)
		}
		if p := w.OfficerByID(*d.ActorID).At(acted); p.Post != "supervision" || p.Dept.Direct == nil || p.Dept.Level != "section" {
			t.Errorf("warning %s: actor %s is %s of %s", r.WarningID, *d.ActorID, p.Post, p.Dept.ID)
		}
	}
	return len(c) == 3
}

func TestDisposalsKeyedByWarning(t *testing.T) {
	t.Parallel()
	w := newWorld(DefaultConfig())
	truth := dspHandTruth(w, 300)
	base := w.generateDisposals(truth)
	shuffled := slices.Clone(truth)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	extra := dspHandTruth(w, 301)[300]
	extra.ObjectKey = "CASE-EXTRA"
	extra.WarningID = schemas.WarningID(extra.RuleID, extra.RuleVersion, extra.ObjectKey, "")
	other := w.generateDisposals(append(shuffled, extra, truth[0]))
	for _, rec := range other.records["disposals"] {
		if strings.Contains(string(rec.JSON), extra.WarningID) {
			continue
		}
		if !slices.ContainsFunc(base.records["disposals"], func(b Record) bool { return reflect.DeepEqual(b, rec) }) {
			t.Errorf("disposal %s changed with the order or number of warnings", rec.Key)
		}
	}
	if n, m := len(base.records["disposals"]), len(other.records["disposals"]); n == 0 || m < n {
		t.Errorf("%d disposals, then %d with one warning more", n, m)
	}
}

func TestDisposalsReferToTruth(t *testing.T) {
	t.Parallel()
	ds, err := supSim()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(ds.Config)
	byID := map[string]TruthRow{}
	for _, r := range ds.Truth {
		byID[r.WarningID] = r
	}
	latest, _ := supLatest[schemas.Disposal](t, w, ds, "disposals")
	if len(latest) == 0 {
		t.Fatal("no disposals")
	}
	for id, d := range latest {
		if _, ok := byID[*d.WarningID]; !ok {
			t.Errorf("disposal %s refers to %s, which is not in the truth", id, *d.WarningID)
		}
	}
}
