package transforms_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/transforms"
)

// incrementalSelection is what the incremental tests run: every staging
// snapshot, the plug-in incremental models, the table built from all
// partitions of one of them, and everything they read or their
// relationships tests look up.
var incrementalSelection = []string{"tag:staging", "+mart_refund_backlog", "+mart_daily_declarations"}

// incrementalTables are compared whole between incremental and full runs.
// Staging snapshots carried forward night by night must equal ones rebuilt
// from all of raw: stg_duty_roster has tombstones, stg_declarations many
// versions per key.
var incrementalTables = []string{"mart_daily_declarations", "mart_open_refunds", "mart_refund_backlog", "stg_declarations", "stg_duty_roster", "stg_refunds", "stg_officers"}

// run runs ro, failing the test on an error.
func run(t testing.TB, e *transforms.Engine, ro transforms.RunOptions) *transforms.RunResult {
	t.Helper()
	res, err := e.Run(context.Background(), ro)
	if err != nil {
		t.Fatalf("run as of %s: %v", ro.AsOf, err)
	}
	return res
}

// declaredTests counts each model's declared tests.
func declaredTests(p *transforms.Project) map[string]int {
	out := map[string]int{}
	for _, n := range p.Order {
		if k := len(p.Models[n].Tests); k > 0 {
			out[n] = k
		}
	}
	return out
}

// qualityOf counts mart_data_quality's rows per model as of a date, and
// lists those not passing.
func qualityOf(t testing.TB, dir string, asOf schemas.Date) (map[string]int, []string) {
	t.Helper()
	rows := queryStrings(t, warehouse(dir), fmt.Sprintf(
		"SELECT model, status, test FROM mart_data_quality WHERE as_of = DATE '%s' ORDER BY ALL", asOf))
	counts := map[string]int{}
	var bad []string
	for _, r := range rows {
		f := strings.SplitN(r, "|", 3)
		counts[f[0]]++
		if f[1] != "pass" {
			bad = append(bad, r)
		}
	}
	return counts, bad
}

// TestRunBuildsEveryModel runs the embedded models and the plug-ins as of
// one date: every model builds, every declared test passes and has its row
// in mart_data_quality, also after a selected run and a rerun that keeps
// the incremental partitions.
func TestRunBuildsEveryModel(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	p := loadProject(t, pluginModels())
	e := openEngine(t, p, dir, 0)
	asOf := lakeDays()[20]
	res := run(t, e, transforms.RunOptions{AsOf: asOf})
	if len(res.Models) != len(p.Order) {
		t.Errorf("run reported %d models; the project has %d", len(res.Models), len(p.Order))
	}
	for _, m := range res.Models {
		if m.Status != transforms.StatusOK {
			t.Errorf("%s: %s (%v)", m.Model, m.Status, m.Err)
		}
	}
	for _, n := range []string{"mart_daily_declarations", "mart_open_refunds", "mart_refund_backlog", "stg_declarations", "dim_officer"} {
		if i := slices.IndexFunc(res.Models, func(m transforms.ModelResult) bool { return m.Model == n }); i < 0 || res.Models[i].Rows == 0 {
			t.Errorf("%s built no rows", n)
		}
	}
	// A selected run and a rerun keeping the incremental partitions must
	// leave every model's test results of the date in place.
	run(t, e, transforms.RunOptions{AsOf: asOf, Select: []string{"dim_enterprise"}})
	rerun := run(t, e, transforms.RunOptions{AsOf: asOf, Select: []string{"mart_open_refunds+"}})
	if s := statuses(rerun)["mart_open_refunds"]; s != transforms.StatusKept {
		t.Errorf("rerun: mart_open_refunds %s; want %s", s, transforms.StatusKept)
	}
	e.Close()
	// A run makes the raw views of the entities some model other than
	// their staging reads, each of its mirror, and drops the others (a
	// rebuild makes its entity's for itself).
	readRaw := rawReadEntities(p)
	if views := queryStrings(t, warehouse(dir), "SELECT view_name FROM duckdb_views() WHERE schema_name = 'raw' ORDER BY ALL"); len(readRaw) < 5 || !slices.Equal(views, readRaw) {
		t.Errorf("raw views %v; want those of the entities models read raw, %v", views, readRaw)
	}
	// A reader outside a run (no as_of_end) may call the look-up macros the
	// run left in the warehouse; they read the whole state then.
	db, err := sql.Open("duckdb", warehouse(dir)+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	var looked, all int64
	err = db.QueryRow(`SELECT (SELECT count(*) FROM lookup_declarations((SELECT list(decl_no) FROM stg_declarations))),
	                          (SELECT count(*) FROM stg_declarations)`).Scan(&looked, &all)
	db.Close()
	if err != nil || all == 0 || looked != all {
		t.Errorf("outside a run, lookup_declarations of every key: %d rows of %d (%v)", looked, all, err)
	}
	counts, bad := qualityOf(t, dir, asOf)
	if want := declaredTests(p); !maps.Equal(counts, want) {
		t.Errorf("mart_data_quality rows per model %v;\nwant one per declared test %v", counts, want)
	}
	if len(bad) > 0 {
		t.Errorf("tests not passing: %v", bad)
	}
}

// failingFixtures are plug-in models with deliberately failing tests: an
// error-severity failure with two levels of dependants, and a
// warn-severity failure with one.
var failingFixtures = modelFS(map[string]string{
	"fixtures/fx_broken.sql":       "/* ---\nkind: table\ntests:\n  - expression: refund_id IS NULL\n--- */\nSELECT refund_id, amount FROM stg_refunds\n",
	"fixtures/fx_after_broken.sql": "/* ---\nkind: table\n--- */\nSELECT count(*) AS n FROM fx_broken\n",
	"fixtures/fx_after_after.sql":  "/* ---\nkind: view\n--- */\nSELECT n FROM fx_after_broken\n",
	"fixtures/fx_warned.sql":       "/* ---\nkind: table\ntests:\n  - expression: amount < 0\n    severity: warn\n--- */\nSELECT refund_id, amount FROM stg_refunds\n",
	"fixtures/fx_after_warned.sql": "/* ---\nkind: table\n--- */\nSELECT count(*) AS n FROM fx_warned\n",
})

// TestFailingTestStopsDependants checks that an error-severity test
// failure fails its model and skips what depends on it, that a
// warn-severity failure stops nothing, that the rest builds, and that a
// failed run publishes nothing.
func TestFailingTestStopsDependants(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	p := loadProject(t, pluginModels(), failingFixtures)
	e := openEngine(t, p, dir, 0)
	asOf := lakeDays()[10]
	res, err := e.Run(context.Background(), transforms.RunOptions{AsOf: asOf, Publish: true})
	if err == nil || !strings.Contains(err.Error(), "fx_broken") {
		t.Fatalf("run error %v; want one naming fx_broken", err)
	}
	got := statuses(res)
	want := map[string]string{
		"fx_broken": transforms.StatusFailed, "fx_after_broken": transforms.StatusSkipped, "fx_after_after": transforms.StatusSkipped,
		"fx_warned": transforms.StatusOK, "fx_after_warned": transforms.StatusOK,
		"mart_open_refunds": transforms.StatusOK, "mart_refund_backlog": transforms.StatusOK, "dim_date": transforms.StatusOK, "stg_refunds": transforms.StatusOK,
	}
	for m, w := range want {
		if got[m] != w {
			t.Errorf("%s: %s; want %s", m, got[m], w)
		}
	}
	if failed := res.Failed(); !slices.Equal(failed, []string{"fx_broken"}) {
		t.Errorf("failed models %v; want [fx_broken]", failed)
	}
	for _, m := range res.Models {
		if m.Model == "fx_broken" && (m.Err == nil || !strings.Contains(m.Err.Error(), "expression(refund_id IS NULL)")) {
			t.Errorf("fx_broken's error %v does not name the failing test", m.Err)
		}
	}
	if res.Build != "" || transforms.CurrentBuild(dir) != "" {
		t.Errorf("a failed run published build %q (current %q)", res.Build, transforms.CurrentBuild(dir))
	}
	e.Close()
	rows := queryStrings(t, warehouse(dir), fmt.Sprintf(
		"SELECT model, severity, status, failing_rows > 0 FROM mart_data_quality WHERE as_of = DATE '%s' AND status <> 'pass' ORDER BY ALL", asOf))
	if w := []string{"fx_broken|error|fail|true", "fx_warned|warn|fail|true"}; !slices.Equal(rows, w) {
		t.Errorf("failing tests in mart_data_quality %v; want %v", rows, w)
	}
}

// TestIncrementalEqualsFullRefresh runs the nightly job over the thirty
// days (twelve with -short) — extract what the platform shows at 01:00,
// then transform as of the day before — with three nights' transforms
// missed and caught up later, and two nights run twice; then it forgets the
// incremental models and rebuilds every date in order from the whole lake:
// the tables must be equal row for row.
func TestIncrementalEqualsFullRefresh(t *testing.T) {
	t.Parallel()
	url, clock, setClock := nightlyPlatform(t)
	dir := t.TempDir()
	p := loadProject(t, pluginModels())
	days := lakeDays()
	if testing.Short() {
		days = days[:12]
	}
	n := len(days)
	missed, catchUp, twice := days[n/3:n/3+3], 2*n/3, []int{n / 6, 5 * n / 6}
	e := openEngine(t, p, dir, 0)
	done := map[schemas.Date]bool{}
	transform := func(d schemas.Date) {
		res := run(t, e, transforms.RunOptions{AsOf: d, Select: incrementalSelection})
		want := transforms.StatusOK
		if done[d] {
			want = transforms.StatusKept
		}
		done[d] = true
		for _, m := range []string{"mart_daily_declarations", "mart_open_refunds"} {
			if s := statuses(res)[m]; s != want {
				t.Fatalf("as of %s: %s %s; want %s", d, m, s, want)
			}
		}
	}
	for i, d := range days {
		setClock(d.AddDays(1).Time().Add(time.Hour))
		if err := extractAt(url, dir, clock); err != nil {
			t.Fatalf("extracting the night after %s: %v", d, err)
		}
		if !slices.Contains(missed, d) {
			transform(d)
		}
		if i == catchUp {
			for _, m := range missed {
				transform(m)
			}
		}
		if slices.Contains(twice, i) {
			transform(d)
		}
	}
	e.Close()
	incremental := snapshot(t, dir)

	e = openEngine(t, p, dir, 0)
	if err := e.DropIncremental(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, d := range days {
		res := run(t, e, transforms.RunOptions{AsOf: d, Select: incrementalSelection})
		if s := statuses(res)["mart_open_refunds"]; s != transforms.StatusOK {
			t.Fatalf("full refresh as of %s: mart_open_refunds %s; want it recomputed", d, s)
		}
	}
	e.Close()
	full := snapshot(t, dir)
	for _, table := range slices.Sorted(maps.Keys(full)) {
		inc, fr := incremental[table], full[table]
		if len(fr) == 0 {
			t.Errorf("%s is empty after the full refresh", table)
		}
		if !slices.Equal(inc, fr) {
			t.Errorf("%s: incremental %d rows, full refresh %d rows; first difference %s", table, len(inc), len(fr), firstDiff(inc, fr))
		}
	}
	if parts := len(queryStrings(t, warehouse(dir), "SELECT DISTINCT as_of FROM mart_open_refunds")); parts != n {
		t.Errorf("mart_open_refunds has %d partitions; want %d", parts, n)
	}
}

// snapshot reads the incremental tables whole, and the partition ledger.
func snapshot(t testing.TB, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range incrementalTables {
		out[table] = queryStrings(t, warehouse(dir), "SELECT * FROM "+table+" ORDER BY ALL")
	}
	out["intervals"] = queryStrings(t, warehouse(dir), "SELECT * FROM _hlwarn.intervals ORDER BY ALL")
	return out
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("row %d: %s ≠ %s", i, a[i], b[i])
		}
	}
	return fmt.Sprintf("after %d equal rows", min(len(a), len(b)))
}

// TestIncrementalRerunAndRecompute checks that a rerun keeps a done
// partition untouched, and that a recompute (a backfill) rebuilds exactly
// its date's partition and what depends on it.
func TestIncrementalRerunAndRecompute(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	p := loadProject(t, pluginModels())
	d1, d2 := lakeDays()[14], lakeDays()[15]
	e := openEngine(t, p, dir, 0)
	for _, d := range []schemas.Date{d1, d2} {
		run(t, e, transforms.RunOptions{AsOf: d, Select: incrementalSelection})
	}
	e.Close()
	before := snapshot(t, dir)
	tamper(t, dir, "UPDATE mart_open_refunds SET decl_no = 'tampered'")
	// As if the run had died after committing the partitions and before
	// recording the test results.
	tamper(t, dir, "DELETE FROM mart_data_quality")

	tampered := func(d schemas.Date) int {
		return len(queryStrings(t, warehouse(dir), fmt.Sprintf("SELECT 1 FROM mart_open_refunds WHERE as_of = DATE '%s' AND decl_no = 'tampered'", d)))
	}
	steps := []struct {
		name      string
		recompute bool
		status    string
		tampered  [2]bool // whether d1's and d2's partitions are still tampered after
	}{
		{"rerun keeps the done partition", false, transforms.StatusKept, [2]bool{true, true}},
		{"recompute rebuilds it, and only it", true, transforms.StatusOK, [2]bool{false, true}},
	}
	for _, s := range steps {
		e := openEngine(t, p, dir, 0)
		res := run(t, e, transforms.RunOptions{AsOf: d1, Select: []string{"mart_open_refunds+"}, Recompute: s.recompute})
		e.Close()
		st := statuses(res)
		if st["mart_open_refunds"] != s.status || st["mart_refund_backlog"] != transforms.StatusOK {
			t.Errorf("%s: statuses %v; want mart_open_refunds %s and its dependant ok", s.name, st, s.status)
		}
		for i, d := range []schemas.Date{d1, d2} {
			if got := tampered(d) > 0; got != s.tampered[i] {
				t.Errorf("%s: partition %s tampered %v; want %v", s.name, d, got, s.tampered[i])
			}
		}
		counts, _ := qualityOf(t, dir, d1)
		if counts["mart_open_refunds"] != len(p.Models["mart_open_refunds"].Tests) {
			t.Errorf("%s: mart_data_quality holds %d results of mart_open_refunds; want %d", s.name, counts["mart_open_refunds"], len(p.Models["mart_open_refunds"].Tests))
		}
	}
	after := snapshot(t, dir)
	if !slices.Equal(before["intervals"], after["intervals"]) {
		t.Errorf("partition ledger changed:\n%v\n%v", before["intervals"], after["intervals"])
	}
	d1Rows := func(rows []string) []string {
		return slices.DeleteFunc(slices.Clone(rows), func(r string) bool { return !strings.HasPrefix(r, d1.String()) })
	}
	if b, a := d1Rows(before["mart_open_refunds"]), d1Rows(after["mart_open_refunds"]); len(b) == 0 || !slices.Equal(b, a) {
		t.Errorf("recomputed partition %s: %d rows, before %d; first difference %s", d1, len(a), len(b), firstDiff(b, a))
	}
}

// tamper changes the warehouse behind the engine's back.
func tamper(t testing.TB, dir, stmt string) {
	t.Helper()
	db, err := sql.Open("duckdb", warehouse(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatal(err)
	}
}

// TestIncrementalRefusesOtherDates checks that an incremental model whose
// query returns rows outside the as-of partition fails with a clear error
// and writes nothing.
func TestIncrementalRefusesOtherDates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		sql  string
		want []string
	}{
		{
			name: "the day before too",
			sql:  "SELECT date AS as_of, workday_index FROM dim_date WHERE date BETWEEN getvariable('as_of') - 1 AND getvariable('as_of')",
			want: []string{"fixtures/fx_partition.sql", "1 rows have as_of outside 2026-10-01..2026-10-01", "partition_from"},
		},
		{
			name: "a null date",
			sql:  "SELECT CAST(NULL AS DATE) AS as_of, 1 AS x UNION ALL SELECT getvariable('as_of'), 2 UNION ALL SELECT NULL, 3",
			want: []string{"fixtures/fx_partition.sql", "2 rows have as_of outside 2026-10-01..2026-10-01"},
		},
		{
			name: "no partition column",
			sql:  "SELECT date AS day FROM dim_date WHERE date = getvariable('as_of')",
			want: []string{"fixtures/fx_partition.sql", "as_of"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := modelFS(map[string]string{"fixtures/fx_partition.sql": "/* ---\nkind: incremental\npartition_by: as_of\n--- */\n" + tc.sql + "\n"})
			dir := t.TempDir()
			e := openEngine(t, loadProject(t, fx), dir, 0)
			res, err := e.Run(context.Background(), transforms.RunOptions{AsOf: schemas.MustDate("2026-10-01"), Select: []string{"+fx_partition"}})
			if err == nil {
				t.Fatal("the run succeeded")
			}
			var modelErr error
			for _, m := range res.Models {
				if m.Model == "fx_partition" {
					modelErr = m.Err
				}
			}
			if modelErr == nil {
				t.Fatalf("fx_partition has no error; run error %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(modelErr.Error(), w) {
					t.Errorf("error %q does not hold %q", modelErr, w)
				}
			}
			e.Close()
			if rows := queryStrings(t, warehouse(dir), "SELECT * FROM _hlwarn.intervals"); len(rows) != 0 {
				t.Errorf("partitions recorded done: %v", rows)
			}
		})
	}
}

// TestPublishDeterministic checks that the published Parquet is
// byte-identical across a rerun in the same data folder and a run in a
// fresh folder holding nothing but a copy of raw/.
func TestPublishDeterministic(t *testing.T) {
	t.Parallel()
	p := loadProject(t, pluginModels())
	days := lakeDays()
	prev, asOf := days[26], days[27]
	publishAfter := func(dir string, dates ...schemas.Date) string {
		e := openEngine(t, p, dir, 0)
		defer e.Close()
		for _, d := range dates {
			run(t, e, transforms.RunOptions{AsOf: d})
		}
		return run(t, e, transforms.RunOptions{AsOf: asOf, Publish: true}).Build
	}
	first := freshDataDir(t)
	b1 := publishAfter(first, prev)
	b2 := publishAfter(first)
	fresh := freshDataDir(t)
	b3 := publishAfter(fresh, prev)
	want := buildParquet(t, first, b1)
	for _, n := range p.Published() {
		if _, ok := want[n+".parquet"]; !ok {
			t.Errorf("build %s lacks %s.parquet", b1, n)
		}
	}
	if b1 == b2 {
		t.Errorf("the rerun published no new build (%s)", b2)
	}
	sameParquet(t, "rerun in the same folder", want, buildParquet(t, first, b2))
	sameParquet(t, "run in a fresh folder", want, buildParquet(t, fresh, b3))
	// The rule facts are views of the as-of date: published, every row
	// carries it (the tables are written on connections of their own).
	var warnings int64
	for _, f := range []string{"fact_deadline_breach", "fact_procedure_deviation", "fact_relationship_anomaly"} {
		got := queryStrings(t, filepath.Join(first, "marts", b1, "marts.duckdb"),
			fmt.Sprintf("SELECT count(*), count(*) FILTER (WHERE as_of IS DISTINCT FROM DATE '%s') FROM %s", asOf, f))
		var n, other int64
		fmt.Sscanf(got[0], "%d|%d", &n, &other)
		if other != 0 {
			t.Errorf("published %s: %d of %d rows not as of %s", f, other, n, asOf)
		}
		warnings += n
	}
	if warnings == 0 {
		t.Error("the build published no warnings")
	}
}

// TestTransformChild is the child process of TestKillDuringTransform; it
// does nothing unless that test started it.
func TestTransformChild(t *testing.T) {
	dir := os.Getenv("HLWARN_TRANSFORM_CHILD_DIR")
	if dir == "" {
		return
	}
	asOf, err := schemas.ParseDate(os.Getenv("HLWARN_TRANSFORM_CHILD_AS_OF"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := loadModels(pluginModels())
	if err != nil {
		t.Fatal(err)
	}
	// The debug log on stderr tells the parent how far the run got.
	opt := engineOptions(dir, 0)
	opt.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := transforms.Open(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	recompute := os.Getenv("HLWARN_TRANSFORM_CHILD_RECOMPUTE") != ""
	if _, err := e.Run(context.Background(), transforms.RunOptions{AsOf: asOf, Recompute: recompute, Publish: true}); err != nil {
		t.Fatal(err)
	}
}

func transformChild(dir string, asOf schemas.Date, recompute bool) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestTransformChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HLWARN_TRANSFORM_CHILD_DIR="+dir, "HLWARN_TRANSFORM_CHILD_AS_OF="+asOf.String())
	if recompute {
		cmd.Env = append(cmd.Env, "HLWARN_TRANSFORM_CHILD_RECOMPUTE=1")
	}
	return cmd
}

// TestKillDuringTransform kills a transforming and publishing process with
// SIGKILL ten times (four with -short), at points spread over a whole run,
// and once more when its log says it is half-way through publishing.
// Every kill hits a child that starts from the same state, a copy of the
// data folder as the previous night left it: a killed run keeps the models
// it finished, so children run one after another in one folder would have
// less and less to do and finish before their kill. After each kill the
// build marts/current points at must still open read-only with every table
// complete, and a rerun must publish the same bytes as an uninterrupted run.
// It does not run in parallel with the package's other tests: the kills are
// spread over a run's duration, measured first and shortened whenever a
// child finishes before its kill (go test runs other packages' tests beside
// this one at first, so the first run may be slow).
func TestKillDuringTransform(t *testing.T) {
	p := loadProject(t, pluginModels())
	days := lakeDays()
	prev, asOf := days[23], days[24]
	night := freshDataDir(t)
	e := openEngine(t, p, night, 0)
	run(t, e, transforms.RunOptions{AsOf: prev, Publish: true})
	e.Close()

	// fromNight is a new data folder holding a copy of night's.
	fromNight := func() string {
		dir := t.TempDir()
		copyTree(t, night, dir)
		return dir
	}
	ref := fromNight()
	start := time.Now()
	if out, err := transformChild(ref, asOf, false).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	full := time.Since(start)
	want := buildParquet(t, ref, transforms.CurrentBuild(ref))

	rng := rand.New(rand.NewPCG(7, 11))
	kills := 10
	if testing.Short() {
		kills = 4
	}
	killed, midPublish := 0, 0
	// afterKill checks the folder a child was killed in, then reruns.
	afterKill := func(what, dir string) {
		assertCurrentReadable(t, dir, p.Published())
		if left, _ := filepath.Glob(filepath.Join(dir, "marts", ".tmp-*")); len(left) > 0 {
			midPublish++
		}
		if out, err := transformChild(dir, asOf, false).CombinedOutput(); err != nil {
			t.Fatalf("rerun after %s: %v\n%s", what, err, out)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "marts", ".tmp-*")); len(left) > 0 {
			t.Errorf("the rerun after %s left %v", what, left)
		}
		sameParquet(t, "rerun after "+what, want, buildParquet(t, dir, transforms.CurrentBuild(dir)))
	}
	for i := range kills {
		// One kill in each tenth of a run, at a random point of it; every
		// other child recomputes the incremental partitions, so kills land
		// in their transactions too. A child that finishes before its kill
		// shows that runs are faster now than the measured one (the other
		// packages' tests share the cores at first): the kills are spread
		// over its time from then on, and the kill is tried again.
		frac := (float64(i) + rng.Float64()) / float64(kills)
		for attempt := 1; ; attempt++ {
			dir := fromNight()
			delay := time.Duration(frac * float64(full))
			cmd := transformChild(dir, asOf, i%2 == 1)
			started := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("child %d failed: %v", i, err)
				}
				took := time.Since(started)
				t.Logf("kill %d: the child finished in %v, before its kill at %v", i, took.Round(time.Millisecond), delay.Round(time.Millisecond))
				full = min(full, took)
				if attempt < 3 {
					continue
				}
			case <-time.After(delay):
				cmd.Process.Kill()
				<-exited
				killed++
			}
			afterKill(fmt.Sprintf("kill %d at %v", i, delay.Round(time.Millisecond)), dir)
			break
		}
	}

	// A last child is killed while it publishes: once its log says the
	// second table is written, so the new build is half there.
	dir := fromNight()
	cmd := transformChild(dir, asOf, false)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	published, lines := 0, bufio.NewScanner(stderr)
	for published < 2 && lines.Scan() {
		if strings.Contains(lines.Text(), `msg="published table"`) {
			published++
		}
	}
	cmd.Process.Kill()
	io.Copy(io.Discard, stderr)
	cmd.Wait()
	if published < 2 {
		t.Fatalf("the child's log never said it published two tables")
	}
	before := midPublish
	afterKill("a kill while publishing", dir)
	if midPublish == before {
		t.Errorf("the kill while publishing left no half-written build behind; it did not hit the publish")
	}
	t.Logf("%d of %d timed kills hit a running child; %d kills in all left a half-written build; an uninterrupted run takes %v", killed, kills, midPublish, full.Round(time.Millisecond))
	if killed < kills/2 {
		t.Errorf("only %d children were killed before they finished", killed)
	}
}

// assertCurrentReadable opens marts/current/marts.duckdb read-only as a BI
// tool would and checks that it holds the published tables, each with the
// rows its build.json says.
func assertCurrentReadable(t *testing.T, dir string, tables []string) {
	t.Helper()
	build := transforms.CurrentBuild(dir)
	if build == "" {
		t.Fatal("marts/current is gone")
	}
	info := readBuildInfo(t, dir, build)
	db, err := sql.Open("duckdb", filepath.Join(dir, "marts", "current", "marts.duckdb")+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := tableCounts(db)
	if err != nil {
		t.Fatalf("reading marts/current (%s): %v", build, err)
	}
	if !maps.Equal(got, info.Tables) {
		t.Errorf("marts/current (%s) holds %v; its build.json says %v", build, got, info.Tables)
	}
	if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, tables) {
		t.Errorf("marts/current (%s) holds tables %v; want %v", build, names, tables)
	}
}
