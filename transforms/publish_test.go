package transforms_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/transforms"
)

// publishModels are published models that need no raw data and whose row
// counts grow with the as-of date, so every build has counts of its own.
var publishModels = map[string]string{
	"pub/pub_numbers.sql": `/* ---
kind: table
publish: true
tags: [pub]
tests:
  - unique: [i]
--- */
SELECT i, i * 2 AS twice, getvariable('as_of') AS as_of
FROM range(CAST(30000 + 1000 * (getvariable('as_of') - DATE '2026-09-01') AS BIGINT)) AS t(i)
`,
	"pub/pub_evens.sql": `/* ---
kind: view
publish: true
tags: [pub]
--- */
SELECT i, as_of FROM pub_numbers WHERE i % 2 = 0
`,
	"pub/pub_daily.sql": `/* ---
kind: incremental
partition_by: as_of
publish: true
tags: [pub]
--- */
SELECT getvariable('as_of') AS as_of, count(*) AS numbers, sum(twice) AS total FROM pub_numbers
`,
}

var publishStart = schemas.MustDate("2026-09-01")

// pubTables are the tables a build of publishModels carries.
var pubTables = []string{"mart_data_quality", "pub_daily", "pub_evens", "pub_numbers"}

// publisher opens an engine on a new data folder for the publish models.
func publisher(t *testing.T, keep int) (*transforms.Engine, string) {
	t.Helper()
	p, err := loadFolder(t, publishModels)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	return openEngine(t, p, dir, keep), dir
}

func publishAsOf(t testing.TB, e *transforms.Engine, asOf schemas.Date) string {
	t.Helper()
	b := run(t, e, transforms.RunOptions{AsOf: asOf, Select: []string{"tag:pub"}, Publish: true}).Build
	if b == "" {
		t.Fatalf("the run as of %s published nothing", asOf)
	}
	return b
}

// builds lists the build folders under marts/, by name.
func builds(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "marts"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range entries {
		if d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			out = append(out, d.Name())
		}
	}
	return out
}

// TestReaderSeesOneCompleteBuild publishes build after build while
// readers open marts/current read-only, as BI tools do: every read must
// see all the tables of one build, with the row counts of its build.json.
func TestReaderSeesOneCompleteBuild(t *testing.T) {
	t.Parallel()
	e, dir := publisher(t, 100)
	publishAsOf(t, e, publishStart)
	const publishes, readers = 10, 2
	done := make(chan struct{})
	var wg sync.WaitGroup
	reads := make([]int, readers)
	seen := make([]map[string]bool, readers)
	for r := range readers {
		seen[r] = map[string]bool{}
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				b, err := readCurrent(dir)
				if err != nil {
					t.Errorf("reader %d, read %d: %v", r, reads[r], err)
					return
				}
				reads[r]++
				seen[r][b] = true
			}
		})
	}
	for k := 1; k <= publishes; k++ {
		publishAsOf(t, e, publishStart.AddDays(k))
	}
	close(done)
	wg.Wait()
	for r := range readers {
		t.Logf("reader %d: %d reads of %d builds", r, reads[r], len(seen[r]))
		if len(seen[r]) < 3 {
			t.Errorf("reader %d saw only %d builds in %d reads: the reads did not overlap the publishes", r, len(seen[r]), reads[r])
		}
	}
}

// readCurrent reads marts/current once, as a BI tool would: marts.duckdb
// read-only, then each table's Parquet file. It returns the build read, or
// why the read was not one complete build.
func readCurrent(dir string) (string, error) {
	current := filepath.Join(dir, "marts", "current")
	before := transforms.CurrentBuild(dir)
	db, err := sql.Open("duckdb", filepath.Join(current, "marts.duckdb")+"?access_mode=read_only")
	if err != nil {
		return "", err
	}
	counts, err := tableCounts(db)
	db.Close()
	if err != nil {
		return "", fmt.Errorf("reading marts.duckdb: %w", err)
	}
	build, err := matchBuild(dir, before, transforms.CurrentBuild(dir), counts)
	if err != nil {
		return "", fmt.Errorf("marts.duckdb: %w", err)
	}
	pq, err := sql.Open("duckdb", "")
	if err != nil {
		return "", err
	}
	defer pq.Close()
	for table := range counts {
		before := transforms.CurrentBuild(dir)
		var n int64
		if err := pq.QueryRow(fmt.Sprintf("SELECT count(*) FROM read_parquet('%s')", filepath.Join(current, table+".parquet"))).Scan(&n); err != nil {
			return "", fmt.Errorf("reading %s.parquet: %w", table, err)
		}
		if _, err := matchTable(dir, before, transforms.CurrentBuild(dir), table, n); err != nil {
			return "", fmt.Errorf("%s.parquet: %w", table, err)
		}
	}
	return build, nil
}

// matchBuild finds the build, current at some point from before to after,
// whose build.json lists exactly these tables and row counts.
func matchBuild(dir, before, after string, counts map[string]int64) (string, error) {
	for _, b := range between(dir, before, after) {
		if info, err := buildInfo(dir, b); err == nil && maps.Equal(info.Tables, counts) {
			return b, nil
		}
	}
	return "", fmt.Errorf("tables and rows %v are no complete build from %s to %s", counts, before, after)
}

// matchTable is matchBuild for one table's row count.
func matchTable(dir, before, after, table string, n int64) (string, error) {
	for _, b := range between(dir, before, after) {
		if info, err := buildInfo(dir, b); err == nil && info.Tables[table] == n {
			return b, nil
		}
	}
	return "", fmt.Errorf("%d rows match no build from %s to %s", n, before, after)
}

// between lists the builds from before to after, by name, which is the
// order they were made in.
func between(dir, before, after string) []string {
	entries, _ := os.ReadDir(filepath.Join(dir, "marts"))
	var out []string
	for _, d := range entries {
		if n := d.Name(); d.IsDir() && n >= before && n <= after {
			out = append(out, n)
		}
	}
	return out
}

func buildInfo(dir, build string) (transforms.BuildInfo, error) {
	var info transforms.BuildInfo
	b, err := os.ReadFile(filepath.Join(dir, "marts", build, "build.json"))
	if err != nil {
		return info, err
	}
	return info, json.Unmarshal(b, &info)
}

// TestKeepBuilds checks that only the newest KeepBuilds builds stay, the
// current one among them, whether the as-of date moves or a date is
// published again.
func TestKeepBuilds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		asOf func(k int) schemas.Date
	}{
		{"as-of date moving on", func(k int) schemas.Date { return publishStart.AddDays(k) }},
		{"the same date again", func(int) schemas.Date { return publishStart }},
		{"a backfill going back", func(k int) schemas.Date { return publishStart.AddDays(10 - k) }},
	}
	const keep = 3
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, dir := publisher(t, keep)
			var made []string
			for k := range 6 {
				made = append(made, publishAsOf(t, e, tc.asOf(k)))
				want := slices.Sorted(slices.Values(made[max(0, len(made)-keep):]))
				if got := builds(t, dir); !slices.Equal(got, want) {
					t.Fatalf("after publish %d: builds %v; want the newest %v", k+1, got, want)
				}
				if cur := transforms.CurrentBuild(dir); cur != made[k] {
					t.Fatalf("after publish %d: current is %s; want %s", k+1, cur, made[k])
				}
			}
			assertCurrentReadable(t, dir, pubTables)
		})
	}
}

// TestCurrentNeverPruned plants a build that sorts after every real one,
// so pruning to one build would remove the current build were it not
// protected.
func TestCurrentNeverPruned(t *testing.T) {
	t.Parallel()
	e, dir := publisher(t, 1)
	publishAsOf(t, e, publishStart)
	future := "99991231T235959-2026-09-01-ffff"
	if err := os.Mkdir(filepath.Join(dir, "marts", future), 0o755); err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= 2; k++ {
		b := publishAsOf(t, e, publishStart.AddDays(k))
		if got, want := builds(t, dir), []string{b, future}; !slices.Equal(got, want) {
			t.Errorf("publish %d: builds %v; want %v", k, got, want)
		}
		assertCurrentReadable(t, dir, pubTables)
	}
}

// TestDeadPublishCleanedUp plants what a publish killed midway leaves —
// a half-written build folder and a half-made current link — and checks
// that the next publish removes them and leaves a complete current build.
func TestDeadPublishCleanedUp(t *testing.T) {
	t.Parallel()
	e, dir := publisher(t, 0)
	old := publishAsOf(t, e, publishStart)
	marts := filepath.Join(dir, "marts")
	dead := filepath.Join(marts, ".tmp-20260901T000000-2026-09-02-dead")
	if err := os.Mkdir(dead, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"marts.duckdb": "half a database", "pub_numbers.parquet": "PAR1 half"} {
		if err := os.WriteFile(filepath.Join(dead, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Base(dead), filepath.Join(marts, ".tmp-current")); err != nil {
		t.Fatal(err)
	}
	assertCurrentReadable(t, dir, pubTables)
	b := publishAsOf(t, e, publishStart.AddDays(1))
	if left, _ := filepath.Glob(filepath.Join(marts, ".tmp-*")); len(left) > 0 {
		t.Errorf("the publish left %v", left)
	}
	if got, want := builds(t, dir), slices.Sorted(slices.Values([]string{old, b})); !slices.Equal(got, want) {
		t.Errorf("builds %v; want %v", got, want)
	}
	assertCurrentReadable(t, dir, pubTables)
}
