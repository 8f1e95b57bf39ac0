package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/hlwarn/hlwarn/jobs"
	"github.com/hlwarn/hlwarn/pipelines"
	"github.com/hlwarn/hlwarn/simulator"
	"github.com/spf13/cobra"
)

func (a *app) demoCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the main job end to end on the embedded simulator",
		Long: `demo simulates a customs district, serves it through the platform API on a
loopback port, and reads it back through the same client the nightly job uses.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDemo(cmd.Context()) },
	}
	a.simFlags(cmd)
	return cmd
}

func (a *app) runDemo(ctx context.Context) error {
	if err := freshDemoFolder(a.cfg.Data); err != nil {
		return err
	}
	ds, err := a.generate()
	if err != nil {
		return err
	}
	token := randomToken()
	srv, err := simulator.NewServer(ds, simulator.ServerOptions{Token: token, Logger: a.log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("opening a loopback port for the simulator: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go srv.Serve(ctx, ln)
	client, err := pipelines.NewClient(pipelines.ClientConfig{BaseURL: "http://" + ln.Addr().String(), Token: token, Logger: a.log})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "simulated platform on %s; extracting into %s\n\n", ln.Addr(), a.cfg.Data)
	job := jobs.ExtractJob{Client: client, Logger: a.log, Extract: pipelines.ExtractConfig{
		DataDir: a.cfg.Data, Logger: a.log, Progress: terminal(a.stderr),
	}}
	run, err := job.Run(ctx)
	if run != nil {
		printRun(a.stdout, run)
	}
	if err != nil {
		return err
	}
	tjob := jobs.TransformJob{DataDir: a.cfg.Data, To: ds.Config.LastDay(), Publish: true, Logger: a.log,
		Params: a.cfg.Parameters, ModelDirs: a.cfg.Transform.ModelsDirs}
	fmt.Fprintf(a.stdout, "\ntransforming as of %s\n", ds.Config.LastDay())
	if _, err := tjob.Run(ctx); err != nil {
		return err
	}
	if err := printBuild(a.stdout, a.cfg.Data); err != nil {
		return err
	}
	a.printTruthSummary(ds)
	return nil
}

// demoMarker marks a data folder as the demo's own, so a rerun may clear it.
const demoMarker = ".hlwarn-demo"

// freshDemoFolder empties dir for a new demo run. It refuses a folder that
// holds anything but an earlier demo, so the demo never clears real data.
func freshDemoFolder(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading the demo data folder: %w", err)
	}
	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return fmt.Errorf("the data folder %s is not empty and was not made by the demo; pass --data with a new folder", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("clearing the previous demo in %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, demoMarker), []byte("made by hlwarn demo; cleared by the next demo run\n"), 0o644)
}

// printTruthSummary counts the simulation's ground truth by rule and colour.
func (a *app) printTruthSummary(ds *simulator.Dataset) {
	type key struct{ rule, colour string }
	n := map[key]int{}
	rules := map[string]bool{}
	for _, t := range ds.Truth {
		n[key{t.RuleID, t.Colour}]++
		rules[t.RuleID] = true
	}
	ids := make([]string, 0, len(rules))
	for r := range rules {
		ids = append(ids, r)
	}
	sort.Strings(ids)
	fmt.Fprintf(a.stdout, "\nground truth as of %s: %d planted or accidental breaches\n", ds.Config.LastDay(), len(ds.Truth))
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rule\tyellow\torange\tred\tall\t")
	for _, r := range ids {
		all := 0
		for k, c := range n {
			if k.rule == r {
				all += c
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", r, n[key{r, "yellow"}], n[key{r, "orange"}], n[key{r, "red"}], all)
	}
	tw.Flush()
}
