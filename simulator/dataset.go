package simulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// Record is one version of one record as the platform serves it.
type Record struct {
	UpdatedAt time.Time
	Key       string // the entity key, values joined by "|"
	JSON      []byte // the record as the API writes it
}

// Dataset is everything the simulated platform holds: every version of every
// record of every entity, each entity's versions ordered by (updated_at, key),
// and the ground truth. It is immutable once built and safe to share.
type Dataset struct {
	Config  Config
	records map[string][]Record
	Truth   []TruthRow
}

// Records returns the entity's versions ordered by (updated_at, key). The
// slice must not be modified.
func (d *Dataset) Records(entity string) []Record { return d.records[entity] }

// Count is the number of versions of every entity.
func (d *Dataset) Count() map[string]int {
	out := map[string]int{}
	for name, recs := range d.records {
		out[name] = len(recs)
	}
	return out
}

// Emitter collects generated record versions. It is not safe for concurrent
// use: give each goroutine its own and Merge them.
type Emitter struct {
	end     time.Time // versions at or after the simulation's end have not happened yet
	records map[string][]Record
	truth   []TruthRow
	buf     bytes.Buffer
}

func newEmitter(end time.Time) *Emitter {
	return &Emitter{end: end, records: map[string][]Record{}}
}

// Emit adds one version of a record: rec is a pointer to a contract entity
// struct with UpdatedAt set. A version dated at or after the end of the
// simulation is dropped, as it has not happened yet. Extra, if set, is
// written as further fields, as the platform does when it adds fields
// before the contract names them.
func (em *Emitter) Emit(rec any) {
	e, err := schemas.EntityOf(rec)
	if err != nil {
		panic(err)
	}
	v := schemas.VersionOf(rec)
	if !v.UpdatedAt.Before(em.end) {
		return
	}
	em.buf.Reset()
	if v.Deleted {
		em.buf.Write(tombstoneJSON(e, rec))
	} else {
		enc := json.NewEncoder(&em.buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rec); err != nil {
			panic(fmt.Sprintf("simulator: encoding %s: %v", e.Name, err))
		}
		em.buf.Truncate(em.buf.Len() - 1) // Encode's newline
		if v.Extra != "" {
			spliceExtra(&em.buf, v.Extra)
		}
	}
	em.records[e.Name] = append(em.records[e.Name], Record{
		UpdatedAt: v.UpdatedAt,
		Key:       e.KeyOf(rec),
		JSON:      bytes.Clone(em.buf.Bytes()),
	})
}

// EmitVersions emits rec once per change: each change mutates rec and sets
// its time; versions are emitted in order until the simulation's end.
func (em *Emitter) EmitVersions(rec any, changes ...func()) {
	for _, ch := range changes {
		ch()
		em.Emit(rec)
	}
}

// Truth records one expected warning, filling in its rule version (default
// "1") and warning id.
func (em *Emitter) Truth(t TruthRow) {
	if t.RuleVersion == "" {
		t.RuleVersion = "1"
	}
	t.WarningID = schemas.WarningID(t.RuleID, t.RuleVersion, t.ObjectKey, t.Period)
	em.truth = append(em.truth, t)
}

// Merge moves other's versions and truth into em.
func (em *Emitter) Merge(other *Emitter) {
	for name, recs := range other.records {
		em.records[name] = append(em.records[name], recs...)
	}
	em.truth = append(em.truth, other.truth...)
}

// dataset sorts the collected versions into a Dataset and checks that no
// (key, updated_at) pair was generated twice.
func (em *Emitter) dataset(cfg Config) (*Dataset, error) {
	if err := sortRecords(em.records); err != nil {
		return nil, err
	}
	for _, e := range schemas.Entities() {
		if _, ok := em.records[e.Name]; !ok {
			em.records[e.Name] = nil
		}
	}
	slices.SortFunc(em.truth, compareTruth)
	return &Dataset{Config: cfg, records: em.records, Truth: em.truth}, nil
}

// sortRecords orders each entity's versions by (updated_at, key) and checks
// that no (key, updated_at) pair is there twice.
func sortRecords(records map[string][]Record) error {
	var dups []string
	for name, recs := range records {
		slices.SortFunc(recs, func(a, b Record) int {
			return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.Key, b.Key))
		})
		for i := 1; i < len(recs); i++ {
			if recs[i].Key == recs[i-1].Key && recs[i].UpdatedAt.Equal(recs[i-1].UpdatedAt) {
				dups = append(dups, fmt.Sprintf("%s %s at %s", name, recs[i].Key, recs[i].UpdatedAt.Format(time.RFC3339)))
			}
		}
	}
	if len(dups) > 0 {
		return fmt.Errorf("simulator generated %d versions twice, e.g. %s", len(dups), strings.Join(dups[:min(3, len(dups))], "; "))
	}
	return nil
}

// tombstoneJSON is the contract's deletion: key fields, updated_at, deleted.
func tombstoneJSON(e *schemas.Entity, rec any) []byte {
	v := reflect.ValueOf(rec).Elem()
	m := map[string]any{"deleted": true, "updated_at": schemas.VersionOf(rec).UpdatedAt}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if f, ok := e.Field(name); ok && f.Key {
			m[name] = v.Field(i).Interface()
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// spliceExtra appends the members of the JSON object extra to the object in buf.
func spliceExtra(buf *bytes.Buffer, extra schemas.RawJSON) {
	inner := strings.TrimSpace(string(extra))
	inner = strings.TrimSuffix(strings.TrimPrefix(inner, "{"), "}")
	if inner == "" {
		return
	}
	buf.Truncate(buf.Len() - 1)
	buf.WriteByte(',')
	buf.WriteString(inner)
	buf.WriteByte('}')
}
