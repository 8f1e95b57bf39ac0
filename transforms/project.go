package transforms

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/hlwarn/hlwarn/schemas"
)

// Project is a loaded, checked set of models in dependency order.
type Project struct {
	Models map[string]*Model
	Order  []string // topological: every model after what it reads
	Params Params
}

// Load reads every *.sql model of each folder (the embedded sql/ first,
// then plug-in folders), adds the staging models of the contract, parses
// each query with DuckDB to find what it reads, and checks the whole:
// duplicate names, unknown tables, undeclared or undefined parameters,
// header dependencies that disagree with the SQL, and cycles. Every problem
// found is reported, each naming its file and line.
func Load(ctx context.Context, params Params, folders ...fs.FS) (*Project, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	params = params.clone() // header definitions and overrides stay with this project
	p := &Project{Models: map[string]*Model{}, Params: params}
	var errs []error
	add := func(m *Model) {
		if prev, dup := p.Models[m.Name]; dup {
			errs = append(errs, &ModelError{Path: m.Path, Msg: fmt.Sprintf("model %s is also defined in %s", m.Name, prev.Path)})
			return
		}
		p.Models[m.Name] = m
	}
	for _, m := range stagingModels() {
		add(m)
	}
	for _, fsys := range folders {
		err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sql") {
				return err
			}
			src, err := fs.ReadFile(fsys, path)
			if err != nil {
				return err
			}
			m, err := parseModel(path, src)
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			add(m)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading models: %w", err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Models)) {
		for _, d := range p.Models[name].Defines {
			if err := params.define(d, p.Models[name].Path); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Models)) {
		if err := p.shareScope(p.Models[name]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := p.addRuleModels(); err != nil {
			errs = append(errs, err)
		}
	}
	sources := sourceNames()
	for _, name := range slices.Sorted(maps.Keys(p.Models)) {
		if err := p.resolve(ctx, db, p.Models[name], sources); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	order, err := topoOrder(p.Models)
	if err != nil {
		return nil, err
	}
	p.Order = order
	for _, n := range p.Order {
		p.Models[n].define(p.Models)
	}
	return p, nil
}

// define sets the model's definition and upParams from its own query and
// those of the models it reads, which the topological order has defined
// already.
func (m *Model) define(models map[string]*Model) {
	h := sha256.New()
	for _, s := range []string{m.SQL, m.Scope, m.UniqueKey} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	params := slices.Clone(m.Params)
	for _, d := range m.Deps { // sorted by resolve
		if up := models[d]; up != nil {
			fmt.Fprintf(h, "%s=%s\x00", d, up.definition)
			params = append(params, up.upParams...)
		}
	}
	m.definition = hex.EncodeToString(h.Sum(nil))
	slices.Sort(params)
	m.upParams = slices.Compact(params)
}

// shareScope gives a model with scope_from the scope query of the model it
// names, which must be keyed with a scope of its own and, for rules, about
// the same kind of object.
func (p *Project) shareScope(m *Model) error {
	if m.ScopeFrom == "" {
		return nil
	}
	from := p.Models[m.ScopeFrom]
	switch {
	case from == nil || from.Kind != KindKeyed:
		return &ModelError{Path: m.Path, Line: 1, Msg: fmt.Sprintf("scope_from: %s is no keyed model; name a keyed model whose scope this one shares", m.ScopeFrom)}
	case from.Scope == "" || from.ScopeFrom != "":
		return &ModelError{Path: m.Path, Line: 1, Msg: fmt.Sprintf("scope_from: %s shares its scope too; name the model that writes the scope", m.ScopeFrom)}
	case m.Rule != nil && from.Rule != nil && m.Rule.ObjectType != from.Rule.ObjectType:
		return &ModelError{Path: m.Path, Line: 1, Msg: fmt.Sprintf("scope_from: %s is about %s, this rule about %s; a shared scope names the same objects", m.ScopeFrom, from.Rule.ObjectType, m.Rule.ObjectType)}
	}
	m.Scope = from.Scope
	return nil
}

// resolve finds what a model reads and checks it against the project.
func (p *Project) resolve(ctx context.Context, db *sql.DB, m *Model, sources map[string]bool) error {
	refs, err := analyze(ctx, db, m)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range refs.tables {
		if entity, ok := strings.CutPrefix(t, "changed."); ok {
			// A keyed model's view of the records changed since its last
			// build: it depends on the entity's staging model.
			switch {
			case m.Kind != KindKeyed:
				errs = append(errs, &ModelError{Path: m.Path, Line: m.bodyLine, Msg: fmt.Sprintf("reads %s; only a keyed model reads the changed records (kind: keyed)", t)})
			case p.Models["stg_"+entity] == nil || p.Models["stg_"+entity].snap == nil:
				errs = append(errs, &ModelError{Path: m.Path, Line: 1, Msg: fmt.Sprintf("reads %s, but %s is no entity of the contract", t, entity)})
			default:
				m.Deps = append(m.Deps, "stg_"+entity)
				m.changed = append(m.changed, entity)
			}
			continue
		}
		if entity, ok := strings.CutPrefix(t, "diff."); ok {
			// Which columns of the changed records changed (keyed.go's
			// diffView): read with the changed records.
			stg := p.Models["stg_"+entity]
			switch {
			case m.Kind != KindKeyed:
				errs = append(errs, &ModelError{Path: m.Path, Line: m.bodyLine, Msg: fmt.Sprintf("reads %s; only a keyed model reads which columns of the changed records changed (kind: keyed)", t)})
			case stg == nil || stg.snap == nil || !hasLookup(stg.snap.entity):
				errs = append(errs, &ModelError{Path: m.Path, Line: 1, Msg: fmt.Sprintf("reads %s, but %s is no entity of the contract with a one-column key; read diff.<entity> of one of: %s", t, entity, strings.Join(lookupEntities(), ", "))})
			default:
				m.Deps = append(m.Deps, stg.Name)
				m.changed = append(m.changed, entity)
				m.diffed = append(m.diffed, entity)
			}
			continue
		}
		if t == "scope" && m.Kind == KindKeyed {
			continue // the keys the run re-evaluates, made by the engine
		}
		switch {
		case sources[t]:
		case p.Models[t] != nil:
			if t == m.Name {
				errs = append(errs, &ModelError{Path: m.Path, Line: m.bodyLine, Msg: "the model reads itself"})
			}
		default:
			errs = append(errs, &ModelError{Path: m.Path, Line: m.bodyLine, Msg: fmt.Sprintf("reads %s, which is neither a model nor a source (raw.<entity>, ref.calendar)", t)})
		}
		m.Deps = append(m.Deps, t)
	}
	for _, entity := range refs.lookups {
		if name, column, ok := parseChildLookup(entity); ok {
			// lookup_<entity>_by_<column>(values) reads the staging model,
			// which keeps the column's bound.
			stg := p.Models["stg_"+name]
			if stg == nil || stg.snap == nil {
				errs = append(errs, &ModelError{Path: m.Path, Line: m.bodyLine, Msg: fmt.Sprintf("calls lookup_%s, but %s is no entity of the contract; look up one of: %s", entity, name, strings.Join(schemas.Names(), ", "))})
				continue
			}
			if _, ok := stg.snap.entity.Field(column); !ok {
				errs = append(errs, &ModelError{Path: m.Path, Line: m.bodyLine, Msg: fmt.Sprintf("calls lookup_%s, but %s has no column %s; look it up by one of its columns: %s", entity, name, column, strings.Join(fieldNames(stg.snap.entity), ", "))})
				continue
			}
			if !slices.Contains(stg.snap.bounds, column) {
				stg.snap.bounds = append(stg.snap.bounds, column)
				slices.Sort(stg.snap.bounds)
			}
			m.Deps = append(m.Deps, stg.Name)
			continue
		}
		// lookup_<entity>(keys) reads the entity's staging model.
		if stg := p.Models["stg_"+entity]; stg == nil || stg.snap == nil || !hasLookup(stg.snap.entity) {
			errs = append(errs, &ModelError{Path: m.Path, Line: m.bodyLine, Msg: fmt.Sprintf("calls lookup_%s, but %s is no entity of the contract with a one-column key; look up one of: %s", entity, entity, strings.Join(lookupEntities(), ", "))})
			continue
		}
		m.Deps = append(m.Deps, "stg_"+entity)
	}
	slices.Sort(m.Deps)
	m.Deps = slices.Compact(m.Deps)
	slices.Sort(m.changed)
	m.changed = slices.Compact(m.changed)
	slices.Sort(m.diffed)
	m.diffed = slices.Compact(m.diffed)
	if m.Kind == KindKeyed && !refs.sqlReadsScope {
		errs = append(errs, &ModelError{Path: m.Path, Line: m.bodyLine, Msg: fmt.Sprintf("a keyed model evaluates only the objects of its scope: join its driving table to it (JOIN scope ON scope.key = %s) or filter it with %s IN (SELECT key FROM scope)", m.UniqueKey, m.UniqueKey)})
	}
	if m.declared != nil {
		want := slices.Sorted(slices.Values(m.declared))
		if !slices.Equal(want, m.Deps) {
			errs = append(errs, &ModelError{Path: m.Path, Line: 1, Msg: fmt.Sprintf("header depends %v, but the SQL reads %v", want, m.Deps)})
		}
	}
	var used []string
	for _, v := range refs.variables {
		switch {
		case v == "changed_since" && m.Kind != KindKeyed:
			errs = append(errs, &ModelError{Path: m.Path, Line: m.bodyLine, Msg: "reads changed_since, which only a keyed model has (kind: keyed)"})
		case slices.Contains(builtinVars, v):
		case p.Params[v] == nil:
			errs = append(errs, &ModelError{Path: m.Path, Line: m.bodyLine, Msg: fmt.Sprintf("reads parameter %s, which parameters.yaml does not define", v)})
		default:
			used = append(used, v)
		}
	}
	if m.Lookback > 0 && !slices.Contains(refs.variables, "partition_from") {
		errs = append(errs, &ModelError{Path: m.Path, Line: m.bodyLine, Msg: fmt.Sprintf("lookback %d: the query must compute every day from getvariable('partition_from') to getvariable('as_of'), the missing days of its window", m.Lookback)})
	}
	if declared := slices.Sorted(slices.Values(m.Params)); !slices.Equal(declared, used) {
		errs = append(errs, &ModelError{Path: m.Path, Line: 1, Msg: fmt.Sprintf("header params %v, but the SQL reads %v", declared, used)})
	}
	for _, t := range m.Tests {
		if r := t.Relationships; r != nil {
			switch {
			case p.Models[r.To] == nil:
				errs = append(errs, &ModelError{Path: m.Path, Line: 1, Msg: fmt.Sprintf("relationships test refers to %s, which is no model", r.To)})
			case r.To != m.Name && !slices.Contains(m.Deps, r.To):
				m.testDeps = append(m.testDeps, r.To)
			}
		}
	}
	return errors.Join(errs...)
}

// topoOrder orders models so each follows what it reads and what its
// relationships tests look up; ties go by name,
// so the order is the same on every run. A cycle is reported with its path.
func topoOrder(models map[string]*Model) ([]string, error) {
	indeg := map[string]int{}
	users := map[string][]string{}
	for name, m := range models {
		indeg[name] += 0
		for _, d := range m.upstream() {
			if models[d] != nil {
				indeg[name]++
				users[d] = append(users[d], name)
			}
		}
	}
	var ready, order []string
	for n, d := range indeg {
		if d == 0 {
			ready = append(ready, n)
		}
	}
	for len(ready) > 0 {
		slices.Sort(ready)
		n := ready[0]
		ready = ready[1:]
		order = append(order, n)
		for _, u := range users[n] {
			if indeg[u]--; indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(order) < len(models) {
		cycle := findCycle(models, indeg)
		files := make([]string, 0, len(cycle)-1)
		for _, n := range cycle[:len(cycle)-1] {
			files = append(files, models[n].Path)
		}
		return nil, fmt.Errorf("models form a cycle: %s (in %s); break it by removing one of these reads", strings.Join(cycle, " → "), strings.Join(files, ", "))
	}
	return order, nil
}

// findCycle walks from a model left in the cycle until a name repeats.
func findCycle(models map[string]*Model, indeg map[string]int) []string {
	var start string
	for _, n := range slices.Sorted(maps.Keys(indeg)) {
		if indeg[n] > 0 {
			start = n
			break
		}
	}
	seen := map[string]int{}
	var path []string
	for n := start; ; {
		if i, ok := seen[n]; ok {
			return append(path[i:], n)
		}
		seen[n] = len(path)
		path = append(path, n)
		for _, d := range models[n].upstream() {
			if models[d] != nil && indeg[d] > 0 {
				n = d
				break
			}
		}
	}
}

// Select picks models by expressions: NAME, NAME+ (with everything that
// depends on it), +NAME (with everything it depends on), tag:TAG. Several
// expressions are a union. No expression selects every model. The result
// is in dependency order.
func (p *Project) Select(exprs ...string) ([]*Model, error) {
	if len(exprs) == 0 {
		out := make([]*Model, 0, len(p.Order))
		for _, n := range p.Order {
			out = append(out, p.Models[n])
		}
		return out, nil
	}
	picked := map[string]bool{}
	for _, raw := range exprs {
		for _, x := range strings.Split(raw, ",") {
			x = strings.TrimSpace(x)
			if x == "" {
				continue
			}
			if err := p.selectOne(x, picked); err != nil {
				return nil, err
			}
		}
	}
	var out []*Model
	for _, n := range p.Order {
		if picked[n] {
			out = append(out, p.Models[n])
		}
	}
	return out, nil
}

func (p *Project) selectOne(x string, picked map[string]bool) error {
	if tag, ok := strings.CutPrefix(x, "tag:"); ok {
		found := false
		for n, m := range p.Models {
			if m.HasTag(tag) {
				picked[n], found = true, true
			}
		}
		if !found {
			return fmt.Errorf("selection %q: no model has tag %s", x, tag)
		}
		return nil
	}
	up, down := strings.HasPrefix(x, "+"), strings.HasSuffix(x, "+")
	name := strings.TrimSuffix(strings.TrimPrefix(x, "+"), "+")
	if p.Models[name] == nil {
		return fmt.Errorf("selection %q: no model %s", x, name)
	}
	picked[name] = true
	if up {
		p.walkUp(name, picked)
	}
	if down {
		p.walkDown(name, picked)
	}
	return nil
}

func (p *Project) walkUp(name string, picked map[string]bool) {
	for _, d := range p.Models[name].upstream() {
		if p.Models[d] != nil && !picked[d] {
			picked[d] = true
			p.walkUp(d, picked)
		}
	}
}

func (p *Project) walkDown(name string, picked map[string]bool) {
	for n, m := range p.Models {
		if !picked[n] && slices.Contains(m.upstream(), name) {
			picked[n] = true
			p.walkDown(n, picked)
		}
	}
}
