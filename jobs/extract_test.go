package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/hlwarn/hlwarn/jobs"
	"github.com/hlwarn/hlwarn/pipelines"
	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/simulator"
)

const token = "kill-test-token"

// childConfig is the extraction the killed child runs: small pages and
// frequent checkpoints, so kills land in pages and in file writes alike.
func childConfig(dir string) pipelines.ExtractConfig {
	return pipelines.ExtractConfig{DataDir: dir, PageLimit: 300, CheckpointRows: 1500, RowsPerGroup: 500, Concurrency: 3}
}

// TestExtractChild is the child process of TestKillAndRerun; it does nothing
// unless that test started it.
func TestExtractChild(t *testing.T) {
	url, dir := os.Getenv("HLWARN_CHILD_URL"), os.Getenv("HLWARN_CHILD_DIR")
	if url == "" {
		return
	}
	client, err := pipelines.NewClient(pipelines.ClientConfig{BaseURL: url, Token: token, RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (jobs.ExtractJob{Client: client, Wait: true, Extract: childConfig(dir)}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestKillAndRerun kills an extracting process with SIGKILL at random
// points, then reruns: no version may be missing, no temporary file left
// visible, and the ledger must stay consistent.
func TestKillAndRerun(t *testing.T) {
	cfg := simulator.DefaultConfig()
	cfg.Days = 7
	ds, err := simulator.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	faults := simulator.FaultConfig{Slow: 0.05, SlowDelay: 20 * time.Millisecond}
	srv, err := simulator.NewServer(ds, simulator.ServerOptions{Token: token, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Serve(ctx, ln)
	url := "http://" + ln.Addr().String()

	// Time one uninterrupted run in a scratch folder to spread the kills over.
	reference := func() time.Duration {
		t0 := time.Now()
		if out, err := child(url, t.TempDir()).CombinedOutput(); err != nil {
			t.Fatalf("reference run: %v\n%s", err, out)
		}
		return time.Since(t0)
	}
	full := reference()
	// Eight data folders, each killed three times in a row at random points of
	// the first quarter of a run, so every rerun resumes a folder a kill left
	// behind; then each is run to the end. A child that finishes before its
	// kill shows that runs are faster now than the timed one (go test runs
	// other packages' tests beside this one at first): the run is timed
	// again and the folder starts over, at most twice.
	rng := rand.New(rand.NewPCG(1, 2))
	killed, midWrite := 0, 0
	for f := 0; f < 8; f++ {
		dir := t.TempDir()
		restarts, folderKills, folderMid := 0, 0, 0
		for k := 0; k < 3; k++ {
			cmd := child(url, dir)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			delay := time.Duration(rng.Int64N(int64(full / 4)))
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				t.Logf("folder %d kill %d: child finished before %v (%v)", f, k, delay, err)
				if restarts < 2 {
					restarts++
					full = min(full, reference())
					dir, k, folderKills, folderMid = t.TempDir(), -1, 0, 0
					continue
				}
			case <-time.After(delay):
				cmd.Process.Kill()
				<-exited
				folderKills++
			}
			if assertCommittedOnly(t, dir) {
				folderMid++
			}
		}
		killed += folderKills
		midWrite += folderMid
		if out, err := child(url, dir).CombinedOutput(); err != nil {
			t.Fatalf("final rerun: %v\n%s", err, out)
		}
		assertNoTemp(t, dir)
		assertAllVersions(t, dir, ds)
		assertLedger(t, dir)
	}
	t.Logf("%d kills (a full run takes %v), %d of them during a file write", killed, full, midWrite)
	if killed < 20 || midWrite == 0 {
		t.Errorf("only %d kills, %d during a file write: the test needs at least 20 and some mid-write", killed, midWrite)
	}
}

func child(url, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestExtractChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HLWARN_CHILD_URL="+url, "HLWARN_CHILD_DIR="+dir)
	return cmd
}

// assertCommittedOnly recovers the folder as the next job would and checks
// that no temporary file stays visible and no run stays marked running. It
// reports whether the kill had left a file half-written.
func assertCommittedOnly(t *testing.T, dir string) bool {
	t.Helper()
	lock, err := jobs.AcquireLock(context.Background(), dir, "test", true)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	l, err := pipelines.OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := pipelines.Recover(l)
	if err != nil {
		t.Fatal(err)
	}
	assertNoTemp(t, dir)
	runs, _ := l.Runs(0)
	for _, r := range runs {
		if r.Status == pipelines.StatusRunning {
			t.Errorf("run %s still marked running after recovery", r.RunID)
		}
	}
	for _, f := range removed {
		if strings.HasPrefix(filepath.Base(f), ".tmp-") && strings.Contains(f, string(filepath.Separator)+"raw"+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("temporary file visible: %s", path)
		}
		return nil
	})
}

// assertAllVersions: every version the platform holds is in raw, and
// nothing else is (repeats of a version are allowed: staging dedupes them).
func assertAllVersions(t *testing.T, dir string, ds *simulator.Dataset) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	total, repeats := 0, 0
	for _, e := range schemas.Entities() {
		want := map[string]bool{}
		for _, r := range ds.Records(e.Name) {
			want[fmt.Sprintf("%s|%d", r.Key, r.UpdatedAt.UnixMicro())] = true
		}
		got := map[string]int{}
		glob := filepath.Join(dir, "raw", e.Name, "*", "*.parquet")
		if m, _ := filepath.Glob(glob); len(m) > 0 {
			keys := make([]string, len(e.Key))
			for i, k := range e.Key {
				keys[i] = fmt.Sprintf("%q::VARCHAR", k)
			}
			rows, err := db.Query(fmt.Sprintf("SELECT concat_ws('|', %s) || '|' || epoch_us(updated_at) FROM read_parquet('%s')", strings.Join(keys, ","), glob))
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var k string
				rows.Scan(&k)
				got[k]++
			}
			rows.Close()
		}
		for k := range want {
			if got[k] == 0 {
				t.Errorf("%s version %s missing after kills and rerun", e.Name, k)
			}
		}
		for k, n := range got {
			if !want[k] {
				t.Errorf("%s version %s in raw was never served", e.Name, k)
			}
			repeats += n - 1
		}
		total += len(want)
	}
	t.Logf("%d versions all present; %d repeats from re-fetched windows (deduplicated by staging)", total, repeats)
}

// assertLedger: every finished run reconciles and lists files that exist;
// no run is left running; crashed runs say so.
func assertLedger(t *testing.T, dir string) {
	t.Helper()
	l, err := pipelines.OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := l.Runs(0)
	if err != nil {
		t.Fatal(err)
	}
	crashed := 0
	for _, r := range runs {
		switch r.Status {
		case pipelines.StatusSucceeded:
			for _, e := range r.Entities {
				if !e.Reconciles() {
					t.Errorf("run %s %s: fetched %d ≠ landed %d + quarantined %d", r.RunID, e.Entity, e.Fetched, e.Landed, e.Quarantined)
				}
				for _, f := range e.Files {
					if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
						t.Errorf("run %s lists %s: %v", r.RunID, f, err)
					}
				}
			}
		case pipelines.StatusCrashed:
			crashed++
		default:
			t.Errorf("run %s left %s", r.RunID, r.Status)
		}
	}
	if crashed == 0 {
		t.Errorf("no run was killed mid-way; the test proves nothing")
	}
	t.Logf("%d runs, %d crashed", len(runs), crashed)
}

func TestSecondJobFailsOnLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := jobs.AcquireLock(context.Background(), dir, "extract", false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = jobs.AcquireLock(context.Background(), dir, "transform", false)
	var le *jobs.LockedError
	if !errors.As(err, &le) || le.Holder.PID != os.Getpid() || le.Holder.Command != "extract" {
		t.Fatalf("second job: want a LockedError naming the holder, got %v", err)
	}
	if !strings.Contains(err.Error(), "--wait") {
		t.Errorf("the error does not say what to do: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := jobs.AcquireLock(ctx, dir, "transform", true); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting job: want the context's deadline, got %v", err)
	}
	first.Release()
	second, err := jobs.AcquireLock(context.Background(), dir, "transform", false)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	second.Release()
}
