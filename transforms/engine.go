package transforms

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// Options configure an engine. Zero fields take the documented defaults.
type Options struct {
	DataDir string
	// MemoryLimit is DuckDB's memory_limit. Default: 60 % of the machine's RAM.
	MemoryLimit string
	// Threads is DuckDB's threads. Default: the number of cores.
	Threads int
	// KeepBuilds is how many published builds stay beside current. Default 7.
	KeepBuilds int
	Logger     *slog.Logger
}

// Engine runs a project's models in the data folder's warehouse. One
// engine is one writer: the caller holds the data folder's lock.
type Engine struct {
	p   *Project
	opt Options
	db  *sql.DB
}

// Open opens the warehouse for p.
func Open(p *Project, opt Options) (*Engine, error) {
	if opt.MemoryLimit == "" {
		opt.MemoryLimit = defaultMemoryLimit()
	}
	if opt.Threads <= 0 {
		opt.Threads = runtime.NumCPU()
	}
	if opt.KeepBuilds <= 0 {
		opt.KeepBuilds = 7
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	db, err := openWarehouse(opt.DataDir, opt.MemoryLimit, opt.Threads)
	if err != nil {
		return nil, err
	}
	return &Engine{p: p, opt: opt, db: db}, nil
}

// Close closes the warehouse.
func (e *Engine) Close() error { return e.db.Close() }

// RunOptions select what one run does.
type RunOptions struct {
	AsOf   schemas.Date
	Select []string // selection expressions; none: every model
	// Recompute rebuilds incremental partitions already done (a backfill);
	// otherwise a done partition is kept and only missing ones are filled.
	Recompute bool
	Publish   bool // publish a build when the run succeeds
}

// Status of a model in a run.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"  // its query failed or an error-severity test failed
	StatusSkipped = "skipped" // something it reads failed
	StatusKept    = "kept"    // incremental partition already done
)

// ModelResult is one model's part of a run.
type ModelResult struct {
	Model  string
	Kind   Kind
	Status string
	Rows   int64
	// Evaluated (keyed models) is how many objects the run re-evaluated:
	// its scope, every object when it evaluated in full.
	Evaluated int64
	Seconds   float64
	Err       error
	Tests     []TestResult
}

// RunResult is what a run did.
type RunResult struct {
	AsOf   schemas.Date
	Models []ModelResult
	Build  string // the published build, "" if none
}

// Failed lists the models that failed, for messages.
func (r *RunResult) Failed() []string {
	var out []string
	for _, m := range r.Models {
		if m.Status == StatusFailed {
			out = append(out, m.Model)
		}
	}
	return out
}

// Run builds the selected models as of one date, in dependency order, with
// their tests; a model whose query or error-severity test fails stops its
// dependants, the others go on. With Publish, a run without failures
// publishes a build.
func (e *Engine) Run(ctx context.Context, ro RunOptions) (*RunResult, error) {
	models, err := e.p.Select(ro.Select...)
	if err != nil {
		return nil, err
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting to the warehouse: %w", err)
	}
	defer conn.Close()
	if err := e.prepare(ctx, conn, ro.AsOf); err != nil {
		return nil, err
	}
	res := &RunResult{AsOf: ro.AsOf}
	bad := map[string]bool{}
	var quality []TestResult
	var tested []string // models whose tests ran; an unselected model keeps its results
	for _, m := range models {
		r := ModelResult{Model: m.Name, Kind: m.Kind}
		if dep := firstBad(m, bad); dep != "" {
			r.Status, r.Err = StatusSkipped, fmt.Errorf("skipped: %s failed", dep)
			bad[m.Name] = true
			res.Models = append(res.Models, r)
			if err := recordModelRun(ctx, conn, ro.AsOf, r); err != nil {
				return res, err
			}
			continue
		}
		start := time.Now()
		var b built
		b, r.Err = build(ctx, conn, m, ro, e.opt.DataDir)
		r.Status, r.Rows, r.Evaluated = b.status, b.rows, b.evaluated
		// A kept partition is tested too: the run that built it may have
		// died before recording its results.
		if r.Err == nil {
			r.Tests, r.Err = runTests(ctx, conn, m, b.tested)
			quality = append(quality, r.Tests...)
			tested = append(tested, m.Name)
			if r.Err == nil && failedTest(r.Tests) != "" {
				r.Status, r.Err = StatusFailed, fmt.Errorf("test failed: %s", failedTest(r.Tests))
			}
		}
		if r.Err != nil {
			r.Status = StatusFailed
			bad[m.Name] = true
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
		}
		r.Seconds = time.Since(start).Seconds()
		e.opt.Logger.Debug("model", "model", m.Name, "kind", m.Kind, "status", r.Status, "rows", r.Rows, "seconds", fmt.Sprintf("%.2f", r.Seconds))
		res.Models = append(res.Models, r)
		if err := recordModelRun(ctx, conn, ro.AsOf, r); err != nil {
			return res, err
		}
	}
	if err := writeQuality(ctx, conn, ro.AsOf, tested, quality); err != nil {
		return res, err
	}
	// The night's changes go from the write-ahead log into the warehouse
	// file now, not whenever the engine closes: the run's time includes
	// them, and the next run (or a reader) replays nothing.
	if _, err := conn.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return res, fmt.Errorf("checkpointing the warehouse: %w", err)
	}
	if len(res.Failed()) > 0 {
		return res, fmt.Errorf("%d models failed as of %s: %s", len(res.Failed()), ro.AsOf, strings.Join(res.Failed(), ", "))
	}
	if ro.Publish {
		res.Build, err = e.publish(ctx, conn, ro.AsOf)
	}
	return res, err
}

func firstBad(m *Model, bad map[string]bool) string {
	for _, d := range m.upstream() {
		if bad[d] {
			return d
		}
	}
	return ""
}

// prepare creates the engine's own tables, sets the variables for the
// as-of date and creates the sources.
func (e *Engine) prepare(ctx context.Context, conn *sql.Conn, asOf schemas.Date) error {
	if err := prepareSession(ctx, conn, e.p.Params, asOf); err != nil {
		return err
	}
	return mirrorSources(ctx, conn, e.opt.DataDir, e.p.rawReads())
}

// prepareSession creates the engine's own tables if missing and sets the
// connection's time zone and the variables for the as-of date. The engine
// and the fixture harness share it, so a model runs alike in both: with
// platform time (+08:00), a timestamp's date does not depend on the host.
func prepareSession(ctx context.Context, conn *sql.Conn, params Params, asOf schemas.Date) error {
	stmts := append([]string{
		"CREATE SCHEMA IF NOT EXISTS _hlwarn",
		`CREATE TABLE IF NOT EXISTS _hlwarn.intervals (model VARCHAR, partition_date DATE, rows BIGINT, PRIMARY KEY (model, partition_date))`,
		`CREATE TABLE IF NOT EXISTS _hlwarn.snapshots (model VARCHAR PRIMARY KEY, as_of DATE, ingested_upto TIMESTAMPTZ)`,
		`CREATE TABLE IF NOT EXISTS _hlwarn.keyed_builds (model VARCHAR PRIMARY KEY, as_of DATE, fingerprint VARCHAR)`,
		`CREATE TABLE IF NOT EXISTS _hlwarn.keyed_entities (model VARCHAR, entity VARCHAR, upto TIMESTAMPTZ, epoch BIGINT, PRIMARY KEY (model, entity))`,
		`CREATE TABLE IF NOT EXISTS _hlwarn.epochs (name VARCHAR PRIMARY KEY, n BIGINT)`,
		`CREATE TABLE IF NOT EXISTS _hlwarn.clustered (model VARCHAR PRIMARY KEY, sorted_rows BIGINT, appended BIGINT)`,
		`CREATE TABLE IF NOT EXISTS _hlwarn.model_runs (as_of DATE, model VARCHAR, status VARCHAR, rows BIGINT, seconds DOUBLE, error VARCHAR, finished_at TIMESTAMPTZ)`,
		`CREATE TABLE IF NOT EXISTS mart_data_quality (as_of DATE, model VARCHAR, test VARCHAR, severity VARCHAR, status VARCHAR, failing_rows BIGINT)`,
	}, sessionStatements(params, asOf)...)
	return execAll(ctx, conn, "preparing the warehouse", stmts)
}

// sessionStatements set a connection's time zone and the variables for the
// as-of date: what a model's SQL reads of its session. DuckDB keeps both
// per connection, so every connection that evaluates models or views sets
// them (a view of the rule facts read on a bare connection has no as_of).
func sessionStatements(params Params, asOf schemas.Date) []string {
	return append([]string{"SET TimeZone = 'Asia/Shanghai'"}, params.setVariables(asOf)...)
}

// built is what building one model did.
type built struct {
	status    string
	rows      int64  // rows built
	evaluated int64  // keyed models: the objects re-evaluated
	tested    string // the relation its tests read: what the run built
}

// build materializes one model.
func build(ctx context.Context, conn *sql.Conn, m *Model, ro RunOptions, dataDir string) (built, error) {
	switch m.Kind {
	case KindKeyed:
		return buildKeyed(ctx, conn, m, ro, dataDir)
	case KindSnapshot:
		return buildSnapshot(ctx, conn, m, ro, dataDir)
	case KindView:
		// A model that was a table before (the rule facts were) is one no
		// longer.
		if tableExists(ctx, conn, m.Name) {
			if _, err := conn.ExecContext(ctx, "DROP TABLE "+m.Name); err != nil {
				return built{status: StatusFailed}, m.wrap(err)
			}
		}
		_, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE VIEW %s AS\n%s", m.Name, m.SQL))
		if err == nil && m.Rule != nil {
			err = checkRuleShape(ctx, conn, m, m.Name)
		}
		return built{status: StatusOK, tested: m.Name}, m.wrap(err)
	case KindTable:
		if viewExists(ctx, conn, m.Name) {
			if _, err := conn.ExecContext(ctx, "DROP VIEW "+m.Name); err != nil {
				return built{status: StatusFailed}, m.wrap(err)
			}
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TABLE %s AS\n%s", m.Name, m.SQL)); err != nil {
			return built{status: StatusFailed}, m.wrap(err)
		}
		if m.Rule != nil {
			if err := checkRuleShape(ctx, conn, m, m.Name); err != nil {
				return built{status: StatusFailed}, err
			}
		}
		n, err := count(ctx, conn, m.Name)
		return built{status: StatusOK, rows: n, tested: m.Name}, err
	}
	return buildPartition(ctx, conn, m, ro)
}

// buildPartition replaces the partitions of an incremental model from
// partition_from to the as-of date and records them done, in one
// transaction: a crash leaves the old partitions and their records, or the
// new ones. partition_from is the as-of date, or for a model with a
// lookback the earliest day of its window not yet done.
func buildPartition(ctx context.Context, conn *sql.Conn, m *Model, ro RunOptions) (built, error) {
	from, err := firstToBuild(ctx, conn, m, ro)
	if err != nil {
		return built{status: StatusFailed}, err
	}
	if from == 0 {
		// A kept partition is tested again: the run that built it may have
		// died before recording its results.
		return built{status: StatusKept, tested: partitions(m, ro.AsOf, ro.AsOf)}, nil
	}
	set := []string{"SET VARIABLE partition_from = " + literal(from), fmt.Sprintf("SET VARIABLE lookup_all = %t", lookupAllFrom(from, ro.AsOf))}
	if err := execAll(ctx, conn, "setting the partitions", set); err != nil {
		return built{status: StatusFailed}, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SET VARIABLE lookup_all = false")
	defer conn.ExecContext(context.WithoutCancel(ctx), "SET VARIABLE partition_from = getvariable('as_of')")
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE _stage AS\n%s", m.SQL)); err != nil {
		return built{status: StatusFailed}, m.wrap(err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp._stage")
	var stray int64
	q := fmt.Sprintf("SELECT count(*) FROM temp._stage WHERE %[1]s IS NULL OR %[1]s < getvariable('partition_from') OR %[1]s > getvariable('as_of')", m.PartitionBy)
	if err := conn.QueryRowContext(ctx, q).Scan(&stray); err != nil {
		return built{status: StatusFailed}, m.wrap(err)
	}
	if stray > 0 {
		return built{status: StatusFailed}, fmt.Errorf("%s: %d rows have %s outside %s..%s; an incremental model computes the partitions from getvariable('partition_from') to the as-of date", m.Path, stray, m.PartitionBy, from, ro.AsOf)
	}
	if !tableExists(ctx, conn, m.Name) {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM temp._stage LIMIT 0", m.Name)); err != nil {
			return built{status: StatusFailed}, m.wrap(err)
		}
	} else if err := sameColumns(ctx, conn, m.Name); err != nil {
		return built{status: StatusFailed}, fmt.Errorf("%s: %w; rebuild it with --full-refresh", m.Path, err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return built{status: StatusFailed}, err
	}
	defer tx.Rollback()
	stmts := []string{
		fmt.Sprintf("DELETE FROM %s WHERE %s BETWEEN getvariable('partition_from') AND getvariable('as_of')", m.Name, m.PartitionBy),
		fmt.Sprintf("INSERT INTO %s BY NAME SELECT * FROM temp._stage", m.Name),
		"DELETE FROM _hlwarn.intervals WHERE model = ? AND partition_date BETWEEN getvariable('partition_from') AND getvariable('as_of')",
		fmt.Sprintf(`INSERT INTO _hlwarn.intervals
SELECT ?, days.d, count(s.%s)
FROM (SELECT CAST(t.d AS DATE) AS d FROM range(getvariable('partition_from'), getvariable('as_of') + INTERVAL 1 DAY, INTERVAL 1 DAY) AS t(d)) AS days
LEFT JOIN temp._stage AS s ON s.%s = days.d
GROUP BY days.d`, m.PartitionBy, m.PartitionBy),
	}
	for i, s := range stmts {
		var args []any
		if i >= 2 {
			args = []any{m.Name}
		}
		if _, err := tx.ExecContext(ctx, s, args...); err != nil {
			return built{status: StatusFailed}, m.wrap(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return built{status: StatusFailed}, err
	}
	n, err := count(ctx, conn, "temp._stage")
	return built{status: StatusOK, rows: n, tested: partitions(m, from, ro.AsOf)}, err
}

// partitions is the relation of an incremental model's partitions from
// one day to another.
func partitions(m *Model, from, to schemas.Date) string {
	return fmt.Sprintf("(SELECT * FROM %s WHERE %s BETWEEN %s AND %s)", m.Name, m.PartitionBy, literal(from), literal(to))
}

// firstToBuild is the first partition a run builds: the earliest day of
// the model's window (the as-of date, or its lookback days up to it) not
// done yet, the as-of date when it is recomputed, or 0 when every day of
// the window is done.
func firstToBuild(ctx context.Context, conn *sql.Conn, m *Model, ro RunOptions) (schemas.Date, error) {
	start := ro.AsOf
	if m.Lookback > 0 {
		start = ro.AsOf.AddDays(1 - m.Lookback)
	}
	if !tableExists(ctx, conn, m.Name) {
		return start, nil
	}
	var first sql.NullString
	err := conn.QueryRowContext(ctx, `SELECT CAST(min(CAST(t.d AS DATE)) AS VARCHAR)
FROM range(CAST(? AS DATE), CAST(? AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY) AS t(d)
WHERE CAST(t.d AS DATE) NOT IN (SELECT partition_date FROM _hlwarn.intervals WHERE model = ?)`, start.String(), ro.AsOf.String(), m.Name).Scan(&first)
	if err != nil {
		return 0, err
	}
	switch {
	case first.Valid:
		return schemas.ParseDate(first.String)
	case ro.Recompute:
		return ro.AsOf, nil
	}
	return 0, nil
}

// DropIncremental forgets every incremental model's partitions, every
// keyed model's rows and every staging snapshot, so the next runs rebuild
// them from raw (a full refresh).
func (e *Engine) DropIncremental(ctx context.Context) error {
	for _, n := range e.p.Order {
		m := e.p.Models[n]
		var stmts []string
		switch m.Kind {
		case KindIncremental:
			stmts = []string{"DROP TABLE IF EXISTS " + m.Name, "DELETE FROM _hlwarn.intervals WHERE model = '" + m.Name + "'"}
		case KindKeyed:
			stmts = []string{"DROP TABLE IF EXISTS " + m.Name, "DELETE FROM _hlwarn.keyed_builds WHERE model = '" + m.Name + "'"}
		case KindSnapshot:
			stmts = []string{"DROP VIEW IF EXISTS " + m.Name, "DROP TABLE IF EXISTS " + stateTable(m), "DROP TABLE IF EXISTS " + replacedTable(m), "DELETE FROM _hlwarn.snapshots WHERE model = '" + m.Name + "'"}
			for _, c := range m.snap.bounds {
				stmts = append(stmts, "DROP TABLE IF EXISTS "+boundTable(m.snap.entity, c))
			}
		}
		for _, s := range stmts {
			if _, err := e.db.ExecContext(ctx, s); err != nil && !strings.Contains(err.Error(), "_hlwarn") {
				return fmt.Errorf("full refresh of %s: %w", m.Name, err)
			}
		}
	}
	return nil
}

func (m *Model) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", m.Path, err)
}

func tableExists(ctx context.Context, conn *sql.Conn, name string) bool {
	var n int
	err := conn.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?", name).Scan(&n)
	return err == nil && n > 0
}

func viewExists(ctx context.Context, conn *sql.Conn, name string) bool {
	var n int
	err := conn.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_views() WHERE schema_name = 'main' AND view_name = ?", name).Scan(&n)
	return err == nil && n > 0
}

func count(ctx context.Context, conn *sql.Conn, rel string) (int64, error) {
	var n int64
	err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+rel).Scan(&n)
	return n, err
}

// sameColumns checks that the staged partition has the table's columns.
func sameColumns(ctx context.Context, conn *sql.Conn, table string) error {
	cols := func(rel string) ([]string, error) {
		rows, err := conn.QueryContext(ctx, "SELECT column_name || ' ' || column_type FROM (DESCRIBE SELECT * FROM "+rel+")")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		slices.Sort(out)
		return out, rows.Err()
	}
	have, err := cols(table)
	if err != nil {
		return err
	}
	want, err := cols("temp._stage")
	if err != nil {
		return err
	}
	if !slices.Equal(have, want) {
		return fmt.Errorf("its columns changed (table %v, query %v)", have, want)
	}
	return nil
}

func recordModelRun(ctx context.Context, conn *sql.Conn, asOf schemas.Date, r ModelResult) error {
	msg := ""
	if r.Err != nil {
		msg = r.Err.Error()
	}
	_, err := conn.ExecContext(ctx, "INSERT INTO _hlwarn.model_runs VALUES (?, ?, ?, ?, ?, ?, now())", asOf.String(), r.Model, r.Status, r.Rows, r.Seconds, msg)
	if err != nil {
		return fmt.Errorf("recording the model run: %w", err)
	}
	return nil
}

// defaultMemoryLimit is 60 % of physical memory, as DuckDB reads it.
func defaultMemoryLimit() string {
	if mb, err := memTotalMB(); err == nil {
		return fmt.Sprintf("%dMB", mb*6/10)
	}
	return "80%"
}

var errNoMemInfo = errors.New("no /proc/meminfo")
