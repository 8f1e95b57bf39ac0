package transforms_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/transforms"
)

// TestSnapshotTakesLateVersions: a transform as of a day that runs before
// the day's last versions have landed builds its snapshots from part of
// the day; the next day's merge must take those versions when they land
// (older than the snapshot's date, but landed after it), so the carried
// snapshots equal ones rebuilt from all of raw.
func TestSnapshotTakesLateVersions(t *testing.T) {
	t.Parallel()
	url, clock, setClock := nightlyPlatform(t)
	dir := t.TempDir()
	p := loadProject(t)
	e := openEngine(t, p, dir, 0)
	staging := []string{"tag:staging"}
	days := lakeDays()
	d := days[len(days)/2]
	steps := []struct {
		clock time.Time
		asOf  schemas.Date
	}{
		{d.Time().Add(-23 * time.Hour), d - 1},      // the night before: up to d−1
		{d.Time().Add(12 * time.Hour), d},           // midday: half of d landed
		{d.AddDays(1).Time().Add(time.Hour), d + 1}, // the rest of d lands only now
		{d.AddDays(3).Time().Add(time.Hour), d + 3}, // a gap of a day
	}
	for i, s := range steps {
		setClock(s.clock)
		if err := extractAt(url, dir, clock); err != nil {
			t.Fatal(err)
		}
		run(t, e, transforms.RunOptions{AsOf: s.asOf, Select: staging})
		if i == 1 {
			// A bound gone (as in a warehouse from before a model looked
			// the items up by declaration) is made again from the state; one
			// no model looks up by any more is dropped (checkBounds, below).
			e.Close()
			tamper(t, dir, "DROP TABLE _hlwarn.bound_declaration_items__decl_no")
			tamper(t, dir, "CREATE TABLE _hlwarn.bound_declaration_events__officer_id AS SELECT hash(officer_id) AS h, officer_id AS value, min(updated_at) AS since FROM _hlwarn.state_declaration_events GROUP BY ALL")
			// A bound another DuckDB made, whose hash() differs, is made
			// again: searched by this one's hashes, a merge would miss the
			// values' bounds and add a second one (checkBounds).
			tamper(t, dir, "UPDATE _hlwarn.bound_tax_vouchers__decl_no SET h = hash(value || '~')")
			tamper(t, dir, "COMMENT ON TABLE _hlwarn.bound_tax_vouchers__decl_no IS 'hash() of DuckDB v0.0.0'")
			e = openEngine(t, p, dir, 0)
		}
	}
	tables := []string{"stg_declarations", "stg_declaration_events", "stg_tax_vouchers", "stg_duty_roster", "stg_officers"}
	carried := map[string][]string{}
	e.Close()
	for _, tbl := range tables {
		carried[tbl] = queryStrings(t, warehouse(dir), "SELECT * FROM "+tbl+" ORDER BY ALL")
	}
	checkBounds(t, dir, d+3)
	stale := func(when string) {
		t.Helper()
		if got := queryStrings(t, warehouse(dir), "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'bound_declaration_events__officer_id'"); got[0] != "0" {
			t.Errorf("%s, the bound of declaration_events by officer_id, which no model looks up by, was kept", when)
		}
	}
	stale("after the merges")
	// A rebuild drops it too.
	tamper(t, dir, "CREATE TABLE _hlwarn.bound_declaration_events__officer_id AS SELECT hash(officer_id) AS h, officer_id AS value, min(updated_at) AS since FROM _hlwarn.state_declaration_events GROUP BY ALL")
	e = openEngine(t, p, dir, 0)
	defer e.Close()
	if err := e.DropIncremental(context.Background()); err != nil {
		t.Fatal(err)
	}
	run(t, e, transforms.RunOptions{AsOf: d + 3, Select: staging})
	e.Close()
	checkBounds(t, dir, d+3)
	stale("after a rebuild")
	for _, tbl := range tables {
		rebuilt := queryStrings(t, warehouse(dir), "SELECT * FROM "+tbl+" ORDER BY ALL")
		if len(rebuilt) == 0 {
			t.Errorf("%s is empty", tbl)
		}
		if got := carried[tbl]; !slices.Equal(got, rebuilt) {
			t.Errorf("%s carried forward: %d rows, rebuilt: %d rows; %s", tbl, len(got), len(rebuilt), firstDiff(got, rebuilt))
		}
	}
}

// boundLookups are the look-ups by column the embedded models make, each
// a staging state and the column whose bound the merges keep.
var boundLookups = []struct{ entity, column string }{
	{"declaration_events", "decl_no"},
	{"declaration_items", "decl_no"},
	{"tax_vouchers", "decl_no"},
}

// checkBounds checks, in the warehouse of dir as of asOf, the bounds the
// merges keep for the look-ups by column: one per value, and none later
// than a row holding its value; and that each look-up returns what a plain
// filter does, for a sample of values, whether it finds their bounds among
// the recent ones (as of asOf), finds none there (a month past the last
// version), or runs outside the engine (as_of_end unset).
func checkBounds(t *testing.T, dir string, asOf schemas.Date) {
	t.Helper()
	db, err := sql.Open("duckdb", warehouse(dir)+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	query := func(q string) []string {
		t.Helper()
		out, err := rowStrings(db, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out
	}
	for _, l := range boundLookups {
		state, bound := "_hlwarn.state_"+l.entity, fmt.Sprintf("_hlwarn.bound_%s__%s", l.entity, l.column)
		got := query(fmt.Sprintf(`SELECT (SELECT count(*) FROM %[1]s) || '|' || (SELECT count(*) - count(DISTINCT value) FROM %[1]s) || '|' ||
  (SELECT count(*) FROM %[2]s AS s WHERE s.%[3]s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %[1]s AS b WHERE b.value = s.%[3]s AND b.since <= s.updated_at))`, bound, state, l.column))
		var n, repeated, uncovered int
		if _, err := fmt.Sscanf(strings.ReplaceAll(got[0], "|", " "), "%d %d %d", &n, &repeated, &uncovered); err != nil {
			t.Fatal(err)
		}
		if n == 0 || repeated != 0 || uncovered != 0 {
			t.Errorf("%s: %d bounds, %d values with more than one, %d state rows with no bound at or before their version; want some, 0, 0", bound, n, repeated, uncovered)
		}
		if made, want := query(fmt.Sprintf("SELECT comment FROM duckdb_tables() WHERE schema_name = '_hlwarn' AND table_name = 'bound_%s__%s'", l.entity, l.column)),
			query("SELECT 'hash() of DuckDB ' || library_version FROM pragma_version()"); !slices.Equal(made, want) {
			t.Errorf("%s is labelled %q, want %q", bound, made, want)
		}
		// Every 40th value, so that the sample holds old and recent ones.
		query(fmt.Sprintf("SET VARIABLE vals = (SELECT list(DISTINCT %[1]s) FROM stg_%[2]s WHERE hash(%[1]s) %% 40 = 0)", l.column, l.entity))
		want := query(fmt.Sprintf("SELECT * FROM stg_%s WHERE %s IN (SELECT unnest(getvariable('vals'))) ORDER BY ALL", l.entity, l.column))
		if len(want) == 0 {
			t.Fatalf("no %s rows sampled", l.entity)
		}
		for _, end := range []string{
			fmt.Sprintf("SET VARIABLE as_of_end = TIMESTAMPTZ '%s 00:00:00+08:00'", asOf+1),
			fmt.Sprintf("SET VARIABLE as_of_end = TIMESTAMPTZ '%s 00:00:00+08:00'", asOf+70),
			"RESET VARIABLE as_of_end",
		} {
			query(end)
			got := query(fmt.Sprintf("SELECT * FROM lookup_%s_by_%s(getvariable('vals')) ORDER BY ALL", l.entity, l.column))
			if !slices.Equal(got, want) {
				t.Errorf("%s: lookup_%s_by_%s: %d rows, a plain filter: %d; %s", end, l.entity, l.column, len(got), len(want), firstDiff(got, want))
			}
		}
	}
}

// TestMergeRefusesAStrayRawFolder: a night's merge reads the ingest_date=
// folders of the nights since its last build, by name; a folder so named
// whose date does not parse fails the merge with a message naming it and
// what to do, and leaves the state as it was, and the merge goes on once
// it is gone.
func TestMergeRefusesAStrayRawFolder(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	p := loadProject(t)
	e := openEngine(t, p, dir, 0)
	defer e.Close()
	days := lakeDays()
	sel := []string{"stg_refunds"}
	run(t, e, transforms.RunOptions{AsOf: days[10], Select: sel})
	stray := filepath.Join(dir, "raw", "refunds", "ingest_date=2026-13-45")
	if err := os.MkdirAll(stray, 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := e.Run(context.Background(), transforms.RunOptions{AsOf: days[11], Select: sel})
	if err == nil {
		t.Fatal("the merge with a stray folder succeeded")
	}
	for _, m := range res.Models {
		if m.Model == "stg_refunds" && (m.Status != transforms.StatusFailed || m.Err == nil ||
			!strings.Contains(m.Err.Error(), stray) || !strings.Contains(m.Err.Error(), "move this one out of raw/")) {
			t.Fatalf("stg_refunds %s: %v; want it failed with an error naming %s and what to do", m.Status, m.Err, stray)
		}
	}
	if err := os.Remove(stray); err != nil {
		t.Fatal(err)
	}
	if got := statuses(run(t, e, transforms.RunOptions{AsOf: days[11], Select: sel}))["stg_refunds"]; got != transforms.StatusOK {
		t.Errorf("stg_refunds %s once the folder is gone; want %s", got, transforms.StatusOK)
	}
}

// TestMergeFindsOldRowsFromTheKeyBound: a merge of the declaration items
// reads the state only from the earliest bound of the night's declarations
// on (the bound the look-ups by decl_no keep; decl_no is part of the
// items' key). A night that brings a new version of the state's oldest
// item and one of an item of the declaration with the latest bound must
// replace the old item's row, and the carried state must equal a rebuilt
// one. The events, whose key (event_id) holds no column with a bound, are
// read whole: an old event moved to another declaration replaces its row.
func TestMergeFindsOldRowsFromTheKeyBound(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	p := loadProject(t)
	days := lakeDays()
	prev, night := days[len(days)-3], days[len(days)-2]
	sel := []string{"stg_declaration_items", "stg_declaration_events"}
	e := openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: prev, Select: sel})
	e.Close()
	oldest := strings.Split(queryStrings(t, warehouse(dir), `SELECT decl_no, item_no, CAST(CAST(qty + 1 AS DECIMAL(18, 6)) AS VARCHAR), b.since < (SELECT max(since) FROM _hlwarn.bound_declaration_items__decl_no)
FROM _hlwarn.state_declaration_items AS s JOIN _hlwarn.bound_declaration_items__decl_no AS b ON b.value = s.decl_no
WHERE NOT deleted ORDER BY updated_at, decl_no, item_no LIMIT 1`)[0], "|")
	if oldest[3] != "true" {
		t.Fatalf("the oldest item's declaration %s has the latest bound; the test needs later ones", oldest[0])
	}
	key := fmt.Sprintf("decl_no = '%s' AND item_no = %s", oldest[0], oldest[1])
	craftVersion(t, dir, "declaration_items", key, "CAST(qty + 1 AS DECIMAL(18, 6)) AS qty", night, night.Time().Add(10*time.Hour))
	// And an item of the declaration with the latest bound: the night's
	// values then have bounds far apart.
	newest := queryStrings(t, warehouse(dir), `SELECT s.decl_no, s.item_no FROM _hlwarn.state_declaration_items AS s
JOIN _hlwarn.bound_declaration_items__decl_no AS b ON b.value = s.decl_no WHERE NOT deleted ORDER BY b.since DESC, s.decl_no, s.item_no LIMIT 1`)[0]
	nd, ni, _ := strings.Cut(newest, "|")
	craftVersion(t, dir, "declaration_items", fmt.Sprintf("decl_no = '%s' AND item_no = %s", nd, ni), "CAST(qty + 1 AS DECIMAL(18, 6)) AS qty", night, night.Time().Add(10*time.Hour))
	// The events keep a bound by decl_no too, but decl_no is not part of
	// their key: the oldest event, moved to that declaration, must still
	// replace its row.
	event := queryStrings(t, warehouse(dir), "SELECT event_id FROM _hlwarn.state_declaration_events WHERE NOT deleted ORDER BY updated_at, event_id LIMIT 1")[0]
	craftVersion(t, dir, "declaration_events", "event_id = '"+event+"'", "'"+nd+"' AS decl_no", night, night.Time().Add(10*time.Hour))
	e = openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: night, Select: sel})
	e.Close()
	if got := queryStrings(t, warehouse(dir), "SELECT decl_no FROM _hlwarn.state_declaration_events WHERE event_id = '"+event+"'"); !slices.Equal(got, []string{nd}) {
		t.Errorf("the oldest event's rows after the night hold the declarations %v; want one, %s", got, nd)
	}
	if got := queryStrings(t, warehouse(dir), "SELECT CAST(qty AS VARCHAR) FROM _hlwarn.state_declaration_items WHERE "+key); len(got) != 1 || got[0] != oldest[2] {
		t.Fatalf("the oldest item's rows after the night: %v; want one, of qty %s", got, oldest[2])
	}
	if got := queryStrings(t, warehouse(dir), "SELECT count(*) - count(DISTINCT _key) FROM _hlwarn.state_declaration_items"); got[0] != "0" {
		t.Errorf("%s keys of the items' state have two rows", got[0])
	}
	carried := map[string][]string{}
	for _, m := range sel {
		carried[m] = queryStrings(t, warehouse(dir), "SELECT * FROM "+m+" ORDER BY ALL")
	}
	e = openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: night, Select: sel, Recompute: true})
	e.Close()
	for _, m := range sel {
		if rebuilt := queryStrings(t, warehouse(dir), "SELECT * FROM "+m+" ORDER BY ALL"); !slices.Equal(carried[m], rebuilt) {
			t.Errorf("%s carried: %d rows, rebuilt: %d; %s", m, len(carried[m]), len(rebuilt), firstDiff(carried[m], rebuilt))
		}
	}
}

// TestMergeWithNothingLanded: a night on which no run landed anything new
// for an entity still moves its state on to the as-of date (an empty
// merge), as a night with versions does.
func TestMergeWithNothingLanded(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	p := loadProject(t)
	e := openEngine(t, p, dir, 0)
	days := lakeDays()
	sel := []string{"stg_refunds"}
	run(t, e, transforms.RunOptions{AsOf: days[10], Select: sel})
	e.Close()
	// The lake's only run now looks as if it landed long before.
	folders, err := filepath.Glob(filepath.Join(dir, "raw", "refunds", "ingest_date=*"))
	if err != nil || len(folders) != 1 {
		t.Fatalf("refunds folders %v (%v); want the lake's one", folders, err)
	}
	if err := os.Rename(folders[0], filepath.Join(dir, "raw", "refunds", "ingest_date=2000-01-01")); err != nil {
		t.Fatal(err)
	}
	before := queryStrings(t, warehouse(dir), "SELECT * FROM stg_refunds ORDER BY ALL")
	e = openEngine(t, p, dir, 0)
	if got := statuses(run(t, e, transforms.RunOptions{AsOf: days[12], Select: sel}))["stg_refunds"]; got != transforms.StatusOK {
		t.Errorf("stg_refunds %s; want %s", got, transforms.StatusOK)
	}
	e.Close()
	if got := queryStrings(t, warehouse(dir), "SELECT as_of FROM _hlwarn.snapshots WHERE model = 'stg_refunds'"); len(got) != 1 || !strings.HasPrefix(got[0], days[12].String()) {
		t.Errorf("stg_refunds' state is as of %v; want %s", got, days[12])
	}
	if after := queryStrings(t, warehouse(dir), "SELECT * FROM stg_refunds ORDER BY ALL"); len(before) == 0 || !slices.Equal(before, after) {
		t.Errorf("stg_refunds changed with nothing landed: %d rows, then %d", len(before), len(after))
	}
}

// TestStateClustered: the declaration events' state is kept sorted by step
// (then version time), so a model reading one step skips the others' row
// groups. The nightly merges append at the end; once the appended rows
// pass a tenth of the sorted ones, a merge sorts the state again. Either
// way every row but the unsorted tail is in order, and the merges change
// no content (TestSnapshotTakesLateVersions).
func TestStateClustered(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	p := loadProject(t)
	days := lakeDays()
	staging := []string{"stg_declaration_events"}
	clustered := func() (sorted, appended int64) {
		t.Helper()
		rows := queryStrings(t, warehouse(dir), "SELECT sorted_rows || '|' || appended FROM _hlwarn.clustered WHERE model = 'stg_declaration_events'")
		if len(rows) != 1 {
			t.Fatalf("_hlwarn.clustered holds %d rows for stg_declaration_events, want 1", len(rows))
		}
		if _, err := fmt.Sscanf(strings.ReplaceAll(rows[0], "|", " "), "%d %d", &sorted, &appended); err != nil {
			t.Fatal(err)
		}
		return sorted, appended
	}
	// Out of order: rows (by row id, less the unsorted tail) whose step
	// and time come before the previous row's.
	unordered := func(tail int64) []string {
		t.Helper()
		return queryStrings(t, warehouse(dir), fmt.Sprintf(`SELECT count(*) FROM (
  SELECT step, updated_at, lag(step) OVER w AS ps, lag(updated_at) OVER w AS pu, row_number() OVER w AS n, count(*) OVER () AS total
  FROM _hlwarn.state_declaration_events WINDOW w AS (ORDER BY rowid))
WHERE n <= total - %d AND (step < ps OR (step = ps AND updated_at < pu))`, tail))
	}
	first := days[len(days)/3]
	e := openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: first, Select: staging})
	e.Close()
	sorted0, appended := clustered()
	if appended != 0 || sorted0 == 0 {
		t.Fatalf("after a rebuild: %d sorted rows, %d appended; want all sorted", sorted0, appended)
	}
	if got := unordered(0); got[0] != "0" {
		t.Fatalf("after a rebuild %s rows are out of (step, updated_at) order", got[0])
	}
	resorted := false
	for d := first + 1; d <= days[len(days)-1]; d++ {
		e := openEngine(t, p, dir, 0)
		run(t, e, transforms.RunOptions{AsOf: d, Select: staging})
		e.Close()
		sorted, appended := clustered()
		if float64(appended) > 0.1*float64(sorted) {
			t.Fatalf("as of %s: %d rows appended to %d sorted, more than a tenth; the merge should have sorted them", d, appended, sorted)
		}
		if got := unordered(appended); got[0] != "0" {
			t.Fatalf("as of %s: %s rows before the %d appended are out of order", d, got[0], appended)
		}
		resorted = resorted || sorted > sorted0
	}
	if !resorted {
		t.Errorf("no merge over %d days sorted the state again", days[len(days)-1]-first)
	}
}

// TestRebuildReadsWhatMergesRead: a staging rebuild reads the files of the
// ingest_date= folders, as the nightly merges do; a Parquet file elsewhere
// under raw/<entity>/ (a copy someone left there) is read by neither, so a
// rebuilt state equals a carried one.
func TestRebuildReadsWhatMergesRead(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	p := loadProject(t)
	days := lakeDays()
	sel := []string{"stg_refunds"}
	e := openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: days[10], Select: sel})
	e.Close()
	want := queryStrings(t, warehouse(dir), "SELECT * FROM stg_refunds ORDER BY ALL")
	// A newer version of every refund, outside the ingest_date= folders.
	files, _ := filepath.Glob(filepath.Join(dir, "raw", "refunds", "ingest_date=*", "*.parquet"))
	if len(files) == 0 {
		t.Fatal("no raw refunds")
	}
	stray := filepath.Join(dir, "raw", "refunds", "copies")
	if err := os.MkdirAll(stray, 0o755); err != nil {
		t.Fatal(err)
	}
	writeParquet(t, fmt.Sprintf("SELECT * REPLACE (updated_at + INTERVAL 1 SECOND AS updated_at, amount + 1 AS amount) FROM read_parquet('%s', hive_partitioning = false)", files[0]), filepath.Join(stray, "x.parquet"))
	e = openEngine(t, p, dir, 0)
	res := run(t, e, transforms.RunOptions{AsOf: days[10], Select: sel, Recompute: true})
	e.Close()
	if s := statuses(res)["stg_refunds"]; s != transforms.StatusOK {
		t.Fatalf("stg_refunds %s; want it rebuilt", s)
	}
	if got := queryStrings(t, warehouse(dir), "SELECT * FROM stg_refunds ORDER BY ALL"); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("the rebuilt stg_refunds (%d rows) differs from the one built before a file was left outside the ingest_date= folders (%d rows): %s", len(got), len(want), firstDiff(want, got))
	}
}
