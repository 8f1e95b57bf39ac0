package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/hlwarn/hlwarn/jobs"
	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/transforms"
	"github.com/spf13/cobra"
)

func (a *app) transformCommand() *cobra.Command {
	var asOf, from string
	var sel []string
	var fullRefresh, recompute, noPublish, wait, printSQL bool
	cmd := &cobra.Command{
		Use:   "transform --as-of YYYY-MM-DD",
		Short: "Build the warehouse from the raw lake as of a date and publish the marts",
		Long: `transform runs the SQL models (sql/ and the plug-in folders) in dependency order as of
a date: staging, dimensions, facts, rules, marts, each with its declared tests, then
publishes dimensions, facts and marts as a new build under marts/ and switches
marts/current to it. Incremental models fill only the partitions not yet done;
--from D1 --as-of D2 --recompute rebuilds a range (a backfill), --full-refresh
drops the incremental models and rebuilds them day by day from --from.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			job, err := a.transformJob(asOf, from)
			if err != nil {
				return err
			}
			job.Select, job.FullRefresh, job.Recompute, job.Publish, job.Wait = sel, fullRefresh, recompute, !noPublish, wait
			if printSQL {
				return a.printScript(cmd.Context(), job)
			}
			results, err := job.Run(cmd.Context())
			for _, r := range results {
				printTransform(a.stdout, r)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&asOf, "as-of", "", "the as-of date, YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&from, "from", "", "first as-of date of a range (backfill or full refresh)")
	cmd.Flags().StringSliceVar(&sel, "select", nil, "models to build: NAME, NAME+ (and dependants), +NAME (and dependencies), tag:TAG; repeat or comma-separate")
	cmd.Flags().BoolVar(&fullRefresh, "full-refresh", false, "drop incremental models and rebuild them day by day from --from")
	cmd.Flags().BoolVar(&recompute, "recompute", false, "rebuild incremental partitions of the range even if done")
	cmd.Flags().BoolVar(&noPublish, "no-publish", false, "build without publishing")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for another job holding the data folder instead of failing")
	cmd.Flags().BoolVar(&printSQL, "print-sql", false, "print the SQL the run would execute in DuckDB (without tests and ledger) and stop")
	modelsDir := cmd.Flags().StringSlice("models-dir", nil, "extra folder of models (plug-ins), in addition to transform.models_dirs")
	a.bindings = append(a.bindings, binding{cmd.Flags().Lookup("models-dir"), func(c *Config) { c.Transform.ModelsDirs = append(c.Transform.ModelsDirs, *modelsDir...) }})
	return cmd
}

// transformJob builds a transform job from the configuration.
func (a *app) transformJob(asOf, from string) (jobs.TransformJob, error) {
	j := jobs.TransformJob{
		DataDir: a.cfg.Data, ModelDirs: a.cfg.Transform.ModelsDirs, Params: a.cfg.Parameters, Logger: a.log,
		Engine: transforms.Options{MemoryLimit: a.cfg.Transform.MemoryLimit, Threads: a.cfg.Transform.Threads, KeepBuilds: a.cfg.Transform.KeepBuilds},
	}
	if asOf == "" {
		return j, fmt.Errorf("no as-of date: pass --as-of YYYY-MM-DD")
	}
	var err error
	if j.To, err = schemas.ParseDate(asOf); err != nil {
		return j, fmt.Errorf("--as-of: %w", err)
	}
	if from != "" {
		if j.From, err = schemas.ParseDate(from); err != nil {
			return j, fmt.Errorf("--from: %w", err)
		}
	}
	return j, nil
}

// printScript prints the plain SQL of the job's last day.
func (a *app) printScript(ctx context.Context, j jobs.TransformJob) error {
	p, err := jobs.LoadProject(ctx, j.ModelDirs, j.Params)
	if err != nil {
		return err
	}
	stmts, err := p.Script(j.DataDir, j.To, j.Select...)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		fmt.Fprintf(a.stdout, "%s;\n\n", s)
	}
	return nil
}

// printTransform writes one day's per-model table.
func printTransform(w io.Writer, r *transforms.RunResult) {
	fmt.Fprintf(w, "as of %s", r.AsOf)
	if r.Build != "" {
		fmt.Fprintf(w, ": published build %s", r.Build)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model\tkind\tstatus\trows\tevaluated\tseconds\ttests")
	for _, m := range r.Models {
		failed := 0
		for _, t := range m.Tests {
			if !t.Passed() {
				failed++
			}
		}
		tests := fmt.Sprintf("%d/%d pass", len(m.Tests)-failed, len(m.Tests))
		// A keyed model's objects re-evaluated: what a night cost it.
		evaluated := ""
		if m.Kind == transforms.KindKeyed && m.Status == transforms.StatusOK {
			evaluated = fmt.Sprint(m.Evaluated)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%.2f\t%s\n", m.Model, m.Kind, m.Status, m.Rows, evaluated, m.Seconds, tests)
	}
	tw.Flush()
	for _, m := range r.Models {
		if m.Err != nil {
			fmt.Fprintf(w, "  %s: %v\n", m.Model, m.Err)
		}
	}
}

// printBuild lists a published build's tables and row counts.
func printBuild(w io.Writer, dataDir string) error {
	b, err := os.ReadFile(filepath.Join(dataDir, "marts", "current", "build.json"))
	if err != nil {
		return fmt.Errorf("reading the current build: %w", err)
	}
	var info transforms.BuildInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return err
	}
	fmt.Fprintf(w, "published build %s as of %s (marts/current):\n", info.Build, info.AsOf)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\t")
	for _, t := range slices.Sorted(maps.Keys(info.Tables)) {
		fmt.Fprintf(tw, "%s\t%d\t\n", t, info.Tables[t])
	}
	return tw.Flush()
}

func (a *app) lineageCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "lineage",
		Short: "Print the model lineage (model → model → source entity) as JSON or DOT",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := jobs.LoadProject(cmd.Context(), a.cfg.Transform.ModelsDirs, a.cfg.Parameters)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(p.Lineage())
			case "dot":
				return p.WriteDOT(a.stdout)
			}
			return fmt.Errorf("--format %q: use json or dot", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "json", "json or dot")
	return cmd
}
