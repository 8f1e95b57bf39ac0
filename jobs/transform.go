package jobs

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/hlwarn/hlwarn/schemas"
	hlsql "github.com/hlwarn/hlwarn/sql"
	"github.com/hlwarn/hlwarn/transforms"
)

// TransformJob builds the warehouse from the raw lake as of one date, or
// day by day over a range (a backfill), and publishes the last day's build.
type TransformJob struct {
	DataDir   string
	ModelDirs []string       // plug-in folders of extra models (外挂)
	Params    map[string]any // risk parameter overrides
	// From..To is the range of as-of dates; a zero From means To alone.
	From, To schemas.Date
	Select   []string
	// FullRefresh drops every incremental model and rebuilds its partitions
	// from From; Recompute rebuilds the range's partitions even if done.
	FullRefresh, Recompute bool
	Publish                bool
	Wait                   bool // wait for the data folder's lock
	Engine                 transforms.Options
	Logger                 *slog.Logger
}

// LoadProject loads the embedded models, the plug-in folders and the
// parameters with their overrides.
func LoadProject(ctx context.Context, dirs []string, overrides map[string]any) (*transforms.Project, error) {
	params, err := transforms.LoadParams(hlsql.FS)
	if err != nil {
		return nil, err
	}
	folders := []fs.FS{hlsql.FS}
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("models folder %s: not a folder (%v)", d, err)
		}
		folders = append(folders, os.DirFS(d))
	}
	p, err := transforms.Load(ctx, params, folders...)
	if err != nil {
		return nil, err
	}
	if err := p.Params.Override(overrides); err != nil {
		return nil, err
	}
	return p, nil
}

// Run takes the lock and builds each day of the range in order; it stops at
// the first day that fails, keeping what earlier days built.
func (j TransformJob) Run(ctx context.Context) ([]*transforms.RunResult, error) {
	if j.To == 0 {
		return nil, fmt.Errorf("no as-of date: pass --as-of YYYY-MM-DD")
	}
	from := j.From
	if from == 0 {
		from = j.To
	}
	if from > j.To {
		return nil, fmt.Errorf("the range %s..%s is empty: --from must not be after --as-of", from, j.To)
	}
	lock, err := AcquireLock(ctx, j.DataDir, "transform", j.Wait)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	p, err := LoadProject(ctx, j.ModelDirs, j.Params)
	if err != nil {
		return nil, err
	}
	opt := j.Engine
	opt.DataDir, opt.Logger = j.DataDir, j.Logger
	eng, err := transforms.Open(p, opt)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	if j.FullRefresh {
		if err := eng.DropIncremental(ctx); err != nil {
			return nil, err
		}
	}
	var results []*transforms.RunResult
	for d := from; d <= j.To; d++ {
		res, err := eng.Run(ctx, transforms.RunOptions{
			AsOf: d, Select: j.Select, Recompute: j.Recompute || j.FullRefresh, Publish: j.Publish && d == j.To,
		})
		if res != nil {
			results = append(results, res)
		}
		if err != nil {
			return results, err
		}
	}
	return results, nil
}
