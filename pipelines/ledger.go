package pipelines

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hlwarn/hlwarn/internal/durable"
)

// Run statuses in the ledger.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCrashed   = "crashed" // found running by a later job: the process died
)

// RunRecord is one extraction run in the ledger (ledger/runs/<run_id>.json).
type RunRecord struct {
	RunID      string          `json:"run_id"`
	Platform   string          `json:"platform"` // base URL, credentials removed
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
	ServerTime time.Time       `json:"server_time,omitzero"` // the platform's clock when the run began
	Status     string          `json:"status"`
	Error      string          `json:"error,omitempty"`
	Entities   []*EntityRecord `json:"entities"`
	mu         sync.Mutex
	byName     map[string]*EntityRecord
}

// EntityRecord is one entity's part of a run.
type EntityRecord struct {
	Entity      string    `json:"entity"`
	Since       time.Time `json:"window_since,omitzero"` // inclusive; zero: from the beginning
	Before      time.Time `json:"window_before"`         // exclusive: server_time − visibility lag
	Pages       int       `json:"pages"`
	Restarts    int       `json:"window_restarts"` // expired cursors (410) that restarted the window
	Fetched     int64     `json:"fetched"`
	Landed      int64     `json:"landed"`
	Quarantined int64     `json:"quarantined"`
	Bytes       int64     `json:"bytes"`
	Seconds     float64   `json:"seconds"`
	Files       []string  `json:"files,omitempty"` // raw and quarantine files committed, relative to the data folder
	Status      string    `json:"status"`
	Error       string    `json:"error,omitempty"`
}

// Reconciles reports whether every fetched record was landed or quarantined.
func (e *EntityRecord) Reconciles() bool { return e.Fetched == e.Landed+e.Quarantined }

// Watermark is how far an entity has been extracted: every version with
// updated_at before At is durable in the raw layer. RunID and FileSeq name
// the last committed file, so that recovery can tell a crashed run's
// committed files from its uncommitted ones.
type Watermark struct {
	At      time.Time `json:"at"`
	RunID   string    `json:"run_id"`
	FileSeq int       `json:"file_seq"`
}

// Ledger is the data folder's record of runs and watermarks, kept as JSON
// files replaced atomically, so that status can be read while a job runs.
// It is safe for concurrent use within one process; the data-folder lock
// keeps other processes out.
type Ledger struct {
	root       string // the data folder
	dir        string
	mu         sync.Mutex
	watermarks map[string]Watermark
}

// OpenLedger reads the ledger under dataDir/ledger, creating it if needed.
func OpenLedger(dataDir string) (*Ledger, error) {
	l := &Ledger{root: dataDir, dir: filepath.Join(dataDir, "ledger"), watermarks: map[string]Watermark{}}
	if err := os.MkdirAll(filepath.Join(l.dir, "runs"), 0o755); err != nil {
		return nil, fmt.Errorf("creating the ledger: %w", err)
	}
	b, err := os.ReadFile(l.watermarkPath())
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading watermarks: %w", err)
	}
	if err := json.Unmarshal(b, &l.watermarks); err != nil {
		return nil, fmt.Errorf("the watermark file %s is damaged (%v); restore it from backup, or delete it to re-extract everything (staging removes the repeats)", l.watermarkPath(), err)
	}
	return l, nil
}

func (l *Ledger) watermarkPath() string { return filepath.Join(l.dir, "watermarks.json") }

// Watermark returns the entity's watermark; the zero value if never extracted.
func (l *Ledger) Watermark(entity string) Watermark {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.watermarks[entity]
}

// Watermarks returns a copy of every watermark.
func (l *Ledger) Watermarks() map[string]Watermark {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]Watermark, len(l.watermarks))
	for k, v := range l.watermarks {
		out[k] = v
	}
	return out
}

// Commit moves an entity's watermark durably. Call it only once the files it
// covers are durable.
func (l *Ledger) Commit(entity string, wm Watermark) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev, had := l.watermarks[entity]
	l.watermarks[entity] = wm
	if err := writeJSONAtomic(l.watermarkPath(), l.watermarks); err != nil {
		if had {
			l.watermarks[entity] = prev
		} else {
			delete(l.watermarks, entity)
		}
		return fmt.Errorf("committing the %s watermark: %w", entity, err)
	}
	return nil
}

// SaveRun writes the run record.
func (l *Ledger) SaveRun(r *RunRecord) error {
	r.mu.Lock()
	b, err := json.MarshalIndent(r, "", "  ")
	r.mu.Unlock()
	if err != nil {
		return err
	}
	return durable.WriteFile(filepath.Join(l.dir, "runs", r.RunID+".json"), b)
}

// Runs returns the most recent run records, newest first (n ≤ 0: all).
func (l *Ledger) Runs(n int) ([]*RunRecord, error) {
	names, err := filepath.Glob(filepath.Join(l.dir, "runs", "*.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	slices.Reverse(names)
	if n > 0 && len(names) > n {
		names = names[:n]
	}
	var out []*RunRecord
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading run record: %w", err)
		}
		var r RunRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("run record %s is damaged: %w", name, err)
		}
		out = append(out, &r)
	}
	return out, nil
}

// entity returns the run's record for an entity, creating it.
func (r *RunRecord) entity(name string) *EntityRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byName == nil {
		r.byName = map[string]*EntityRecord{}
	}
	if e, ok := r.byName[name]; ok {
		return e
	}
	e := &EntityRecord{Entity: name, Status: StatusRunning}
	r.byName[name] = e
	r.Entities = append(r.Entities, e)
	return e
}

// update changes an entity record under the run's lock.
func (r *RunRecord) update(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

// writeJSONAtomic writes v as indented JSON to path atomically.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(path, b)
}
