package transforms

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // the DuckDB driver

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/schemas/calendar"
)

// duckType is the DuckDB type a contract field has in the raw layer.
func duckType(k schemas.Kind) string {
	return map[schemas.Kind]string{
		schemas.KindString: "VARCHAR", schemas.KindInt: "INTEGER", schemas.KindBool: "BOOLEAN",
		schemas.KindMoney: "DECIMAL(18,2)", schemas.KindDecimal: "DECIMAL(18,6)", schemas.KindDate: "DATE",
		schemas.KindTimestamp: "TIMESTAMPTZ", schemas.KindObject: "JSON", schemas.KindArray: "JSON",
	}[k]
}

// emptyRaw is a typed, empty relation with the raw layer's columns of e,
// for an entity that has landed nothing yet.
func emptyRaw(e *schemas.Entity) string {
	var cols []string
	for _, c := range rawColumns(e) {
		cols = append(cols, fmt.Sprintf("CAST(NULL AS %s) AS %s", c.typ, c.name))
	}
	return "SELECT " + strings.Join(cols, ", ") + " WHERE false"
}

// rawColumn is a column of the raw layer: its name and DuckDB type.
type rawColumn struct{ name, typ string }

// rawColumns are the raw layer's columns of e: the contract's fields, then
// what the raw writer adds (the record's unknown fields, the run, when it
// landed).
func rawColumns(e *schemas.Entity) []rawColumn {
	cols := make([]rawColumn, 0, len(e.Fields)+3)
	for _, f := range e.Fields {
		cols = append(cols, rawColumn{f.Name, duckType(f.Kind)})
	}
	return append(cols, rawColumn{"extra", "JSON"}, rawColumn{"_run_id", "VARCHAR"}, rawColumn{"_ingested_at", "TIMESTAMPTZ"})
}

// sourceStatements make the schema raw, with a view over the Parquet files
// of every entity (rawView), and the schema ref with the reference data
// models may read: the sources of the plain script (Project.Script). The
// engine reads raw through its mirror (mirrorSources).
func sourceStatements(dataDir string) ([]string, error) {
	stmts := []string{"CREATE SCHEMA IF NOT EXISTS raw"}
	for _, e := range schemas.Entities() {
		v, err := rawView(dataDir, e)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, v)
	}
	return append(stmts, calendarStatements()...), nil
}

// rawReads are the entities whose raw versions some model other than their
// staging reads (raw.<entity> among its dependencies).
func (p *Project) rawReads() []string {
	var out []string
	for _, m := range p.Models {
		if m.snap != nil {
			continue
		}
		for _, d := range m.Deps {
			if e, ok := strings.CutPrefix(d, "raw."); ok && !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	slices.Sort(out)
	return out
}

// rawView makes raw.<entity>, a view over every Parquet file the runs
// landed for it: those of its ingest_date= folders, which the merges read
// (landedSince), so that a rebuilt state equals a carried one. DuckDB
// binds a view when it is made, reading the schema of every file
// (union_by_name: a file from before the contract grew lacks the new
// fields), and every statement reading it opens every file, so the cost
// grows with the nights landed: at a year of nightly runs, 1.1 s to make
// the 30 entities' views against 0.05 s for five runs. The engine makes
// one for a staging model whose entity has no mirror when it rebuilds its
// state from raw; the plain script makes them all.
func rawView(dataDir string, e *schemas.Entity) (string, error) {
	files, _, err := landedSince(dataDir, e.Name, math.MinInt32)
	if err != nil {
		return "", err
	}
	body := emptyRaw(e)
	if len(files) > 0 {
		// ingest_date= names the folder a run wrote to; it is no field
		// of the record, so DuckDB must not add it as a column.
		body = fmt.Sprintf("SELECT * FROM read_parquet(%s, union_by_name = true, hive_partitioning = false)", fileList(files))
	}
	return fmt.Sprintf("CREATE OR REPLACE VIEW raw.%s AS %s", e.Name, body), nil
}

// fileList is the SQL list of paths, for read_parquet.
func fileList(paths []string) string {
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = literal(p)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// calendarStatements make ref.calendar from the embedded working-day
// calendar; the fixture harness shares them with the engine.
func calendarStatements() []string {
	var vals []string
	for _, d := range calendar.Default().Days() {
		vals = append(vals, fmt.Sprintf("(DATE '%s', %s, %s, %s)", d.Date, literal(d.Kind), literal(d.Name), literal(d.Source)))
	}
	return []string{
		"CREATE SCHEMA IF NOT EXISTS ref",
		"CREATE OR REPLACE TABLE ref.calendar (date DATE PRIMARY KEY, kind VARCHAR, name VARCHAR, source VARCHAR)",
		"INSERT INTO ref.calendar VALUES " + strings.Join(vals, ", "),
	}
}

// execAll runs statements in order on one connection.
func execAll(ctx context.Context, conn *sql.Conn, what string, stmts []string) error {
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// sourceNames are the relations models may read besides other models.
func sourceNames() map[string]bool {
	out := map[string]bool{"ref.calendar": true}
	for _, e := range schemas.Entities() {
		out["raw."+e.Name] = true
	}
	return out
}

// stagingModels are stg_<entity> for every entity of the contract: the
// latest version of each key with updated_at before the end of the as-of
// day, repeats collapsed, tombstoned keys dropped. They are made from the
// registry so that a plug-in entity gets its staging model too.
func stagingModels() []*Model {
	var out []*Model
	for _, e := range schemas.Entities() {
		keys := strings.Join(e.Key, ", ")
		var nn []string
		nn = append(nn, e.Key...)
		out = append(out, &Model{
			Name:        "stg_" + e.Name,
			Path:        "staging/stg_" + e.Name + " (from the contract registry)",
			Kind:        KindSnapshot,
			snap:        &snapshot{entity: e},
			Tags:        []string{"staging"},
			Description: fmt.Sprintf("%s as of the as-of date: the latest version of each %s, tombstones applied.", e.Name, keys),
			// One row per key holds by construction (the state is keyed and
			// merged by key, and the fixtures test it); a nightly unique test
			// would re-prove it at the cost of the whole history.
			Tests: []Test{{NotNull: append(nn, "updated_at")}},
			SQL: fmt.Sprintf(`SELECT * EXCLUDE (deleted)
FROM (
    SELECT * EXCLUDE (_run_id, _ingested_at)
    FROM raw.%s
    WHERE updated_at < getvariable('as_of_end')
    QUALIFY row_number() OVER (PARTITION BY %s ORDER BY updated_at DESC, _ingested_at DESC) = 1
)
WHERE NOT deleted`, e.Name, keys),
			bodyLine: 1,
		})
	}
	return out
}

// lookupRecentDays is how far back a look-up first searches: the versions
// updated in the last lookupRecentDays days before the end of the as-of
// day. A state table is kept in version-time order, so that search reads
// only the recent row groups; the keys it does not find are then looked
// up in the whole state. A night looks up mostly what changed lately, so
// at a year of history the second search usually has no key and costs
// nothing (a look-up of the 1,203 declarations released on a day, at 365
// district days: 0.44 s → 0.05 s). The price is a second read of the
// recent keys, which a look-up of old keys pays for nothing. The answer is
// the same for any value.
const lookupRecentDays = 40

// lookupAll reads the variable lookup_all, which the engine sets while it
// evaluates a model in full (a keyed model's first or full evaluation, an
// incremental model filling more days than lookupRecentDays): its
// look-ups are then of nearly every key, which a join answers best, and
// the macros' searches would only add to it (handing a year's 5.1 million
// declarations to lookup_declaration_events_by_decl_no took 2.7 s with its
// searches, 1.5 s without; a plain join 0.85 s, the rest is the list).
// DuckDB folds the variable into the plan, so the searches are not
// planned at all.
const lookupAll = "coalesce(CAST(getvariable('lookup_all') AS BOOLEAN), false)"

// lookupMacro is the table macro lookup_<entity>(keys) of a staging model
// whose entity has a one-column key (ok is false for every other model): the staging rows of the
// keys in the list keys, as stg_<entity> holds them. It is (re)created
// with the staging model. A model calls it instead of joining the whole
// staging table when it wants the records of a few keys:
//
//	LEFT JOIN lookup_declarations((SELECT list(decl_no) FROM measured)) AS d ON d.decl_no = m.decl_no
//
// DuckDB answers a join on a key by scanning the whole table (it prunes a
// join's probe side by min/max only, and keys are text); the macro reads
// the recent versions first (lookupRecentDays), and the whole state only
// for the keys not found there. Without as_of_end (a reader outside the
// engine) it reads the whole state; the cast keeps that a NULL of the
// right type, which DuckDB otherwise refuses to subtract from.
func (m *Model) lookupMacro() (string, bool) {
	if m.snap == nil || !hasLookup(m.snap.entity) {
		return "", false
	}
	e := m.snap.entity
	// No CTE: DuckDB 1.5.6 does not prune the columns of a subquery that
	// holds one, so a caller wanting one column would read them all.
	return fmt.Sprintf(`CREATE OR REPLACE MACRO lookup_%[1]s(keys) AS TABLE
SELECT s.* FROM stg_%[1]s AS s SEMI JOIN (SELECT unnest(keys) AS %[2]s) USING (%[2]s)
WHERE %[4]s OR s.updated_at >= CAST(getvariable('as_of_end') AS TIMESTAMPTZ) - INTERVAL %[3]d DAY
UNION ALL
SELECT s.* FROM stg_%[1]s AS s SEMI JOIN (
    SELECT %[2]s FROM (SELECT unnest(keys) AS %[2]s WHERE NOT %[4]s) ANTI JOIN (
        SELECT %[2]s FROM stg_%[1]s WHERE updated_at >= CAST(getvariable('as_of_end') AS TIMESTAMPTZ) - INTERVAL %[3]d DAY
    ) USING (%[2]s)
) USING (%[2]s)`,
		e.Name, e.Key[0], lookupRecentDays, lookupAll), true
}

// parseChildLookup reads "<entity>_by_<column>", the name of a
// lookup_<entity>_by_<column> macro without its prefix.
func parseChildLookup(name string) (entity, column string, ok bool) {
	return strings.Cut(name, "_by_")
}

// boundTable is where the bound of a look-up column is kept.
func boundTable(e *schemas.Entity, column string) string {
	return fmt.Sprintf("_hlwarn.bound_%s__%s", e.Name, column)
}

// boundQuery computes a column's bounds from a relation holding the
// entity's rows (its state, or in the fixture harness its staging table),
// earliest first.
func boundQuery(column, from string) string {
	return fmt.Sprintf("SELECT hash(%[1]s) AS h, %[1]s AS value, min(updated_at) AS since FROM %[2]s WHERE %[1]s IS NOT NULL GROUP BY ALL ORDER BY since", column, from)
}

// childLookupMacro is the table macro lookup_<entity>_by_<column>(vals):
// the rows of stg_<entity> whose column holds one of vals, as the events or
// items of some declarations. Such a look-up cannot search the recent
// versions first as lookupMacro does: a value found there may have older
// rows too. Instead each such column has a bound: the table
// _hlwarn.bound_<entity>__<column> holds, for every value the column takes
// in the state, a time no later than the version time of any row holding
// it (the earliest such version the merges saw; one row per value). The
// look-up reads the bounds of its values, recent ones first as lookupMacro
// does, then the rows updated since the earliest: a state table is in
// version-time order, so it reads only the row groups of that time on
// (the events of 2,497 declarations changed on a day, at 365 district
// days: 0.32 s → 0.06 s). A value no row holds has no bound and adds
// nothing. The values not found among the recent bounds are searched by
// their hash (h), which reads 8 bytes a bound rather than the text;
// another value of the same hash only makes the bound earlier, so the rows
// returned are the same. The staging merge keeps the bound, in its
// transaction (mergeBound), for the columns some model looks up by
// (Project.resolve). No CTE, for the reason lookupMacro gives.
func childLookupMacro(e *schemas.Entity, column string) string {
	return fmt.Sprintf(`CREATE OR REPLACE MACRO lookup_%[1]s_by_%[2]s(vals) AS TABLE
SELECT s.* FROM stg_%[1]s AS s SEMI JOIN (SELECT unnest(vals) AS %[2]s) USING (%[2]s)
WHERE %[5]s OR s.updated_at >= (
    SELECT min(since) FROM (
        SELECT b.since FROM %[3]s AS b SEMI JOIN (SELECT unnest(vals) AS value WHERE NOT %[5]s) USING (value)
        WHERE b.since >= CAST(getvariable('as_of_end') AS TIMESTAMPTZ) - INTERVAL %[4]d DAY
        UNION ALL
        SELECT b.since FROM %[3]s AS b SEMI JOIN (
            SELECT hash(value) AS h FROM (SELECT unnest(vals) AS value WHERE NOT %[5]s) ANTI JOIN (
                SELECT value FROM %[3]s WHERE since >= CAST(getvariable('as_of_end') AS TIMESTAMPTZ) - INTERVAL %[4]d DAY
            ) USING (value)
        ) USING (h)
    )
)`, e.Name, column, boundTable(e, column), lookupRecentDays, lookupAll)
}

// lookupStatements make a staging model's look-up macros: lookup_<entity>
// when its key is one column, and lookup_<entity>_by_<column> for each of
// its bound columns. The engine keeps the bound tables with the state
// (bounds ""); the fixture harness and the script, which have no state,
// make each bound in full from the model's relation, as a bounds ("VIEW"
// or "TABLE").
func (m *Model) lookupStatements(bounds string) []string {
	if m.snap == nil {
		return nil
	}
	var stmts []string
	e := m.snap.entity
	if bounds != "" && len(m.snap.bounds) > 0 {
		stmts = append(stmts, "CREATE SCHEMA IF NOT EXISTS _hlwarn")
		for _, c := range m.snap.bounds {
			stmts = append(stmts, fmt.Sprintf("CREATE OR REPLACE %s %s AS %s", bounds, boundTable(e, c), boundQuery(c, m.Name)))
		}
	}
	if macro, ok := m.lookupMacro(); ok {
		stmts = append(stmts, macro)
	}
	for _, c := range m.snap.bounds {
		stmts = append(stmts, childLookupMacro(e, c))
	}
	return stmts
}

// lookupAllFrom says whether a build of the days from from to asOf looks
// up nearly every key (lookupAll): more days than a look-up first searches.
func lookupAllFrom(from, asOf schemas.Date) bool {
	return from < asOf.AddDays(-lookupRecentDays)
}

// hasLookup says whether lookup_<entity> exists for e: for a one-column key.
func hasLookup(e *schemas.Entity) bool { return len(e.Key) == 1 }

// lookupEntities are the entities lookup_<entity> exists for.
func lookupEntities() []string {
	var out []string
	for _, e := range schemas.Entities() {
		if hasLookup(e) {
			out = append(out, e.Name)
		}
	}
	return out
}

// duckdbSettings are the DuckDB settings every database the engine opens
// is given (the warehouse, the fixture harness's, the script's): DuckDB
// 1.5.6's top-N window optimizer, which rewrites "row_number() = 1"
// filters into aggregates, fails some queries with an internal error
// ("Failed to cast expression to type") depending on the data — C07 on a
// transfer announced ahead of the as-of date (testdata/models/
// rule_c07_transfer_announced) — and earlier 1.5 releases had it drop rows
// (duckdb/duckdb#23677, #24363). Without it a full rebuild of the largest
// staging model takes 15.1 s instead of 13.8 s; a night does not notice.
const duckdbSettings = "disabled_optimizers=" + disabledOptimizers

const disabledOptimizers = "top_n_window_elimination"

// openWarehouse opens the data folder's warehouse with the design's
// settings: memory_limit about 60 % of RAM, threads = cores, spilling
// inside the data folder.
func openWarehouse(dataDir string, memoryLimit string, threads int) (*sql.DB, error) {
	tmp := filepath.Join(dataDir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	// A run ends with a checkpoint (Engine.Run); until then the write-ahead
	// log holds the night's changes. DuckDB's default checkpoints whenever
	// the log passes 16 MB, inside whichever statement crosses it, so a
	// night paid for two or three checkpoints, each charged to some model
	// (C04 took 0.2 s or 1.0 s by whether it was the one).
	dsn := fmt.Sprintf("%s?memory_limit=%s&threads=%d&checkpoint_threshold=1GB&temp_directory=%s&%s", filepath.Join(dataDir, "warehouse.duckdb"), memoryLimit, threads, tmp, duckdbSettings)
	db, err := sql.Open("duckdb", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening the warehouse: %w", err)
	}
	return db, nil
}

// fieldNames are an entity's columns.
func fieldNames(e *schemas.Entity) []string {
	out := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		out[i] = f.Name
	}
	return out
}
