package transforms_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	hlsql "github.com/hlwarn/hlwarn/sql"
	"github.com/hlwarn/hlwarn/transforms"
)

// modelFS is a models folder made of the given files.
func modelFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return fsys
}

// loadFolder loads the staging models and one folder, without the
// embedded models, with the catalogue's parameters.
func loadFolder(t *testing.T, files map[string]string) (*transforms.Project, error) {
	t.Helper()
	params, err := transforms.LoadParams(hlsql.FS)
	if err != nil {
		t.Fatal(err)
	}
	return transforms.Load(context.Background(), params, modelFS(files))
}

// TestLoadErrors checks that each kind of broken model is reported with
// its file and line, and that every problem of a folder is reported at once.
func TestLoadErrors(t *testing.T) {
	t.Parallel()
	const ok = "/* ---\nkind: table\n--- */\nSELECT refund_id FROM stg_refunds\n"
	cases := []struct {
		name  string
		files map[string]string
		want  []string // substrings the error must hold
	}{
		{
			name:  "syntax error inside the body",
			files: map[string]string{"rules/bad.sql": "/* ---\nkind: table\n--- */\nSELECT refund_id,\n       amount\nFROM stg_refunds\nWHERE AND amount > 0\n"},
			want:  []string{"rules/bad.sql:7:", "syntax error"},
		},
		{
			name:  "syntax error after Chinese text",
			files: map[string]string{"rules/bad.sql": "/* ---\nkind: table\ndescription: 退税超期未办结\n--- */\n-- 退税：受理后超期\nSELECT refund_id AS 退税编号\nFROM stg_refunds\nWHERE AND amount > 0\n"},
			want:  []string{"rules/bad.sql:8:", "syntax error"},
		},
		{
			name:  "syntax error on the header's closing line",
			files: map[string]string{"rules/bad.sql": "/* ---\nkind: table\n--- */ SELECT refund_id\nFROM FROM stg_refunds\n"},
			want:  []string{"rules/bad.sql:4:", "syntax error"},
		},
		{
			name: "cycle",
			files: map[string]string{
				"a.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM b\n",
				"b.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM c\n",
				"c.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM a\n",
			},
			want: []string{"cycle", "a → b → c → a", "a.sql, b.sql, c.sql"},
		},
		{
			name:  "a model reading itself",
			files: map[string]string{"marts/self.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM self\n"},
			want:  []string{"marts/self.sql:4:", "reads itself"},
		},
		{
			name:  "missing dependency",
			files: map[string]string{"marts/m.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM stg_refunds\nJOIN no_such_model USING (refund_id)\n"},
			want:  []string{"marts/m.sql:4:", "no_such_model", "neither a model nor a source"},
		},
		{
			name:  "look-up of no entity",
			files: map[string]string{"marts/m.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM lookup_refund(['R1'])\n"},
			want:  []string{"marts/m.sql:4:", "lookup_refund", "no entity of the contract with a one-column key", "refunds"},
		},
		{
			name:  "look-up of an entity keyed by two columns",
			files: map[string]string{"marts/m.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM stg_refunds\nJOIN lookup_declaration_items(['D1']) USING (decl_no)\n"},
			want:  []string{"marts/m.sql:4:", "lookup_declaration_items", "declarations,"},
		},
		{
			name:  "look-up by a column of no entity",
			files: map[string]string{"marts/m.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM lookup_refund_by_decl_no(['D1'])\n"},
			want:  []string{"marts/m.sql:4:", "lookup_refund_by_decl_no", "refund is no entity of the contract", "declaration_events,"},
		},
		{
			name:  "look-up by no such column",
			files: map[string]string{"marts/m.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM lookup_declaration_events_by_decl(['D1'])\n"},
			want:  []string{"marts/m.sql:4:", "lookup_declaration_events_by_decl", "declaration_events has no column decl", "decl_no,"},
		},
		{
			name:  "unknown parameter",
			files: map[string]string{"rules/r.sql": "/* ---\nkind: table\nparams: [m9]\n--- */\nSELECT * FROM stg_refunds WHERE amount > getvariable('m9')\n"},
			want:  []string{"rules/r.sql:5:", "parameter m9", "parameters.yaml does not define"},
		},
		{
			name:  "header depends disagree with the SQL",
			files: map[string]string{"marts/m.sql": "/* ---\nkind: table\ndepends: [stg_refunds, stg_declarations]\n--- */\nSELECT * FROM stg_refunds\n"},
			want:  []string{"marts/m.sql:1:", "header depends [stg_declarations stg_refunds]", "SQL reads [stg_refunds]"},
		},
		{
			name:  "header params disagree with the SQL",
			files: map[string]string{"rules/r.sql": "/* ---\nkind: table\nparams: [m2]\n--- */\nSELECT * FROM stg_refunds WHERE amount > getvariable('m1')\n"},
			want:  []string{"rules/r.sql:1:", "header params [m2]", "SQL reads [m1]"},
		},
		{
			name:  "parameter read but not declared",
			files: map[string]string{"rules/r.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM stg_refunds WHERE amount > getvariable('m1')\n"},
			want:  []string{"rules/r.sql:1:", "header params []", "SQL reads [m1]"},
		},
		{
			name:  "duplicate model name",
			files: map[string]string{"marts/one.sql": "/* ---\nname: twin\n--- */\nSELECT 1 AS x\n", "rules/two.sql": "/* ---\nname: twin\n--- */\nSELECT 2 AS x\n"},
			want:  []string{"rules/two.sql", "model twin is also defined in marts/one.sql"},
		},
		{
			name:  "a staging model's name taken",
			files: map[string]string{"marts/stg_refunds.sql": ok},
			want:  []string{"marts/stg_refunds.sql", "model stg_refunds is also defined in staging/stg_refunds"},
		},
		{
			name:  "bad kind",
			files: map[string]string{"m.sql": "/* ---\nkind: snapshot\n--- */\nSELECT 1 AS x\n"},
			want:  []string{"m.sql:1:", `kind "snapshot"`, "view, table, incremental or keyed"},
		},
		{
			name:  "incremental without partition_by",
			files: map[string]string{"m.sql": "/* ---\nkind: incremental\n--- */\nSELECT getvariable('as_of') AS as_of\n"},
			want:  []string{"m.sql:1:", "needs partition_by"},
		},
		{
			name:  "partition_by on a table",
			files: map[string]string{"m.sql": "/* ---\nkind: table\npartition_by: as_of\n--- */\nSELECT getvariable('as_of') AS as_of\n"},
			want:  []string{"m.sql:1:", "partition_by and lookback are for incremental models"},
		},
		{
			name:  "keyed without scope",
			files: map[string]string{"m.sql": "/* ---\nkind: keyed\nunique_key: refund_id\n--- */\nSELECT refund_id FROM stg_refunds\n"},
			want:  []string{"m.sql:1:", "a keyed model needs unique_key", "scope"},
		},
		{
			name:  "scope on a table",
			files: map[string]string{"m.sql": "/* ---\nkind: table\nscope: SELECT 1\n--- */\nSELECT 1 AS x\n"},
			want:  []string{"m.sql:1:", "unique_key, scope and scope_from are for keyed models"},
		},
		{
			name:  "keyed query that ignores its scope",
			files: map[string]string{"m.sql": "/* ---\nkind: keyed\nunique_key: refund_id\nscope: SELECT refund_id FROM changed.refunds\n--- */\nSELECT refund_id FROM stg_refunds\n"},
			want:  []string{"m.sql:6:", "join its driving table to it (JOIN scope ON scope.key = refund_id) or filter it with refund_id IN (SELECT key FROM scope)"},
		},
		{
			name:  "changed records outside a keyed model",
			files: map[string]string{"m.sql": "/* ---\nkind: table\n--- */\nSELECT refund_id FROM changed.refunds\n"},
			want:  []string{"m.sql:4:", "only a keyed model reads the changed records"},
		},
		{
			name:  "changed records of no entity",
			files: map[string]string{"m.sql": "/* ---\nkind: keyed\nunique_key: refund_id\nscope: SELECT refund_id FROM changed.refundz\n--- */\nSELECT refund_id FROM stg_refunds WHERE refund_id IN (SELECT key FROM scope)\n"},
			want:  []string{"m.sql:1:", "changed.refundz", "refundz is no entity of the contract"},
		},
		{
			name:  "changed columns outside a keyed model",
			files: map[string]string{"m.sql": "/* ---\nkind: table\n--- */\nSELECT ent_code FROM diff.enterprises WHERE uscc\n"},
			want:  []string{"m.sql:4:", "diff.enterprises", "only a keyed model reads which columns of the changed records changed"},
		},
		{
			name:  "changed columns of an entity with a key of two columns",
			files: map[string]string{"m.sql": "/* ---\nkind: keyed\nunique_key: officer_id\nscope: SELECT officer_id FROM diff.duty_roster WHERE shift_start\n--- */\nSELECT officer_id FROM stg_officers WHERE officer_id IN (SELECT key FROM scope)\n"},
			want:  []string{"m.sql:1:", "diff.duty_roster", "duty_roster is no entity of the contract with a one-column key", "enterprises"},
		},
		{
			name:  "a syntax error in the scope",
			files: map[string]string{"m.sql": "/* ---\nkind: keyed\nunique_key: refund_id\nscope: SELEC refund_id FROM changed.refunds\n--- */\nSELECT refund_id FROM stg_refunds WHERE refund_id IN (SELECT key FROM scope)\n"},
			want:  []string{"m.sql:1:", "scope: ", "syntax error"},
		},
		{
			name:  "scope_from no keyed model",
			files: map[string]string{"m.sql": "/* ---\nkind: keyed\nunique_key: refund_id\nscope_from: nowhere\n--- */\nSELECT refund_id FROM stg_refunds WHERE refund_id IN (SELECT key FROM scope)\n"},
			want:  []string{"m.sql:1:", "scope_from: nowhere is no keyed model"},
		},
		{
			name:  "scope and scope_from both",
			files: map[string]string{"m.sql": "/* ---\nkind: keyed\nunique_key: refund_id\nscope: SELECT 1\nscope_from: other\n--- */\nSELECT 1 AS refund_id\n"},
			want:  []string{"m.sql:1:", "either scope", "or scope_from"},
		},
		{
			name:  "a file without header",
			files: map[string]string{"marts/bare.sql": "SELECT 1 AS x\n"},
			want:  []string{"marts/bare.sql:1:", "starts with a header comment"},
		},
		{
			name:  "an unknown header field",
			files: map[string]string{"m.sql": "/* ---\nkind: table\ntestz: []\n--- */\nSELECT 1 AS x\n"},
			want:  []string{"m.sql:1:", "header:", "testz"},
		},
		{
			name:  "a test with two kinds",
			files: map[string]string{"m.sql": "/* ---\ntests:\n  - unique: [x]\n    not_null: [x]\n--- */\nSELECT 1 AS x\n"},
			want:  []string{"m.sql:1:", "test 1 declares 2 kinds"},
		},
		{
			name:  "relationships to no model",
			files: map[string]string{"m.sql": "/* ---\ntests:\n  - relationships: {column: x, to: nowhere, field: x}\n--- */\nSELECT 1 AS x\n"},
			want:  []string{"m.sql:1:", "refers to nowhere"},
		},
		{
			name:  "two statements",
			files: map[string]string{"m.sql": "/* ---\nkind: table\n--- */\nSELECT 1 AS x;\nSELECT 2 AS x\n"},
			want:  []string{"m.sql:4:", "exactly one SELECT", "2 statements"},
		},
		{
			name:  "not a SELECT",
			files: map[string]string{"m.sql": "/* ---\nkind: table\n--- */\nDELETE FROM stg_refunds\n"},
			want:  []string{"m.sql:4:", "one SELECT query"},
		},
		{
			name: "every broken file at once",
			files: map[string]string{
				"a.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM missing_a\n",
				"b.sql": "SELECT 1\n",
				"c.sql": ok,
			},
			want: []string{"a.sql:4:", "missing_a", "b.sql:1:"},
		},
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

// TestLoadErrorIsModelError checks that a located problem can be taken
// apart by callers, for editors and CI annotations.
func TestLoadErrorIsModelError(t *testing.T) {
	t.Parallel()
	_, err := loadFolder(t, map[string]string{"rules/r.sql": "/* ---\nkind: table\n--- */\n\nSELECT * FROM no_such_model\n"})
	var me *transforms.ModelError
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is no ModelError", err, err)
	}
	if me.Path != "rules/r.sql" || me.Line != 5 {
		t.Errorf("ModelError at %s:%d; want rules/r.sql:5", me.Path, me.Line)
	}
}

// TestLoadEmbeddedAndPlugins checks that the embedded models and the test
// plug-ins load together, the plug-ins with what their SQL reads.
func TestLoadEmbeddedAndPlugins(t *testing.T) {
	t.Parallel()
	p := loadProject(t, pluginModels())
	cases := []struct {
		model string
		kind  transforms.Kind
		deps  []string
		param []string
	}{
		{"mart_daily_declarations", transforms.KindIncremental, []string{"dim_department", "stg_declarations"}, nil},
		{"mart_open_refunds", transforms.KindIncremental, []string{"dim_date", "stg_refunds"}, []string{"m1"}},
		{"mart_refund_backlog", transforms.KindTable, []string{"mart_open_refunds"}, nil},
		{"dim_department", transforms.KindTable, []string{"stg_departments"}, nil},
		{"dim_officer", transforms.KindTable, []string{"raw.officers"}, nil},
		// It reads the declarations only through lookup_declarations.
		{"fact_release_daily", transforms.KindIncremental, []string{"stg_declaration_events", "stg_declarations"}, nil},
		// It reads the events only through lookup_declaration_events_by_decl_no.
		{"int_declaration_handlers", transforms.KindKeyed, []string{"stg_declaration_events"}, nil},
	}
	for _, tc := range cases {
		m := p.Models[tc.model]
		if m == nil {
			t.Errorf("model %s not loaded", tc.model)
			continue
		}
		if m.Kind != tc.kind || !slices.Equal(m.Deps, tc.deps) || !slices.Equal(m.Params, tc.param) {
			t.Errorf("%s: kind %s, deps %v, params %v; want %s, %v, %v", tc.model, m.Kind, m.Deps, m.Params, tc.kind, tc.deps, tc.param)
		}
	}
	for _, n := range []string{"mart_daily_declarations", "mart_open_refunds", "mart_refund_backlog", "mart_data_quality", "dim_date"} {
		if !slices.Contains(p.Published(), n) {
			t.Errorf("published tables %v lack %s", p.Published(), n)
		}
	}
}

// selectionModels is a small DAG: a ← b ← c, a ← d, e alone, and z
// feeding a, so that name order and dependency order differ.
var selectionModels = map[string]string{
	"z.sql": "/* ---\nkind: table\ntags: [base]\n--- */\nSELECT refund_id FROM stg_refunds\n",
	"a.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM z\n",
	"b.sql": "/* ---\nkind: view\ntags: [x]\n--- */\nSELECT * FROM a\n",
	"c.sql": "/* ---\nkind: table\n--- */\nSELECT * FROM b\n",
	"d.sql": "/* ---\nkind: table\ntags: [x, y]\n--- */\nSELECT * FROM a\n",
	"e.sql": "/* ---\nkind: table\ntags: [y]\n--- */\nSELECT 1 AS one\n",
	// ab reads nothing, but its relationships test looks up e, which must be built first.
	"ab.sql": "/* ---\nkind: table\ntests:\n  - relationships: {column: one, to: e, field: one}\n--- */\nSELECT 1 AS one\n",
}

func TestSelect(t *testing.T) {
	t.Parallel()
	p, err := loadFolder(t, selectionModels)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		exprs []string
		want  []string
		err   string
	}{
		{name: "one model", exprs: []string{"b"}, want: []string{"b"}},
		{name: "with what depends on it", exprs: []string{"b+"}, want: []string{"b", "c"}},
		{name: "with what it depends on", exprs: []string{"+b"}, want: []string{"stg_refunds", "z", "a", "b"}},
		{name: "both ways", exprs: []string{"+b+"}, want: []string{"stg_refunds", "z", "a", "b", "c"}},
		{name: "downstream of the root", exprs: []string{"z+"}, want: []string{"z", "a", "b", "c", "d"}},
		{name: "tag", exprs: []string{"tag:x"}, want: []string{"b", "d"}},
		{name: "tag of one model", exprs: []string{"tag:base"}, want: []string{"z"}},
		{name: "comma union", exprs: []string{"c,e"}, want: []string{"e", "c"}},
		{name: "comma union with spaces and tags", exprs: []string{"tag:y, b"}, want: []string{"e", "b", "d"}},
		{name: "several expressions", exprs: []string{"d", "tag:x", "d"}, want: []string{"b", "d"}},
		{name: "relationships target built first", exprs: []string{"+ab"}, want: []string{"e", "ab"}},
		{name: "relationships target's dependants", exprs: []string{"e+"}, want: []string{"e", "ab"}},
		{name: "unknown model", exprs: []string{"a,nope"}, err: `selection "nope": no model nope`},
		{name: "unknown model upstream", exprs: []string{"+nope"}, err: `selection "+nope": no model nope`},
		{name: "unknown tag", exprs: []string{"tag:nope"}, err: `selection "tag:nope": no model has tag nope`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.Select(tc.exprs...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Select(%q) error %v; want %q", tc.exprs, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range got {
				names = append(names, m.Name)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("Select(%q) = %v; want %v", tc.exprs, names, tc.want)
			}
		})
	}
	all, err := p.Select()
	if err != nil || len(all) != len(p.Models) {
		t.Errorf("Select() picked %d of %d models (%v)", len(all), len(p.Models), err)
	}
}

// TestOrderDeterministic checks that every model follows what it reads and
// that loading again gives the same order, ties broken by name.
func TestOrderDeterministic(t *testing.T) {
	t.Parallel()
	first, err := loadFolder(t, selectionModels)
	if err != nil {
		t.Fatal(err)
	}
	var mine []string
	for _, n := range first.Order {
		if !strings.HasPrefix(n, "stg_") {
			mine = append(mine, n)
		}
	}
	if want := []string{"e", "ab", "z", "a", "b", "c", "d"}; !slices.Equal(mine, want) {
		t.Errorf("order of the folder's models %v; want %v", mine, want)
	}
	for range 3 {
		again, err := loadFolder(t, selectionModels)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(again.Order, first.Order) {
			t.Fatalf("order changed between loads:\n%v\n%v", first.Order, again.Order)
		}
	}
	full := loadProject(t, pluginModels())
	pos := map[string]int{}
	for i, n := range full.Order {
		pos[n] = i
	}
	if len(pos) != len(full.Models) {
		t.Fatalf("order has %d models; the project %d", len(pos), len(full.Models))
	}
	for _, n := range full.Order {
		for _, d := range full.Models[n].Deps {
			if _, isModel := full.Models[d]; isModel && pos[d] > pos[n] {
				t.Errorf("%s comes before %s, which it reads", n, d)
			}
		}
	}
}
