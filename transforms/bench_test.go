package transforms_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/simulator"
	"github.com/hlwarn/hlwarn/transforms"
)

// benchLake builds a raw lake for cfg in a fresh folder.
func benchLake(b *testing.B, cfg simulator.Config) string {
	b.Helper()
	t0 := time.Now()
	ds, err := simulator.Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	url, stop, err := servePlatform(ds, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	dir := b.TempDir()
	if err := extractAt(url, dir, nil); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s scale, %d days: lake built in %v", cfg.Scale, cfg.Days, time.Since(t0).Round(time.Second))
	return dir
}

func benchOptions(dir string) transforms.Options {
	return transforms.Options{DataDir: dir, KeepBuilds: 2}
}

// runDay runs every model as of one day and returns the wall time.
func runDay(b *testing.B, e *transforms.Engine, asOf schemas.Date) time.Duration {
	b.Helper()
	t0 := time.Now()
	if _, err := e.Run(context.Background(), transforms.RunOptions{AsOf: asOf}); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
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
		if _, err := e.Run(ctx, transforms.RunOptions{AsOf: asOf}); err != nil {
			b.Fatal(err)
		}
		e.Close()
		engine := time.Since(t0)

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

// BenchmarkDailyRunGrowth: the nightly run (every model as of the last
// day, the day before already done) over 30 and over 365 days of history;
// a full refresh over the 30 days (every incremental partition rebuilt day
// by day); and at 365 days a rebuild of the last day from all of raw (the
// first day of a full refresh, which then needs 364 more), at small scale:
// the in-memory simulator cannot hold a district year on this machine.
func BenchmarkDailyRunGrowth(b *testing.B) {
	daily := map[int]time.Duration{}
	var full30, rebuild365 time.Duration
	for _, days := range []int{30, 365} {
		cfg := simulator.DefaultConfig()
		cfg.Start, cfg.Days = schemas.MustDate("2026-10-04").AddDays(-days+1), days
		lake := benchLake(b, cfg)
		p := loadProject(b, pluginModels())
		e, err := transforms.Open(p, benchOptions(lake))
		if err != nil {
			b.Fatal(err)
		}
		runDay(b, e, cfg.LastDay()-1)
		daily[days] = runDay(b, e, cfg.LastDay())
		if days == 30 {
			if err := e.DropIncremental(context.Background()); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			for d := cfg.Start; d <= cfg.LastDay(); d++ {
				if _, err := e.Run(context.Background(), transforms.RunOptions{AsOf: d, Recompute: true}); err != nil {
					b.Fatal(err)
				}
			}
			full30 = time.Since(t0)
		} else {
			if err := e.DropIncremental(context.Background()); err != nil {
				b.Fatal(err)
			}
			rebuild365 = runDay(b, e, cfg.LastDay())
		}
		e.Close()
	}
	for b.Loop() {
		b.ReportMetric(daily[30].Seconds(), "daily30-s")
		b.ReportMetric(daily[365].Seconds(), "daily365-s")
		b.ReportMetric(daily[365].Seconds()/daily[30].Seconds(), "growth")
		b.ReportMetric(full30.Seconds(), "fullrefresh30-s")
		b.ReportMetric(full30.Seconds()/daily[30].Seconds(), "full/daily30")
		b.ReportMetric(rebuild365.Seconds()/daily[365].Seconds(), "rebuild/daily365")
	}
}
