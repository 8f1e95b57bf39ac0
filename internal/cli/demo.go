package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
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
	truthFile := filepath.Join(a.cfg.Data, "truth.json")
	if err := ds.GroundTruth().WriteFile(truthFile); err != nil {
		return err
	}
	build, asOf, raised, err := jobs.ReadWarnings(ctx, a.cfg.Data)
	if err != nil {
		return err
	}
	printRaised(a.stdout, raised)
	p, err := jobs.LoadProject(ctx, a.cfg.Transform.ModelsDirs, a.cfg.Parameters)
	if err != nil {
		return err
	}
	var ids []string
	for _, m := range p.Rules() {
		ids = append(ids, m.Rule.ID)
	}
	ev := jobs.Score(expectedOf(ds.GroundTruth()), raised, ids)
	ev.Build, ev.AsOf = build, asOf
	fmt.Fprintf(a.stdout, "\nground truth written to %s (%d planted or accidental breaches); the same as hlwarn evaluate --truth %s:\n", truthFile, len(ds.Truth), truthFile)
	printEvaluation(a.stdout, ev)
	return nil
}

// printRaised counts the published warnings by rule and colour.
func printRaised(w io.Writer, raised []jobs.Raised) {
	type key struct{ rule, colour string }
	n := map[key]int{}
	all := map[string]int{}
	for _, r := range raised {
		n[key{r.RuleID, r.Colour}]++
		all[r.RuleID]++
	}
	fmt.Fprintf(w, "\nwarnings raised: %d\n", len(raised))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rule\tyellow\torange\tred\tall\t")
	for _, r := range slices.Sorted(maps.Keys(all)) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", r, n[key{r, "yellow"}], n[key{r, "orange"}], n[key{r, "red"}], all[r])
	}
	tw.Flush()
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
