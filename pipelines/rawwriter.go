package pipelines

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/hlwarn/hlwarn/internal/durable"
	"github.com/hlwarn/hlwarn/schemas"
)

// Raw-layer columns added beside each entity's fields.
var (
	runIDColumn      = schemas.Column{Name: "_run_id", Node: parquet.String()}
	ingestedAtColumn = schemas.Column{Name: "_ingested_at", Node: parquet.Timestamp(parquet.Microsecond)}
)

// QuarantineRecord is one record that broke the contract, kept with its raw
// JSON and every reason, one JSON object a line in quarantine/.
type QuarantineRecord struct {
	RunID     string    `json:"run_id"`
	Entity    string    `json:"entity"`
	Page      int       `json:"page"` // 1-based page number within the run's window
	FetchedAt time.Time `json:"fetched_at"`
	Key       string    `json:"key,omitempty"` // as far as it could be read
	Reasons   []string  `json:"reasons"`
	Raw       string    `json:"raw"` // the record exactly as served
}

// sink lands one entity's records for one run: valid versions into rolling
// Parquet files under raw/, contract breakers into JSON-lines files under
// quarantine/. Files are written under a temporary name and become visible
// only when a checkpoint has synced and renamed them.
type sink struct {
	dataDir      string
	entity       *schemas.Entity
	layout       *schemas.RowLayout
	runID        string
	ingestDate   string
	rowsPerGroup int64
	seq          int // number of the files being written; the first checkpoint commits 1

	raw     *os.File
	rawTmp  string
	pw      *parquet.GenericWriter[any]
	rawRows int64
	row     parquet.Row
	runVal  parquet.Value

	quar     *os.File
	quarTmp  string
	quarBuf  *bufio.Writer
	quarRows int64
}

func newSink(dataDir string, e *schemas.Entity, runID, ingestDate string, rowsPerGroup int64) (*sink, error) {
	layout, err := e.NewRowLayout(runIDColumn, ingestedAtColumn)
	if err != nil {
		return nil, err
	}
	return &sink{
		dataDir: dataDir, entity: e, layout: layout, runID: runID, ingestDate: ingestDate,
		rowsPerGroup: rowsPerGroup, seq: 1, runVal: parquet.ByteArrayValue([]byte(runID)),
	}, nil
}

// partitionDir is <dataDir>/<layer>/<entity>/ingest_date=YYYY-MM-DD.
func (s *sink) partitionDir(layer string) string {
	return filepath.Join(s.dataDir, layer, s.entity.Name, "ingest_date="+s.ingestDate)
}

func (s *sink) fileName(ext string) string { return fmt.Sprintf("%s-%04d.%s", s.runID, s.seq, ext) }

// Land writes one valid record. Parquet encoding errors, and panics inside
// the encoder on a value it cannot take, are returned as errors.
func (s *sink) Land(rec any, ingestedAt time.Time) (err error) {
	if s.pw == nil {
		if err := s.openRaw(); err != nil {
			return err
		}
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("writing %s %s to Parquet: %v", s.entity.Name, s.entity.KeyOf(rec), p)
		}
	}()
	s.row = s.layout.AppendRow(s.row, rec, s.runVal, parquet.Int64Value(ingestedAt.UnixMicro()))
	if _, err := s.pw.WriteRows([]parquet.Row{s.row}); err != nil {
		return fmt.Errorf("writing %s to Parquet: %w", s.entity.Name, err)
	}
	s.rawRows++
	return nil
}

func (s *sink) openRaw() error {
	dir := s.partitionDir("raw")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, durable.TempPrefix+s.fileName("parquet")+"-*")
	if err != nil {
		return fmt.Errorf("creating a raw file: %w", err)
	}
	s.raw, s.rawTmp = f, f.Name()
	s.pw = parquet.NewGenericWriter[any](f, s.layout.Schema,
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(s.rowsPerGroup),
		parquet.CreatedBy("hlwarn", "1", ""),
	)
	return nil
}

// Quarantine writes one record that broke the contract.
func (s *sink) Quarantine(q QuarantineRecord) error {
	if s.quar == nil {
		dir := s.partitionDir("quarantine")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		f, err := os.CreateTemp(dir, durable.TempPrefix+s.fileName("jsonl")+"-*")
		if err != nil {
			return fmt.Errorf("creating a quarantine file: %w", err)
		}
		s.quar, s.quarTmp, s.quarBuf = f, f.Name(), bufio.NewWriter(f)
	}
	b, err := json.Marshal(q)
	if err != nil {
		return err
	}
	s.quarBuf.Write(b)
	if err := s.quarBuf.WriteByte('\n'); err != nil {
		return fmt.Errorf("writing quarantine: %w", err)
	}
	s.quarRows++
	return nil
}

// Rows is the number of records written since the last checkpoint.
func (s *sink) Rows() int64 { return s.rawRows + s.quarRows }

// Checkpoint makes the files written so far durable and visible: Parquet
// footer, fsync, rename to the final name, fsync of the folder. It returns
// the committed file paths relative to the data folder and the sequence
// number they carry; the next files get the next number.
func (s *sink) Checkpoint() (files []string, seq int, err error) {
	if s.pw != nil {
		if err := s.pw.Close(); err != nil {
			return nil, 0, fmt.Errorf("closing the %s raw file: %w", s.entity.Name, err)
		}
		name, err := durable.Commit(s.raw, filepath.Join(s.partitionDir("raw"), s.fileName("parquet")))
		if err != nil {
			return nil, 0, err
		}
		files = append(files, s.rel(name))
	}
	if s.quar != nil {
		if err := s.quarBuf.Flush(); err != nil {
			return nil, 0, fmt.Errorf("writing quarantine: %w", err)
		}
		name, err := durable.Commit(s.quar, filepath.Join(s.partitionDir("quarantine"), s.fileName("jsonl")))
		if err != nil {
			return nil, 0, err
		}
		files = append(files, s.rel(name))
	}
	seq = s.seq
	s.seq++
	s.raw, s.pw, s.rawRows, s.quar, s.quarBuf, s.quarRows = nil, nil, 0, nil, nil, 0
	return files, seq, nil
}

func (s *sink) rel(path string) string {
	r, err := filepath.Rel(s.dataDir, path)
	if err != nil {
		return path
	}
	return r
}

// Abort removes the files not yet committed.
func (s *sink) Abort() {
	if s.raw != nil {
		s.raw.Close()
		os.Remove(s.rawTmp)
	}
	if s.quar != nil {
		s.quar.Close()
		os.Remove(s.quarTmp)
	}
	s.raw, s.pw, s.quar, s.quarBuf = nil, nil, nil, nil
}
