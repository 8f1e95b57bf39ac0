package transforms_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/transforms"
)

// TestKeyedEqualsFullEvaluation runs every model night after night, each
// night on what the platform showed by then (late versions, corrections
// and tombstones arrive as they would), and checks that every keyed model
// — the rules above all — then holds exactly what one full evaluation
// from raw gives: carrying the objects outside the scope forward loses
// and keeps nothing it should not. It also checks that the nights did
// evaluate fewer objects than the full evaluation, or the test would prove
// nothing about the carrying.
func TestKeyedEqualsFullEvaluation(t *testing.T) {
	t.Parallel()
	url, clock, setClock := nightlyPlatform(t)
	dir := t.TempDir()
	p := loadProject(t, pluginModels())
	// HLWARN_KEYED_MODELS=a,b checks only those models (and builds only
	// what they read), for a quick look while writing one.
	var only, sel []string
	if v := os.Getenv("HLWARN_KEYED_MODELS"); v != "" {
		only = strings.Split(v, ",")
		for _, m := range only {
			sel = append(sel, "+"+m)
		}
	}
	var keyed []string
	for _, n := range p.Order {
		if p.Models[n].Kind == transforms.KindKeyed && (only == nil || slices.Contains(only, n)) {
			keyed = append(keyed, n)
		}
	}
	if len(keyed) == 0 {
		t.Fatal("the project has no keyed model")
	}
	days := lakeDays()
	if testing.Short() {
		days = days[len(days)-8:]
	}
	e := openEngine(t, p, dir, 0)
	nightly := map[string]int64{} // rows evaluated over the nights, by model
	for i, d := range days {
		setClock(d.AddDays(1).Time().Add(time.Hour))
		if err := extractAt(url, dir, clock); err != nil {
			t.Fatalf("extracting the night after %s: %v", d, err)
		}
		res := run(t, e, transforms.RunOptions{AsOf: d, Select: sel})
		if i == 0 {
			continue
		}
		for _, m := range res.Models {
			if m.Kind == transforms.KindKeyed {
				nightly[m.Model] += m.Evaluated
			}
		}
	}
	e.Close()
	last := days[len(days)-1]
	got := map[string][]string{}
	for _, m := range keyed {
		got[m] = queryStrings(t, warehouse(dir), "SELECT * FROM "+m+" ORDER BY ALL")
	}
	e = openEngine(t, p, dir, 0)
	res := run(t, e, transforms.RunOptions{AsOf: last, Recompute: true, Select: sel})
	e.Close()
	var evaluated, full int64
	for _, m := range res.Models {
		if !slices.Contains(keyed, m.Model) {
			continue
		}
		want := queryStrings(t, warehouse(dir), "SELECT * FROM "+m.Model+" ORDER BY ALL")
		if !slices.Equal(got[m.Model], want) {
			t.Errorf("%s as of %s: nightly %d rows, full evaluation %d rows; first difference %s", m.Model, last, len(got[m.Model]), len(want), firstDiff(got[m.Model], want))
		}
		evaluated += nightly[m.Model]
		full += m.Evaluated * int64(len(days)-1)
	}
	t.Logf("%d keyed models over %d nights: %d objects evaluated, against %d for a full evaluation every night", len(keyed), len(days)-1, evaluated, full)
	if evaluated >= full {
		t.Errorf("the nights evaluated %d objects, no fewer than full evaluations would (%d)", evaluated, full)
	}
}
