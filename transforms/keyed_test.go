package transforms_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
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

// TestKeyedFollowsLateChanges checks the scopes of int_off_duty_acts and
// B15 on changes the simulator does not make. On top of the test lake,
// officers who do nothing after the first run are given releases at 03:00
// on a rest day (off duty); a night then lands a shift that puts one of
// G's three acts on duty, a correction that makes one of C's three an
// inspection, which is no act, and a declaration whose tax makes E's act
// high-tax; F's third act, recorded before the first run but done on the
// night, comes within the as-of date; and a shift takes an on-duty act of
// a working officer off duty (B). Each of these changes one officer's
// month in B15 and nothing else brings that officer into its scope. After
// the night both models must hold what a full evaluation holds, and the
// changes must have taken effect.
func TestKeyedFollowsLateChanges(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	days := lakeDays()
	prev, night := days[len(days)-3], days[len(days)-2]
	sel := []string{"+rule_b15_off_duty_actions"}
	p := loadProject(t)
	// The night's changes land in its last second, after any version of the
	// same records the lake holds for that day.
	landed := night.Time().Add(24*time.Hour - time.Second)
	lit := tsLiteral
	first := func(q string) []string { return firstRow(t, dir, q) }
	e := openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: prev, Select: sel})
	e.Close()

	// A quiet officer has no act landing or done after prev and no shift
	// around the rest day or the night, so only what the test lands can
	// bring the officer into B15's scope.
	restDay := schemas.MustDate(first(fmt.Sprintf("SELECT CAST(max(date) AS VARCHAR) FROM dim_date WHERE NOT is_workday AND date < DATE '%s'", prev))[0])
	if restDay.String()[:7] != night.String()[:7] {
		t.Fatalf("the rest day %s is not in the night's month %s; the test needs both in one month", restDay, night)
	}
	var used []string
	// restActs gives a new quiet officer releases at 03:00, 03:10, ... on
	// the rest day, copied from one of the officer's releases on a
	// declaration of low tax; with onNight, the last is done at 20:00 on
	// the night (a holiday) instead, but recorded before the first run.
	restActs := func(name string, n int, onNight bool) (officer, decl string, ids []string) {
		t.Helper()
		src := first(fmt.Sprintf(`SELECT e.event_id, e.officer_id, e.decl_no FROM stg_declaration_events AS e JOIN stg_declarations AS d USING (decl_no)
WHERE e.step = 'release' AND e.officer_id NOT IN ('%s') AND coalesce(d.duty_payable, 0) + coalesce(d.vat_payable, 0) < 1000
  AND NOT EXISTS (SELECT 1 FROM stg_duty_roster AS r WHERE r.officer_id = e.officer_id
                  AND (r.duty_date BETWEEN DATE '%s' - 1 AND DATE '%[2]s' OR r.duty_date BETWEEN DATE '%s' - 1 AND DATE '%[3]s'))
  AND NOT EXISTS (SELECT 1 FROM raw.declaration_events AS q WHERE q.officer_id = e.officer_id
                  AND (q.updated_at >= TIMESTAMPTZ '%s 00:00:00+08:00' OR q.occurred_at >= TIMESTAMPTZ '%[4]s 00:00:00+08:00'))
ORDER BY e.event_id LIMIT 1`, strings.Join(append(used, ""), "', '"), restDay, night, prev.AddDays(1)))
		used = append(used, src[1])
		for i := range n {
			at := restDay.Time().Add(3*time.Hour + time.Duration(i)*10*time.Minute)
			if onNight && i == n-1 {
				at = night.Time().Add(20 * time.Hour)
			}
			id := fmt.Sprintf("CRAFTED-%s%d", name, i+1)
			craftVersion(t, dir, "declaration_events", "event_id = '"+src[0]+"'", fmt.Sprintf("'%s' AS event_id, %s AS occurred_at", id, lit(at)), prev, prev.Time().Add(9*time.Hour))
			ids = append(ids, id)
		}
		return src[1], src[2], ids
	}
	g, _, gActs := restActs("G", 3, false)
	c, _, cActs := restActs("C", 3, false)
	f, _, fActs := restActs("F", 3, true)
	eOfficer, eDecl, _ := restActs("E", 1, false)

	e = openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: prev, Select: sel, Recompute: true})
	e.Close()
	month := restDay.String()[:7]
	colour := func(officer string) string {
		rows := queryStrings(t, warehouse(dir), fmt.Sprintf("SELECT colour FROM rule_b15_off_duty_actions WHERE object_key = '%s' AND period = '%s'", officer, month))
		return strings.Join(rows, ",")
	}
	for _, w := range []struct{ officer, want string }{{g, "yellow"}, {c, "yellow"}, {f, ""}, {eOfficer, ""}} {
		if got := colour(w.officer); got != w.want {
			t.Fatalf("before the night, %s's acts of %s give %q; want %q", w.officer, month, got, w.want)
		}
	}
	// B is on duty now, by the default hours or its shift, between 10:00
	// and 16:00, where no shift of the day before reaches.
	b := first(fmt.Sprintf(`SELECT e.event_id, e.officer_id, CAST(CAST(timezone('Asia/Shanghai', e.occurred_at) AS DATE) AS VARCHAR)
FROM stg_declaration_events AS e
WHERE e.step = 'release' AND hour(timezone('Asia/Shanghai', e.occurred_at)) BETWEEN 10 AND 15
  AND e.officer_id NOT IN ('%s') AND e.event_id NOT IN (SELECT event_id FROM int_off_duty_acts)
ORDER BY e.event_id LIMIT 1`, strings.Join(used, "', '")))

	// G: a shift around its first act. B: a night shift that day instead of
	// its own or the default hours. C: its last act an inspection. E: its
	// declaration's tax raised far above the threshold.
	gAt := restDay.Time().Add(3 * time.Hour)
	craftVersion(t, dir, "duty_roster", "true", fmt.Sprintf("'%s' AS officer_id, DATE '%s' AS duty_date, %s AS shift_start, %s AS shift_end, false AS deleted",
		g, restDay, lit(gAt.Add(-30*time.Minute)), lit(gAt.Add(5*time.Minute))), night, landed)
	bDay := schemas.MustDate(b[2]).Time()
	craftVersion(t, dir, "duty_roster", "true", fmt.Sprintf("'%s' AS officer_id, DATE '%s' AS duty_date, %s AS shift_start, %s AS shift_end, false AS deleted",
		b[1], b[2], lit(bDay.Add(20*time.Hour)), lit(bDay.Add(28*time.Hour))), night, landed)
	craftVersion(t, dir, "declaration_events", "event_id = '"+cActs[2]+"'", "'inspection' AS step", night, landed)
	craftVersion(t, dir, "declarations", "decl_no = '"+eDecl+"'", "1000000000.00 AS duty_payable", night, landed)

	e = openEngine(t, p, dir, 0)
	res := run(t, e, transforms.RunOptions{AsOf: night, Select: sel})
	e.Close()
	tables := []string{"int_off_duty_acts", "rule_b15_off_duty_actions"}
	got := nightTables(t, dir, tables)
	has := func(event string) bool {
		return queryStrings(t, warehouse(dir), "SELECT count(*) FROM int_off_duty_acts WHERE event_id = '"+event+"'")[0] == "1"
	}
	for _, x := range []struct {
		what, event string
		want        bool
	}{{"G's first act, put on duty by a late shift,", gActs[0], false}, {"B, taken off duty by a late shift,", b[0], true},
		{"C's last act, corrected to an inspection,", cActs[2], false}, {"F's last act, done on the night,", fActs[2], true}} {
		if has(x.event) != x.want {
			t.Errorf("after the night, %s %s is off duty: %v; want %v", x.what, x.event, has(x.event), x.want)
		}
	}
	for _, w := range []struct{ what, officer, want string }{
		{"G, two acts left,", g, ""}, {"C, two acts left,", c, ""}, {"F, a third act,", f, "yellow"}, {"E, a high-tax act,", eOfficer, "red"}} {
		if got := colour(w.officer); got != w.want {
			t.Errorf("after the night, %s %s's acts of %s give %q; want %q", w.what, w.officer, month, got, w.want)
		}
	}

	checkEqualsFull(t, p, dir, night, sel, got, res)
}

// firstRow is the first row q gives on the warehouse, split into its
// columns; the test fails if there is none.
func firstRow(t testing.TB, dir, q string) []string {
	t.Helper()
	rows := queryStrings(t, warehouse(dir), q)
	if len(rows) == 0 {
		t.Fatalf("nothing for %s", q)
	}
	return strings.Split(rows[0], "|")
}

// nightTables are the rows of the models' tables, sorted.
func nightTables(t testing.TB, dir string, models []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, m := range models {
		out[m] = queryStrings(t, warehouse(dir), "SELECT * FROM "+m+" ORDER BY ALL")
	}
	return out
}

// checkEqualsFull evaluates the selection in full as of the night and
// checks that each keyed model of got held after the night (res) what the
// full evaluation holds, and that the night evaluated some of its objects,
// fewer than the full evaluation.
func checkEqualsFull(t *testing.T, p *transforms.Project, dir string, night schemas.Date, sel []string, got map[string][]string, res *transforms.RunResult) {
	t.Helper()
	evaluated := map[string]int64{}
	for _, m := range res.Models {
		evaluated[m.Model] = m.Evaluated
	}
	e := openEngine(t, p, dir, 0)
	full := run(t, e, transforms.RunOptions{AsOf: night, Select: sel, Recompute: true})
	e.Close()
	for _, m := range full.Models {
		if _, ok := got[m.Model]; !ok {
			continue
		}
		want := queryStrings(t, warehouse(dir), "SELECT * FROM "+m.Model+" ORDER BY ALL")
		if !slices.Equal(got[m.Model], want) {
			t.Errorf("%s after the night: %d rows, a full evaluation %d; first difference %s", m.Model, len(got[m.Model]), len(want), firstDiff(got[m.Model], want))
		}
		if evaluated[m.Model] == 0 || evaluated[m.Model] >= m.Evaluated {
			t.Errorf("%s: the night evaluated %d objects; want some, fewer than the %d of a full evaluation", m.Model, evaluated[m.Model], m.Evaluated)
		}
	}
}

// upstreamFolder is a plug-in folder with a keyed model over the refunds
// that reads a table model, refund_floor; floor is that table's query.
func upstreamFolder(floor string) fstest.MapFS {
	return fstest.MapFS{
		"marts/refund_floor.sql": &fstest.MapFile{Data: []byte(`/* ---
kind: table
params: [ku_min_days]
parameters:
  - name: ku_min_days
    default: 0
    description: days open from which a refund is listed
--- */
SELECT ` + floor + ` AS min_days
`)},
		"marts/keyed_floor_refunds.sql": &fstest.MapFile{Data: []byte(`/* ---
kind: keyed
unique_key: refund_id
scope: |
  SELECT refund_id FROM changed.refunds
--- */
SELECT r.refund_id, r.accepted_on
FROM stg_refunds AS r
JOIN scope ON scope.key = r.refund_id
CROSS JOIN refund_floor AS f
WHERE r.decided_on IS NULL AND getvariable('as_of') - r.accepted_on >= f.min_days
`)},
	}
}

// TestKeyedUpstreamChange checks that a keyed model evaluates every object
// again when a model it reads changes what it computes — its query, or a
// parameter only that model reads — though nothing the keyed model's own
// scope watches changed: its carried rows were computed from the old
// definition.
func TestKeyedUpstreamChange(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	days := lakeDays()
	first, next := days[len(days)-6], days[len(days)-1]
	sel := []string{"+keyed_floor_refunds"}
	evaluated := func(p *transforms.Project, ro transforms.RunOptions) int64 {
		t.Helper()
		e := openEngine(t, p, dir, 0)
		defer e.Close()
		for _, m := range run(t, e, ro).Models {
			if m.Model == "keyed_floor_refunds" {
				return m.Evaluated
			}
		}
		t.Fatal("keyed_floor_refunds did not run")
		return 0
	}
	base := loadProject(t, upstreamFolder("getvariable('ku_min_days')"))
	all := evaluated(base, transforms.RunOptions{AsOf: first, Select: sel})
	if night := evaluated(base, transforms.RunOptions{AsOf: next, Select: sel}); night >= all {
		t.Fatalf("an ordinary night evaluated %d refunds, not fewer than the %d of a full evaluation", night, all)
	}
	full := queryStrings(t, warehouse(dir), "SELECT count(*) FROM stg_refunds")[0]

	changedSQL := loadProject(t, upstreamFolder("getvariable('ku_min_days') + 5"))
	if n := evaluated(changedSQL, transforms.RunOptions{AsOf: next, Select: sel}); fmt.Sprint(n) != full {
		t.Errorf("after refund_floor's query changed, the keyed model evaluated %d refunds; want all %s", n, full)
	}
	want := queryStrings(t, warehouse(dir), "SELECT * FROM keyed_floor_refunds ORDER BY ALL")
	if n := evaluated(changedSQL, transforms.RunOptions{AsOf: next, Select: sel, Recompute: true}); fmt.Sprint(n) != full {
		t.Fatalf("a full evaluation evaluated %d refunds; want %s", n, full)
	}
	if got := queryStrings(t, warehouse(dir), "SELECT * FROM keyed_floor_refunds ORDER BY ALL"); !slices.Equal(got, want) {
		t.Errorf("after refund_floor's query changed: %d rows, a full evaluation %d; first difference %s", len(want), len(got), firstDiff(want, got))
	}

	changedParam := loadProject(t, upstreamFolder("getvariable('ku_min_days') + 5"))
	if err := changedParam.Params.Override(map[string]any{"ku_min_days": 3}); err != nil {
		t.Fatal(err)
	}
	if n := evaluated(changedParam, transforms.RunOptions{AsOf: next, Select: sel}); fmt.Sprint(n) != full {
		t.Errorf("after a parameter only refund_floor reads changed, the keyed model evaluated %d refunds; want all %s", n, full)
	}
}
