package transforms

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// references is what a query reads, found by DuckDB's own parser.
type references struct {
	tables    []string // [schema.]table, CTE names excluded
	variables []string // getvariable('name') arguments
	lookups   []string // entities looked up with lookup_<entity>(keys)
	// sqlReadsScope: the model's own query (not its scope query) reads scope.
	sqlReadsScope bool
}

// analyze parses the model's query with DuckDB (json_serialize_sql) and
// collects the tables and variables it reads, with those of a keyed
// model's scope query. A syntax error is reported at its line in the model
// file.
func analyze(ctx context.Context, db *sql.DB, m *Model) (references, error) {
	refs, err := analyzeQuery(ctx, db, m, m.SQL, m.bodyLine, "")
	if err != nil || m.Scope == "" {
		return refs, err
	}
	refs.sqlReadsScope = slices.Contains(refs.tables, "scope")
	scope, err := analyzeQuery(ctx, db, m, m.Scope, 1, "scope: ")
	if err != nil {
		return refs, err
	}
	refs.tables = append(refs.tables, scope.tables...)
	refs.variables = append(refs.variables, scope.variables...)
	refs.lookups = append(refs.lookups, scope.lookups...)
	slices.Sort(refs.lookups)
	refs.lookups = slices.Compact(refs.lookups)
	slices.Sort(refs.tables)
	refs.tables = slices.Compact(refs.tables)
	slices.Sort(refs.variables)
	refs.variables = slices.Compact(refs.variables)
	return refs, nil
}

// analyzeQuery parses one query of m, which starts at line bodyLine of
// its file; what prefixes its messages.
func analyzeQuery(ctx context.Context, db *sql.DB, m *Model, query string, bodyLine int, what string) (references, error) {
	var out string
	if err := db.QueryRowContext(ctx, "SELECT json_serialize_sql(?::VARCHAR)::VARCHAR", query).Scan(&out); err != nil {
		return references{}, fmt.Errorf("parsing %s: %w", m.Path, err)
	}
	var tree map[string]any
	if err := json.Unmarshal([]byte(out), &tree); err != nil {
		return references{}, fmt.Errorf("parsing %s: %w", m.Path, err)
	}
	if tree["error"] == true {
		msg, _ := tree["error_message"].(string)
		line := bodyLine
		// DuckDB counts the position in characters, not bytes.
		if pos, err := strconv.Atoi(fmt.Sprint(tree["position"])); err == nil && pos <= utf8.RuneCountInString(query) && what == "" {
			line += strings.Count(string([]rune(query)[:pos]), "\n")
		}
		msg = what + msg
		if strings.Contains(msg, "Only SELECT statements") {
			msg = "a model is one SELECT query (WITH ... SELECT); " + msg
		}
		return references{}, &ModelError{Path: m.Path, Line: line, Msg: msg}
	}
	if st, _ := tree["statements"].([]any); len(st) != 1 {
		return references{}, &ModelError{Path: m.Path, Line: bodyLine, Msg: fmt.Sprintf("%sa model is exactly one SELECT query, found %d statements", what, len(st))}
	}
	ctes := map[string]bool{}
	var refs references
	walk(tree, func(n map[string]any) {
		if cm, ok := n["cte_map"].(map[string]any); ok {
			for _, e := range asList(cm["map"]) {
				if k, ok := e.(map[string]any)["key"].(string); ok {
					ctes[k] = true
				}
			}
		}
		switch {
		case n["type"] == "BASE_TABLE":
			name, _ := n["table_name"].(string)
			if schema, _ := n["schema_name"].(string); schema != "" {
				name = schema + "." + name
			}
			refs.tables = append(refs.tables, name)
		case n["type"] == "TABLE_FUNCTION":
			fn, _ := n["function"].(map[string]any)
			if name, _ := fn["function_name"].(string); strings.HasPrefix(name, "lookup_") {
				refs.lookups = append(refs.lookups, strings.TrimPrefix(name, "lookup_"))
			}
		case n["class"] == "FUNCTION" && n["function_name"] == "getvariable":
			for _, c := range asList(n["children"]) {
				if v, ok := c.(map[string]any)["value"].(map[string]any); ok {
					if s, ok := v["value"].(string); ok {
						refs.variables = append(refs.variables, s)
					}
				}
			}
		}
	})
	refs.tables = slices.DeleteFunc(refs.tables, func(t string) bool { return ctes[t] })
	slices.Sort(refs.tables)
	refs.tables = slices.Compact(refs.tables)
	slices.Sort(refs.variables)
	refs.variables = slices.Compact(refs.variables)
	slices.Sort(refs.lookups)
	refs.lookups = slices.Compact(refs.lookups)
	return refs, nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// walk calls f on every JSON object in the tree.
func walk(v any, f func(map[string]any)) {
	switch t := v.(type) {
	case map[string]any:
		f(t)
		for _, c := range t {
			walk(c, f)
		}
	case []any:
		for _, c := range t {
			walk(c, f)
		}
	}
}
