package transforms_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
// B15 on changes the simulator does not make: on top of the test lake, a
// night lands a shift that puts an off-duty act on duty (A), a shift that
// takes an act in the default hours off duty (B), a correction that makes
// an off-duty act an inspection, which is no act (C), and a declaration
// whose tax makes an off-duty act high-tax (E); an act recorded before the first run but done
// on the night (D) comes within the as-of date. After the night both
// models must hold what a full evaluation holds, and the changes must have
// taken effect.
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
	lit := func(ts time.Time) string { return "TIMESTAMPTZ '" + ts.UTC().Format("2006-01-02 15:04:05") + "+00'" }
	// craft writes one new version of an entity's record: a raw version
	// chosen by where, its fields replaced, landed at the given time.
	craft := func(entity, where, replace string, day schemas.Date, at time.Time) {
		t.Helper()
		db, err := sql.Open("duckdb", "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		folder := filepath.Join(dir, "raw", entity, "ingest_date="+day.String())
		if err := os.MkdirAll(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		q := fmt.Sprintf(`COPY (SELECT * REPLACE (%s, %s AS updated_at, %[2]s AS _ingested_at, 'crafted' AS _run_id)
FROM read_parquet('%s', union_by_name = true, hive_partitioning = false) WHERE %s ORDER BY updated_at DESC LIMIT 1)
TO '%s' (FORMAT parquet)`, replace, lit(at), filepath.Join(dir, "raw", entity, "*", "*.parquet"), where,
			filepath.Join(folder, fmt.Sprintf("crafted-%d.parquet", time.Now().UnixNano())))
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("crafting %s: %v", entity, err)
		}
	}
	type act struct{ event, officer, decl, on, at string } // at: Unix seconds
	pick := func(q string) act {
		t.Helper()
		rows := queryStrings(t, warehouse(dir), q)
		if len(rows) == 0 {
			t.Fatalf("no act for %s", q)
		}
		f := strings.Split(rows[0], "|")
		return act{f[0], f[1], f[2], f[3], f[4]}
	}
	// D, done on the night (a holiday, no roster: off duty) and recorded
	// before the first run, is a new event on an act's declaration.
	e := openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: prev, Select: sel})
	e.Close()
	onNight := night.Time().Add(20 * time.Hour)
	d := pick(`SELECT event_id, officer_id, decl_no, CAST(act_on AS VARCHAR), CAST(epoch(occurred_at) AS BIGINT) FROM int_off_duty_acts ORDER BY event_id LIMIT 1`)
	craft("declaration_events", "event_id = '"+d.event+"'", fmt.Sprintf("'CRAFTED-D' AS event_id, %s AS occurred_at", lit(onNight)), prev, prev.Time().Add(9*time.Hour))
	// E, a release at 03:00 on the last rest day before prev by an officer
	// with no shift that day or the day before: off duty, on a declaration
	// of low tax until the night raises it.
	restDay := schemas.MustDate(queryStrings(t, warehouse(dir), fmt.Sprintf("SELECT CAST(max(date) AS VARCHAR) FROM dim_date WHERE NOT is_workday AND date < DATE '%s'", prev))[0])
	eSrc := pick(fmt.Sprintf(`SELECT e.event_id, e.officer_id, e.decl_no, '', 0 FROM stg_declaration_events AS e JOIN stg_declarations AS d USING (decl_no)
WHERE e.step = 'release' AND e.officer_id <> '%s' AND coalesce(d.duty_payable, 0) + coalesce(d.vat_payable, 0) < 1000
  AND NOT EXISTS (SELECT 1 FROM stg_duty_roster AS r WHERE r.officer_id = e.officer_id AND r.duty_date BETWEEN DATE '%s' - 1 AND DATE '%s')
ORDER BY e.event_id LIMIT 1`, d.officer, restDay, restDay))
	eAt := restDay.Time().Add(3 * time.Hour)
	craft("declaration_events", "event_id = '"+eSrc.event+"'", fmt.Sprintf("'CRAFTED-E' AS event_id, %s AS occurred_at", lit(eAt)), prev, eAt)
	eAct := act{event: "CRAFTED-E", officer: eSrc.officer, decl: eSrc.decl, on: restDay.String()}

	e = openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: prev, Select: sel, Recompute: true})
	e.Close()
	unrostered := `NOT EXISTS (SELECT 1 FROM stg_duty_roster AS r WHERE r.officer_id = a.officer_id AND r.duty_date BETWEEN a.act_on - 1 AND a.act_on + 1)`
	a := pick(`SELECT event_id, officer_id, decl_no, CAST(act_on AS VARCHAR), CAST(epoch(occurred_at) AS BIGINT) FROM int_off_duty_acts AS a
WHERE ` + unrostered + ` AND event_id NOT IN ('CRAFTED-D', 'CRAFTED-E') AND officer_id <> '` + eAct.officer + `' ORDER BY event_id LIMIT 1`)
	c := pick(`SELECT event_id, officer_id, decl_no, CAST(act_on AS VARCHAR), CAST(epoch(occurred_at) AS BIGINT) FROM int_off_duty_acts
WHERE event_id NOT IN ('` + a.event + `', 'CRAFTED-D', 'CRAFTED-E') AND decl_no <> '` + eAct.decl + `' ORDER BY event_id LIMIT 1`)
	// B is on duty now, by the default hours or its shift, between 10:00
	// and 16:00, where no shift of the day before reaches; its officer is
	// neither A's nor E's.
	b := pick(`SELECT e.event_id, e.officer_id, e.decl_no, CAST(CAST(timezone('Asia/Shanghai', e.occurred_at) AS DATE) AS VARCHAR), CAST(epoch(e.occurred_at) AS BIGINT)
FROM stg_declaration_events AS e
WHERE e.step = 'release' AND hour(timezone('Asia/Shanghai', e.occurred_at)) BETWEEN 10 AND 15
  AND e.officer_id NOT IN ('` + a.officer + `', '` + eAct.officer + `') AND e.event_id NOT IN (SELECT event_id FROM int_off_duty_acts)
ORDER BY e.event_id LIMIT 1`)
	if got := queryStrings(t, warehouse(dir), "SELECT count(*) FROM int_off_duty_acts WHERE event_id = 'CRAFTED-D'"); got[0] != "0" {
		t.Fatalf("the act done after the as-of date counts already")
	}
	if got := queryStrings(t, warehouse(dir), "SELECT count(*) FROM int_off_duty_acts WHERE event_id = 'CRAFTED-E'"); got[0] != "1" {
		t.Fatalf("the release at 03:00 on a rest day without a shift is not off duty")
	}

	at := func(s string) time.Time {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("parsing %s: %v", s, err)
		}
		return time.Unix(sec, 0)
	}
	// A: a shift around its time. B: a night shift that day instead of its
	// own or the default hours. C: an
	// inspection. E: its declaration's tax raised far above the threshold.
	craft("duty_roster", "true", fmt.Sprintf("'%s' AS officer_id, DATE '%s' AS duty_date, %s AS shift_start, %s AS shift_end, false AS deleted",
		a.officer, a.on, lit(at(a.at).Add(-time.Hour)), lit(at(a.at).Add(time.Hour))), night, landed)
	bDay := schemas.MustDate(b.on).Time()
	craft("duty_roster", "true", fmt.Sprintf("'%s' AS officer_id, DATE '%s' AS duty_date, %s AS shift_start, %s AS shift_end, false AS deleted",
		b.officer, b.on, lit(bDay.Add(20*time.Hour)), lit(bDay.Add(28*time.Hour))), night, landed)
	craft("declaration_events", "event_id = '"+c.event+"'", "'inspection' AS step", night, landed)
	craft("declarations", "decl_no = '"+eAct.decl+"'", "1000000000.00 AS duty_payable", night, landed)

	e = openEngine(t, p, dir, 0)
	res := run(t, e, transforms.RunOptions{AsOf: night, Select: sel})
	e.Close()
	tables := []string{"int_off_duty_acts", "rule_b15_off_duty_actions"}
	got := map[string][]string{}
	evaluated := map[string]int64{}
	for _, m := range res.Models {
		evaluated[m.Model] = m.Evaluated
	}
	for _, m := range tables {
		got[m] = queryStrings(t, warehouse(dir), "SELECT * FROM "+m+" ORDER BY ALL")
	}
	has := func(event string) bool {
		return queryStrings(t, warehouse(dir), "SELECT count(*) FROM int_off_duty_acts WHERE event_id = '"+event+"'")[0] == "1"
	}
	for _, c := range []struct {
		what, event string
		want        bool
	}{{"A, put on duty by a late shift,", a.event, false}, {"B, taken off duty by a late shift,", b.event, true},
		{"C, corrected to an inspection,", c.event, false}, {"D, done on the night,", "CRAFTED-D", true}} {
		if has(c.event) != c.want {
			t.Errorf("after the night, %s %s is off duty: %v; want %v", c.what, c.event, has(c.event), c.want)
		}
	}
	red := queryStrings(t, warehouse(dir), fmt.Sprintf("SELECT colour FROM rule_b15_off_duty_actions WHERE object_key = '%s' AND period = '%s'", eAct.officer, eAct.on[:7]))
	if len(red) != 1 || red[0] != "red" {
		t.Errorf("after its declaration's tax rose, %s's acts of %s give %v; want red", eAct.officer, eAct.on[:7], red)
	}

	e = openEngine(t, p, dir, 0)
	full := run(t, e, transforms.RunOptions{AsOf: night, Select: sel, Recompute: true})
	e.Close()
	for _, m := range full.Models {
		if !slices.Contains(tables, m.Model) {
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
