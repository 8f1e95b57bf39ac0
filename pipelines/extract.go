package pipelines

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/hlwarn/hlwarn/schemas"
)

// ExtractConfig configures one extraction run. Zero fields take the
// documented defaults.
type ExtractConfig struct {
	DataDir  string
	Entities []string // entity names; empty: every entity of the contract
	// Concurrency bounds the entities extracted at once. Default 4.
	Concurrency int
	// PageLimit is the page size asked of the platform (1..5000). Default 5000.
	PageLimit int
	// CheckpointRows is how many records an entity writes before its files
	// are made durable and its watermark moves, so a crash in a long window
	// loses at most this much work. Default 500 000.
	CheckpointRows int64
	// RowsPerGroup bounds a Parquet row group, and so the memory one entity
	// holds. Default 50 000.
	RowsPerGroup int64
	Logger       *slog.Logger // default: discard
	Progress     io.Writer    // where to draw a progress bar; nil: none
	Now          func() time.Time
}

func (c *ExtractConfig) setDefaults() {
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.PageLimit <= 0 {
		c.PageLimit = 5000
	}
	if c.CheckpointRows <= 0 {
		c.CheckpointRows = 500_000
	}
	if c.RowsPerGroup <= 0 {
		c.RowsPerGroup = 50_000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// ExtractError lists the entities that failed; the others were extracted
// and committed.
type ExtractError struct {
	Failed map[string]error
}

func (e *ExtractError) Error() string {
	names := make([]string, 0, len(e.Failed))
	for n := range e.Failed {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s: %v", n, e.Failed[n])
	}
	return fmt.Sprintf("%d of the entities failed (their watermarks did not move; rerun to retry them): %s", len(names), strings.Join(parts, "; "))
}

// Unwrap exposes each entity's error to errors.Is and errors.As.
func (e *ExtractError) Unwrap() []error {
	out := make([]error, 0, len(e.Failed))
	for _, err := range e.Failed {
		out = append(out, err)
	}
	return out
}

// Extract runs one extraction: for each entity, every version in
// [watermark, server_time − visibility lag) lands in raw/ or quarantine/,
// and the watermark moves once the files are durable. The run is recorded
// in the ledger whatever happens. The caller holds the data folder's lock.
func Extract(ctx context.Context, client *Client, l *Ledger, cfg ExtractConfig) (*RunRecord, error) {
	cfg.setDefaults()
	entities, err := selectEntities(cfg.Entities)
	if err != nil {
		return nil, err
	}
	now := cfg.Now().In(schemas.Shanghai)
	run := &RunRecord{RunID: newRunID(now), Platform: client.base.Redacted(), StartedAt: now, Status: StatusRunning}
	if err := l.SaveRun(run); err != nil {
		return nil, fmt.Errorf("recording the run: %w", err)
	}
	finish := func(err error) (*RunRecord, error) {
		end := cfg.Now().In(schemas.Shanghai)
		run.update(func() {
			run.FinishedAt = &end
			run.Status = StatusSucceeded
			if err != nil {
				run.Status, run.Error = StatusFailed, err.Error()
			}
		})
		if serr := l.SaveRun(run); serr != nil && err == nil {
			err = fmt.Errorf("recording the run: %w", serr)
		}
		return run, err
	}
	meta, err := client.Meta(ctx)
	if err != nil {
		return finish(err)
	}
	before := meta.ServerTime.Add(-meta.VisibilityLag())
	run.ServerTime = meta.ServerTime
	bar := newBar(cfg.Progress, run.RunID)
	// A contract version this build does not know stops every entity.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	failed := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, cfg.Concurrency)
	for _, e := range entities {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			x := &entityExtract{client: client, ledger: l, run: run, cfg: &cfg, entity: e, before: before, bar: bar}
			if err := x.extract(ctx); err != nil {
				var sv *SchemaVersionError
				if errors.As(err, &sv) {
					stop(err)
				}
				mu.Lock()
				failed[e.Name] = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if bar != nil {
		bar.Finish()
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return finish(cause)
	}
	if len(failed) > 0 {
		return finish(&ExtractError{Failed: failed})
	}
	return finish(nil)
}

func selectEntities(names []string) ([]*schemas.Entity, error) {
	if len(names) == 0 {
		return schemas.Entities(), nil
	}
	var out []*schemas.Entity
	for _, n := range names {
		e, err := schemas.Lookup(strings.TrimSpace(n))
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// newRunID is sortable by start time and unique: 20260915T013000-3f9a.
func newRunID(t time.Time) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return t.Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

func newBar(w io.Writer, runID string) *progressbar.ProgressBar {
	if w == nil {
		return nil
	}
	return progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("extracting "+runID),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("records"),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// entityExtract is one entity's extraction within a run.
type entityExtract struct {
	client *Client
	ledger *Ledger
	run    *RunRecord
	cfg    *ExtractConfig
	entity *schemas.Entity
	before time.Time
	bar    *progressbar.ProgressBar
	rec    *EntityRecord
	sink   *sink
}

func (x *entityExtract) extract(ctx context.Context) (err error) {
	started := time.Now()
	x.rec = x.run.entity(x.entity.Name)
	wm := x.ledger.Watermark(x.entity.Name)
	x.run.update(func() { x.rec.Since, x.rec.Before = wm.At, x.before })
	defer func() {
		x.run.update(func() {
			x.rec.Seconds = time.Since(started).Seconds()
			x.rec.Status = StatusSucceeded
			if err != nil {
				x.rec.Status, x.rec.Error = StatusFailed, err.Error()
			}
		})
		if serr := x.ledger.SaveRun(x.run); serr != nil && err == nil {
			err = fmt.Errorf("recording the run: %w", serr)
		}
	}()
	if !wm.At.IsZero() && !wm.At.Before(x.before) {
		return nil // nothing new is visible yet
	}
	x.sink, err = newSink(x.ledger.root, x.entity, x.run.RunID, x.run.StartedAt.Format(time.DateOnly), x.cfg.RowsPerGroup)
	if err != nil {
		return err
	}
	defer x.sink.Abort()
	if err := x.pages(ctx, wm.At); err != nil {
		return err
	}
	if err := x.commit(x.before); err != nil {
		return err
	}
	if !x.rec.Reconciles() {
		return fmt.Errorf("counts do not reconcile: fetched %d, landed %d, quarantined %d", x.rec.Fetched, x.rec.Landed, x.rec.Quarantined)
	}
	x.cfg.Logger.Info("extracted", "entity", x.entity.Name, "pages", x.rec.Pages, "fetched", x.rec.Fetched,
		"landed", x.rec.Landed, "quarantined", x.rec.Quarantined)
	return nil
}

// commit makes the files written so far durable, then moves the watermark
// to at: the order that lets a crash lose nothing.
func (x *entityExtract) commit(at time.Time) error {
	files, seq, err := x.sink.Checkpoint()
	if err != nil {
		return err
	}
	if err := x.ledger.Commit(x.entity.Name, Watermark{At: at, RunID: x.run.RunID, FileSeq: seq}); err != nil {
		return err
	}
	x.run.update(func() { x.rec.Files = append(x.rec.Files, files...) })
	return x.ledger.SaveRun(x.run)
}
