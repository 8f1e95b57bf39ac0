package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hlwarn/hlwarn/pipelines"
)

// ExtractJob is one extraction of the platform into a data folder.
type ExtractJob struct {
	Client  *pipelines.Client
	Extract pipelines.ExtractConfig
	Wait    bool // wait for the data folder's lock instead of failing
	Logger  *slog.Logger
}

// Run takes the lock, recovers from a job that died, and extracts.
func (j ExtractJob) Run(ctx context.Context) (*pipelines.RunRecord, error) {
	lock, err := AcquireLock(ctx, j.Extract.DataDir, "extract", j.Wait)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	l, err := pipelines.OpenLedger(j.Extract.DataDir)
	if err != nil {
		return nil, err
	}
	removed, err := pipelines.Recover(l)
	if err != nil {
		return nil, fmt.Errorf("recovering from the last job: %w", err)
	}
	if len(removed) > 0 && j.Logger != nil {
		j.Logger.Warn("a previous job died; removed its uncommitted files", "files", len(removed))
	}
	return pipelines.Extract(ctx, j.Client, l, j.Extract)
}
