package transforms_test

import (
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	hlsql "github.com/hlwarn/hlwarn/sql"
	"github.com/hlwarn/hlwarn/transforms"
)

var updateGoldens = flag.Bool("update", false, "rewrite each model fixture's expected.csv from its result (then check the diff)")

// fixtureRoot holds one folder per model fixture case.
const fixtureRoot = "../testdata/models"

// embeddedProject is the embedded models with default parameters, loaded
// once: fixtures only read it.
var embeddedProject = sync.OnceValues(func() (*transforms.Project, error) {
	return fixtureProject()
})

func fixtureProject(extra ...fs.FS) (*transforms.Project, error) {
	params, err := transforms.LoadParams(hlsql.FS)
	if err != nil {
		return nil, err
	}
	return transforms.Load(context.Background(), params, append([]fs.FS{hlsql.FS}, extra...)...)
}

// TestModelFixtures runs every case under testdata/models and compares
// the model's rows with the case's expected.csv; with -update it rewrites
// expected.csv instead.
func TestModelFixtures(t *testing.T) {
	p := mustProject(t)
	dirs, err := transforms.FindFixtures(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatalf("no fixture cases under %s", fixtureRoot)
	}
	for _, dir := range dirs {
		name, _ := filepath.Rel(fixtureRoot, dir)
		t.Run(filepath.ToSlash(name), func(t *testing.T) {
			t.Parallel()
			f, err := transforms.LoadFixture(dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.RunFixture(t.Context(), f)
			if err != nil {
				t.Fatal(err)
			}
			if msg := checkFixture(t.Context(), f, got, *updateGoldens); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// checkFixture compares a fixture's result with its expected.csv, or
// writes the file from the result when update is set. It returns what is
// wrong, or "".
func checkFixture(ctx context.Context, f *transforms.Fixture, got *transforms.Table, update bool) string {
	if update {
		if err := os.WriteFile(f.ExpectedPath(), got.CSV(), 0o644); err != nil {
			return err.Error()
		}
		return ""
	}
	want, err := transforms.ReadTable(ctx, f.ExpectedPath())
	if err != nil {
		return err.Error() + "\nrun go test ./transforms -run TestModelFixtures -update to write it from the result, then check every row"
	}
	if d := transforms.DiffTables(want, got); d != "" {
		return f.Model + " differs from " + f.ExpectedPath() + ":\n" + d
	}
	return ""
}

// writeCase writes a fixture folder from file contents by relative path.
func writeCase(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runCase loads and runs the fixture in dir.
func runCase(t *testing.T, p *transforms.Project, dir string) (*transforms.Fixture, *transforms.Table, error) {
	t.Helper()
	f, err := transforms.LoadFixture(dir)
	if err != nil {
		return nil, nil, err
	}
	got, err := p.RunFixture(t.Context(), f)
	return f, got, err
}

func mustProject(t *testing.T) *transforms.Project {
	t.Helper()
	p, err := embeddedProject()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// enterpriseCase is a small fixture of dim_enterprise whose rows need every
// part of the canonical rendering: NULL, the empty string, a comma and
// quotes, booleans and a timestamp.
func enterpriseCase() map[string]string {
	return map[string]string{
		"case.yaml": "model: dim_enterprise\nas_of: 2026-09-10\n",
		"inputs/raw.enterprises.csv": `ent_code,name,kind,updated_at
E000000001,甲,broker,2026-09-01T10:00:00+08:00
E000000002,,consignee,2026-09-01T10:00:00+08:00
E000000003,"",consignee,2026-09-01T02:00:00Z
E000000004,"Dian, Ltd ""East""",both,2026-09-01T10:00:00+08:00
`,
	}
}

const enterpriseExpected = `ent_code,uscc,name,kind,credit_class,registered_customs,is_broker,record_updated_at
E000000001,,甲,broker,,,true,2026-09-01 10:00:00+08
E000000002,,,consignee,,,false,2026-09-01 10:00:00+08
E000000003,,"",consignee,,,false,2026-09-01 10:00:00+08
E000000004,,"Dian, Ltd ""East""",both,,,true,2026-09-01 10:00:00+08
`

func TestFixtureRendering(t *testing.T) {
	t.Parallel()
	p := mustProject(t)
	files := enterpriseCase()
	// The same rows in another order and with needless quotes still agree.
	files["expected.csv"] = `ent_code,uscc,name,kind,credit_class,registered_customs,is_broker,record_updated_at
E000000004,,"Dian, Ltd ""East""",both,,,true,2026-09-01 10:00:00+08
"E000000003",,"",consignee,,,false,2026-09-01 10:00:00+08
E000000002,,,"consignee",,,false,2026-09-01 10:00:00+08
E000000001,,甲,broker,,,true,"2026-09-01 10:00:00+08"
`
	f, got, err := runCase(t, p, writeCase(t, files))
	if err != nil {
		t.Fatal(err)
	}
	if string(got.CSV()) != enterpriseExpected {
		t.Errorf("canonical rendering:\n%s\nwant:\n%s", got.CSV(), enterpriseExpected)
	}
	if msg := checkFixture(t.Context(), f, got, false); msg != "" {
		t.Error(msg)
	}
}

func TestFixtureWrongRowDiff(t *testing.T) {
	t.Parallel()
	p := mustProject(t)
	files := enterpriseCase()
	files["expected.csv"] = strings.Replace(enterpriseExpected, "甲,broker,,,true", "甲,consignee,,,false", 1)
	f, got, err := runCase(t, p, writeCase(t, files))
	if err != nil {
		t.Fatal(err)
	}
	msg := checkFixture(t.Context(), f, got, false)
	for _, want := range []string{
		"4 rows expected, 4 in the result",
		"\n- E000000001,,甲,consignee,,,false,2026-09-01 10:00:00+08\n",
		"\n+ E000000001,,甲,broker,,,true,2026-09-01 10:00:00+08\n",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "E000000002") {
		t.Errorf("the failure message names a row that agrees:\n%s", msg)
	}

	files["expected.csv"] = enterpriseExpected + "E000000009,,乙,broker,,,true,2026-09-01 10:00:00+08\n"
	f, got, err = runCase(t, p, writeCase(t, files))
	if err != nil {
		t.Fatal(err)
	}
	if msg := checkFixture(t.Context(), f, got, false); !strings.Contains(msg, "\n- E000000009,") || strings.Contains(msg, "\n+ ") {
		t.Errorf("a missing row should show as - alone:\n%s", msg)
	}
}

func TestFixtureUpdate(t *testing.T) {
	t.Parallel()
	p := mustProject(t)
	files := enterpriseCase()
	files["expected.csv"] = "ent_code\nstale\n"
	f, got, err := runCase(t, p, writeCase(t, files))
	if err != nil {
		t.Fatal(err)
	}
	if msg := checkFixture(t.Context(), f, got, false); !strings.Contains(msg, "the columns differ") {
		t.Fatalf("a stale expected.csv should fail on its columns, got %q", msg)
	}
	if msg := checkFixture(t.Context(), f, got, true); msg != "" {
		t.Fatal(msg)
	}
	b, err := os.ReadFile(f.ExpectedPath())
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != enterpriseExpected {
		t.Errorf("-update wrote:\n%s\nwant:\n%s", b, enterpriseExpected)
	}
	if msg := checkFixture(t.Context(), f, got, false); msg != "" {
		t.Errorf("after -update: %s", msg)
	}

	os.Remove(f.ExpectedPath())
	if msg := checkFixture(t.Context(), f, got, false); !strings.Contains(msg, "-update") {
		t.Errorf("a missing expected.csv should point to -update, got %q", msg)
	}
}

// pluginFixtureModels are an incremental model and a table over it, as
// plug-ins, to test the harness on materializations sql/ has no model of yet.
var pluginFixtureModels = fstest.MapFS{
	"fixture_daily.sql": {Data: []byte(`/* ---
kind: incremental
partition_by: as_of
params: [m1]
--- */
SELECT
    getvariable('as_of') AS as_of,
    count(*) AS declarations,
    count(*) FILTER (WHERE customs_value >= getvariable('m1')) AS large,
    sum(customs_value) AS value
FROM stg_declarations
`)},
	"fixture_total.sql": {Data: []byte(`/* ---
kind: table
--- */
SELECT count(*) AS days, sum(declarations) AS declarations, max(as_of) AS last_day
FROM fixture_daily
`)},
}

// Declaration 1 exists from the 6th and is withdrawn on the 9th;
// declaration 2 (above m1) arrives on the 8th.
const threeDays = `decl_no,customs_value,updated_at,deleted
530020261000000001,5000,2026-09-06T10:00:00+08:00,
530020261000000002,20000,2026-09-08T10:00:00+08:00,
530020261000000001,,2026-09-09T10:00:00+08:00,true
`

func TestFixtureIncremental(t *testing.T) {
	t.Parallel()
	p, err := fixtureProject(pluginFixtureModels)
	if err != nil {
		t.Fatal(err)
	}
	days := "as_of: [2026-09-07, 2026-09-08, 2026-09-09]\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{
			name:  "partitions accumulate, each as of its own date",
			files: map[string]string{"case.yaml": "model: fixture_daily\n" + days, "inputs/raw.declarations.csv": threeDays},
			want:  "as_of,declarations,large,value\n2026-09-07,1,0,5000.00\n2026-09-08,2,1,25000.00\n2026-09-09,1,1,20000.00\n",
		},
		{
			name:  "a parameter override",
			files: map[string]string{"case.yaml": "model: fixture_daily\nparams: {m1: 5000}\n" + days, "inputs/raw.declarations.csv": threeDays},
			want:  "as_of,declarations,large,value\n2026-09-07,1,1,5000.00\n2026-09-08,2,2,25000.00\n2026-09-09,1,1,20000.00\n",
		},
		{
			name:  "a table over an incremental upstream built day by day",
			files: map[string]string{"case.yaml": "model: fixture_total\n" + days, "inputs/raw.declarations.csv": threeDays},
			want:  "days,declarations,last_day\n3,4,2026-09-09\n",
		},
		{
			name: "an upstream input typed like its model's query",
			files: map[string]string{
				"case.yaml":                "model: fixture_total\nas_of: 2026-09-09\n",
				"inputs/fixture_daily.csv": "as_of,declarations\n2026-09-07,7\n2026-09-08,5\n",
			},
			want: "days,declarations,last_day\n2,12,2026-09-08\n",
		},
		{
			name:  "a where clause picks the rows compared",
			files: map[string]string{"case.yaml": "model: fixture_daily\nwhere: large > 0\n" + days, "inputs/raw.declarations.csv": threeDays},
			want:  "as_of,declarations,large,value\n2026-09-08,2,1,25000.00\n2026-09-09,1,1,20000.00\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, got, err := runCase(t, p, writeCase(t, tt.files))
			if err != nil {
				t.Fatal(err)
			}
			if string(got.CSV()) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got.CSV(), tt.want)
			}
		})
	}
}

func TestFixtureErrors(t *testing.T) {
	t.Parallel()
	p := mustProject(t)
	base := enterpriseCase()
	tests := []struct {
		name    string
		change  map[string]string // files replacing or adding to the base case
		drop    string            // a file of the base case to leave out
		wantErr string
	}{
		{name: "unknown model", change: map[string]string{"case.yaml": "model: dim_enterprises\nas_of: 2026-09-10\n"}, wantErr: "model dim_enterprises is not in the project"},
		{name: "no model", change: map[string]string{"case.yaml": "as_of: 2026-09-10\n"}, wantErr: "model: name the model under test"},
		{name: "no as-of date", change: map[string]string{"case.yaml": "model: dim_enterprise\n"}, wantErr: "as_of: give the as-of date"},
		{name: "bad as-of date", change: map[string]string{"case.yaml": "model: dim_enterprise\nas_of: [2026-09-10, 2026-09-31]\n"}, wantErr: `as_of: date "2026-09-31" is not YYYY-MM-DD`},
		{name: "unknown case field", change: map[string]string{"case.yaml": "model: dim_enterprise\nas_of: 2026-09-10\nparameters: {m1: 1}\n"}, wantErr: `unknown field "parameters"`},
		{name: "unknown parameter", change: map[string]string{"case.yaml": "model: dim_enterprise\nas_of: 2026-09-10\nparams: {m9: 1}\n"}, wantErr: "params: m9 is not a risk parameter"},
		{name: "bad where", change: map[string]string{"case.yaml": "model: dim_enterprise\nas_of: 2026-09-10\nwhere: colour = 'red'\n"}, wantErr: `case.yaml: reading dim_enterprise: with where "colour = 'red'"`},
		{name: "unknown input model", change: map[string]string{"inputs/stg_enterprise.csv": "ent_code\n"}, wantErr: "inputs/stg_enterprise.csv: no model stg_enterprise in the project"},
		{name: "unknown entity", change: map[string]string{"inputs/raw.enterprise.csv": "ent_code\n"}, wantErr: `inputs/raw.enterprise.csv: unknown entity "enterprise"`},
		{name: "not a CSV file", change: map[string]string{"inputs/raw.enterprises.json": "[]"}, wantErr: "inputs are CSV files named raw.<entity>.csv or <model>.csv"},
		{name: "calendar as input", change: map[string]string{"inputs/ref.calendar.csv": "date\n"}, wantErr: "ref.calendar is the embedded calendar"},
		{name: "model under test as input", change: map[string]string{"inputs/dim_enterprise.csv": "ent_code\n"}, wantErr: "dim_enterprise is the model under test"},
		{name: "input nothing reads", change: map[string]string{"inputs/raw.officers.csv": "officer_id,updated_at\n"}, wantErr: "inputs/raw.officers.csv: dim_enterprise does not read raw.officers"},
		{name: "raw input behind a given model", change: map[string]string{"inputs/stg_enterprises.csv": "ent_code\n"}, wantErr: "inputs/raw.enterprises.csv: dim_enterprise does not read raw.enterprises"},
		{name: "column not in the entity", change: map[string]string{"inputs/raw.enterprises.csv": "ent_code,colour,updated_at\nE000000001,red,2026-09-01T10:00:00+08:00\n"}, wantErr: "raw.enterprises.csv: column colour is not a column of raw.enterprises, which has ent_code, uscc,"},
		{name: "column not in the upstream model", change: map[string]string{"inputs/stg_enterprises.csv": "ent_code,colour\n"}, drop: "inputs/raw.enterprises.csv", wantErr: "stg_enterprises.csv: column colour is not a column of stg_enterprises"},
		{name: "key column missing", change: map[string]string{"inputs/raw.enterprises.csv": "name,updated_at\n甲,2026-09-01T10:00:00+08:00\n"}, wantErr: "raw.enterprises.csv: the column ent_code is required"},
		{name: "value of the wrong type", change: map[string]string{"inputs/raw.enterprises.csv": "ent_code,updated_at\nE000000001,2026-09-01T10:00:00+08:00\nE000000002,yesterday\n"}, wantErr: `raw.enterprises.csv: line 3, column updated_at: "yesterday" is not a TIMESTAMP WITH TIME ZONE`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{}
			for k, v := range base {
				if k != tt.drop {
					files[k] = v
				}
			}
			for k, v := range tt.change {
				files[k] = v
			}
			_, _, err := runCase(t, p, writeCase(t, files))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
