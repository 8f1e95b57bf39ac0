package transforms

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hlwarn/hlwarn/schemas"
)

// RuleMeta is the rule metadata of a rule model's header (rules.md): what
// `hlwarn rules` prints, what dim_rule publishes, and what the engine needs
// to put the model's rows into its category's fact table.
type RuleMeta struct {
	ID         string            `yaml:"id" json:"id"`                       // A01..A26, B01..B18, C01..C08, or a plug-in's own
	NameZH     string            `yaml:"name_zh" json:"name_zh"`             // 中文名
	NameEN     string            `yaml:"name_en" json:"name_en"`             // English name
	Category   string            `yaml:"category" json:"category"`           // a, b or c
	Area       string            `yaml:"area" json:"area"`                   // declaration, tax, refund...
	ObjectType string            `yaml:"object_type" json:"object_type"`     // the contract entity the rule is about, or "pair"
	Detects    string            `yaml:"detects" json:"detects,omitempty"`   // what it detects, in a sentence
	Grading    string            `yaml:"grading" json:"grading"`             // how a hit is coloured
	Basis      string            `yaml:"basis" json:"basis"`                 // legal basis
	Method     string            `yaml:"method" json:"method,omitempty"`     // statistics and counting conventions, when not obvious
	Versions   map[string]string `yaml:"versions" json:"versions,omitempty"` // rule_version → what it applies to, when the rule has several
}

var ruleIDRE = regexp.MustCompile(`^[A-Z][0-9A-Z]{1,7}$`)

// ruleCategories maps a rule category to the fact table its hits go to.
var ruleCategories = map[string]string{
	"a": "fact_deadline_breach",
	"b": "fact_procedure_deviation",
	"c": "fact_relationship_anomaly",
}

// Colours are the grades of a warning, in rising order.
var Colours = []string{"yellow", "orange", "red"}

// ruleColumns are what a rule model returns, with the types the fact
// tables hold. rule_id, as_of, object_type and basis come from the header.
var ruleColumns = []struct{ name, typ, doc string }{
	{"rule_version", "VARCHAR", "'1', or the version picked by the event date"},
	{"object_key", "VARCHAR", "the object's key (officer_id|ent_code for a pair)"},
	{"officer_id", "VARCHAR", "the officer answerable, if any"},
	{"dept_id", "VARCHAR", "the department the object belongs to"},
	{"ent_code", "VARCHAR", "the enterprise concerned, if any"},
	{"colour", "VARCHAR", "yellow, orange or red"},
	{"metric", "DOUBLE", "the measure the colour is graded on (days, ratio, z...)"},
	{"amount", "DECIMAL(18,2)", "money at stake, CNY, if any"},
	{"evidence", "JSON", "the facts behind the hit"},
	{"first_due", "DATE", "the first day the warning is due"},
	{"period", "VARCHAR", "the quarter or month counted over, '' for one object"},
}

func (r *RuleMeta) check() error {
	var missing []string
	for name, v := range map[string]string{"id": r.ID, "name_zh": r.NameZH, "name_en": r.NameEN, "category": r.Category,
		"area": r.Area, "object_type": r.ObjectType, "grading": r.Grading, "basis": r.Basis} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("rule: missing %s (see rules.md for the rule's entry)", strings.Join(missing, ", "))
	}
	if !ruleIDRE.MatchString(r.ID) {
		return fmt.Errorf("rule id %q: use an upper-case letter and digits, such as A07", r.ID)
	}
	if ruleCategories[r.Category] == "" {
		return fmt.Errorf("rule %s: category %q: use a (deadlines), b (procedure) or c (relationships)", r.ID, r.Category)
	}
	if _, err := schemas.Lookup(r.ObjectType); r.ObjectType != "pair" && err != nil {
		return fmt.Errorf("rule %s: object_type %q is neither a contract entity nor pair", r.ID, r.ObjectType)
	}
	return nil
}

// Rules are the project's rule models, by rule id.
func (p *Project) Rules() []*Model {
	var out []*Model
	for _, m := range p.Models {
		if m.Rule != nil {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *Model) int { return cmp.Or(cmp.Compare(a.Rule.ID, b.Rule.ID), cmp.Compare(a.Path, b.Path)) })
	return out
}

// addRuleModels adds, to a project with rules, one fact model per rule category, the union of that
// category's rule models, and dim_rule, the catalogue as a table. A rule
// is one SQL file: adding it puts its rows into the fact table with no
// other change. Two models with the same rule id are an error.
func (p *Project) addRuleModels() error {
	if len(p.Rules()) == 0 {
		return nil // a project without rules has no rule facts
	}
	byCat := map[string][]*Model{}
	seen := map[string]*Model{}
	for _, m := range p.Rules() {
		if prev := seen[m.Rule.ID]; prev != nil {
			return &ModelError{Path: m.Path, Line: 1, Msg: fmt.Sprintf("rule %s is also defined by %s", m.Rule.ID, prev.Path)}
		}
		seen[m.Rule.ID] = m
		if !uniqueByObject(m) {
			return &ModelError{Path: m.Path, Line: 1, Msg: fmt.Sprintf("rule %s declares no unique test on object_key (with period, if it counts per period); add - unique: [object_key] or [object_key, period] under tests, so each warning is one row", m.Rule.ID)}
		}
		m.Tests = append(m.Tests, ruleCheck())
		byCat[m.Rule.Category] = append(byCat[m.Rule.Category], m)
	}
	for _, cat := range slices.Sorted(func(yield func(string) bool) {
		for c := range ruleCategories {
			if !yield(c) {
				return
			}
		}
	}) {
		name := ruleCategories[cat]
		if p.Models[name] != nil {
			return &ModelError{Path: p.Models[name].Path, Line: 1, Msg: fmt.Sprintf("%s is made by the engine from the category-%s rule models; rename this model", name, cat)}
		}
		p.Models[name] = factModel(name, cat, byCat[cat])
	}
	if p.Models["dim_rule"] != nil {
		return &ModelError{Path: p.Models["dim_rule"].Path, Line: 1, Msg: "dim_rule is made by the engine from the rule headers; rename this model"}
	}
	p.Models["dim_rule"] = p.dimRule()
	return nil
}

// uniqueByObject reports whether a rule model declares an error-severity
// unique test on object_key, alone or with period.
func uniqueByObject(m *Model) bool {
	for _, t := range m.Tests {
		u := slices.Sorted(slices.Values(t.Unique))
		if (t.Severity == "" || t.Severity == "error") && (slices.Equal(u, []string{"object_key"}) || slices.Equal(u, []string{"object_key", "period"})) {
			return true
		}
	}
	return false
}

// warningIDSQL is schemas.WarningID in SQL.
const warningIDSQL = `'W' || upper(substr(sha256(concat_ws(chr(31), rule_id, rule_version, object_key, period)), 1, 20))`

func factModel(name, cat string, rules []*Model) *Model {
	var parts []string
	for _, m := range rules {
		cols := []string{literal(m.Rule.ID) + " AS rule_id", "getvariable('as_of') AS as_of", literal(m.Rule.ObjectType) + " AS object_type"}
		for _, c := range ruleColumns {
			expr := fmt.Sprintf("CAST(%s AS %s)", c.name, c.typ)
			if c.name == "period" || c.name == "rule_version" {
				expr = fmt.Sprintf("coalesce(%s, %s)", expr, map[string]string{"period": "''", "rule_version": "'1'"}[c.name])
			}
			cols = append(cols, expr+" AS "+c.name)
		}
		cols = append(cols, literal(m.Rule.Basis)+" AS basis")
		parts = append(parts, "SELECT "+strings.Join(cols, ", ")+"\nFROM "+m.Name)
	}
	if len(parts) == 0 {
		cols := []string{"CAST(NULL AS VARCHAR) AS rule_id", "CAST(NULL AS DATE) AS as_of", "CAST(NULL AS VARCHAR) AS object_type"}
		for _, c := range ruleColumns {
			cols = append(cols, fmt.Sprintf("CAST(NULL AS %s) AS %s", c.typ, c.name))
		}
		parts = []string{"SELECT " + strings.Join(append(cols, "CAST(NULL AS VARCHAR) AS basis"), ", ") + " WHERE false"}
	}
	// A view: the rule models' tables are the warnings, kept by object
	// from night to night; a copy would be written again in full every
	// night (a district year holds 426,000 of them) and then copied once
	// more into the published build, which materializes the view once.
	// The checks a fact table would carry are each rule's (ruleCheck),
	// run on the rows its build made; a warning id is unique because
	// each rule's rows are unique by object and period.
	return &Model{
		Name:         name,
		Path:         "facts/" + name + " (from the category-" + cat + " rule models)",
		Kind:         KindView,
		Publish:      true,
		PublishOrder: []string{"warning_id"},
		Tags:         []string{"facts", "rules"},
		Description:  fmt.Sprintf("Every hit of the category-%s rules as of the as-of date, one row per warning, in the shared rule-fact shape; warning_id is the stable hash of rule, version, object and period.", cat),
		SQL:          "SELECT *, " + warningIDSQL + " AS warning_id\nFROM (\n" + strings.Join(parts, "\nUNION ALL\n") + "\n)",
		bodyLine:     1,
	}
}

// ruleCheck is the test the engine gives every rule model: its rows have
// an object, a colour of the three and a first due day no later than the
// as-of date, which the fact tables and the daily prompts rely on. One
// expression, so a rule pays for one query. A rule must also declare a
// unique test on object_key (with period, when it counts per period): it
// keeps the warning ids of the fact tables unique.
func ruleCheck() Test {
	var cs []string
	for _, c := range Colours {
		cs = append(cs, literal(c))
	}
	return Test{Expression: "object_key IS NOT NULL AND colour IN (" + strings.Join(cs, ", ") + ") AND first_due IS NOT NULL AND first_due <= getvariable('as_of')", Severity: "error"}
}

// dimRule is the rule catalogue as a published table, parameters with the
// values in force, for BI and the information service.
func (p *Project) dimRule() *Model {
	var rows []string
	for _, m := range p.Rules() {
		r := m.Rule
		var ps []string
		for _, n := range m.Params {
			ps = append(ps, fmt.Sprintf("%s=%v", n, p.Params[n].Value))
		}
		rows = append(rows, "("+strings.Join([]string{literal(r.ID), literal(r.NameZH), literal(r.NameEN), literal(r.Category),
			literal(ruleCategories[r.Category]), literal(r.Area), literal(r.ObjectType), literal(r.Detects), literal(r.Grading),
			literal(r.Basis), literal(r.Method), literal(strings.Join(ps, "; ")), literal(m.Name)}, ", ")+")")
	}
	cols := "rule_id, name_zh, name_en, category, fact_table, area, object_type, detects, grading, basis, method, parameters, model"
	q := "SELECT * FROM (VALUES " + strings.Join(rows, ",\n") + ") AS t(" + cols + ")"
	if len(rows) == 0 {
		q = "SELECT CAST(NULL AS VARCHAR) AS " + strings.ReplaceAll(cols, ", ", ", CAST(NULL AS VARCHAR) AS ") + " WHERE false"
	}
	return &Model{
		Name:        "dim_rule",
		Path:        "dims/dim_rule (from the rule headers)",
		Kind:        KindTable,
		Publish:     true,
		Tags:        []string{"dims", "rules"},
		Description: "The warning rule catalogue (信息服务): id, names, category, area, grading, legal basis and the parameters in force.",
		Tests:       []Test{{Unique: []string{"rule_id"}}},
		SQL:         q,
		bodyLine:    1,
	}
}

// checkRuleShape reports a rule model whose result lacks a column of the
// shared rule-fact shape, or has one that does not cast to its type.
func checkRuleShape(ctx context.Context, conn *sql.Conn, m *Model, rel string) error {
	rows, err := conn.QueryContext(ctx, "SELECT column_name FROM (DESCRIBE "+rel+")")
	if err != nil {
		return m.wrap(err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		have[c] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var missing []string
	for _, c := range ruleColumns {
		if !have[c.name] {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		var want []string
		for _, c := range ruleColumns {
			want = append(want, c.name+" "+c.typ+" ("+c.doc+")")
		}
		return &ModelError{Path: m.Path, Line: m.bodyLine, Msg: fmt.Sprintf("rule %s returns no %s; a rule model returns %s",
			m.Rule.ID, strings.Join(missing, ", "), strings.Join(want, "; "))}
	}
	return nil
}

// FactTable is the fact table a rule category's hits go to.
func FactTable(category string) string { return ruleCategories[category] }
