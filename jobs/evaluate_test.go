package jobs

import (
	"slices"
	"testing"
)

// TestScore checks the per-rule counts (a warning is rule, object and
// period): a match with the wrong colour
// still counts for precision and recall but not for colour agreement; a
// raised warning the truth lacks lowers precision, a missed one recall; a
// catalogue rule with neither side is listed with perfect scores.
func TestScore(t *testing.T) {
	t.Parallel()
	truth := []Expected{
		{"A01", "d1", "", "red"}, {"A01", "d2", "", "yellow"}, {"A01", "d3", "", "orange"},
		{"B05", "i1", "", "orange"},
		{"B15", "o1", "2026-09", "yellow"}, {"B15", "o1", "2026-10", "orange"},
	}
	raised := []Raised{
		{"A01", "d1", "", "red"}, {"A01", "d2", "", "orange"}, {"A01", "d9", "", "yellow"},
		{"C05", "o|e", "", "red"},
		{"B15", "o1", "2026-10", "orange"}, {"B15", "o1", "2026-11", "yellow"},
	}
	ev := Score(truth, raised, []string{"A01", "A07"})
	got := map[string]RuleScore{}
	var ids []string
	for _, s := range ev.Rules {
		got[s.RuleID] = s
		ids = append(ids, s.RuleID)
	}
	if want := []string{"A01", "A07", "B05", "B15", "C05"}; !slices.Equal(ids, want) {
		t.Fatalf("rules %v; want %v", ids, want)
	}
	a01 := got["A01"]
	if a01.Truth != 3 || a01.Raised != 3 || a01.Matched != 2 || a01.ColourAgreed != 1 {
		t.Errorf("A01 %+v; want 3 expected, 3 raised, 2 matched, 1 colour agreed", a01)
	}
	if p, r, c := a01.Precision(), a01.Recall(), a01.ColourAgreement(); p != 2.0/3 || r != 2.0/3 || c != 0.5 {
		t.Errorf("A01 precision %v recall %v colour %v; want 2/3, 2/3, 1/2", p, r, c)
	}
	if s := got["B05"]; s.Recall() != 0 || s.Precision() != 1 {
		t.Errorf("B05 (missed) %+v: recall %v precision %v; want 0 and 1", s, s.Recall(), s.Precision())
	}
	if s := got["C05"]; s.Precision() != 0 || s.Recall() != 1 {
		t.Errorf("C05 (false alarm) precision %v recall %v; want 0 and 1", s.Precision(), s.Recall())
	}
	if s := got["A07"]; s.Truth != 0 || s.Raised != 0 || s.Precision() != 1 {
		t.Errorf("A07 (neither side) %+v", s)
	}
	// Periods are part of a warning: one officer's two months are two.
	if s := got["B15"]; s.Truth != 2 || s.Raised != 2 || s.Matched != 1 {
		t.Errorf("B15 %+v; want 2 expected, 2 raised, 1 matched (2026-10)", s)
	}
	if !slices.Equal(ev.Misses["B15"], []string{"o1 (2026-09)"}) {
		t.Errorf("B15 misses %v; want [o1 (2026-09)]", ev.Misses["B15"])
	}
	if !slices.Equal(ev.Misses["A01"], []string{"d3"}) || !slices.Equal(ev.FalseAlarms["A01"], []string{"d9"}) {
		t.Errorf("A01 misses %v, false alarms %v; want [d3], [d9]", ev.Misses["A01"], ev.FalseAlarms["A01"])
	}
}
