package simulator

import (
	"maps"
	"math"
	"testing"

	"github.com/hlwarn/hlwarn/schemas"
)

// TestUsualHyperUpper checks Fisher's one-sided tail against exact values.
func TestUsualHyperUpper(t *testing.T) {
	t.Parallel()
	cases := []struct {
		n, m, x, k int
		want       float64
	}{
		{20, 20, 5, 5, 15504.0 / 658008},          // all five findings after: C(20,5)/C(40,5)
		{2, 2, 1, 2, 5.0 / 6},                     // 1 − C(2,0)C(2,2)/C(4,2)
		{3, 3, 0, 2, 1},                           // x = 0: certain
		{25, 25, 10, 10, 3268760.0 / 10272278170}, // C(25,10)/C(50,10)
	}
	for _, c := range cases {
		if got := hyperUpper(c.n, c.m, c.x, c.k); math.Abs(got-c.want) > 1e-9*c.want {
			t.Errorf("hyperUpper(%d, %d, %d, %d) = %g, want %g", c.n, c.m, c.x, c.k, got, c.want)
		}
	}
}

// TestUsualShield re-derives C07 from the records — the officers' versions
// (a transfer is a version with another department or post, from its
// post_since), the release events and the finished inspections — and
// checks that the truth rows are exactly the hits on planted shields, that
// the planted shields are found, and that no normal transfer fires.
func TestUsualShield(t *testing.T) {
	t.Parallel()
	v, truth := favourData()
	ref := newEmitter(v.w.End)
	v.w.emitReference(ref)
	officers, _ := schemas.Lookup("officers")
	type version struct{ dept, post string }
	prev := map[string]version{}
	var transfers []transfer
	for _, r := range ref.records["officers"] { // each officer's versions in time order
		rec, err := officers.Decode(r.JSON)
		if err != nil {
			t.Fatal(err)
		}
		o := rec.(*schemas.Officer)
		cur := version{*o.DeptID, *o.Post}
		if p, ok := prev[o.OfficerID]; ok && p != cur {
			transfers = append(transfers, transfer{o.OfficerID, *o.PostSince})
		}
		prev[o.OfficerID] = cur
	}
	var rels []clearing
	for no, evs := range v.events {
		d := v.decls[no]
		for _, e := range evs {
			if *e.Step == "release" && e.OfficerID != nil {
				rels = append(rels, clearingOf(*e.OfficerID, *d.ConsigneeCode, *d.DeclaredAt, *e.OccurredAt))
			}
		}
	}
	var insps []inspected
	for _, in := range v.insps {
		if in.FinishedAt != nil && in.Result != nil {
			insps = append(insps, inspected{*v.decls[*in.DeclNo].ConsigneeCode, schemas.DateOf(*in.FinishedAt), *in.Result == "mismatch"})
		}
	}
	planted := map[string]bool{}
	for e, u := range v.w.usuals {
		planted[u.officer.ID+"|"+e.Code] = true
	}
	want, chance := map[string]string{}, 0
	for _, h := range shieldHits(transfers, rels, insps, v.w.cfg.LastDay()) {
		if k := h.officer + "|" + h.ent; planted[k] {
			want[k] = h.colour
		} else {
			chance++
			t.Logf("C07 chance hit %+v", h)
		}
	}
	got := map[string]string{}
	for _, r := range truth {
		if r.RuleID == "C07" {
			got[r.ObjectKey] = r.Colour
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("C07 truth %v, re-derived %v", got, want)
	}
	t.Logf("C07: %d shields planted, %d transfers, truth %v", len(planted), len(transfers), got)
	if len(got) == 0 || 2*len(got) < len(planted) || chance > 0 {
		t.Errorf("C07: %d planted, %d found, %d chance hits", len(planted), len(got), chance)
	}
}
