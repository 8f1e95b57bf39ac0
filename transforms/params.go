package transforms

import (
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/hlwarn/hlwarn/schemas"
)

// Builtin variables every model may read with getvariable().
// partition_from is the first day an incremental model's query covers:
// the as-of date, or the earliest missing day of a lookback window.
// changed_since (keyed models) is the first as-of day their last build did
// not cover, -infinity when a build evaluates every object.
var builtinVars = []string{"as_of", "as_of_end", "partition_from", "changed_since"}

// Param is one risk parameter (风险参数): a threshold a model reads, with
// its default from rules.md and the value in force.
type Param struct {
	Name        string   `yaml:"name"`
	Default     any      `yaml:"default"`
	Unit        string   `yaml:"unit"`
	Rules       []string `yaml:"rules"`
	Description string   `yaml:"description"`
	Value       any      `yaml:"-"`
	DefinedIn   string   `yaml:"-"` // parameters.yaml or the model file
}

// Params are the risk parameters by name.
type Params map[string]*Param

// LoadParams reads the parameter catalogue (parameters.yaml in fsys): the
// parameters shared by several models. A model may define more in its
// header; Load adds them, and Project.Override applies the configuration.
func LoadParams(fsys fs.FS) (Params, error) {
	b, err := fs.ReadFile(fsys, "parameters.yaml")
	if err != nil {
		return nil, fmt.Errorf("reading the parameter catalogue: %w", err)
	}
	var list []*Param
	if err := yaml.UnmarshalWithOptions(b, &list, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("parameters.yaml: %s", yaml.FormatError(err, false, false))
	}
	ps := Params{}
	for _, p := range list {
		if err := ps.define(p, "parameters.yaml"); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// define adds p, defined in where, to the catalogue.
func (ps Params) define(p *Param, where string) error {
	if !nameRE.MatchString(p.Name) || slices.Contains(builtinVars, p.Name) {
		return fmt.Errorf("%s: parameter name %q: use lower-case letters, digits and _, not as_of", where, p.Name)
	}
	if prev, dup := ps[p.Name]; dup {
		return fmt.Errorf("%s: parameter %s is already defined in %s", where, p.Name, prev.DefinedIn)
	}
	if p.Default == nil {
		return fmt.Errorf("%s: parameter %s has no default; give rules.md's", where, p.Name)
	}
	if err := checkValue(p.Default); err != nil {
		return fmt.Errorf("%s: parameter %s: %w", where, p.Name, err)
	}
	p.Value, p.DefinedIn = p.Default, where
	ps[p.Name] = p
	return nil
}

// Override sets parameters to the configuration's values. A parameter no
// model or catalogue defines is an error, so a typo never goes unnoticed.
func (ps Params) Override(overrides map[string]any) error {
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		v := overrides[name]
		p, ok := ps[name]
		if !ok {
			return fmt.Errorf("parameter %q in the configuration is not a risk parameter; known: %s", name, strings.Join(ps.Names(), ", "))
		}
		if err := checkValue(v); err != nil {
			return fmt.Errorf("parameter %s: %w", name, err)
		}
		p.Value = v
	}
	return nil
}

func checkValue(v any) error {
	switch v.(type) {
	case int, int64, uint64, float64, string, bool:
		return nil
	}
	return fmt.Errorf("value %v (%T) must be a number, a string or a boolean", v, v)
}

func (ps Params) clone() Params {
	out := make(Params, len(ps))
	for n, p := range ps {
		c := *p
		out[n] = &c
	}
	return out
}

// Names lists the parameters in order.
func (ps Params) Names() []string {
	out := make([]string, 0, len(ps))
	for n := range ps {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// literal renders a value as a DuckDB literal.
func literal(v any) string {
	switch t := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(t, "'", "''") + "'"
	case schemas.Date:
		return "DATE '" + t.String() + "'"
	case float64:
		return fmt.Sprintf("%v::DOUBLE", t)
	}
	return fmt.Sprint(v)
}

// setVariables is the SET VARIABLE statements for the as-of date and every
// parameter; the as-of day ends at midnight platform time.
func (ps Params) setVariables(asOf schemas.Date) []string {
	stmts := []string{
		"SET VARIABLE as_of = " + literal(asOf),
		fmt.Sprintf("SET VARIABLE as_of_end = TIMESTAMPTZ '%s 00:00:00+08:00'", asOf.AddDays(1)),
		"SET VARIABLE partition_from = " + literal(asOf),
		"SET VARIABLE changed_since = DATE '-infinity'",
	}
	for _, n := range ps.Names() {
		stmts = append(stmts, fmt.Sprintf("SET VARIABLE %s = %s", n, literal(ps[n].Value)))
	}
	return stmts
}
