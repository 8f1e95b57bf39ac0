package transforms_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hlwarn/hlwarn/transforms"
)

// rawReadEntities are the entities whose raw versions some model other
// than their staging reads (raw.<entity> among its dependencies).
func rawReadEntities(p *transforms.Project) []string {
	var out []string
	for _, m := range p.Models {
		for _, d := range m.Deps {
			if ent, ok := strings.CutPrefix(d, "raw."); ok && m.Kind != transforms.KindSnapshot && !slices.Contains(out, ent) {
				out = append(out, ent)
			}
		}
	}
	slices.Sort(out)
	return out
}

// mirrored is what the warehouse's mirror of an entity holds: the files it
// lists and its rows.
type mirrored struct{ files, rows int64 }

// checkMirrors checks, in dir's warehouse, that raw.<entity> of each of
// entities reads its mirror and holds exactly the rows of the entity's
// landed files, repeats included, with the types a view over the files
// gives, and that the mirror's file list is those files; it returns what
// each mirror holds.
func checkMirrors(t *testing.T, dir string, entities []string) map[string]mirrored {
	t.Helper()
	db, err := sql.Open("duckdb", warehouse(dir)+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]mirrored{}
	for _, ent := range entities {
		glob := filepath.Join(dir, "raw", ent, "ingest_date=*", "*.parquet")
		files, _ := filepath.Glob(glob)
		if len(files) == 0 {
			t.Fatalf("%s: no raw files", ent)
		}
		fromFiles := fmt.Sprintf("read_parquet('%s', union_by_name = true, hive_partitioning = false)", glob)
		view, err := rowStrings(db, fmt.Sprintf("SELECT sql FROM duckdb_views() WHERE schema_name = 'raw' AND view_name = '%s'", ent))
		if err != nil || len(view) != 1 || !strings.Contains(view[0], "_hlwarn.raw_"+ent) {
			t.Errorf("raw.%s is %v (%v); want a view of its mirror", ent, view, err)
			continue
		}
		// Every column the files have, of the same type.
		want, err := rowStrings(db, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+fromFiles+") ORDER BY ALL")
		if err != nil {
			t.Fatal(err)
		}
		got, err := rowStrings(db, fmt.Sprintf("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM raw.%s) ORDER BY ALL", ent))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range want {
			if !slices.Contains(got, c) {
				t.Errorf("raw.%s lacks the files' column %s; it has %v", ent, c, got)
			}
		}
		var cols []string
		for _, c := range want {
			cols = append(cols, strings.SplitN(c, "|", 2)[0])
		}
		list := strings.Join(cols, ", ")
		var diff, rows, fileRows int64
		err = db.QueryRow(fmt.Sprintf(`SELECT
  (SELECT count(*) FROM ((SELECT %[1]s FROM raw.%[2]s EXCEPT ALL SELECT %[1]s FROM %[3]s)
                         UNION ALL (SELECT %[1]s FROM %[3]s EXCEPT ALL SELECT %[1]s FROM raw.%[2]s))),
  (SELECT count(*) FROM raw.%[2]s),
  (SELECT count(*) FROM %[3]s)`, list, ent, fromFiles)).Scan(&diff, &rows, &fileRows)
		if err != nil {
			t.Fatal(err)
		}
		if diff != 0 || rows != fileRows || rows == 0 {
			t.Errorf("raw.%s holds %d rows, the files %d; %d differ", ent, rows, fileRows, diff)
		}
		var listed, listedRows int64
		err = db.QueryRow("SELECT count(*), coalesce(sum(rows), 0) FROM _hlwarn.raw_files WHERE entity = ?", ent).Scan(&listed, &listedRows)
		if err != nil {
			t.Fatal(err)
		}
		if listed != int64(len(files)) || listedRows != rows {
			t.Errorf("the mirror of %s lists %d files of %d rows; raw/ holds %d files, the mirror %d rows", ent, listed, listedRows, len(files), rows)
		}
		out[ent] = mirrored{files: listed, rows: rows}
	}
	return out
}

// TestMirrorFollowsRaw: a run brings the warehouse's mirror of every entity
// models read raw to the files landed: a new file is appended once, however
// often the night is run; a file gone or changed makes the entity's mirror
// again; a file that cannot be read, or holds a field the contract does
// not know, fails the run with a message naming it and leaves the mirror as
// it was; a mirror no model reads any more is dropped.
func TestMirrorFollowsRaw(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	p := loadProject(t, pluginModels())
	ents := rawReadEntities(p)
	if len(ents) < 5 || !slices.Contains(ents, "control_orders") || !slices.Contains(ents, "officers") {
		t.Fatalf("entities read raw %v; the test wants control_orders and officers among them", ents)
	}
	asOf := lakeDays()[10]
	runOnce := func(p *transforms.Project) error {
		e := openEngine(t, p, dir, 0)
		defer e.Close()
		_, err := e.Run(context.Background(), transforms.RunOptions{AsOf: asOf, Select: []string{"dim_date"}})
		return err
	}
	mustRun := func(what string) {
		t.Helper()
		if err := runOnce(p); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	mustRun("first run")
	base := checkMirrors(t, dir, ents)

	mustRun("rerun")
	if again := checkMirrors(t, dir, ents); !maps.Equal(again, base) {
		t.Errorf("a rerun changed the mirrors: %v, then %v", base, again)
	}

	// A later night lands a file (here a repeat of the first one's rows).
	orders, _ := filepath.Glob(filepath.Join(dir, "raw", "control_orders", "ingest_date=*", "*.parquet"))
	later := filepath.Join(dir, "raw", "control_orders", "ingest_date=2099-01-01")
	if err := os.MkdirAll(later, 0o755); err != nil {
		t.Fatal(err)
	}
	landed := filepath.Join(later, "20990101T010000-abcd-0001.parquet")
	if err := copyFile(orders[0], landed); err != nil {
		t.Fatal(err)
	}
	mustRun("run after a file landed")
	grown := checkMirrors(t, dir, ents)
	if g, b := grown["control_orders"], base["control_orders"]; g.files != b.files+1 || g.rows <= b.rows {
		t.Errorf("control_orders' mirror holds %+v after a file landed; before %+v", g, b)
	}
	mustRun("rerun after a file landed")
	if again := checkMirrors(t, dir, ents); !maps.Equal(again, grown) {
		t.Errorf("a rerun changed the mirrors: %v, then %v", grown, again)
	}

	// A file that is no Parquet fails the run, naming it, and the mirror
	// keeps what it held.
	bad := filepath.Join(later, "20990101T010000-abcd-0002.parquet")
	if err := os.WriteFile(bad, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := runOnce(p)
	if err == nil || !strings.Contains(err.Error(), "mirroring raw/control_orders") || !strings.Contains(err.Error(), filepath.Base(bad)) {
		t.Errorf("run with an unreadable raw file: %v; want an error naming the entity and the file", err)
	}
	if got := queryStrings(t, warehouse(dir), "SELECT count(*) FROM _hlwarn.raw_files WHERE entity = 'control_orders'"); len(got) != 1 || got[0] != fmt.Sprint(grown["control_orders"].files) {
		t.Errorf("after the failed run the mirror lists %v files; want %d", got, grown["control_orders"].files)
	}
	if got := queryStrings(t, warehouse(dir), "SELECT count(*) FROM _hlwarn.raw_control_orders"); len(got) != 1 || got[0] != fmt.Sprint(grown["control_orders"].rows) {
		t.Errorf("after the failed run the mirror holds %v rows; want %d", got, grown["control_orders"].rows)
	}
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}

	// A file holding a field the contract does not know.
	officers, _ := filepath.Glob(filepath.Join(dir, "raw", "officers", "ingest_date=*", "*.parquet"))
	odd := filepath.Join(dir, "raw", "officers", "ingest_date=2099-01-01", "20990101T010000-abcd-0001.parquet")
	if err := os.MkdirAll(filepath.Dir(odd), 0o755); err != nil {
		t.Fatal(err)
	}
	writeParquet(t, fmt.Sprintf("SELECT *, 1 AS surprise FROM read_parquet('%s', hive_partitioning = false)", officers[0]), odd)
	err = runOnce(p)
	if err == nil || !strings.Contains(err.Error(), "mirroring raw/officers") || !strings.Contains(err.Error(), "surprise") || !strings.Contains(err.Error(), "contract does not know") {
		t.Errorf("run with a raw file of an unknown field: %v; want an error naming the entity, the field and what to do", err)
	}
	if err := os.RemoveAll(filepath.Dir(odd)); err != nil {
		t.Fatal(err)
	}

	// Raw is append-only, but should a file go or change, the mirror
	// follows: it is made again from the files.
	if err := os.RemoveAll(later); err != nil {
		t.Fatal(err)
	}
	mustRun("run after a file went")
	if again := checkMirrors(t, dir, ents); !maps.Equal(again, base) {
		t.Errorf("after the landed file went the mirrors hold %v; want %v", again, base)
	}
	writeParquet(t, fmt.Sprintf("SELECT * FROM read_parquet('%s', hive_partitioning = false) LIMIT 10", orders[0]), orders[0]+".cut")
	if err := os.Rename(orders[0]+".cut", orders[0]); err != nil {
		t.Fatal(err)
	}
	mustRun("run after a file changed")
	if cut := checkMirrors(t, dir, ents); cut["control_orders"].rows >= base["control_orders"].rows {
		t.Errorf("after a file was cut to 10 rows the mirror of control_orders holds %d rows; before %d", cut["control_orders"].rows, base["control_orders"].rows)
	}

	// A plug-in model reading raw.leads brings a mirror of them; without
	// it, the mirror goes.
	if slices.Contains(ents, "leads") {
		t.Fatalf("leads are already read raw (%v); the test wants an entity no model reads raw", ents)
	}
	withLeads := loadProject(t, pluginModels(), modelFS(map[string]string{
		"extra/fx_raw_leads.sql": "/* ---\nkind: view\n--- */\nSELECT count(*) AS n FROM raw.leads\n",
	}))
	if err := runOnce(withLeads); err != nil {
		t.Fatal(err)
	}
	checkMirrors(t, dir, []string{"leads"})
	mustRun("run without the model reading raw.leads")
	for _, q := range []string{
		"SELECT count(*) FROM duckdb_tables() WHERE schema_name = '_hlwarn' AND table_name = 'raw_leads'",
		"SELECT count(*) FROM duckdb_views() WHERE schema_name = 'raw' AND view_name = 'leads'",
		"SELECT count(*) FROM _hlwarn.raw_files WHERE entity = 'leads'",
	} {
		if got := queryStrings(t, warehouse(dir), q); got[0] != "0" {
			t.Errorf("with no model reading raw.leads, %s: %s; want 0", q, got[0])
		}
	}
}

// writeParquet writes the result of q to path with DuckDB.
func writeParquet(t *testing.T, q, path string) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf("COPY (%s) TO '%s' (FORMAT parquet)", q, path)); err != nil {
		t.Fatal(err)
	}
}
