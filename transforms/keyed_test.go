package transforms_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
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

// keyedFolder is a plug-in folder with one keyed model over the refunds:
// the open ones and how long each has been open, kept by refund. With
// stray, its query also returns decided refunds, outside its scope.
func keyedFolder(stray bool) fstest.MapFS {
	filter := "r.decided_on IS NULL AND r.refund_id IN (SELECT key FROM scope)"
	if stray {
		filter = "(r.decided_on IS NULL AND r.refund_id IN (SELECT key FROM scope) OR r.decided_on IS NOT NULL)"
	}
	return fstest.MapFS{"marts/keyed_open_refunds.sql": &fstest.MapFile{Data: []byte(`/* ---
kind: keyed
unique_key: refund_id
params: [kt_min_days]
parameters:
  - name: kt_min_days
    default: 0
    description: days open from which a refund is listed
scope: |
  SELECT refund_id FROM stg_refunds WHERE decided_on IS NULL
  UNION ALL SELECT refund_id FROM changed.refunds
--- */
SELECT r.refund_id, r.accepted_on, getvariable('as_of') - r.accepted_on AS days_open
FROM stg_refunds AS r
WHERE ` + filter + `
  AND getvariable('as_of') - r.accepted_on >= getvariable('kt_min_days')
`)}}
}

// TestKeyedRuns checks a keyed model's runs on the test lake: the first
// run evaluates every object, a later night only its scope and holds what
// a full evaluation holds, a new parameter value evaluates every object
// again, and a query returning rows outside its scope fails with a message
// that says how to filter.
func TestKeyedRuns(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	days := lakeDays()
	first, next := days[len(days)-6], days[len(days)-1]
	sel := []string{"+keyed_open_refunds"}
	evaluated := func(res *transforms.RunResult) int64 {
		for _, m := range res.Models {
			if m.Model == "keyed_open_refunds" {
				return m.Evaluated
			}
		}
		t.Fatal("keyed_open_refunds did not run")
		return 0
	}
	table := func() []string {
		return queryStrings(t, warehouse(dir), "SELECT * FROM keyed_open_refunds ORDER BY ALL")
	}
	p := loadProject(t, keyedFolder(false))
	e := openEngine(t, p, dir, 0)
	full := evaluated(run(t, e, transforms.RunOptions{AsOf: next, Select: sel}))
	e.Close()
	want := table()
	if len(want) == 0 || full == 0 {
		t.Fatalf("a full evaluation listed %d open refunds of %d; want some", len(want), full)
	}
	e = openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: first, Select: sel, Recompute: true})
	night := evaluated(run(t, e, transforms.RunOptions{AsOf: next, Select: sel}))
	e.Close()
	if night == 0 || night >= full {
		t.Errorf("the night evaluated %d refunds; want some, fewer than the %d of a full evaluation", night, full)
	}
	if got := table(); !slices.Equal(got, want) {
		t.Errorf("after the night: %d rows, a full evaluation %d; first difference %s", len(got), len(want), firstDiff(got, want))
	}

	p = loadProject(t, keyedFolder(false))
	if err := p.Params.Override(map[string]any{"kt_min_days": 2}); err != nil {
		t.Fatal(err)
	}
	e = openEngine(t, p, dir, 0)
	if n := evaluated(run(t, e, transforms.RunOptions{AsOf: next, Select: sel})); n != full {
		t.Errorf("with a new parameter value the run evaluated %d refunds; want all %d", n, full)
	}
	e.Close()

	e = openEngine(t, loadProject(t, keyedFolder(true)), dir, 0)
	run(t, e, transforms.RunOptions{AsOf: first, Select: sel, Recompute: true})
	res, err := e.Run(context.Background(), transforms.RunOptions{AsOf: next, Select: sel})
	if err == nil {
		t.Fatal("a keyed model returning rows outside its scope ran")
	}
	for _, m := range res.Models {
		if m.Model == "keyed_open_refunds" && (m.Err == nil || !strings.Contains(m.Err.Error(), "not in the scope") || !strings.Contains(m.Err.Error(), "refund_id IN (SELECT key FROM scope)")) {
			t.Errorf("error %v; want it to name the rows outside the scope and the filter", m.Err)
		}
	}
}
