package transforms

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/hlwarn/hlwarn/schemas"
)

// Fixture is one unit-test case of a model, read from a folder:
//
//	case.yaml     model: NAME; as_of: a date, or a list of dates run in order;
//	              optional params (risk parameter overrides), where (an SQL
//	              predicate picking the output rows compared) and description
//	inputs/       one CSV file per relation the model reads: raw.<entity>.csv
//	              for a contract entity, <model>.csv for an upstream model
//	expected.csv  the model's rows after the last run, as Table renders them
//
// In every CSV file of a case an empty field is NULL and "" is the empty
// string. A raw.<entity> file needs the key fields and updated_at; any other
// column it omits is NULL, except deleted, which defaults to false. An
// upstream model's file may omit columns too (NULL); its values are cast to
// the types that model's query produces. Entities without a file are empty,
// ref.calendar is the embedded calendar, and an upstream model without a
// file is built from its own inputs, as the engine would.
type Fixture struct {
	Dir         string
	Model       string
	AsOf        []schemas.Date    // one engine run per date, in this order; a repeated date keeps its partition, as a rerun does
	Params      map[string]any    // risk parameters overriding the catalogue's defaults
	Where       string            // SQL predicate over the output; "" compares every row
	Description string            // what the case proves
	Inputs      map[string]string // relation → its CSV file
}

type caseFile struct {
	Model       string         `yaml:"model"`
	AsOf        dateList       `yaml:"as_of"`
	Params      map[string]any `yaml:"params"`
	Where       string         `yaml:"where"`
	Description string         `yaml:"description"`
}

// dateList reads as_of: one date or a list of dates.
type dateList []string

// UnmarshalYAML accepts a scalar or a sequence.
func (d *dateList) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		*d = dateList{one}
		return nil
	}
	var list []string
	if err := unmarshal(&list); err != nil {
		return errors.New("as_of: give a date YYYY-MM-DD or a list of them")
	}
	*d = list
	return nil
}

// caseFileName names the case description inside a fixture folder.
const caseFileName = "case.yaml"

// LoadFixture reads the fixture in dir. It checks what it can without a
// project: the case file, the dates, and that every input is a CSV file
// named after a relation; Project.RunFixture checks the rest.
func LoadFixture(dir string) (*Fixture, error) {
	b, err := os.ReadFile(filepath.Join(dir, caseFileName))
	if err != nil {
		return nil, fmt.Errorf("reading the fixture: %w", err)
	}
	caseYAML := filepath.Join(dir, caseFileName)
	var c caseFile
	if err := yaml.UnmarshalWithOptions(b, &c, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%s: %s", caseYAML, yaml.FormatError(err, false, false))
	}
	if c.Model == "" {
		return nil, fmt.Errorf("%s: model: name the model under test", caseYAML)
	}
	if len(c.AsOf) == 0 {
		return nil, fmt.Errorf("%s: as_of: give the as-of date (a list for several runs)", caseYAML)
	}
	f := &Fixture{Dir: dir, Model: c.Model, Params: c.Params, Where: strings.TrimSpace(c.Where), Description: c.Description, Inputs: map[string]string{}}
	for _, s := range c.AsOf {
		d, err := schemas.ParseDate(s)
		if err != nil {
			return nil, fmt.Errorf("%s: as_of: %w", caseYAML, err)
		}
		f.AsOf = append(f.AsOf, d)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "inputs"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading the fixture's inputs: %w", err)
	}
	for _, e := range entries {
		name := filepath.Join(dir, "inputs", e.Name())
		rel, ok := strings.CutSuffix(e.Name(), ".csv")
		if e.IsDir() || !ok {
			return nil, fmt.Errorf("%s: inputs are CSV files named raw.<entity>.csv or <model>.csv", name)
		}
		if err := checkInputName(rel); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		f.Inputs[rel] = name
	}
	return f, nil
}

func checkInputName(rel string) error {
	if rel == "ref.calendar" {
		return errors.New("ref.calendar is the embedded calendar, not a fixture input")
	}
	if entity, ok := strings.CutPrefix(rel, "raw."); ok {
		_, err := schemas.Lookup(entity)
		return err
	}
	if !nameRE.MatchString(rel) {
		return fmt.Errorf("%s is neither raw.<entity> nor a model name", rel)
	}
	return nil
}

// FindFixtures lists the fixture folders under root: every folder holding
// a case.yaml, at any depth, in lexical order.
func FindFixtures(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == caseFileName {
			out = append(out, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finding fixtures: %w", err)
	}
	return out, nil
}

// ExpectedPath is the fixture's golden file.
func (f *Fixture) ExpectedPath() string { return filepath.Join(f.Dir, "expected.csv") }

// fixturePlan is what a fixture run creates, each list in dependency order.
type fixturePlan struct {
	build  []*Model // models built by the engine's code, the one under test last
	given  []*Model // upstream models loaded from inputs
	typing []*Model // created as views first, to learn the given models' column types
}

// RunFixture runs f's model on a fresh in-memory DuckDB: it loads the
// inputs into typed tables, builds the model and the upstream models that
// have no input file with the engine's own code for each as-of date in
// turn (an incremental model accumulates its partitions), and returns the
// model's relation after the last run, restricted by f.Where. p is only
// read, so fixtures may run in parallel on one project.
func (p *Project) RunFixture(ctx context.Context, f *Fixture) (*Table, error) {
	plan, err := p.planFixture(f)
	if err != nil {
		return nil, err
	}
	params, err := p.Params.override(f.Params)
	if err != nil {
		return nil, fmt.Errorf("%s: params: %w", filepath.Join(f.Dir, caseFileName), err)
	}
	conn, closeDB, err := memoryConn(ctx)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	if err := prepareSession(ctx, conn, params, f.AsOf[0]); err != nil {
		return nil, err
	}
	if err := createRawTables(ctx, conn); err != nil {
		return nil, err
	}
	if err := execAll(ctx, conn, "loading the calendar", calendarStatements()); err != nil {
		return nil, err
	}
	if err := loadGiven(ctx, conn, f, plan); err != nil {
		return nil, err
	}
	for _, d := range f.AsOf {
		if err := prepareSession(ctx, conn, params, d); err != nil {
			return nil, err
		}
		for _, m := range plan.build {
			if _, err := build(ctx, conn, m, RunOptions{AsOf: d}, ""); err != nil {
				return nil, fmt.Errorf("building %s as of %s: %w", m.Name, d, err)
			}
		}
	}
	t, err := readRelation(ctx, conn, f.Model, f.Where)
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", filepath.Join(f.Dir, caseFileName), f.Model, err)
	}
	return t, nil
}

// planFixture decides which models a fixture builds and which it reads
// from inputs, and rejects inputs nothing would read.
func (p *Project) planFixture(f *Fixture) (*fixturePlan, error) {
	caseYAML := filepath.Join(f.Dir, caseFileName)
	target := p.Models[f.Model]
	if target == nil {
		return nil, fmt.Errorf("%s: model %s is not in the project", caseYAML, f.Model)
	}
	if path, ok := f.Inputs[f.Model]; ok {
		return nil, fmt.Errorf("%s: %s is the model under test; its rows belong in expected.csv", path, f.Model)
	}
	building, given, read := map[string]bool{f.Model: true}, map[string]bool{}, map[string]bool{}
	queue := []*Model{target}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		for _, d := range m.Deps {
			read[d] = true
			switch dep := p.Models[d]; {
			case dep == nil:
			case f.Inputs[d] != "":
				given[d] = true
			case !building[d]:
				building[d] = true
				queue = append(queue, dep)
			}
		}
	}
	for _, rel := range slices.Sorted(maps.Keys(f.Inputs)) {
		if !strings.HasPrefix(rel, "raw.") && p.Models[rel] == nil {
			return nil, fmt.Errorf("%s: no model %s in the project; inputs are raw.<entity>.csv or <model>.csv", f.Inputs[rel], rel)
		}
		if !read[rel] {
			return nil, fmt.Errorf("%s: %s does not read %s, directly or through the upstream models the fixture builds", f.Inputs[rel], f.Model, rel)
		}
	}
	typing := map[string]bool{}
	for g := range given {
		p.walkUp(g, typing)
		typing[g] = true
	}
	plan := &fixturePlan{}
	for _, n := range p.Order {
		m := p.Models[n]
		if typing[n] {
			plan.typing = append(plan.typing, m)
		}
		if given[n] {
			plan.given = append(plan.given, m)
		}
		if building[n] {
			plan.build = append(plan.build, m)
		}
	}
	return plan, nil
}

// override is a copy of ps with some values replaced.
func (ps Params) override(values map[string]any) (Params, error) {
	out := make(Params, len(ps))
	for n, p := range ps {
		c := *p
		out[n] = &c
	}
	for _, n := range slices.Sorted(maps.Keys(values)) {
		p, ok := out[n]
		if !ok {
			return nil, fmt.Errorf("%s is not a risk parameter; known: %s", n, strings.Join(ps.Names(), ", "))
		}
		if err := checkValue(values[n]); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		p.Value = values[n]
	}
	return out, nil
}

// createRawTables makes raw.<entity> an empty table with the raw layer's
// columns and types for every entity of the contract.
func createRawTables(ctx context.Context, conn *sql.Conn) error {
	stmts := []string{"CREATE SCHEMA IF NOT EXISTS raw"}
	for _, e := range schemas.Entities() {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE raw.%s AS %s", e.Name, emptyRaw(e)))
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("creating the raw tables: %w", err)
		}
	}
	return nil
}

// loadGiven loads the raw inputs, then creates the given upstream models as
// tables typed like their queries' output and loads them.
func loadGiven(ctx context.Context, conn *sql.Conn, f *Fixture, plan *fixturePlan) error {
	for _, rel := range slices.Sorted(maps.Keys(f.Inputs)) {
		entity, ok := strings.CutPrefix(rel, "raw.")
		if !ok {
			continue
		}
		e, err := schemas.Lookup(entity)
		if err != nil {
			return err
		}
		if err := loadCSV(ctx, conn, rel, f.Inputs[rel], append(slices.Clone(e.Key), "updated_at"), map[string]string{"deleted": "false"}); err != nil {
			return err
		}
	}
	// A keyed model's query reads the scope the engine makes; an empty
	// one types it.
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE scope (key VARCHAR)"); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp.scope")
	for _, m := range plan.typing {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE VIEW %s AS\n%s", m.Name, m.SQL)); err != nil {
			return fmt.Errorf("typing the input %s from its query: %w", m.Name, m.wrap(err))
		}
		// The models after a staging model may look its entity up; the run
		// makes the macro again with the staging model.
		for _, macro := range m.lookupStatements("VIEW") {
			if _, err := conn.ExecContext(ctx, macro); err != nil {
				return fmt.Errorf("typing the input %s: %w", m.Name, err)
			}
		}
	}
	ddl := make([]string, len(plan.given))
	for i, m := range plan.given {
		cols, err := describe(ctx, conn, m.Name)
		if err != nil {
			return fmt.Errorf("typing the input %s: %w", m.Name, err)
		}
		defs := make([]string, len(cols))
		for j, c := range cols {
			defs[j] = quoteIdent(c.name) + " " + c.typ
		}
		ddl[i] = fmt.Sprintf("CREATE TABLE %s (%s)", m.Name, strings.Join(defs, ", "))
	}
	for _, m := range slices.Backward(plan.typing) {
		if _, err := conn.ExecContext(ctx, "DROP VIEW "+m.Name); err != nil {
			return err
		}
	}
	for i, m := range plan.given {
		if _, err := conn.ExecContext(ctx, ddl[i]); err != nil {
			return fmt.Errorf("creating the input %s: %w", m.Name, err)
		}
		if err := loadCSV(ctx, conn, m.Name, f.Inputs[m.Name], nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// csvOptions read fixture CSV files: a header line, text values, an empty
// field as NULL and "" as the empty string.
const csvOptions = `header = true, all_varchar = true, allow_quoted_nulls = false, delim = ',', quote = '"', escape = '"'`

// loadCSV inserts a CSV file into table, casting each value to its
// column's type. Every column of the file must be one of the table's and
// the required ones must be there; a column the file omits is NULL or its
// default (an SQL expression).
func loadCSV(ctx context.Context, conn *sql.Conn, table, path string, required []string, defaults map[string]string) error {
	src := fmt.Sprintf("read_csv(%s, %s)", literal(path), csvOptions)
	have, err := describe(ctx, conn, src)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	cols, err := describe(ctx, conn, table)
	if err != nil {
		return err
	}
	inFile := map[string]bool{}
	for _, c := range have {
		if !slices.ContainsFunc(cols, func(t column) bool { return t.name == c.name }) {
			return fmt.Errorf("%s: column %s is not a column of %s, which has %s", path, c.name, table, columnNames(cols))
		}
		inFile[c.name] = true
	}
	for _, r := range required {
		if !inFile[r] {
			return fmt.Errorf("%s: the column %s is required (the key and updated_at)", path, r)
		}
	}
	exprs := make([]string, len(cols))
	for i, c := range cols {
		expr, def := "NULL", defaults[c.name]
		if inFile[c.name] {
			expr = fmt.Sprintf("CAST(%s AS %s)", quoteIdent(c.name), c.typ)
			if def != "" {
				expr = fmt.Sprintf("coalesce(%s, %s)", expr, def)
			}
		} else if def != "" {
			expr = def
		}
		exprs[i] = expr + " AS " + quoteIdent(c.name)
	}
	q := fmt.Sprintf("INSERT INTO %s BY NAME SELECT %s FROM %s", table, strings.Join(exprs, ", "), src)
	if _, err := conn.ExecContext(ctx, q); err != nil {
		if where := badValue(ctx, conn, src, cols, inFile); where != "" {
			return fmt.Errorf("%s: %s", path, where)
		}
		return fmt.Errorf("loading %s into %s: %w", path, table, err)
	}
	return nil
}

// badValue finds the first value of a CSV file that does not cast to its
// column's type and says where it is, or returns "".
func badValue(ctx context.Context, conn *sql.Conn, src string, cols []column, inFile map[string]bool) string {
	for _, c := range cols {
		if !inFile[c.name] {
			continue
		}
		var line int64
		var val string
		q := fmt.Sprintf("SELECT n + 1, v FROM (SELECT row_number() OVER () AS n, %s AS v FROM %s) WHERE v IS NOT NULL AND TRY_CAST(v AS %s) IS NULL LIMIT 1", quoteIdent(c.name), src, c.typ)
		if conn.QueryRowContext(ctx, q).Scan(&line, &val) == nil {
			return fmt.Sprintf("line %d, column %s: %q is not a %s", line, c.name, val, c.typ)
		}
	}
	return ""
}

type column struct{ name, typ string }

// describe lists a relation's columns and their types.
func describe(ctx context.Context, conn *sql.Conn, rel string) ([]column, error) {
	rows, err := conn.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+rel+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func columnNames(cols []column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Table is a relation in the canonical rendering fixtures compare: each
// value as DuckDB casts it to VARCHAR, written as a CSV field (an empty
// field for NULL, "" for the empty string, quoted when it holds a comma, a
// quote, a line break or edge spaces). Rows are whole CSV lines.
type Table struct {
	Columns []string
	Rows    []string
}

// readRelation renders rel's rows (those matching where, if given), sorted
// by every column in order.
func readRelation(ctx context.Context, conn *sql.Conn, rel, where string) (*Table, error) {
	cols, err := describe(ctx, conn, rel)
	if err != nil {
		return nil, err
	}
	t := &Table{}
	sel, order := make([]string, len(cols)), make([]string, len(cols))
	for i, c := range cols {
		t.Columns = append(t.Columns, c.name)
		sel[i] = fmt.Sprintf("CAST(%s AS VARCHAR) AS _c%d", quoteIdent(c.name), i)
		order[i] = quoteIdent(c.name)
	}
	q := fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), rel)
	if where != "" {
		q += fmt.Sprintf(" WHERE (%s)", where)
	}
	q += " ORDER BY " + strings.Join(order, ", ")
	if err := t.scan(ctx, conn, q); err != nil {
		if where != "" {
			return nil, fmt.Errorf("with where %q: %w", where, err)
		}
		return nil, err
	}
	return t, nil
}

// scan appends the rows of q, whose columns are all VARCHAR.
func (t *Table) scan(ctx context.Context, conn *sql.Conn, q string) error {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]sql.NullString, len(t.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		fields := make([]string, len(vals))
		for i, v := range vals {
			if v.Valid {
				fields[i] = csvField(v.String)
			}
		}
		t.Rows = append(t.Rows, strings.Join(fields, ","))
	}
	return rows.Err()
}

func csvField(s string) string {
	if s == "" || strings.ContainsAny(s, ",\"\r\n") || strings.TrimSpace(s) != s {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// ReadTable reads a CSV file written like expected.csv into a Table,
// rendering it canonically, so the rows compare with a fixture's result
// whatever the file's quoting or row order.
func ReadTable(ctx context.Context, path string) (*Table, error) {
	conn, closeDB, err := memoryConn(ctx)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	src := fmt.Sprintf("read_csv(%s, %s)", literal(path), csvOptions)
	cols, err := describe(ctx, conn, src)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	t := &Table{}
	sel := make([]string, len(cols))
	for i, c := range cols {
		t.Columns = append(t.Columns, c.name)
		sel[i] = quoteIdent(c.name)
	}
	if err := t.scan(ctx, conn, fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), src)); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return t, nil
}

// CSV is the table as a file: the header line, then the rows.
func (t *Table) CSV() []byte {
	var b strings.Builder
	b.WriteString(headerLine(t.Columns) + "\n")
	for _, r := range t.Rows {
		b.WriteString(r + "\n")
	}
	return []byte(b.String())
}

// DiffTables compares a fixture's result with what was expected, rows as a
// multiset, and describes the difference: "" when they agree, otherwise
// the columns, or each row missing from the result ("- ") and each row the
// result has but was not expected ("+ "), sorted by content, so the two
// lines of a changed row usually stand together.
func DiffTables(want, got *Table) string {
	if !slices.Equal(want.Columns, got.Columns) {
		return fmt.Sprintf("the columns differ:\n- %s\n+ %s\n", headerLine(want.Columns), headerLine(got.Columns))
	}
	counts := map[string]int{}
	for _, r := range want.Rows {
		counts[r]++
	}
	for _, r := range got.Rows {
		counts[r]--
	}
	type line struct {
		row   string
		extra int // 0: expected but missing, 1: in the result but not expected
	}
	var diff []line
	for r, n := range counts {
		for ; n > 0; n-- {
			diff = append(diff, line{r, 0})
		}
		for ; n < 0; n++ {
			diff = append(diff, line{r, 1})
		}
	}
	if len(diff) == 0 {
		return ""
	}
	slices.SortFunc(diff, func(a, b line) int { return cmp.Or(strings.Compare(a.row, b.row), a.extra-b.extra) })
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows expected, %d in the result; - expected but missing, + in the result but not expected:\n  %s\n", len(want.Rows), len(got.Rows), headerLine(want.Columns))
	for _, l := range diff {
		b.WriteString([]string{"- ", "+ "}[l.extra] + l.row + "\n")
	}
	return b.String()
}

func headerLine(cols []string) string {
	fields := make([]string, len(cols))
	for i, c := range cols {
		fields[i] = csvField(c)
	}
	return strings.Join(fields, ",")
}

// memoryConn is one connection to a new in-memory DuckDB; close releases both.
func memoryConn(ctx context.Context) (*sql.Conn, func(), error) {
	db, err := sql.Open("duckdb", "?"+duckdbSettings)
	if err != nil {
		return nil, nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return conn, func() { conn.Close(); db.Close() }, nil
}
