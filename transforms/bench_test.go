package transforms_test

import (
	"cmp"
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
	"github.com/hlwarn/hlwarn/simulator"
	"github.com/hlwarn/hlwarn/transforms"
)

// chunkDeclDays is the most declaration-days the simulator is asked for at
// once: it holds its whole period in memory, and thirty district days
// (20,000 declarations a day) take 2 GiB of live heap, 4.5 GB resident;
// ninety take 6.3 GiB and 15 GB, which still fits the 24 GiB machine, so a
// district year is four ninety-day chunks and a short one.
const chunkDeclDays = 90 * 20000

// lakeChunk is how many days of cfg the simulator generates at once: the
// whole period when it fits in memory (a small-scale year does, and a
// district month), else ninety days: the fewer the chunks, the fewer the
// seams (benchLake).
func lakeChunk(cfg simulator.Config) int {
	if simulator.Scales[cfg.Scale].DeclsPerDay*cfg.Days <= chunkDeclDays {
		return cfg.Days
	}
	return chunkDeclDays / simulator.Scales[cfg.Scale].DeclsPerDay
}

// benchLake builds a raw lake for cfg in a fresh folder: in one simulator
// run when it fits in memory (lakeChunk), else ninety days at a time, each
// chunk the same world (the same seed) further on, extracted on top of the
// last. A chunked lake differs from a real one at its seams (README,
// "Benchmarks"): each chunk leaves its in-flight work open for ever and
// brings its own backlog; ninety district days measured 10.7 s a night
// in 30-day chunks against 11.4 s in one piece. With HLWARN_BENCH_LAKES
// set, the raw lake is kept in that folder and re-used by later runs (a
// district year takes about ten minutes to build); the benchmark's data
// folder is always fresh, its raw/ a link to the kept lake.
func benchLake(b *testing.B, cfg simulator.Config) string {
	b.Helper()
	dir := b.TempDir()
	cache := os.Getenv("HLWARN_BENCH_LAKES")
	n := lakeChunk(cfg)
	if cache == "" {
		buildLake(b, cfg, dir, n)
		return dir
	}
	name := fmt.Sprintf("%s-%s-%d", cfg.Scale, cfg.Start, cfg.Days)
	if n < cfg.Days {
		name += fmt.Sprintf("-chunked%d", n)
	}
	kept := filepath.Join(cache, name)
	if _, err := os.Stat(filepath.Join(kept, "complete")); err != nil {
		if err := os.RemoveAll(kept); err != nil {
			b.Fatal(err)
		}
		buildLake(b, cfg, kept, n)
		if err := os.WriteFile(filepath.Join(kept, "complete"), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(kept, "raw"), filepath.Join(dir, "raw")); err != nil {
		b.Fatal(err)
	}
	return dir
}

// buildLake extracts cfg's period into dir, simulated n days at a time.
func buildLake(b *testing.B, cfg simulator.Config, dir string, n int) {
	b.Helper()
	t0 := time.Now()
	for start := cfg.Start; start < cfg.End(); start = start.AddDays(n) {
		chunk := cfg
		chunk.Start, chunk.Days = start, min(n, int(cfg.End()-start))
		ds, err := simulator.Generate(chunk)
		if err != nil {
			b.Fatal(err)
		}
		url, stop, err := servePlatform(ds, nil)
		if err != nil {
			b.Fatal(err)
		}
		err = extractAt(url, dir, nil)
		stop()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s scale, %d days in chunks of %d: lake built in %v", cfg.Scale, cfg.Days, n, time.Since(t0).Round(time.Second))
}

func benchOptions(dir string) transforms.Options {
	return transforms.Options{DataDir: dir, KeepBuilds: 2}
}

// nightlyJob is what the nightly job does, timed as a whole: load the
// models, open the warehouse, run every model as of the day and publish,
// close. A scheduler starts a new process each night, so the bench opens
// a new engine each night too and counts what a night costs beyond its
// models. With dropFirst, the incremental, keyed and staging models are
// dropped first (a full refresh).
func nightlyJob(b *testing.B, dir string, asOf schemas.Date, dropFirst bool) (time.Duration, *transforms.RunResult) {
	b.Helper()
	t0 := time.Now()
	p := loadProject(b, pluginModels())
	e, err := transforms.Open(p, benchOptions(dir))
	if err != nil {
		b.Fatal(err)
	}
	if dropFirst {
		if err := e.DropIncremental(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	res, err := e.Run(context.Background(), transforms.RunOptions{AsOf: asOf, Publish: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0), res
}

// slowest names the models that took longest in a run, for the log.
func slowest(res *transforms.RunResult, n int) string {
	ms := slices.Clone(res.Models)
	slices.SortFunc(ms, func(a, b transforms.ModelResult) int { return cmp.Compare(b.Seconds, a.Seconds) })
	var parts []string
	var total float64
	for _, m := range res.Models {
		total += m.Seconds
	}
	for _, m := range ms[:min(n, len(ms))] {
		parts = append(parts, fmt.Sprintf("%s %.2fs", m.Model, m.Seconds))
	}
	return fmt.Sprintf("models %.1fs in all; slowest: %s", total, strings.Join(parts, ", "))
}

// BenchmarkEngineOverhead: the engine running every model as of one day
// (loading, materializing, tests, ledger) side by side with DuckDB alone
// executing the same SQL (Project.Script) on the same raw lake, at
// district scale.
func BenchmarkEngineOverhead(b *testing.B) {
	cfg := simulator.DefaultConfig()
	cfg.Scale, cfg.Days = "district", 7
	lake := benchLake(b, cfg)
	asOf := cfg.LastDay()
	ctx := context.Background()
	for b.Loop() {
		t0 := time.Now()
		p := loadProject(b, pluginModels())
		e, err := transforms.Open(p, benchOptions(lake))
		if err != nil {
			b.Fatal(err)
		}
		res, err := e.Run(ctx, transforms.RunOptions{AsOf: asOf})
		if err != nil {
			b.Fatal(err)
		}
		e.Close()
		engine := time.Since(t0)
		b.Log(slowest(res, 15))

		stmts, err := p.Script(lake, asOf)
		if err != nil {
			b.Fatal(err)
		}
		db, err := sql.Open("duckdb", filepath.Join(b.TempDir(), "direct.duckdb"))
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		for _, s := range stmts {
			if _, err := db.ExecContext(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
		direct := time.Since(t1)
		db.Close()
		b.ReportMetric(engine.Seconds(), "engine-s")
		b.ReportMetric(direct.Seconds(), "duckdb-s")
		b.ReportMetric(engine.Seconds()/direct.Seconds(), "ratio")
	}
}

// BenchmarkDailyRunGrowth: the nightly job (load, open, every model as of a
// day with the day before already done, publish, close; the median of five
// nights) over 30 and over 365
// days of history, and at 365 days a full refresh: every incremental,
// keyed and staging model dropped and rebuilt from all of raw as of the
// last day, in one run (a lookback window fills in one query, so this is
// the cheapest full refresh there is). District scale by default (make
// bench); HLWARN_BENCH_SCALE=small for a quick look, HLWARN_BENCH_LAKES to
// keep the raw lakes between runs.
func BenchmarkDailyRunGrowth(b *testing.B) {
	scale := cmp.Or(os.Getenv("HLWARN_BENCH_SCALE"), "small")
	daily := map[int]time.Duration{}
	var rebuild365 time.Duration
	for _, days := range []int{30, 365} {
		cfg := simulator.DefaultConfig()
		cfg.Scale, cfg.Start, cfg.Days = scale, schemas.MustDate("2026-10-04").AddDays(-days+1), days
		lake := benchLake(b, cfg)
		// The median of five nights, each the day after the one before.
		nightlyJob(b, lake, cfg.LastDay()-5, false)
		var nights []time.Duration
		for d := cfg.LastDay() - 4; d <= cfg.LastDay(); d++ {
			t, res := nightlyJob(b, lake, d, false)
			nights = append(nights, t)
			b.Logf("%s scale, %d days, as of %s: %v; %s", scale, days, d, t.Round(time.Millisecond), slowest(res, 12))
		}
		slices.Sort(nights)
		daily[days] = nights[2]
		if days == 365 {
			rebuild365, _ = nightlyJob(b, lake, cfg.LastDay(), true)
		}
	}
	for b.Loop() {
		b.ReportMetric(daily[30].Seconds(), "daily30-s")
		b.ReportMetric(daily[365].Seconds(), "daily365-s")
		b.ReportMetric(daily[365].Seconds()/daily[30].Seconds(), "growth")
		b.ReportMetric(rebuild365.Seconds(), "fullrefresh365-s")
		b.ReportMetric(rebuild365.Seconds()/daily[365].Seconds(), "fullrefresh/daily365")
	}
}
