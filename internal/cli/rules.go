package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hlwarn/hlwarn/jobs"
	"github.com/hlwarn/hlwarn/simulator"
	"github.com/hlwarn/hlwarn/transforms"
)

// ruleEntry is one rule of the catalogue as `hlwarn rules` prints it.
type ruleEntry struct {
	transforms.RuleMeta
	FactTable  string      `json:"fact_table"`
	Model      string      `json:"model"`
	Parameters []paramInfo `json:"parameters"`
}

type paramInfo struct {
	Name        string `json:"name"`
	Value       any    `json:"value"`
	Default     any    `json:"default"`
	Unit        string `json:"unit,omitempty"`
	Description string `json:"description,omitempty"`
}

func (a *app) rulesCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "rules [ID...]",
		Short: "Print the warning rule catalogue (信息服务): names, category, parameters in force, grading, legal basis",
		Long: `rules prints every warning rule of the loaded models (the embedded sql/rules/
and the plug-in folders): id, Chinese and English name, category and area, the
risk parameters it reads with the values in force (defaults from rules.md,
overridden by the configuration), how a hit is graded and its legal basis.
Give rule ids to print only those.`,
		RunE: func(cmd *cobra.Command, ids []string) error {
			p, err := jobs.LoadProject(cmd.Context(), a.cfg.Transform.ModelsDirs, a.cfg.Parameters)
			if err != nil {
				return err
			}
			var out []ruleEntry
			for _, m := range p.Rules() {
				if len(ids) > 0 && !slices.ContainsFunc(ids, func(id string) bool { return strings.EqualFold(id, m.Rule.ID) }) {
					continue
				}
				e := ruleEntry{RuleMeta: *m.Rule, FactTable: transforms.FactTable(m.Rule.Category), Model: m.Name}
				for _, n := range m.Params {
					pm := p.Params[n]
					e.Parameters = append(e.Parameters, paramInfo{Name: n, Value: pm.Value, Default: pm.Default, Unit: pm.Unit, Description: pm.Description})
				}
				out = append(out, e)
			}
			if len(ids) > 0 && len(out) == 0 {
				return fmt.Errorf("no rule %s among the loaded models; run hlwarn rules for the list", strings.Join(ids, ", "))
			}
			switch format {
			case "json":
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(out)
			case "text":
				return printRules(a.stdout, out)
			case "table":
				tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "id\tcategory\tarea\tname\t名称\tbasis")
				for _, e := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Category, e.Area, e.NameEN, e.NameZH, e.Basis)
				}
				return tw.Flush()
			}
			return fmt.Errorf("--format %q: use text, table or json", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text (one block per rule), table (one line per rule) or json")
	return cmd
}

var categoryNames = map[string]string{
	"a": "a 未遵守法定期限或时效 (deadlines and levies)",
	"b": "b 未遵守法定程序或尺度 (procedure and scale)",
	"c": "c 未正确处理与工作对象关系 (relationships with enterprises and brokers)",
}

func printRules(w io.Writer, rules []ruleEntry) error {
	cat := ""
	for _, e := range rules {
		if e.Category != cat {
			cat = e.Category
			fmt.Fprintf(w, "== %s → %s\n\n", categoryNames[cat], e.FactTable)
		}
		fmt.Fprintf(w, "%s  %s  %s\n", e.ID, e.NameZH, e.NameEN)
		fmt.Fprintf(w, "    area:     %s (object: %s; model %s)\n", e.Area, e.ObjectType, e.Model)
		if e.Detects != "" {
			fmt.Fprintf(w, "    detects:  %s\n", strings.TrimSpace(e.Detects))
		}
		fmt.Fprintf(w, "    grading:  %s\n", e.Grading)
		fmt.Fprintf(w, "    basis:    %s\n", e.Basis)
		for _, v := range slices.Sorted(maps.Keys(e.Versions)) {
			fmt.Fprintf(w, "    version %s: %s\n", v, e.Versions[v])
		}
		for _, p := range e.Parameters {
			mark := ""
			if fmt.Sprint(p.Value) != fmt.Sprint(p.Default) {
				mark = fmt.Sprintf(" (default %v)", p.Default)
			}
			unit := ""
			if p.Unit != "" {
				unit = " " + p.Unit
			}
			fmt.Fprintf(w, "    param:    %s = %v%s%s — %s\n", p.Name, p.Value, unit, mark, p.Description)
		}
		if e.Method != "" {
			fmt.Fprintf(w, "    method:   %s\n", strings.TrimSpace(e.Method))
		}
		fmt.Fprintln(w)
	}
	return nil
}

func (a *app) evaluateCommand() *cobra.Command {
	var truthFile string
	var minPrecision, minRecall float64
	cmd := &cobra.Command{
		Use:   "evaluate --truth FILE",
		Short: "Precision and recall of the published warnings against the simulator's ground truth",
		Long: `evaluate compares the warnings of the current build (marts/current in the data
folder) with a ground-truth file written by hlwarn simulate truth: per rule, the
warnings expected and raised, precision, recall, and how often the colour agrees.
The build should be as of the truth's as-of date. With --min-precision or
--min-recall it exits non-zero when a rule falls short.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			truth, err := simulator.ReadTruthFile(truthFile)
			if err != nil {
				return err
			}
			build, asOf, raised, err := jobs.ReadWarnings(cmd.Context(), a.cfg.Data)
			if err != nil {
				return err
			}
			if asOf != truth.AsOf {
				fmt.Fprintf(a.stderr, "warning: the build is as of %s but the truth as of %s; run hlwarn transform --as-of %s for a fair comparison\n", asOf, truth.AsOf, truth.AsOf)
			}
			p, err := jobs.LoadProject(cmd.Context(), a.cfg.Transform.ModelsDirs, a.cfg.Parameters)
			if err != nil {
				return err
			}
			var ids []string
			for _, m := range p.Rules() {
				ids = append(ids, m.Rule.ID)
			}
			ev := jobs.Score(expectedOf(truth), raised, ids)
			ev.Build, ev.AsOf = build, asOf
			printEvaluation(a.stdout, ev)
			var short []string
			for _, s := range ev.Rules {
				if (s.Truth > 0 || s.Raised > 0) && (s.Precision() < minPrecision || s.Recall() < minRecall) {
					short = append(short, s.RuleID)
				}
			}
			if len(short) > 0 {
				return fmt.Errorf("%d rules below precision %.2f or recall %.2f: %s", len(short), minPrecision, minRecall, strings.Join(short, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&truthFile, "truth", "", "the ground-truth file (hlwarn simulate truth --out FILE)")
	cmd.Flags().Float64Var(&minPrecision, "min-precision", 0, "fail when a rule's precision is below this")
	cmd.Flags().Float64Var(&minRecall, "min-recall", 0, "fail when a rule's recall is below this")
	_ = cmd.MarkFlagRequired("truth")
	return cmd
}

func expectedOf(t simulator.Truth) []jobs.Expected {
	out := make([]jobs.Expected, 0, len(t.Rows))
	for _, r := range t.Rows {
		out = append(out, jobs.Expected{RuleID: r.RuleID, ObjectKey: r.ObjectKey, Period: r.Period, Colour: r.Colour})
	}
	return out
}

func printEvaluation(w io.Writer, ev jobs.Evaluation) {
	fmt.Fprintf(w, "warnings of build %s (as of %s) against the ground truth:\n", ev.Build, ev.AsOf)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rule\texpected\traised\tmatched\tprecision\trecall\tcolour agrees\t")
	for _, s := range ev.Rules {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f\t%.3f\t%.3f\t\n", s.RuleID, s.Truth, s.Raised, s.Matched, s.Precision(), s.Recall(), s.ColourAgreement())
	}
	tw.Flush()
	for _, r := range slices.Sorted(maps.Keys(ev.Misses)) {
		fmt.Fprintf(w, "  %s missed: %s\n", r, strings.Join(ev.Misses[r], ", "))
	}
	for _, r := range slices.Sorted(maps.Keys(ev.FalseAlarms)) {
		fmt.Fprintf(w, "  %s not in the truth: %s\n", r, strings.Join(ev.FalseAlarms[r], ", "))
	}
}
