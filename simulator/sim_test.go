package simulator

import (
	"testing"

	"github.com/hlwarn/hlwarn/schemas"
)

// TestOverriddenControlEscalates: a B07 row is red exactly when its
// enterprise has a case filed on or after the override.
func TestOverriddenControlEscalates(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.RuleRates = map[string]float64{"B07": 0.5}
	ds, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cases, _ := schemas.Lookup("cases")
	filed := map[string][]schemas.Date{}
	for _, r := range ds.Records("cases") {
		rec, err := cases.Decode(r.JSON)
		if err != nil {
			t.Fatal(err)
		}
		c := rec.(*schemas.Case)
		if c.EntCode != nil && c.FiledOn != nil {
			filed[*c.EntCode] = append(filed[*c.EntCode], *c.FiledOn)
		}
	}
	red, other := 0, 0
	for _, row := range ds.Truth {
		if row.RuleID != "B07" {
			continue
		}
		later := false
		for _, d := range filed[row.EntCode] {
			later = later || d >= row.Date
		}
		if later != (row.Colour == "red") {
			t.Errorf("B07 %s (%s): colour %s, a later case: %v", row.ObjectKey, row.EntCode, row.Colour, later)
		}
		if later {
			red++
		} else {
			other++
		}
	}
	if red == 0 || other == 0 {
		t.Fatalf("want both escalated and plain B07 rows, got %d red and %d other", red, other)
	}
}
