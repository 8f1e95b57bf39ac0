package pipelines

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hlwarn/hlwarn/internal/durable"
	"github.com/hlwarn/hlwarn/schemas"
)

// Recover makes the data folder consistent after a job died: it removes
// temporary files, and for every run still marked running it removes the
// files that run wrote but never committed (their versions will be fetched
// again, as the watermark did not move past them) and marks it crashed.
// Call it holding the data folder's lock, before extracting.
func Recover(l *Ledger) (removed []string, err error) {
	runs, err := l.Runs(0)
	if err != nil {
		return nil, err
	}
	crashed := map[string]*RunRecord{}
	for _, r := range runs {
		if r.Status == StatusRunning {
			crashed[r.RunID] = r
		}
	}
	wms := l.Watermarks()
	for _, layer := range []string{"raw", "quarantine", "ledger"} {
		root := filepath.Join(l.root, layer)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			entity := strings.Split(filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator))), "/")[0]
			if durable.IsTemp(path) || uncommitted(d.Name(), crashed, wms[entity]) {
				removed = append(removed, path)
				return os.Remove(path)
			}
			return nil
		})
		if err != nil {
			return removed, fmt.Errorf("recovering %s: %w", root, err)
		}
	}
	for _, r := range crashed {
		now := time.Now().In(schemas.Shanghai)
		r.FinishedAt = &now
		r.Status = StatusCrashed
		r.Error = fmt.Sprintf("the process died before finishing; %d uncommitted or temporary files were removed by the next job, and their versions are fetched again", len(removed))
		if err := l.SaveRun(r); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// uncommitted reports whether a raw or quarantine file named
// <run_id>-<seq>.<ext> belongs to a crashed run and lies beyond what the
// entity's watermark committed.
func uncommitted(name string, crashed map[string]*RunRecord, wm Watermark) bool {
	stem, _, _ := strings.Cut(name, ".")
	i := strings.LastIndexByte(stem, '-')
	if i < 0 {
		return false
	}
	runID := stem[:i]
	seq, err := strconv.Atoi(stem[i+1:])
	if err != nil || crashed[runID] == nil {
		return false
	}
	return wm.RunID != runID || seq > wm.FileSeq
}
