// Package transforms builds the warehouse from the raw lake: it loads the
// SQL models (sql/ and plug-in folders), orders them into a DAG, runs them
// in DuckDB as views, tables or date-partitioned incremental tables with the
// as-of date and the risk parameters as variables, runs their declared
// tests, records lineage, and publishes dimensions, facts and marts as an
// immutable build that BI tools read.
package transforms

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/goccy/go-yaml"
)

// Kind is how a model is materialized.
type Kind string

// The materializations.
const (
	KindView        Kind = "view"        // recomputed by every query
	KindTable       Kind = "table"       // rebuilt on every run
	KindIncremental Kind = "incremental" // one partition per as-of date, kept across runs
	KindKeyed       Kind = "keyed"       // rows by key, only the keys in scope re-evaluated on a run
)

// Model is one SQL model: its header and its query.
type Model struct {
	Name        string
	Path        string // where it was loaded from, for messages
	Kind        Kind
	PartitionBy string // incremental models: the date column holding the as-of date
	// Lookback (incremental models) keeps the partitions of the last
	// Lookback days filled: a run builds every missing one in the window in
	// one query over [partition_from, as_of], so a rolling window over
	// daily partitions is complete from the first run on.
	Lookback int
	// UniqueKey and Scope (keyed models): the column a row belongs to an
	// object by, and the query of the objects a run re-evaluates (see
	// keyed.go).
	UniqueKey string
	Scope     string
	// ScopeFrom (keyed models) names another keyed model whose scope query
	// this one shares, for models that read the same inputs about the same
	// objects: one query to keep right, not copies.
	ScopeFrom string
	Tags      []string // for selection with tag:NAME
	Publish   bool     // copied into each published build
	// PublishOrder (engine-made models) is the order it is published in,
	// when it has no unique test to take the order from.
	PublishOrder []string
	Params       []string // risk parameters it reads with getvariable()
	Tests        []Test
	Rule         *RuleMeta // rule metadata (rules.md), for rule models
	Defines      []*Param  // risk parameters the header defines, with defaults
	Description  string
	SQL          string    // the query, header removed
	Deps         []string  // models and raw.<entity> sources it reads, from the SQL itself
	declared     []string  // depends: from the header
	testDeps     []string  // models its relationships tests look up, built before it
	snap         *snapshot // how a staging model is carried forward
	changed      []string  // keyed models: the entities whose changed records they read
	diffed       []string  // keyed models: the entities whose changed columns they read (diff.<entity>)
	// definition hashes what the model computes and everything it reads
	// computes: its query, scope and key, and the definitions of the
	// models it reads, transitively; upParams are the risk parameters it
	// and they read. A keyed model evaluates in full when either moves.
	definition string
	upParams   []string
	bodyLine   int // line of the file where the query starts
}

// Test is one declared model test. Exactly one kind is set.
type Test struct {
	Unique         []string        `yaml:"unique"`
	NotNull        []string        `yaml:"not_null"`
	AcceptedValues *AcceptedValues `yaml:"accepted_values"`
	Relationships  *Relationship   `yaml:"relationships"`
	Expression     string          `yaml:"expression"`
	Severity       string          `yaml:"severity"` // error (default) or warn
}

// AcceptedValues requires a column's non-null values to be in a list.
type AcceptedValues struct {
	Column string   `yaml:"column"`
	Values []string `yaml:"values"`
}

// Relationship requires every non-null value of a column to exist in
// another model's column.
type Relationship struct {
	Column string `yaml:"column"`
	To     string `yaml:"to"`    // model name
	Field  string `yaml:"field"` // its column
}

type header struct {
	Name        string    `yaml:"name"`
	Kind        Kind      `yaml:"kind"`
	PartitionBy string    `yaml:"partition_by"`
	Lookback    int       `yaml:"lookback"`
	UniqueKey   string    `yaml:"unique_key"`
	Scope       string    `yaml:"scope"`
	ScopeFrom   string    `yaml:"scope_from"`
	Tags        []string  `yaml:"tags"`
	Publish     bool      `yaml:"publish"`
	Params      []string  `yaml:"params"`
	Depends     []string  `yaml:"depends"`
	Tests       []Test    `yaml:"tests"`
	Rule        *RuleMeta `yaml:"rule"`
	Parameters  []*Param  `yaml:"parameters"`
	Description string    `yaml:"description"`
}

// ModelError is a problem with one model file, located to a line.
type ModelError struct {
	Path string
	Line int // 1-based; 0 when the whole file is meant
	Msg  string
}

func (e *ModelError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// parseModel reads a model file: a header comment "/* --- YAML --- */" and
// a single SELECT.
func parseModel(file string, src []byte) (*Model, error) {
	text := string(bytes.TrimPrefix(src, []byte("\xef\xbb\xbf")))
	start := strings.Index(text, "/* ---")
	if start < 0 || strings.TrimSpace(text[:start]) != "" {
		return nil, &ModelError{Path: file, Line: 1, Msg: "a model starts with a header comment: /* --- (YAML: name, kind, tests...) --- */"}
	}
	end := strings.Index(text[start:], "--- */")
	if end < 0 {
		return nil, &ModelError{Path: file, Line: 1, Msg: "the header comment is not closed with --- */"}
	}
	yml := text[start+len("/* ---") : start+end]
	body := text[start+end+len("--- */"):]
	// The query's lines count from its first character, after the blank
	// lines TrimSpace drops below, so DuckDB's positions map to file lines.
	sqlStart := len(text) - len(strings.TrimLeftFunc(body, unicode.IsSpace))
	m := &Model{Path: file, bodyLine: 1 + strings.Count(text[:sqlStart], "\n")}
	var h header
	if err := yaml.UnmarshalWithOptions([]byte(yml), &h, yaml.Strict()); err != nil {
		return nil, &ModelError{Path: file, Line: 1, Msg: "header: " + yaml.FormatError(err, false, false)}
	}
	m.Name = h.Name
	if m.Name == "" {
		m.Name = strings.TrimSuffix(path.Base(file), ".sql")
	}
	if !nameRE.MatchString(m.Name) {
		return nil, &ModelError{Path: file, Line: 1, Msg: fmt.Sprintf("model name %q: use lower-case letters, digits and _", m.Name)}
	}
	m.Kind, m.PartitionBy, m.Tags, m.Publish = h.Kind, h.PartitionBy, h.Tags, h.Publish
	m.Lookback, m.UniqueKey, m.Scope = h.Lookback, h.UniqueKey, strings.TrimSpace(strings.TrimRight(strings.TrimSpace(h.Scope), ";"))
	m.ScopeFrom = h.ScopeFrom
	m.Params, m.declared, m.Tests, m.Rule, m.Description = h.Params, h.Depends, h.Tests, h.Rule, h.Description
	m.Defines = h.Parameters
	if m.Rule != nil && m.Kind == KindKeyed && m.UniqueKey == "" {
		m.UniqueKey = "object_key"
	}
	if m.Kind == "" {
		m.Kind = KindTable
	}
	if err := m.checkHeader(); err != nil {
		return nil, &ModelError{Path: file, Line: 1, Msg: err.Error()}
	}
	m.SQL = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(body), ";"))
	if m.SQL == "" {
		return nil, &ModelError{Path: file, Line: m.bodyLine, Msg: "the model has no query after its header"}
	}
	return m, nil
}

func (m *Model) checkHeader() error {
	if m.Kind != KindKeyed && (m.UniqueKey != "" || m.Scope != "" || m.ScopeFrom != "") {
		return fmt.Errorf("unique_key, scope and scope_from are for keyed models, not %s", m.Kind)
	}
	switch m.Kind {
	case KindView, KindTable:
		if m.PartitionBy != "" || m.Lookback != 0 {
			return fmt.Errorf("partition_by and lookback are for incremental models, not %s", m.Kind)
		}
	case KindKeyed:
		if m.PartitionBy != "" || m.Lookback != 0 {
			return fmt.Errorf("partition_by and lookback are for incremental models, not %s", m.Kind)
		}
		if m.UniqueKey == "" || (m.Scope == "") == (m.ScopeFrom == "") {
			return fmt.Errorf("a keyed model needs unique_key (the column its rows belong to an object by) and either scope (a query of the keys a run re-evaluates) or scope_from (the keyed model whose scope it shares)")
		}
	case KindIncremental:
		if m.PartitionBy == "" {
			return fmt.Errorf("an incremental model needs partition_by: the date column that holds the as-of date")
		}
		if m.Lookback < 0 || m.Lookback > 3660 {
			return fmt.Errorf("lookback %d: give the days of partitions to keep filled, 1 to 3660", m.Lookback)
		}
	default:
		return fmt.Errorf("kind %q: use view, table, incremental or keyed", m.Kind)
	}
	if m.Rule != nil {
		if err := m.Rule.check(); err != nil {
			return err
		}
		if m.Kind == KindIncremental {
			return fmt.Errorf("rule %s: a rule model is a table, a view or keyed (it evaluates every open item as of the run date), not %s", m.Rule.ID, m.Kind)
		}
	}
	for _, d := range m.Defines {
		if !slices.Contains(m.Params, d.Name) {
			return fmt.Errorf("parameter %s is defined here but not listed in params; list it, or define it where it is read", d.Name)
		}
	}
	for i, t := range m.Tests {
		if n := t.kinds(); n != 1 {
			return fmt.Errorf("test %d declares %d kinds; give exactly one of unique, not_null, accepted_values, relationships, expression", i+1, n)
		}
		if t.Severity != "" && t.Severity != "error" && t.Severity != "warn" {
			return fmt.Errorf("test %d: severity %q: use error or warn", i+1, t.Severity)
		}
	}
	return nil
}

func (t Test) kinds() int {
	n := 0
	for _, set := range []bool{len(t.Unique) > 0, len(t.NotNull) > 0, t.AcceptedValues != nil, t.Relationships != nil, t.Expression != ""} {
		if set {
			n++
		}
	}
	return n
}

// upstream is everything that must be built before the model: what it
// reads, and the models its relationships tests look up.
func (m *Model) upstream() []string { return append(slices.Clone(m.Deps), m.testDeps...) }

// HasTag reports whether the model carries tag.
func (m *Model) HasTag(tag string) bool { return slices.Contains(m.Tags, tag) }
