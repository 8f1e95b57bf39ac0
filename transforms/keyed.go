package transforms

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// A keyed model keeps rows by object (its unique_key column) across runs
// and re-evaluates, on each run, only the objects its scope query names:
// those whose records changed since its last build, and those whose rows
// move with the as-of date although nothing changed (an open item measured
// to the as-of date, a limit about to pass). Every other object's rows are
// carried from the last build. This is what keeps a nightly rule run
// proportional to the day's changes and the open items, not to the
// history: a year of closed declarations is not evaluated again every
// night.
//
// The scope query and the model read changed.<entity>: the records of an
// entity changed since the model's last build — each new version, the
// version it replaced (a tombstone carries only its key, so the replaced
// version says what the deleted record was linked to), and a late version
// older than the current one, which changes no staging row but is raw
// history a model may read — with a deleted column. The model reads
// scope, one column key, and must keep only the rows of those objects: a
// row for a key outside the scope is an error.
//
// A build evaluates every object (changed.<entity> is then the whole
// staging state) when there is no earlier build to carry from, when it goes
// back in time, after a rebuild of the staging of an entity whose changes
// it reads, when the model's SQL or its parameters changed, when the last
// build is older than the kept log of replaced versions, and on
// --recompute or --full-refresh. So the first
// run, a backfill and a rerun with new parameters are full evaluations,
// and a test proves that nightly runs equal one full evaluation.

// replacedDays is how long replaced versions are kept for keyed models:
// a model last built longer ago is evaluated in full.
const replacedDays = 31

// keyedVersion is part of every keyed model's fingerprint; changing how
// the engine evaluates keyed models changes it, so the next run is full.
const keyedVersion = "1"

// replacedTable logs the state rows a merge replaced, by the day merged.
func replacedTable(m *Model) string { return "_hlwarn.replaced_" + m.snap.entity.Name }

// keyedState is what the last build of a keyed model recorded.
type keyedState struct {
	asOf        schemas.Date
	fingerprint string
	entities    map[string]entityMark // what it read of each entity's changes
}

// entityMark is where an entity's staging state stood when a keyed model
// was built: the newest landing it held, and how many times it had been
// rebuilt from raw (a rebuild keeps no log of replaced versions).
type entityMark struct {
	upto  sql.NullTime
	epoch int64
}

// buildKeyed evaluates the objects in the model's scope and replaces their
// rows, or evaluates all of them (see above).
func buildKeyed(ctx context.Context, conn *sql.Conn, m *Model, ro RunOptions, dataDir string) (built, error) {
	fp, err := fingerprint(ctx, conn, m)
	if err != nil {
		return built{status: StatusFailed}, err
	}
	prev, err := lastKeyed(ctx, conn, m)
	if err != nil {
		return built{status: StatusFailed}, err
	}
	full := ro.Recompute || dataDir == "" || prev == nil || !tableExists(ctx, conn, m.Name) ||
		prev.asOf > ro.AsOf || prev.asOf < ro.AsOf.AddDays(-replacedDays) ||
		prev.fingerprint != fp
	marks := map[string]entityMark{}
	for _, entity := range m.changed {
		mark, err := markOf(ctx, conn, entity)
		if err != nil {
			return built{status: StatusFailed}, err
		}
		marks[entity] = mark
		if was, ok := prev.mark(entity); !ok || was.epoch != mark.epoch {
			full = true
		}
	}
	if _, err := conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS changed"); err != nil {
		return built{status: StatusFailed}, err
	}
	exact := map[string]bool{} // changed.<entity> holds the versions the model last saw
	for _, entity := range m.changed {
		var view string
		was, _ := prev.mark(entity)
		if full {
			view = fmt.Sprintf("SELECT *, false AS deleted FROM stg_%s", entity)
		} else if ok, err := mergedSince(ctx, conn, entity, prev.asOf, was.upto, marks[entity].upto); err != nil {
			return built{status: StatusFailed}, err
		} else if ok {
			// The usual night: this run's merge of the entity started from
			// the state the model last saw, so what it changed is exactly
			// what the model has not seen — no scan of the state.
			view = "SELECT * EXCLUDE (_prior) FROM temp._changes_" + entity
			exact[entity] = true
		} else {
			after := "TIMESTAMPTZ '-infinity'"
			if was.upto.Valid {
				after = timestamptz(was.upto.Time)
			}
			view = fmt.Sprintf(`SELECT * EXCLUDE (_key, _ingested_at) FROM _hlwarn.state_%[1]s
WHERE updated_at >= TIMESTAMPTZ '%[2]s 00:00:00+08:00' OR _ingested_at > %[3]s
UNION ALL BY NAME
SELECT * EXCLUDE (replaced_on, _key, _ingested_at) FROM _hlwarn.replaced_%[1]s WHERE replaced_on > DATE '%[4]s'`,
				entity, prev.asOf.AddDays(1), after, prev.asOf)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE VIEW changed.%s AS %s", entity, view)); err != nil {
			return built{status: StatusFailed}, m.wrap(err)
		}
	}
	if len(m.diffed) > 0 {
		if _, err := conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS diff"); err != nil {
			return built{status: StatusFailed}, err
		}
	}
	for _, entity := range m.diffed {
		e, err := schemas.Lookup(entity)
		if err != nil {
			return built{status: StatusFailed}, err
		}
		view := diffView(e, "changed."+entity, diffEvery)
		switch {
		case full:
			view = diffView(e, "stg_"+entity, diffEveryKeyed)
		case exact[entity]:
			view = diffView(e, "temp._changes_"+entity, diffExact)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE VIEW diff.%s AS %s", entity, view)); err != nil {
			return built{status: StatusFailed}, m.wrap(err)
		}
	}
	since := "DATE '-infinity'"
	if !full {
		since = literal(prev.asOf.AddDays(1))
	}
	stmts := []string{
		"SET VARIABLE changed_since = " + since,
		fmt.Sprintf("SET VARIABLE lookup_all = %t", full),
		fmt.Sprintf("CREATE OR REPLACE TEMP TABLE scope AS SELECT DISTINCT * FROM (\n%s\n) AS s(key) WHERE key IS NOT NULL", m.Scope),
	}
	if err := execAll(ctx, conn, "scope", stmts); err != nil {
		return built{status: StatusFailed}, &ModelError{Path: m.Path, Line: 1, Msg: "scope: " + strings.TrimPrefix(err.Error(), "scope: ")}
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp.scope")
	defer conn.ExecContext(context.WithoutCancel(ctx), "SET VARIABLE changed_since = DATE '-infinity'")
	defer conn.ExecContext(context.WithoutCancel(ctx), "SET VARIABLE lookup_all = false")
	if n, err := columnCount(ctx, conn, "temp.scope"); err != nil || n != 1 {
		return built{status: StatusFailed}, &ModelError{Path: m.Path, Line: 1, Msg: fmt.Sprintf("scope: the query returns %d columns; return one, the %s of each object to re-evaluate", n, m.UniqueKey)}
	}
	// A night's rows are staged in a temporary table and merged; a full
	// evaluation is built beside the model and renamed over it, not copied.
	stage := "temp._stage"
	create := "CREATE OR REPLACE TEMP TABLE _stage AS\n" + m.SQL
	if full {
		stage = "main." + m.Name + "__full"
		create = fmt.Sprintf("CREATE OR REPLACE TABLE %s AS\n%s", stage, m.SQL)
	}
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return built{status: StatusFailed}, m.wrap(err)
	}
	if full {
		defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+stage)
	}
	if m.Rule != nil {
		if err := checkRuleShape(ctx, conn, m, stage); err != nil {
			return built{status: StatusFailed}, err
		}
	}
	// Every row must belong to an object of the scope. A full evaluation's
	// scope is every object, so there only a null key can be out of it;
	// a night checks its rows against its scope.
	var stray int64
	q := fmt.Sprintf("SELECT count(*) FROM %[2]s WHERE %[1]s IS NULL OR %[1]s NOT IN (SELECT key FROM temp.scope)", m.UniqueKey, stage)
	if full {
		q = fmt.Sprintf("SELECT count(*) FROM %[2]s WHERE %[1]s IS NULL", m.UniqueKey, stage)
	}
	if err := conn.QueryRowContext(ctx, q).Scan(&stray); err != nil {
		return built{status: StatusFailed}, m.wrap(err)
	}
	if stray > 0 {
		return built{status: StatusFailed}, fmt.Errorf("%s: %d rows have a %s that is null or not in the scope; a keyed model keeps only the objects of its scope: join its driving table to it (JOIN scope ON scope.key = %s) or filter it with %s IN (SELECT key FROM scope)", m.Path, stray, m.UniqueKey, m.UniqueKey, m.UniqueKey)
	}
	if !full {
		if err := sameColumns(ctx, conn, m.Name); err != nil {
			return built{status: StatusFailed}, fmt.Errorf("%s: %w; rebuild it with --full-refresh", m.Path, err)
		}
	}
	n, err := count(ctx, conn, stage)
	if err != nil {
		return built{status: StatusFailed}, err
	}
	evaluated, err := count(ctx, conn, "temp.scope")
	if err != nil {
		return built{status: StatusFailed}, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return built{status: StatusFailed}, err
	}
	defer tx.Rollback()
	if full {
		stmts = []string{"DROP TABLE IF EXISTS main." + m.Name, fmt.Sprintf("ALTER TABLE %s RENAME TO %s", stage, m.Name)}
	} else {
		stmts = []string{
			fmt.Sprintf("DELETE FROM %s WHERE %s IN (SELECT key FROM temp.scope)", m.Name, m.UniqueKey),
			fmt.Sprintf("INSERT INTO %s BY NAME SELECT * FROM temp._stage", m.Name),
		}
	}
	stmts = append(stmts,
		"DELETE FROM _hlwarn.keyed_builds WHERE model = "+literal(m.Name),
		fmt.Sprintf("INSERT INTO _hlwarn.keyed_builds VALUES (%s, %s, %s)", literal(m.Name), literal(ro.AsOf), literal(fp)),
		"DELETE FROM _hlwarn.keyed_entities WHERE model = "+literal(m.Name),
	)
	for entity, mark := range marks {
		v := "NULL"
		if mark.upto.Valid {
			v = timestamptz(mark.upto.Time)
		}
		stmts = append(stmts, fmt.Sprintf("INSERT INTO _hlwarn.keyed_entities VALUES (%s, %s, %s, %d)", literal(m.Name), literal(entity), v, mark.epoch))
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return built{status: StatusFailed}, m.wrap(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return built{status: StatusFailed}, err
	}
	// The night's tests read its staged rows (the next keyed model
	// replaces them); a full evaluation's, the model.
	tested := m.Name
	if !full {
		tested = stage
	}
	return built{status: StatusOK, rows: n, evaluated: evaluated, tested: tested}, nil
}

// diffKind is what diff.<entity> can tell of a source of changed records.
type diffKind int

const (
	// diffExact: the night's merge, which marks the rows the state held
	// before it (_prior).
	diffExact diffKind = iota
	// diffEvery: other changed records, a key maybe more than once; every
	// column counts as changed.
	diffEvery
	// diffEveryKeyed: the staging model, a full evaluation's changed
	// records, a key once; every column counts as changed, and no grouping
	// is needed (it took 0.5 s for a year of declarations).
	diffEveryKeyed
)

// diffView is diff.<entity>, for a keyed model's scope: one row for each
// key of the changed records in src, and for each column of the entity
// whether its value may differ from the one the model last saw. A scope
// that follows an entity for a few of its columns names the objects of the
// records whose those columns changed, not of every changed record: an
// enterprise's credit class changes most nights, the USCC a rule maps to
// its ent_code hardly ever. Only the night's merge tells (diffExact): a
// column differs when the record is new (no prior row), deleted or
// revived, or its values among the merge's rows differ (NULL counting as a
// value). Otherwise every column of every changed record counts as
// changed.
func diffView(e *schemas.Entity, src string, kind diffKind) string {
	key := quoteIdent(e.Key[0])
	var cols []string
	for _, c := range diffColumns(e) {
		c = quoteIdent(c)
		if kind == diffExact {
			cols = append(cols, fmt.Sprintf("NOT bool_or(_prior) OR bool_or(deleted) OR count(DISTINCT %[1]s) + (count(%[1]s) < count(*))::INTEGER > 1 AS %[1]s", c))
		} else {
			cols = append(cols, "true AS "+c)
		}
	}
	if kind == diffEveryKeyed {
		return fmt.Sprintf("SELECT %s, %s FROM %s", key, strings.Join(cols, ", "), src)
	}
	return fmt.Sprintf("SELECT %s, %s FROM %s GROUP BY %s", key, strings.Join(cols, ", "), src, key)
}

// diffColumns are the columns diff.<entity> says changed or not: the
// staging model's, but for the key and the version's time.
func diffColumns(e *schemas.Entity) []string {
	var out []string
	for _, f := range e.Fields {
		if f.Name != e.Key[0] && f.Name != "updated_at" && f.Name != "deleted" {
			out = append(out, f.Name)
		}
	}
	return append(out, "extra")
}

func (k *keyedState) mark(entity string) (entityMark, bool) {
	if k == nil {
		return entityMark{}, false
	}
	m, ok := k.entities[entity]
	return m, ok
}

// lastKeyed reads what the model's last build recorded, nil if none.
func lastKeyed(ctx context.Context, conn *sql.Conn, m *Model) (*keyedState, error) {
	var k keyedState
	var asOf string
	err := conn.QueryRowContext(ctx, "SELECT as_of::VARCHAR, fingerprint FROM _hlwarn.keyed_builds WHERE model = ?", m.Name).Scan(&asOf, &k.fingerprint)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if k.asOf, err = schemas.ParseDate(asOf); err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, "SELECT entity, upto, epoch FROM _hlwarn.keyed_entities WHERE model = ?", m.Name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	k.entities = map[string]entityMark{}
	for rows.Next() {
		var e string
		var mark entityMark
		if err := rows.Scan(&e, &mark.upto, &mark.epoch); err != nil {
			return nil, err
		}
		k.entities[e] = mark
	}
	return &k, rows.Err()
}

// mergedSince reports whether this run merged the entity's staging from
// the state a model last saw (as of from, landings up to fromUpto) to the
// state it has now (landings up to upto).
func mergedSince(ctx context.Context, conn *sql.Conn, entity string, from schemas.Date, fromUpto, upto sql.NullTime) (bool, error) {
	var n int
	err := conn.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = '_changes_index'`).Scan(&n)
	if err != nil || n == 0 {
		return false, err
	}
	lit := func(t sql.NullTime) string {
		if !t.Valid {
			return "NULL"
		}
		return timestamptz(t.Time)
	}
	err = conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM temp._changes_index
WHERE entity = ? AND from_as_of = ? AND from_upto IS NOT DISTINCT FROM %s AND to_upto IS NOT DISTINCT FROM %s`,
		lit(fromUpto), lit(upto)), entity, from.String()).Scan(&n)
	return n > 0, err
}

// markOf is where an entity's staging state stands now.
func markOf(ctx context.Context, conn *sql.Conn, entity string) (entityMark, error) {
	var mark entityMark
	err := conn.QueryRowContext(ctx, "SELECT ingested_upto FROM _hlwarn.snapshots WHERE model = ?", "stg_"+entity).Scan(&mark.upto)
	if err != nil && err != sql.ErrNoRows {
		return mark, err
	}
	err = conn.QueryRowContext(ctx, "SELECT coalesce(max(n), 0) FROM _hlwarn.epochs WHERE name = ?", entity).Scan(&mark.epoch)
	return mark, err
}

// bumpEpoch is the statement that counts a rebuild of an entity's staging.
func bumpEpoch(entity string) string {
	return fmt.Sprintf("INSERT INTO _hlwarn.epochs VALUES (%s, 1) ON CONFLICT (name) DO UPDATE SET n = n + 1", literal(entity))
}

// fingerprint identifies what a keyed model computes: its queries and key,
// those of every model it reads, transitively (a deployed change upstream
// changes what its carried rows would be), and the values of the
// parameters they all read.
func fingerprint(ctx context.Context, conn *sql.Conn, m *Model) (string, error) {
	h := sha256.New()
	for _, s := range []string{keyedVersion, m.definition} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, p := range m.upParams {
		var v sql.NullString
		if err := conn.QueryRowContext(ctx, "SELECT getvariable(?)::VARCHAR", p).Scan(&v); err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s=%s\x00", p, v.String)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// timestamptz is a TIMESTAMPTZ literal of t, to the microsecond.
func timestamptz(t time.Time) string {
	return fmt.Sprintf("TIMESTAMPTZ '%s'", t.UTC().Format("2006-01-02 15:04:05.999999+00"))
}

// columnCount is how many columns a relation has.
func columnCount(ctx context.Context, conn *sql.Conn, rel string) (int, error) {
	var n int
	err := conn.QueryRowContext(ctx, "SELECT count(*) FROM (DESCRIBE SELECT * FROM "+rel+")").Scan(&n)
	return n, err
}
