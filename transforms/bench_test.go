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
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/schemas/calendar"
	"github.com/hlwarn/hlwarn/simulator"
	"github.com/hlwarn/hlwarn/transforms"
)

// chunkDeclDays is the most declaration-days the simulator is asked for at
// once: it holds its whole period in memory, and thirty district days
// (20,000 declarations a day) take 2 GiB of live heap, 4.5 GB resident;
// ninety take 6.3 GiB and 15 GB (18–20 GB at the peak of a lake's build),
// which still fits the 24 GiB machine.
const chunkDeclDays = 90 * 20000

// lakeTail is how many days past its end each piece of a lake built in
// pieces is simulated: the versions its declarations have in those days
// (their review, inspection, release, payment, ...) are served with the
// next piece, so a seam leaves no work in flight for ever
// (simulator.Dataset.Until). On the 30-day district lake, 3.2 % of the
// declarations accepted 17 days before the as-of date 2026-10-03 were still
// open on it, 0.4–1 % of those accepted 19 to 26 days before, against 61 %
// of those of its last working day.
const lakeTail = 17

// lakePiece is how many days of cfg the simulator generates per piece, each
// simulated lakeTail days further: the whole period in one piece when it
// fits in memory (a small-scale year does, and a district month), else the
// fewest pieces of equal length whose days with the tail fit (a district
// year: five pieces of 73 days).
func lakePiece(cfg simulator.Config) int {
	perDay := simulator.Scales[cfg.Scale].DeclsPerDay
	if perDay*cfg.Days <= chunkDeclDays {
		return cfg.Days
	}
	most := chunkDeclDays/perDay - lakeTail
	pieces := (cfg.Days + most - 1) / most
	return (cfg.Days + pieces - 1) / pieces
}

// benchLake builds a raw lake for cfg in a fresh folder, extracted night by
// night as the nightly job does (each day's versions in the ingest
// partition of the night after it): simulated in one run when it fits in
// memory, else in pieces (lakePiece), each the same world (the same seed)
// further on, with the work the last left in flight. A lake built in
// pieces still differs from one simulated whole (README, "Benchmarks"):
// each piece brings its own backlog from before its start (requests,
// cases, back-dated vouchers). With
// HLWARN_BENCH_LAKES set, the raw lake is kept in that folder and re-used by
// later runs (a district year takes about a quarter of an hour to build);
// the benchmark's data folder is always fresh, its raw/ a link to the kept
// lake.
func benchLake(b *testing.B, cfg simulator.Config) string {
	b.Helper()
	dir := b.TempDir()
	cache := os.Getenv("HLWARN_BENCH_LAKES")
	n := lakePiece(cfg)
	if cache == "" {
		buildLake(b, cfg, dir, n)
		return dir
	}
	name := fmt.Sprintf("%s-%s-%d-nightly", cfg.Scale, cfg.Start, cfg.Days)
	if n < cfg.Days {
		name += fmt.Sprintf("-pieces%d+%d", n, lakeTail)
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

// buildLake extracts cfg's period into dir night by night, simulated n days
// at a time, each piece but the last lakeTail days past its end for the
// work it carries into the next.
func buildLake(b *testing.B, cfg simulator.Config, dir string, n int) {
	b.Helper()
	t0 := time.Now()
	var carried *simulator.Dataset
	for start := cfg.Start; start < cfg.End(); start = start.AddDays(n) {
		end := min(start.AddDays(n), cfg.End())
		piece := cfg
		piece.Start, piece.Days = start, int(min(end.AddDays(lakeTail), cfg.End())-start)
		ds, err := simulator.Generate(piece)
		if err != nil {
			b.Fatal(err)
		}
		var next *simulator.Dataset
		if end < cfg.End() {
			if ds, next, err = ds.Until(end); err != nil {
				b.Fatal(err)
			}
		}
		if carried != nil {
			if ds, err = ds.Carry(carried); err != nil {
				b.Fatal(err)
			}
		}
		carried = next
		var now atomic.Int64
		clock := func() time.Time { return time.Unix(0, now.Load()).In(schemas.Shanghai) }
		url, stop, err := servePlatform(ds, clock)
		if err != nil {
			b.Fatal(err)
		}
		// Night by night, as the nightly job extracts: each day's versions
		// land in the partition of the night after it, and a night's
		// staging merge reads only the partitions of the nights since the
		// last build.
		for d := start; d < end && err == nil; d++ {
			now.Store(d.AddDays(1).Time().Add(time.Hour).UnixNano())
			if err = extractAt(url, dir, clock); err != nil {
				err = fmt.Errorf("extracting the night after %s: %w", d, err)
			}
		}
		stop()
		if err != nil {
			b.Fatal(err)
		}
	}
	how := "in one run"
	if n < cfg.Days {
		how = fmt.Sprintf("in pieces of %d (+%d)", n, lakeTail)
	}
	b.Logf("%s scale, %d days %s: lake built night by night in %v", cfg.Scale, cfg.Days, how, time.Since(t0).Round(time.Second))
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

// BenchmarkDailyRunCurve: how the nightly job grows with the history on
// one lake, the 365-day lake of DailyRunGrowth cut at 30, 90, 180, 270 and
// 365 days, rather than against a second lake simulated from an empty
// start. At each depth a fresh data folder gets the lake's ingest_date=
// folders up to the night after its first as-of date (hard links), the
// warehouse is built as of that date and carried through two nights, and
// the next five nights are timed as nightlyJob times them, each after its
// night's folder lands, as the nightly extraction lands it. Nights as of a
// working day (which bring that day's work) and of a day off are reported
// apart, the median of each. Only with HLWARN_BENCH_CURVE set: about 24
// minutes at district scale beyond the lake.
func BenchmarkDailyRunCurve(b *testing.B) {
	if os.Getenv("HLWARN_BENCH_CURVE") == "" {
		b.Skip("set HLWARN_BENCH_CURVE=1 to measure the curve")
	}
	scale := cmp.Or(os.Getenv("HLWARN_BENCH_SCALE"), "small")
	cfg := simulator.DefaultConfig()
	cfg.Scale, cfg.Start, cfg.Days = scale, schemas.MustDate("2026-10-04").AddDays(-364), 365
	lake := filepath.Join(benchLake(b, cfg), "raw")
	cal := calendar.Default()
	depths := []int{30, 90, 180, 270, 365}
	work, off := map[int]float64{}, map[int]float64{}
	for _, days := range depths {
		last := cfg.Start.AddDays(days - 1)
		dir := b.TempDir()
		var onWork, onOff []float64
		for d := last - 7; d <= last; d++ {
			if err := linkNights(lake, filepath.Join(dir, "raw"), d+1); err != nil {
				b.Fatal(err)
			}
			t, res := nightlyJob(b, dir, d, false)
			if d < last-4 {
				continue // the build and two nights to carry it
			}
			if cal.IsWorkday(d) {
				onWork = append(onWork, t.Seconds())
			} else {
				onOff = append(onOff, t.Seconds())
			}
			b.Logf("%s scale, %d days, as of %s (working day %t): %v; %s", scale, days, d, cal.IsWorkday(d), t.Round(time.Millisecond), slowest(res, 8))
		}
		if len(onWork) > 0 {
			work[days] = median(onWork)
		}
		if len(onOff) > 0 {
			off[days] = median(onOff)
		}
		b.Logf("%d days: working days %.1f s (%d nights), days off %.1f s (%d nights)", days, work[days], len(onWork), off[days], len(onOff))
	}
	for b.Loop() {
		for _, days := range depths {
			if v, ok := work[days]; ok {
				b.ReportMetric(v, fmt.Sprintf("work%d-s", days))
			}
			if v, ok := off[days]; ok {
				b.ReportMetric(v, fmt.Sprintf("off%d-s", days))
			}
		}
		if work[30] > 0 && work[365] > 0 {
			b.ReportMetric(work[365]/work[30], "growth-work")
		}
		if off[30] > 0 && off[365] > 0 {
			b.ReportMetric(off[365]/off[30], "growth-off")
		}
	}
}

// linkNights gives the raw folder to the lake's ingest_date= folders up to
// the one of night upto that it does not hold yet, their files hard-linked
// (copied where a link cannot be made).
func linkNights(lake, to string, upto schemas.Date) error {
	folders, err := filepath.Glob(filepath.Join(lake, "*", "ingest_date=*"))
	if err != nil {
		return err
	}
	for _, f := range folders {
		day, err := schemas.ParseDate(strings.TrimPrefix(filepath.Base(f), "ingest_date="))
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		dst := filepath.Join(to, filepath.Base(filepath.Dir(f)), filepath.Base(f))
		if day > upto {
			continue
		}
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		files, err := os.ReadDir(f)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		for _, file := range files {
			from, into := filepath.Join(f, file.Name()), filepath.Join(dst, file.Name())
			if os.Link(from, into) != nil {
				if err := copyFile(from, into); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// median is the middle of xs (the mean of the two middle ones for an even
// count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}
