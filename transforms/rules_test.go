package transforms_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/transforms"
)

// ruleModel is a valid rule model file for the tests to vary.
func ruleModel(id, category, extraHeader, query string) string {
	return fmt.Sprintf(`/* ---
kind: table
rule:
  id: %s
  name_zh: 测试规则
  name_en: Test rule
  category: %s
  area: refund
  object_type: refunds
  grading: red
  basis: 测试 1
tests:
  - unique: [object_key, period]
%s--- */
%s
`, id, category, extraHeader, query)
}

const ruleQuery = `SELECT '1' AS rule_version, refund_id AS object_key, officer_id, NULL AS dept_id, NULL AS ent_code,
    'red' AS colour, 1 AS metric, amount, json_object('x', 1) AS evidence, accepted_on AS first_due, '' AS period
FROM stg_refunds`

// TestRuleHeaderErrors checks that each kind of broken rule header is
// reported with its file and what to do.
func TestRuleHeaderErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"missing metadata", map[string]string{"rules/r.sql": "/* ---\nkind: table\nrule:\n  id: A99\n  category: a\n--- */\n" + ruleQuery},
			[]string{"rules/r.sql:1:", "missing area, basis, grading, name_en, name_zh, object_type"}},
		{"bad category", map[string]string{"rules/r.sql": ruleModel("A99", "x", "", ruleQuery)},
			[]string{"rules/r.sql:1:", `category "x"`}},
		{"bad id", map[string]string{"rules/r.sql": ruleModel("a99", "a", "", ruleQuery)},
			[]string{"rules/r.sql:1:", `rule id "a99"`}},
		{"incremental rule", map[string]string{"rules/r.sql": strings.Replace(ruleModel("A99", "a", "", ruleQuery), "kind: table", "kind: incremental\npartition_by: as_of", 1)},
			[]string{"rules/r.sql:1:", "a table, a view or keyed"}},
		{"one id twice", map[string]string{"rules/r1.sql": ruleModel("A99", "a", "", ruleQuery), "rules/r2.sql": ruleModel("A99", "a", "", ruleQuery)},
			[]string{"rules/r2.sql", "rule A99 is also defined by rules/r1.sql"}},
		{"parameter defined but not read", map[string]string{"rules/r.sql": ruleModel("A99", "a", "parameters:\n  - {name: a99_limit, default: 3}\n", ruleQuery)},
			[]string{"rules/r.sql:1:", "a99_limit is defined here but not listed in params"}},
		{"parameter defined twice", map[string]string{
			"rules/r1.sql": ruleModel("A98", "a", "params: [x_limit]\nparameters:\n  - {name: x_limit, default: 3}\n", ruleQuery+" WHERE amount > getvariable('x_limit')"),
			"rules/r2.sql": ruleModel("A99", "a", "params: [x_limit]\nparameters:\n  - {name: x_limit, default: 4}\n", ruleQuery+" WHERE amount > getvariable('x_limit')")},
			[]string{"rules/r2.sql: parameter x_limit is already defined in rules/r1.sql"}},
		{"parameter without default", map[string]string{"rules/r.sql": ruleModel("A99", "a", "params: [a99_limit]\nparameters:\n  - {name: a99_limit}\n", ruleQuery+" WHERE amount > getvariable('a99_limit')")},
			[]string{"rules/r.sql", "a99_limit has no default"}},
		{"no unique test by object", map[string]string{"rules/r.sql": strings.Replace(ruleModel("A99", "a", "", ruleQuery), "  - unique: [object_key, period]\n", "  - not_null: [object_key]\n", 1)},
			[]string{"rules/r.sql:1:", "rule A99 declares no unique test on object_key", "- unique: [object_key]"}},
		{"a model named like a fact table", map[string]string{"rules/r.sql": ruleModel("A99", "a", "", ruleQuery), "facts/fact_deadline_breach.sql": "/* ---\nkind: table\n--- */\nSELECT 1 AS x\n"},
			[]string{"facts/fact_deadline_breach.sql:1:", "made by the engine"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := loadFolder(t, tc.files)
			if err == nil {
				t.Fatalf("loaded %d models; want an error holding %q", len(p.Models), tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not hold %q", err, w)
				}
			}
		})
	}
}

// TestRuleParametersOverride checks that a parameter a rule header defines
// takes the configuration's value, and that an unknown one is refused.
func TestRuleParametersOverride(t *testing.T) {
	t.Parallel()
	files := map[string]string{"rules/r.sql": ruleModel("A99", "a", "params: [a99_limit]\nparameters:\n  - {name: a99_limit, default: 30, unit: calendar days}\n", ruleQuery+" WHERE amount > getvariable('a99_limit')")}
	p, err := loadFolder(t, files)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Params["a99_limit"]; got == nil || fmt.Sprint(got.Value) != "30" || got.DefinedIn != "rules/r.sql" {
		t.Fatalf("a99_limit = %+v; want the header's default 30, defined in rules/r.sql", got)
	}
	if err := p.Params.Override(map[string]any{"a99_limit": 45}); err != nil {
		t.Fatal(err)
	}
	if v := p.Params["a99_limit"].Value; fmt.Sprint(v) != "45" {
		t.Errorf("after the override a99_limit = %v; want 45", v)
	}
	err = p.Params.Override(map[string]any{"a99_limt": 45})
	if err == nil || !strings.Contains(err.Error(), `"a99_limt" in the configuration is not a risk parameter`) {
		t.Errorf("override of a misspelt parameter: %v; want a refusal naming it", err)
	}
	// A second project from the same catalogue does not see the first's
	// header definitions or overrides.
	q, err := loadFolder(t, files)
	if err != nil {
		t.Fatal(err)
	}
	if v := q.Params["a99_limit"].Value; fmt.Sprint(v) != "30" {
		t.Errorf("a fresh project's a99_limit = %v; want the default 30", v)
	}
}

// TestRuleFacts builds rule models of two categories through their fact
// tables and checks that each row carries the header's id and basis and a
// warning id equal to schemas.WarningID (the period is part of it), that
// dim_rule lists the rules, and that a rule model missing a column of the
// shared shape fails by name.
func TestRuleFacts(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"rules/a.sql": ruleModel("A98", "a", "", ruleQuery),
		"rules/b.sql": ruleModel("B98", "b", "", strings.Replace(ruleQuery, "'' AS period", "'2026Q3' AS period", 1)),
	}
	p, err := loadFolder(t, files)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	refunds := filepath.Join(dir, "raw.refunds.csv")
	if err := os.WriteFile(refunds, []byte("refund_id,accepted_on,amount,officer_id,updated_at\nRF1,2026-09-01,12.50,10000001,2026-09-01T10:00:00+08:00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fixture := func(model string, inputs map[string]string) *transforms.Table {
		t.Helper()
		tab, err := p.RunFixture(context.Background(), &transforms.Fixture{Dir: dir, Model: model,
			AsOf: []schemas.Date{schemas.MustDate("2026-09-02")}, Inputs: inputs})
		if err != nil {
			t.Fatalf("building %s: %v", model, err)
		}
		return tab
	}
	cases := []struct{ fact, id, period string }{
		{"fact_deadline_breach", "A98", ""},
		{"fact_procedure_deviation", "B98", "2026Q3"},
	}
	for _, c := range cases {
		tab := fixture(c.fact, map[string]string{"raw.refunds": refunds})
		if len(tab.Rows) != 1 {
			t.Fatalf("%s has %d rows; want 1", c.fact, len(tab.Rows))
		}
		row := map[string]string{}
		for i, f := range strings.Split(tab.Rows[0], ",") {
			row[tab.Columns[i]] = f
		}
		want := map[string]string{"rule_id": c.id, "basis": "测试 1", "object_type": "refunds", "object_key": "RF1", "as_of": "2026-09-02",
			"warning_id": schemas.WarningID(c.id, "1", "RF1", c.period), "amount": "12.50"}
		for col, v := range want {
			if got := strings.Trim(row[col], `"`); got != v {
				t.Errorf("%s.%s = %q; want %q", c.fact, col, got, v)
			}
		}
	}
	if tab := fixture("fact_relationship_anomaly", nil); len(tab.Rows) != 0 {
		t.Errorf("fact_relationship_anomaly has %d rows; want none (no category-c rule)", len(tab.Rows))
	}
	if tab := fixture("dim_rule", nil); len(tab.Rows) != 2 {
		t.Errorf("dim_rule has rows %v; want A98 and B98", tab.Rows)
	}

	files["rules/c.sql"] = ruleModel("C98", "c", "", strings.Replace(ruleQuery, "json_object('x', 1) AS evidence, ", "", 1))
	p, err = loadFolder(t, files)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.RunFixture(context.Background(), &transforms.Fixture{Dir: dir, Model: "fact_relationship_anomaly",
		AsOf: []schemas.Date{schemas.MustDate("2026-09-02")}, Inputs: map[string]string{"raw.refunds": refunds}})
	if err == nil || !strings.Contains(err.Error(), "rules/c.sql") || !strings.Contains(err.Error(), "returns no evidence") {
		t.Errorf("a rule without evidence: %v; want an error naming its file and the column", err)
	}
}
