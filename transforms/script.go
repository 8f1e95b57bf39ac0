package transforms

import (
	"fmt"

	"github.com/hlwarn/hlwarn/schemas"
)

// Script is the plain SQL of a run as of asOf: the sources, the session's
// time zone and variables, then each selected model materialized in
// dependency order (an incremental model as a table of its one partition,
// or of its whole window when it has a lookback, as a first run builds it,
// a staging snapshot as a table rebuilt from all of raw, a keyed model as
// a full evaluation: its scope over every record).
// It is what DuckDB alone would execute for the same models, without the
// engine's tests, ledger or publishing: `hlwarn transform --print-sql`
// prints it, and the engine-overhead benchmark runs it as the yardstick.
func (p *Project) Script(dataDir string, asOf schemas.Date, sel ...string) ([]string, error) {
	models, err := p.Select(sel...)
	if err != nil {
		return nil, err
	}
	stmts, err := sourceStatements(dataDir)
	if err != nil {
		return nil, err
	}
	stmts = append(stmts, "SET TimeZone = 'Asia/Shanghai'", "SET disabled_optimizers = '"+disabledOptimizers+"'")
	stmts = append(stmts, p.Params.setVariables(asOf)...)
	for _, m := range models {
		// As the engine's first run: a full evaluation, or a window filled,
		// looks every key up with a join (lookupAll).
		all := m.Kind == KindKeyed || (m.Lookback > 0 && lookupAllFrom(asOf.AddDays(1-m.Lookback), asOf))
		if all {
			stmts = append(stmts, "SET VARIABLE lookup_all = true")
		}
		if m.Kind == KindKeyed {
			// A full evaluation: every record counts as changed.
			stmts = append(stmts, "CREATE SCHEMA IF NOT EXISTS changed")
			for _, entity := range m.changed {
				stmts = append(stmts, fmt.Sprintf("CREATE OR REPLACE VIEW changed.%s AS SELECT *, false AS deleted FROM stg_%s", entity, entity))
			}
			if len(m.diffed) > 0 {
				stmts = append(stmts, "CREATE SCHEMA IF NOT EXISTS diff")
			}
			for _, entity := range m.diffed {
				e, err := schemas.Lookup(entity)
				if err != nil {
					return nil, err
				}
				stmts = append(stmts, fmt.Sprintf("CREATE OR REPLACE VIEW diff.%s AS %s", entity, diffView(e, "stg_"+entity, diffEveryKeyed)))
			}
			stmts = append(stmts, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE scope AS SELECT DISTINCT * FROM (\n%s\n) AS s(key) WHERE key IS NOT NULL", m.Scope))
		}
		what := "TABLE"
		if m.Kind == KindView {
			what = "VIEW"
		}
		if m.Lookback > 0 {
			// A first run fills the model's whole window.
			stmts = append(stmts, "SET VARIABLE partition_from = "+literal(asOf.AddDays(1-m.Lookback)))
		}
		stmts = append(stmts, fmt.Sprintf("CREATE OR REPLACE %s %s AS\n%s", what, m.Name, m.SQL))
		stmts = append(stmts, m.lookupStatements("TABLE")...)
		if m.Lookback > 0 {
			stmts = append(stmts, "SET VARIABLE partition_from = "+literal(asOf))
		}
		if all {
			stmts = append(stmts, "SET VARIABLE lookup_all = false")
		}
	}
	return stmts, nil
}
