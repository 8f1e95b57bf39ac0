package transforms_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/pipelines"
	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/simulator"
	hlsql "github.com/hlwarn/hlwarn/sql"
	"github.com/hlwarn/hlwarn/transforms"
)

// lakeConfig is the simulated platform behind every engine test: small
// scale over thirty days, which span the Mid-Autumn and National Day
// holidays, so incremental runs cross months, holidays and weekends.
func lakeConfig() simulator.Config {
	cfg := simulator.DefaultConfig()
	cfg.Days = 30
	return cfg
}

const lakeToken = "transforms-test-token"

// lakeRoot holds the raw lake of this test binary; TestMain removes it.
var lakeRoot string

// testDataset is the simulated platform's data, generated once.
var testDataset = sync.OnceValues(func() (*simulator.Dataset, error) {
	return simulator.Generate(lakeConfig())
})

// testLake is the raw lake every engine test copies: the simulated platform
// served on loopback and extracted once per test binary.
var testLake = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hlwarn-transforms-lake-")
	if err != nil {
		return "", err
	}
	lakeRoot = dir
	ds, err := testDataset()
	if err != nil {
		return "", err
	}
	url, stop, err := servePlatform(ds, nil)
	if err != nil {
		return "", err
	}
	defer stop()
	if err := extractAt(url, dir, nil); err != nil {
		return "", fmt.Errorf("extracting the test lake: %w", err)
	}
	return dir, nil
})

// servePlatform serves ds on a loopback port until stop is called. A nil
// clock is the server's default: every version visible.
func servePlatform(ds *simulator.Dataset, clock func() time.Time) (url string, stop func(), err error) {
	srv, err := simulator.NewServer(ds, simulator.ServerOptions{Token: lakeToken, Clock: clock})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(served) }()
	return "http://" + ln.Addr().String(), func() { cancel(); <-served }, nil
}

// extractAt runs one extraction from the platform at url into dir; a
// non-nil clock names the run after the platform's time.
func extractAt(url, dir string, clock func() time.Time) error {
	client, err := pipelines.NewClient(pipelines.ClientConfig{BaseURL: url, Token: lakeToken})
	if err != nil {
		return err
	}
	ledger, err := pipelines.OpenLedger(dir)
	if err != nil {
		return err
	}
	_, err = pipelines.Extract(context.Background(), client, ledger, pipelines.ExtractConfig{DataDir: dir, Now: clock})
	return err
}

// TestMain removes the shared raw lake when the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if lakeRoot != "" {
		os.RemoveAll(lakeRoot)
	}
	os.Exit(code)
}

// lakeDir is the shared raw lake's data folder; tests must not write to it.
func lakeDir(t testing.TB) string {
	t.Helper()
	start := time.Now()
	dir, err := testLake()
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("built the raw lake (%d days) in %v", lakeConfig().Days, d.Round(time.Millisecond))
	}
	return dir
}

// freshDataDir is a new data folder holding nothing but a copy of the
// lake's raw/.
func freshDataDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	copyTree(t, filepath.Join(lakeDir(t), "raw"), filepath.Join(dir, "raw"))
	return dir
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyTree copies the folder from into to, symbolic links (such as
// marts/current) as links.
func copyTree(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		default:
			return copyFile(path, dst)
		}
	})
	if err != nil {
		t.Fatalf("copying %s: %v", from, err)
	}
}

// tsLiteral is a DuckDB TIMESTAMPTZ literal of ts.
func tsLiteral(ts time.Time) string {
	return "TIMESTAMPTZ '" + ts.UTC().Format("2006-01-02 15:04:05") + "+00'"
}

// craftVersion lands in the data folder dir one new version of an
// entity's record, as a run would have landed it on day: the latest raw
// version chosen by where, with the fields of replace (SELECT … REPLACE
// items) and updated and landed at at.
func craftVersion(t testing.TB, dir, entity, where, replace string, day schemas.Date, at time.Time) {
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
TO '%s' (FORMAT parquet)`, replace, tsLiteral(at), filepath.Join(dir, "raw", entity, "*", "*.parquet"), where,
		filepath.Join(folder, fmt.Sprintf("crafted-%d.parquet", time.Now().UnixNano())))
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("crafting %s: %v", entity, err)
	}
}

// lakeDays are the simulated days, the as-of dates the lake covers.
func lakeDays() []schemas.Date {
	cfg := lakeConfig()
	out := make([]schemas.Date, 0, cfg.Days)
	for d := cfg.Start; d < cfg.End(); d++ {
		out = append(out, d)
	}
	return out
}

// pluginModels is the plug-in folder of the tests: models added beside the
// embedded ones without recompiling hlwarn.
func pluginModels() fs.FS { return os.DirFS(filepath.Join("testdata", "plugins")) }

// loadProject loads the embedded models and the extra folders.
func loadProject(t testing.TB, extra ...fs.FS) *transforms.Project {
	t.Helper()
	p, err := loadModels(extra...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// loadModels loads the embedded models with the default parameters, then
// the extra folders.
func loadModels(extra ...fs.FS) (*transforms.Project, error) {
	params, err := transforms.LoadParams(hlsql.FS)
	if err != nil {
		return nil, err
	}
	return transforms.Load(context.Background(), params, append([]fs.FS{hlsql.FS}, extra...)...)
}

// openEngine opens an engine on dir for p with small settings and closes
// it when the test ends.
func openEngine(t testing.TB, p *transforms.Project, dir string, keep int) *transforms.Engine {
	t.Helper()
	e, err := transforms.Open(p, engineOptions(dir, keep))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func engineOptions(dir string, keep int) transforms.Options {
	return transforms.Options{DataDir: dir, MemoryLimit: "2GB", Threads: 2, KeepBuilds: keep}
}

// queryStrings runs q on the DuckDB file at path, opened read-only, and
// renders each row as its values joined with |.
func queryStrings(t testing.TB, path, q string) []string {
	t.Helper()
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out, err := rowStrings(db, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func rowStrings(db *sql.DB, q string) ([]string, error) {
	rows, err := db.Query(q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out, rows.Err()
}

// warehouse is the path of dir's warehouse file.
func warehouse(dir string) string { return filepath.Join(dir, "warehouse.duckdb") }

// statuses maps each model of a run to its status.
func statuses(res *transforms.RunResult) map[string]string {
	out := map[string]string{}
	if res == nil {
		return out
	}
	for _, m := range res.Models {
		out[m.Model] = m.Status
	}
	return out
}

// buildParquet reads every Parquet file of a published build.
func buildParquet(t testing.TB, dir, build string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "marts", build, "*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("build %s in %s has no Parquet files (%v)", build, dir, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// sameParquet reports every file that differs between two builds' Parquet.
func sameParquet(t testing.TB, what string, want, got map[string][]byte) {
	t.Helper()
	if !slices.Equal(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got))) {
		t.Errorf("%s: files %v; want %v", what, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for name, w := range want {
		if g, ok := got[name]; ok && !bytes.Equal(w, g) {
			t.Errorf("%s: %s differs (%d bytes, want %d)", what, name, len(g), len(w))
		}
	}
}

// readBuildInfo reads a build's build.json.
func readBuildInfo(t testing.TB, dir, build string) transforms.BuildInfo {
	t.Helper()
	var info transforms.BuildInfo
	b, err := os.ReadFile(filepath.Join(dir, "marts", build, "build.json"))
	if err == nil {
		err = json.Unmarshal(b, &info)
	}
	if err != nil {
		t.Fatalf("reading build %s: %v", build, err)
	}
	return info
}

// tableCounts counts the rows of every table of a DuckDB database.
func tableCounts(db *sql.DB) (map[string]int64, error) {
	names, err := rowStrings(db, "SELECT table_name FROM duckdb_tables() ORDER BY 1")
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, n := range names {
		var c int64
		if err := db.QueryRow("SELECT count(*) FROM " + n).Scan(&c); err != nil {
			return nil, err
		}
		out[n] = c
	}
	return out, nil
}

// nightlyPlatform serves the test dataset with a clock the test sets, to
// extract what the platform shows at chosen moments; it stops with the test.
func nightlyPlatform(t testing.TB) (url string, clock func() time.Time, set func(time.Time)) {
	t.Helper()
	ds, err := testDataset()
	if err != nil {
		t.Fatal(err)
	}
	var now atomic.Int64
	clock = func() time.Time { return time.Unix(0, now.Load()).In(schemas.Shanghai) }
	url, stop, err := servePlatform(ds, clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url, clock, func(t time.Time) { now.Store(t.UnixNano()) }
}
