package transforms

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// LineageNode is one model in the lineage graph.
type LineageNode struct {
	Name        string   `json:"name"`
	Kind        Kind     `json:"kind"`
	Path        string   `json:"path"`
	Tags        []string `json:"tags,omitempty"`
	Publish     bool     `json:"publish"`
	Reads       []string `json:"reads"`   // models and sources it reads directly
	Sources     []string `json:"sources"` // raw.<entity> and ref.* it depends on, through any path
	Params      []string `json:"params,omitempty"`
	Description string   `json:"description,omitempty"`
}

// Lineage is every model with what it reads and, transitively, the source
// entities it comes from: model → model → source entity.
func (p *Project) Lineage() []LineageNode {
	var out []LineageNode
	for _, n := range p.Order {
		m := p.Models[n]
		out = append(out, LineageNode{
			Name: m.Name, Kind: m.Kind, Path: m.Path, Tags: m.Tags, Publish: m.Publish,
			Reads: m.Deps, Sources: p.sourcesOf(n), Params: m.Params, Description: strings.TrimSpace(m.Description),
		})
	}
	return out
}

// sourcesOf lists the sources a model depends on through any path.
func (p *Project) sourcesOf(name string) []string {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		for _, d := range p.Models[n].Deps {
			if seen[d] {
				continue
			}
			seen[d] = true
			if p.Models[d] != nil {
				visit(d)
			}
		}
	}
	visit(name)
	var out []string
	for d := range seen {
		if p.Models[d] == nil {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// WriteDOT writes the lineage as a Graphviz graph: sources as boxes,
// models coloured by layer, published models with a double border.
func (p *Project) WriteDOT(w io.Writer) error {
	var b strings.Builder
	b.WriteString("digraph lineage {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n")
	sources := map[string]bool{}
	for _, n := range p.Order {
		for _, d := range p.Models[n].Deps {
			if p.Models[d] == nil {
				sources[d] = true
			}
		}
	}
	for _, s := range slices.Sorted(maps.Keys(sources)) {
		fmt.Fprintf(&b, "  %q [shape=box, style=filled, fillcolor=\"#eeeeee\"];\n", s)
	}
	for _, n := range p.Order {
		m := p.Models[n]
		periph := 1
		if m.Publish {
			periph = 2
		}
		fmt.Fprintf(&b, "  %q [shape=ellipse, peripheries=%d, style=filled, fillcolor=%q];\n", n, periph, layerColour(m))
		for _, d := range m.Deps {
			fmt.Fprintf(&b, "  %q -> %q;\n", d, n)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func layerColour(m *Model) string {
	switch {
	case m.HasTag("staging"):
		return "#dbe9f6"
	case m.HasTag("dims"):
		return "#e2f0d9"
	case m.HasTag("rules"):
		return "#fde2e2"
	case m.HasTag("marts"):
		return "#fff2cc"
	}
	return "#ffffff"
}
