package transforms

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/hlwarn/hlwarn/schemas"
)

// TestResult is the outcome of one model test.
type TestResult struct {
	Model    string
	Test     string // e.g. unique(decl_no)
	Severity string // error or warn
	Failing  int64  // rows that break it
}

// Passed reports whether no row breaks the test.
func (t TestResult) Passed() bool { return t.Failing == 0 }

// query is the SQL counting the rows of model that break the test.
func (t Test) query(model string) (name, q string) {
	quote := func(cols []string) string { return strings.Join(cols, ", ") }
	switch {
	case len(t.Unique) > 0:
		return "unique(" + quote(t.Unique) + ")", fmt.Sprintf(
			"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM %s GROUP BY %s HAVING count(*) > 1)", model, quote(t.Unique))
	case len(t.NotNull) > 0:
		conds := make([]string, len(t.NotNull))
		for i, c := range t.NotNull {
			conds[i] = c + " IS NULL"
		}
		return "not_null(" + quote(t.NotNull) + ")", fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", model, strings.Join(conds, " OR "))
	case t.AcceptedValues != nil:
		a := t.AcceptedValues
		vals := make([]string, len(a.Values))
		for i, v := range a.Values {
			vals[i] = literal(v)
		}
		return fmt.Sprintf("accepted_values(%s)", a.Column), fmt.Sprintf(
			"SELECT count(*) FROM %s WHERE %s IS NOT NULL AND %s::VARCHAR NOT IN (%s)", model, a.Column, a.Column, strings.Join(vals, ", "))
	case t.Relationships != nil:
		r := t.Relationships
		return fmt.Sprintf("relationships(%s → %s.%s)", r.Column, r.To, r.Field), fmt.Sprintf(
			"SELECT count(*) FROM %s AS a WHERE a.%s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s AS b WHERE b.%s = a.%s)", model, r.Column, r.To, r.Field, r.Column)
	}
	return "expression(" + t.Expression + ")", fmt.Sprintf("SELECT count(*) FROM %s WHERE NOT coalesce((%s), false)", model, t.Expression)
}

// runTests runs a model's declared tests on rel, the rows the run built:
// the whole model, or for a model kept across runs only what this run
// merged or inserted (see testedRelation). A unique test that does not
// include the column the model is kept by (its unique key, partition
// column or staging key) runs on the whole model: only then do the rows
// carried forward take part.
func runTests(ctx context.Context, conn *sql.Conn, m *Model, rel string) ([]TestResult, error) {
	var out []TestResult
	for _, t := range m.Tests {
		target := rel
		if len(t.Unique) > 0 && !slices.Contains(t.Unique, m.keptBy()) {
			target = m.Name
		}
		name, q := t.query(target)
		r := TestResult{Model: m.Name, Test: name, Severity: "error"}
		if t.Severity != "" {
			r.Severity = t.Severity
		}
		if err := conn.QueryRowContext(ctx, q).Scan(&r.Failing); err != nil {
			return out, fmt.Errorf("%s: test %s: %w", m.Path, name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// keptBy is the column a model's rows are kept across runs by, "" for a
// model rebuilt whole.
func (m *Model) keptBy() string {
	switch m.Kind {
	case KindKeyed:
		return m.UniqueKey
	case KindIncremental:
		return m.PartitionBy
	}
	return ""
}

// failedTest names the first error-severity test that failed, or "".
func failedTest(ts []TestResult) string {
	for _, t := range ts {
		if t.Severity == "error" && !t.Passed() {
			return fmt.Sprintf("%s %s (%d rows)", t.Model, t.Test, t.Failing)
		}
	}
	return ""
}

// writeQuality replaces the as-of date's rows of mart_data_quality for the
// tested models; the results of models this run did not test (not
// selected, or stopped before their tests) stay.
func writeQuality(ctx context.Context, conn *sql.Conn, asOf schemas.Date, tested []string, ts []TestResult) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, m := range tested {
		if _, err := tx.ExecContext(ctx, "DELETE FROM mart_data_quality WHERE as_of = ? AND model = ?", asOf.String(), m); err != nil {
			return err
		}
	}
	for _, t := range ts {
		status := "pass"
		if !t.Passed() {
			status = "fail"
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO mart_data_quality VALUES (?, ?, ?, ?, ?, ?)", asOf.String(), t.Model, t.Test, t.Severity, status, t.Failing); err != nil {
			return fmt.Errorf("recording test results: %w", err)
		}
	}
	return tx.Commit()
}

// memTotalMB reads the machine's memory from /proc/meminfo.
func memTotalMB() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, errNoMemInfo
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, errNoMemInfo
}
