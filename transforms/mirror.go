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

	"github.com/hlwarn/hlwarn/schemas"
)

// The raw mirror is the warehouse's copy of the raw versions of each entity
// some model reads raw (Project.rawReads): _hlwarn.raw_<entity> holds the
// rows of every Parquet file the runs landed for it (in its ingest_date=
// folders, which the merges read too), and raw.<entity> is a view of it. A model reading raw versions reads a DuckDB table, not a
// file per night: at a year of nightly runs, a view over the files opened
// 365 footers in every statement that read it (0.06 s before the first
// row) and scanned text keys it could not skip; from the mirror, the
// models of a 365-day district night take 11.3 s instead of 13.1 s.
//
// _hlwarn.raw_files lists the files a mirror holds, by their path under
// raw/<entity>/ and their size. Each run, before its models, brings every
// mirror to the files there are: a file not yet listed is appended with its
// listing in one transaction, so a crash leaves it for the next run, and a
// rerun appends nothing twice. Raw is append-only; should a listed file be
// gone or have another size, the entity's mirror is made again from the
// files. Either way the mirror holds exactly the rows of the files, so
// models read what a view of them would give, and a warehouse made from
// raw alone holds the same.
//
// A full refresh keeps the mirror: it is no model's result but a copy of
// raw, checked file by file each run.

// rawFilesTable lists the files each mirror holds.
const rawFilesTable = "_hlwarn.raw_files"

// mirrorTable is where the mirror of an entity's raw versions is kept.
func mirrorTable(e *schemas.Entity) string { return "_hlwarn.raw_" + e.Name }

// rawFile is one landed file: its path under raw/<entity>/ and its size.
type rawFile struct {
	name  string
	bytes int64
}

// landedFiles lists every file the runs landed for an entity, in the order
// of their folders' dates (their names'), as the merge reads them.
func landedFiles(dataDir string, e *schemas.Entity) ([]rawFile, error) {
	paths, _, err := landedSince(dataDir, e.Name, math.MinInt32)
	if err != nil {
		return nil, err
	}
	base := filepath.Join(dataDir, "raw", e.Name)
	out := make([]rawFile, 0, len(paths))
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return nil, err
		}
		out = append(out, rawFile{name: filepath.ToSlash(rel), bytes: fi.Size()})
	}
	slices.SortFunc(out, func(a, b rawFile) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// mirrorSources makes raw.<entity> for each of entities, a view of its
// mirror brought to the files landed (syncMirror), and drops the raw views
// and mirrors of the others: a mirror no model reads would only take room,
// and would be made again if one did.
func mirrorSources(ctx context.Context, conn *sql.Conn, dataDir string, entities []string) error {
	stmts := []string{
		"CREATE SCHEMA IF NOT EXISTS raw",
		"CREATE TABLE IF NOT EXISTS " + rawFilesTable + " (entity VARCHAR, file VARCHAR, bytes BIGINT, rows BIGINT, PRIMARY KEY (entity, file))",
	}
	for _, e := range schemas.Entities() {
		if !slices.Contains(entities, e.Name) {
			stmts = append(stmts,
				"DROP VIEW IF EXISTS raw."+e.Name,
				"DROP TABLE IF EXISTS "+mirrorTable(e),
				fmt.Sprintf("DELETE FROM %s WHERE entity = %s", rawFilesTable, literal(e.Name)))
		}
	}
	if err := execAll(ctx, conn, "creating sources", stmts); err != nil {
		return err
	}
	for _, name := range entities {
		e, err := schemas.Lookup(name)
		if err != nil {
			return err
		}
		if err := syncMirror(ctx, conn, dataDir, e); err != nil {
			return fmt.Errorf("mirroring raw/%s: %w", e.Name, err)
		}
		view := fmt.Sprintf("CREATE OR REPLACE VIEW raw.%s AS SELECT * FROM %s", e.Name, mirrorTable(e))
		if _, err := conn.ExecContext(ctx, view); err != nil {
			return fmt.Errorf("creating sources: %w", err)
		}
	}
	return execAll(ctx, conn, "creating sources", calendarStatements())
}

// syncMirror brings an entity's mirror to the files landed: it appends the
// files it does not hold, or makes it again when one it holds is gone or
// changed.
func syncMirror(ctx context.Context, conn *sql.Conn, dataDir string, e *schemas.Entity) error {
	files, err := landedFiles(dataDir, e)
	if err != nil {
		return err
	}
	held := map[string]int64{}
	rows, err := conn.QueryContext(ctx, "SELECT file, bytes FROM "+rawFilesTable+" WHERE entity = ?", e.Name)
	if err != nil {
		return err
	}
	for rows.Next() {
		var f string
		var n int64
		if err := rows.Scan(&f, &n); err != nil {
			rows.Close()
			return err
		}
		held[f] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	again := !mirrorExists(ctx, conn, e)
	var add []rawFile
	for _, f := range files {
		n, ok := held[f.name]
		if ok && n != f.bytes {
			again = true
		}
		if !ok {
			add = append(add, f)
		}
		delete(held, f.name)
	}
	if len(held) > 0 {
		again = true
	}
	var stmts []string
	if again {
		add = files
		stmts = append(stmts,
			fmt.Sprintf("CREATE OR REPLACE TABLE %s AS %s", mirrorTable(e), emptyRaw(e)),
			fmt.Sprintf("DELETE FROM %s WHERE entity = %s", rawFilesTable, literal(e.Name)))
	} else {
		// A field the contract added since the mirror was made.
		missing, err := missingColumns(ctx, conn, e)
		if err != nil {
			return err
		}
		for _, c := range missing {
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s", mirrorTable(e), c))
		}
	}
	if len(add) > 0 {
		base := filepath.Join(dataDir, "raw", e.Name)
		paths := make([]string, len(add))
		listed := make([]string, len(add))
		for i, f := range add {
			paths[i] = filepath.Join(base, filepath.FromSlash(f.name))
			listed[i] = fmt.Sprintf("(%s, %s, %d)", literal(f.name), literal(paths[i]), f.bytes)
		}
		from := fmt.Sprintf("read_parquet(%s, union_by_name = true, hive_partitioning = false, filename = '_hlwarn_file')", fileList(paths))
		stmts = append(stmts,
			// Both threads writing, in no set order: the models read a
			// mirror by key and by version time, which is in no file's
			// order either (the first run's copy of the 7-day district
			// lake's 480,000 vouchers: 0.80 → 0.40 s).
			"SET preserve_insertion_order = false",
			fmt.Sprintf("INSERT INTO %s BY NAME SELECT * EXCLUDE (_hlwarn_file) FROM %s", mirrorTable(e), from),
			fmt.Sprintf(`INSERT INTO %s
SELECT %s, f.file, f.bytes, coalesce(n.rows, 0)
FROM (VALUES %s) AS f(file, path, bytes)
LEFT JOIN (SELECT _hlwarn_file AS path, count(*) AS rows FROM %s GROUP BY ALL) AS n USING (path)`,
				rawFilesTable, literal(e.Name), strings.Join(listed, ", "), from))
	}
	if len(stmts) == 0 {
		return nil
	}
	// The setting is the database's, and a publish writes its tables in
	// order: reset whether the copy went through or not.
	defer conn.ExecContext(context.WithoutCancel(ctx), "RESET preserve_insertion_order")
	if err := inTx(ctx, conn, stmts); err != nil {
		if strings.Contains(err.Error(), "does not have a column") {
			return fmt.Errorf("%w; the raw files hold a field this contract does not know: run the hlwarn version whose contract landed them", err)
		}
		return err
	}
	return nil
}

// mirrorExists reports whether the entity's mirror table is there.
func mirrorExists(ctx context.Context, conn *sql.Conn, e *schemas.Entity) bool {
	var n int
	err := conn.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = '_hlwarn' AND table_name = ?", "raw_"+e.Name).Scan(&n)
	return err == nil && n > 0
}

// missingColumns are the raw layer's columns of e (emptyRaw) that its mirror
// lacks, each as "name TYPE".
func missingColumns(ctx context.Context, conn *sql.Conn, e *schemas.Entity) ([]string, error) {
	have := map[string]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT column_name FROM duckdb_columns() WHERE schema_name = '_hlwarn' AND table_name = ?", "raw_"+e.Name)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return nil, err
		}
		have[c] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []string
	for _, c := range rawColumns(e) {
		if !have[c.name] {
			out = append(out, c.name+" "+c.typ)
		}
	}
	return out, nil
}
