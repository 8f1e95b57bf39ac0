package pipelines_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/hlwarn/hlwarn/pipelines"
	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/simulator"
)

// testDataset is a small district over ten days, built once.
var testDataset = sync.OnceValues(func() (*simulator.Dataset, error) {
	cfg := simulator.DefaultConfig()
	cfg.Days = 10
	return simulator.Generate(cfg)
})

func dataset(t testing.TB) *simulator.Dataset {
	t.Helper()
	ds, err := testDataset()
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

const testToken = "tok-HLWARN-SECRET-7f3a9c"

// serve runs a simulated platform on a loopback port until the test ends.
func serve(t testing.TB, ds *simulator.Dataset, opt simulator.ServerOptions) (string, *simulator.Server) {
	t.Helper()
	if opt.Token == "" {
		opt.Token = testToken
	}
	srv, err := simulator.NewServer(ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String(), srv
}

func fastClient(t testing.TB, url, token string, log *slog.Logger) *pipelines.Client {
	t.Helper()
	c, err := pipelines.NewClient(pipelines.ClientConfig{
		BaseURL: url, Token: token, Logger: log, Retries: 30,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond,
		Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func extract(t testing.TB, dir string, c *pipelines.Client, cfg pipelines.ExtractConfig) (*pipelines.RunRecord, error) {
	t.Helper()
	l, err := pipelines.OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = dir
	return pipelines.Extract(context.Background(), c, l, cfg)
}

// versionsIn is the dataset's set of versions, as entity|key|updated_at µs.
func versionsIn(ds *simulator.Dataset) map[string]bool {
	out := map[string]bool{}
	for _, e := range schemas.Entities() {
		for _, r := range ds.Records(e.Name) {
			out[fmt.Sprintf("%s|%s|%d", e.Name, r.Key, r.UpdatedAt.UnixMicro())] = true
		}
	}
	return out
}

// landed reads every raw Parquet file with DuckDB and counts each version.
func landed(t testing.TB, dir string) map[string]int {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]int{}
	for _, e := range schemas.Entities() {
		glob := filepath.Join(dir, "raw", e.Name, "*", "*.parquet")
		if m, _ := filepath.Glob(glob); len(m) == 0 {
			continue
		}
		keys := make([]string, len(e.Key))
		for i, k := range e.Key {
			keys[i] = fmt.Sprintf("%q::VARCHAR", k)
		}
		rows, err := db.Query(fmt.Sprintf("SELECT concat_ws('|', %s), epoch_us(updated_at) FROM read_parquet('%s')", strings.Join(keys, ", "), glob))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var key string
			var us int64
			if err := rows.Scan(&key, &us); err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("%s|%s|%d", e.Name, key, us)]++
		}
		rows.Close()
	}
	return out
}

// quarantined reads every quarantine file.
func quarantined(t testing.TB, dir string) []pipelines.QuarantineRecord {
	t.Helper()
	var out []pipelines.QuarantineRecord
	filepath.WalkDir(filepath.Join(dir, "quarantine"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var q pipelines.QuarantineRecord
			if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out = append(out, q)
		}
		return nil
	})
	return out
}

func sameSet(t *testing.T, got map[string]int, want map[string]bool) {
	t.Helper()
	missing, extra := 0, 0
	for k := range want {
		if got[k] == 0 {
			if missing < 3 {
				t.Errorf("version missing from raw: %s", k)
			}
			missing++
		}
	}
	for k := range got {
		if !want[k] {
			if extra < 3 {
				t.Errorf("raw has a version the platform never served: %s", k)
			}
			extra++
		}
	}
	if missing+extra > 0 {
		t.Fatalf("%d versions missing, %d unexpected (of %d)", missing, extra, len(want))
	}
}

func TestExtractFaultFree(t *testing.T) {
	t.Parallel()
	ds := dataset(t)
	url, _ := serve(t, ds, simulator.ServerOptions{})
	dir := t.TempDir()
	run, err := extract(t, dir, fastClient(t, url, testToken, nil), pipelines.ExtractConfig{PageLimit: 777, CheckpointRows: 5000, RowsPerGroup: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != pipelines.StatusSucceeded || len(run.Entities) != len(schemas.Entities()) {
		t.Fatalf("run %s with %d entities", run.Status, len(run.Entities))
	}
	got := landed(t, dir)
	sameSet(t, got, versionsIn(ds))
	for k, n := range got {
		if n != 1 {
			t.Errorf("fault-free run landed %s %d times", k, n)
		}
	}
	for _, e := range run.Entities {
		if !e.Reconciles() || e.Quarantined != 0 || int(e.Landed) != len(ds.Records(e.Entity)) {
			t.Errorf("%s: fetched %d landed %d quarantined %d, platform has %d", e.Entity, e.Fetched, e.Landed, e.Quarantined, len(ds.Records(e.Entity)))
		}
	}
	// A second run finds nothing new and moves nothing.
	l, _ := pipelines.OpenLedger(dir)
	before := l.Watermarks()
	run2, err := extract(t, dir, fastClient(t, url, testToken, nil), pipelines.ExtractConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range run2.Entities {
		if e.Fetched != 0 {
			t.Errorf("rerun fetched %d %s again", e.Fetched, e.Entity)
		}
	}
	l2, _ := pipelines.OpenLedger(dir)
	for name, wm := range l2.Watermarks() {
		if !wm.At.Equal(before[name].At) {
			t.Errorf("%s watermark moved from %s to %s with no new data", name, before[name].At, wm.At)
		}
	}
	assertNoTempFiles(t, dir)
}

func assertNoTempFiles(t testing.TB, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("temporary file left visible: %s", path)
		}
		return nil
	})
}

// TestExtractWithEveryFault turns on every fault of the simulator: the
// landed versions must equal the platform's, and quarantine must hold
// exactly the injected bad records, each with a reason naming its field.
func TestExtractWithEveryFault(t *testing.T) {
	t.Parallel()
	ds := dataset(t)
	faults := simulator.AllFaults(0.04)
	faults.Seed = 7
	faults.RetryAfter = time.Second
	faults.SlowDelay = 5 * time.Millisecond
	url, srv := serve(t, ds, simulator.ServerOptions{Faults: faults})
	dir := t.TempDir()
	run, err := extract(t, dir, fastClient(t, url, testToken, nil), pipelines.ExtractConfig{PageLimit: 500, CheckpointRows: 20000})
	if err != nil {
		t.Fatal(err)
	}
	sameSet(t, landed(t, dir), versionsIn(ds))
	injected := map[string]simulator.InjectedRecord{}
	for _, in := range srv.Injected() {
		injected[string(in.JSON)] = in
	}
	q := quarantined(t, dir)
	seen := map[string]bool{}
	for _, r := range q {
		in, ok := injected[r.Raw]
		if !ok {
			t.Errorf("quarantined a record the server did not corrupt: %s (%v)", r.Raw, r.Reasons)
			continue
		}
		seen[r.Raw] = true
		if in.Field != "" && !strings.Contains(strings.Join(r.Reasons, ";"), in.Field) {
			t.Errorf("%s %s: reasons %v do not name %s", in.Entity, in.Kind, r.Reasons, in.Field)
		}
		if r.RunID != run.RunID || r.Page < 1 || r.Entity != in.Entity {
			t.Errorf("quarantine record lacks its run/page/entity: %+v", r)
		}
	}
	for raw, in := range injected {
		if !seen[raw] {
			t.Errorf("injected %s %s record not quarantined", in.Entity, in.Kind)
		}
	}
	if len(injected) == 0 {
		t.Fatal("the server injected no bad records; the test proves nothing")
	}
	stats := srv.Stats()
	t.Logf("faults served: %+v; quarantined %d", stats, len(q))
	var restarts int
	for _, e := range run.Entities {
		restarts += e.Restarts
		if !e.Reconciles() {
			t.Errorf("%s does not reconcile", e.Entity)
		}
	}
	if restarts == 0 {
		t.Errorf("no window was restarted after an expired cursor")
	}
}

// TestTokenNeverLeaks extracts with a recognisable token, logging at debug
// level, through successes and failures, and greps everything written.
func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	ds := dataset(t)
	faults := simulator.AllFaults(0.05)
	faults.SlowDelay = time.Millisecond
	url, _ := serve(t, ds, simulator.ServerOptions{Faults: faults})
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&logs, &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dir := t.TempDir()
	_, err := extract(t, dir, fastClient(t, url, testToken, log), pipelines.ExtractConfig{Entities: []string{"officers", "enterprises"}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	// A wrong token and an unreachable platform fail with messages that must not carry it either.
	_, err401 := extract(t, t.TempDir(), fastClient(t, url, testToken+"-wrong", log), pipelines.ExtractConfig{Logger: log})
	var apiErr *pipelines.APIError
	if !errors.As(err401, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("wrong token: want a 401 APIError, got %v", err401)
	}
	_, errDown := extract(t, t.TempDir(), fastClient(t, "http://127.0.0.1:1", testToken, log), pipelines.ExtractConfig{Logger: log})
	if errDown == nil || !strings.Contains(errDown.Error(), "cannot reach the platform") {
		t.Fatalf("unreachable platform: %v", errDown)
	}
	texts := []string{logs.String(), err401.Error(), errDown.Error()}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			texts = append(texts, string(b))
		}
		return nil
	})
	for _, s := range texts {
		if strings.Contains(s, "HLWARN-SECRET") {
			t.Fatalf("the token leaked into: %.200s", s)
		}
	}
	if !strings.Contains(logs.String(), "level=DEBUG") {
		t.Errorf("debug logging was not exercised")
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestSchemaVersionStops: a platform speaking another contract version stops
// the run with a clear error, and no watermark moves.
func TestSchemaVersionStops(t *testing.T) {
	t.Parallel()
	ds := dataset(t)
	good, _ := serve(t, ds, simulator.ServerOptions{})
	dir := t.TempDir()
	if _, err := extract(t, dir, fastClient(t, good, testToken, nil), pipelines.ExtractConfig{Entities: []string{"officers"}}); err != nil {
		t.Fatal(err)
	}
	l, _ := pipelines.OpenLedger(dir)
	wm := l.Watermark("officers")
	for _, path := range []string{"/api/v1/meta", "/api/v1/officers"} {
		bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v := "1"
			if r.URL.Path == path {
				v = "2"
			}
			w.Header().Set("X-Schema-Version", v)
			fmt.Fprintf(w, `{"schema_version":1,"server_time":"2027-01-01T00:00:00+08:00","visibility_lag_seconds":120,"entities":[],"items":[],"next_cursor":null}`)
		}))
		run, err := extract(t, dir, fastClient(t, bad.URL, testToken, nil), pipelines.ExtractConfig{Entities: []string{"officers"}})
		bad.Close()
		var sv *pipelines.SchemaVersionError
		if !errors.As(err, &sv) || !strings.Contains(err.Error(), "upgrade") {
			t.Fatalf("version 2 on %s: want a SchemaVersionError, got %v", path, err)
		}
		if run.Status != pipelines.StatusFailed {
			t.Errorf("run status %s", run.Status)
		}
		l, _ := pipelines.OpenLedger(dir)
		if got := l.Watermark("officers"); !got.At.Equal(wm.At) {
			t.Errorf("watermark moved from %s to %s on a version mismatch", wm.At, got.At)
		}
	}
}

// TestRawLayout checks the raw files' place, naming and content.
func TestRawLayout(t *testing.T) {
	t.Parallel()
	ds := dataset(t)
	url, _ := serve(t, ds, simulator.ServerOptions{})
	dir := t.TempDir()
	day := time.Date(2026, 10, 5, 1, 30, 0, 0, schemas.Shanghai)
	run, err := extract(t, dir, fastClient(t, url, testToken, nil), pipelines.ExtractConfig{
		Entities: []string{"declarations"}, PageLimit: 1000, CheckpointRows: 3000, Now: func() time.Time { return day },
	})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "raw", "declarations", "ingest_date=2026-10-05", run.RunID+"-*.parquet"))
	// A checkpoint falls on the first page boundary past 3000 records.
	if n := len(ds.Records("declarations")); len(files) < n/4000 || len(files) > n/3000+1 || len(files) < 2 {
		t.Fatalf("%d raw files for %d versions at 3000 a checkpoint", len(files), n)
	}
	if got := run.Entities[0].Files; len(got) != len(files) {
		t.Errorf("ledger lists %d files, %d on disk", len(got), len(files))
	}
	db, _ := sql.Open("duckdb", "")
	defer db.Close()
	var runs int
	var extra int
	err = db.QueryRow(fmt.Sprintf(`SELECT count(DISTINCT _run_id), count(extra) FROM read_parquet('%s/raw/declarations/*/*.parquet')`, dir)).Scan(&runs, &extra)
	if err != nil {
		t.Fatal(err)
	}
	if runs != 1 {
		t.Errorf("_run_id has %d values", runs)
	}
	t.Logf("%d declarations versions carry unknown fields in extra", extra)
}
