package pipelines_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/pipelines"
	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/simulator"
)

// TestExtractChild is the extracting child process of the benchmarks, so
// that its peak memory is its own; it does nothing unless they started it.
func TestExtractChild(t *testing.T) {
	url, dir := os.Getenv("HLWARN_BENCH_URL"), os.Getenv("HLWARN_BENCH_DIR")
	if url == "" {
		return
	}
	c, err := pipelines.NewClient(pipelines.ClientConfig{BaseURL: url, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	l, err := pipelines.OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipelines.Extract(context.Background(), c, l, pipelines.ExtractConfig{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	// The peak resident memory of this process, read by the benchmark.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			os.WriteFile(filepath.Join(dir, "peak-kb"), []byte(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB"))), 0o644)
		}
	}
}

// childExtract runs one extraction in a child process and returns its wall
// time, peak resident memory and the JSON bytes it fetched.
func childExtract(b *testing.B, url string) (time.Duration, int64, int64) {
	dir := b.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestExtractChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HLWARN_BENCH_URL="+url, "HLWARN_BENCH_DIR="+dir)
	t0 := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("extract child: %v\n%s", err, out)
	}
	elapsed := time.Since(t0)
	kb, err := os.ReadFile(filepath.Join(dir, "peak-kb"))
	if err != nil {
		b.Fatal(err)
	}
	peak, err := strconv.ParseInt(string(kb), 10, 64)
	if err != nil {
		b.Fatalf("peak memory %q: %v", kb, err)
	}
	rss := peak * 1024
	l, err := pipelines.OpenLedger(dir)
	if err != nil {
		b.Fatal(err)
	}
	runs, err := l.Runs(1)
	if err != nil || len(runs) != 1 {
		b.Fatalf("reading the child's run: %v", err)
	}
	var bytes int64
	for _, e := range runs[0].Entities {
		bytes += e.Bytes
	}
	return elapsed, rss, bytes
}

// duckdbCopy is the yardstick: DuckDB's own read_json → COPY to Parquet
// (zstd) over the same records, written as newline-delimited JSON. Nested
// values stay JSON (maximum_depth 1), as they do in the raw layer. The
// platform adds a field part-way through the period (transport_mode, the
// additive schema change the extractor must take), so DuckDB reads every
// record to find the columns (sample_size -1): its default sample of the
// first 20,480 records misses the field and the read fails on it.
func duckdbCopy(b *testing.B, ds *simulator.Dataset) (time.Duration, int64) {
	dir := b.TempDir()
	var size int64
	for _, e := range schemas.Entities() {
		f, err := os.Create(filepath.Join(dir, e.Name+".ndjson"))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		for _, r := range ds.Records(e.Name) {
			w.Write(r.JSON)
			w.WriteByte('\n')
			size += int64(len(r.JSON)) + 1
		}
		w.Flush()
		f.Close()
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t0 := time.Now()
	for _, e := range schemas.Entities() {
		if len(ds.Records(e.Name)) == 0 {
			continue
		}
		src := filepath.Join(dir, e.Name+".ndjson")
		q := fmt.Sprintf(`COPY (SELECT * FROM read_json('%s', format = 'newline_delimited', maximum_depth = 1, sample_size = -1)) TO '%s' (FORMAT parquet, COMPRESSION zstd)`, src, src+".parquet")
		if _, err := db.Exec(q); err != nil {
			b.Fatalf("duckdb %s: %v", e.Name, err)
		}
	}
	return time.Since(t0), size
}

func benchExtract(b *testing.B, cfg simulator.Config) {
	ds, err := simulator.Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	url, _ := serve(b, ds, simulator.ServerOptions{})
	for b.Loop() {
		ext, rss, fetched := childExtract(b, url)
		duck, size := duckdbCopy(b, ds)
		extRate := float64(fetched) / 1e6 / ext.Seconds()
		duckRate := float64(size) / 1e6 / duck.Seconds()
		b.ReportMetric(extRate, "extract-MB/s")
		b.ReportMetric(duckRate, "duckdb-MB/s")
		b.ReportMetric(extRate/duckRate, "ratio")
		b.ReportMetric(float64(rss)/(1<<20), "extract-peak-MiB")
		b.ReportMetric(float64(fetched)/1e6, "MB-fetched")
	}
}

// BenchmarkExtractDistrictDay: one district day, JSON over loopback to
// Parquet, side by side with DuckDB's read_json → COPY on the same bytes.
func BenchmarkExtractDistrictDay(b *testing.B) {
	cfg := simulator.DefaultConfig()
	cfg.Scale, cfg.Days = "district", 1
	benchExtract(b, cfg)
}

// BenchmarkExtractNationalDay: the same for a national-scale day, whose
// peak memory is the target (the extractor runs in its own process).
func BenchmarkExtractNationalDay(b *testing.B) {
	cfg := simulator.DefaultConfig()
	cfg.Scale, cfg.Days = "national", 1
	benchExtract(b, cfg)
}
