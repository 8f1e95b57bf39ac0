package transforms

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/hlwarn/hlwarn/schemas"
)

// Builtin variables every model may read with getvariable().
var builtinVars = []string{"as_of", "as_of_end"}

// Param is one risk parameter (风险参数): a threshold a model reads, with
// its default from rules.md and the value in force.
type Param struct {
	Name        string   `yaml:"name"`
	Default     any      `yaml:"default"`
	Unit        string   `yaml:"unit"`
	Rules       []string `yaml:"rules"`
	Description string   `yaml:"description"`
	Value       any      `yaml:"-"`
}

// Params are the risk parameters by name.
type Params map[string]*Param

// LoadParams reads the parameter catalogue (parameters.yaml in fsys) and
// applies overrides from the configuration. An override of a parameter the
// catalogue does not define is an error, so a typo never goes unnoticed.
func LoadParams(fsys fs.FS, overrides map[string]any) (Params, error) {
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
		if !nameRE.MatchString(p.Name) || slices.Contains(builtinVars, p.Name) {
			return nil, fmt.Errorf("parameters.yaml: parameter name %q: use lower-case letters, digits and _, not as_of", p.Name)
		}
		if _, dup := ps[p.Name]; dup {
			return nil, fmt.Errorf("parameters.yaml: %s is defined twice", p.Name)
		}
		if err := checkValue(p.Default); err != nil {
			return nil, fmt.Errorf("parameters.yaml: %s: %w", p.Name, err)
		}
		p.Value = p.Default
		ps[p.Name] = p
	}
	for name, v := range overrides {
		p, ok := ps[name]
		if !ok {
			return nil, fmt.Errorf("parameter %q in the configuration is not a risk parameter; known: %s", name, strings.Join(ps.Names(), ", "))
		}
		if err := checkValue(v); err != nil {
			return nil, fmt.Errorf("parameter %s: %w", name, err)
		}
		p.Value = v
	}
	return ps, nil
}

func checkValue(v any) error {
	switch v.(type) {
	case int, int64, uint64, float64, string, bool:
		return nil
	}
	return fmt.Errorf("value %v (%T) must be a number, a string or a boolean", v, v)
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
	}
	for _, n := range ps.Names() {
		stmts = append(stmts, fmt.Sprintf("SET VARIABLE %s = %s", n, literal(ps[n].Value)))
	}
	return stmts
}
