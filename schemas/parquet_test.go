package schemas

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/parquet-go/parquet-go"
)

// writeParquet writes recs of entity e through its row layout, with one
// further column, the way the raw layer does.
func writeParquet(t *testing.T, path string, e *Entity, recs ...any) {
	t.Helper()
	runCol := Column{Name: "_run_id", Node: parquet.String()}
	l, err := e.NewRowLayout(runCol)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[any](f, l.Schema, parquet.Compression(&parquet.Zstd))
	var row parquet.Row
	for _, rec := range recs {
		row = l.AppendRow(row, rec, parquet.ByteArrayValue([]byte("run-1")))
		if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestParquetRoundTrip writes one valid record of every entity to Parquet and
// reads it back with DuckDB: every field keeps its value and gets the type
// the warehouse expects.
func TestParquetRoundTrip(t *testing.T) {
	t.Parallel()
	fx := validFixtures(t)
	dir := t.TempDir()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wantType := map[Kind]string{
		KindString: "VARCHAR", KindInt: "INTEGER", KindBool: "BOOLEAN", KindMoney: "DECIMAL(18,2)",
		KindDecimal: "DECIMAL(18,6)", KindDate: "DATE", KindTimestamp: "TIMESTAMP WITH TIME ZONE",
		KindObject: "JSON", KindArray: "JSON",
	}
	for _, e := range Entities() {
		t.Run(e.Name, func(t *testing.T) {
			rec := fx[e.Name]
			rec["brand_new_field"] = "kept"
			path := filepath.Join(dir, e.Name+".parquet")
			writeParquet(t, path, e, decodeOK(t, e.Name, rec))
			types := map[string]string{}
			rows, err := db.Query(fmt.Sprintf("DESCRIBE SELECT * FROM read_parquet('%s')", path))
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var name, typ string
				var null, key, def, extra sql.NullString
				if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
					t.Fatal(err)
				}
				types[name] = typ
			}
			rows.Close()
			for _, f := range e.Fields {
				if types[f.Name] != wantType[f.Kind] {
					t.Errorf("%s is %s in DuckDB, want %s", f.Name, types[f.Name], wantType[f.Kind])
				}
				if f.Kind == KindBool && f.Name == "deleted" {
					continue
				}
				// Compare DuckDB's rendering with the wire value.
				var got sql.NullString
				expr := fmt.Sprintf("%q::VARCHAR", f.Name)
				switch f.Kind {
				case KindTimestamp:
					expr = fmt.Sprintf("strftime(%q AT TIME ZONE 'Asia/Shanghai', '%%Y-%%m-%%dT%%H:%%M:%%S+08:00')", f.Name)
				case KindObject, KindArray:
					expr = fmt.Sprintf("json(%q)::VARCHAR", f.Name)
				case KindMoney, KindDecimal:
					expr = fmt.Sprintf("printf('%%.6f', %q)", f.Name)
				}
				if err := db.QueryRow(fmt.Sprintf("SELECT %s FROM read_parquet('%s')", expr, path)).Scan(&got); err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
				want := rec[f.Name]
				if want == nil {
					if got.Valid {
						t.Errorf("%s: null came back as %q", f.Name, got.String)
					}
					continue
				}
				wantS := fmt.Sprint(want)
				switch f.Kind {
				case KindObject, KindArray:
					wantS = string(mustJSON(t, want))
				case KindMoney, KindDecimal:
					m, _ := ParseDecimal(want.(string))
					wantS = Decimal(m).fixed6()
				}
				if got.String != wantS {
					t.Errorf("%s: DuckDB reads %q, wire had %q", f.Name, got.String, wantS)
				}
			}
			var extra, run string
			if err := db.QueryRow(fmt.Sprintf("SELECT extra->>'brand_new_field', _run_id FROM read_parquet('%s')", path)).Scan(&extra, &run); err != nil {
				t.Fatal(err)
			}
			if extra != "kept" || run != "run-1" {
				t.Errorf("extra/_run_id read back as %q/%q", extra, run)
			}
		})
	}
}

// fixed6 renders d with exactly six fraction digits, as DuckDB's printf does.
func (d Decimal) fixed6() string {
	sign, v := "", int64(d)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%06d", sign, v/1e6, v%1e6)
}
