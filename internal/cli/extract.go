package cli

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hlwarn/hlwarn/jobs"
	"github.com/hlwarn/hlwarn/pipelines"
	"github.com/hlwarn/hlwarn/schemas"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func (a *app) extractCommand() *cobra.Command {
	var entities string
	var wait bool
	var concurrency int
	cmd := &cobra.Command{
		Use:   "extract",
		Short: "Extract the platform's new record versions into the raw Parquet lake",
		Long: `extract pages through each entity's window [watermark, server_time − visibility lag),
lands valid versions in raw/<entity>/ingest_date=.../ as Parquet, quarantines records
that break the contract with their reasons, and moves each watermark only once its
files are durable. A second job on the same data folder fails (or waits, with --wait).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.platformClient()
			if err != nil {
				return err
			}
			var names []string
			if entities != "" {
				names = strings.Split(entities, ",")
			}
			job := jobs.ExtractJob{Client: client, Wait: wait, Logger: a.log, Extract: pipelines.ExtractConfig{
				DataDir: a.cfg.Data, Entities: names, Concurrency: concurrency, Logger: a.log, Progress: terminal(a.stderr),
			}}
			run, err := job.Run(cmd.Context())
			if run != nil {
				printRun(a.stdout, run)
			}
			return err
		},
	}
	a.stringFlag(cmd, false, "platform-url", "the platform's base URL", func(c *Config) *string { return &c.Platform.URL })
	a.stringFlag(cmd, false, "platform-token-file", "file holding the platform's bearer token", func(c *Config) *string { return &c.Platform.TokenFile })
	cmd.Flags().StringVar(&entities, "entities", "", "comma-separated entities to extract (default: all)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for another job holding the data folder instead of failing")
	cmd.Flags().IntVar(&concurrency, "concurrency", 4, "entities extracted at once")
	return cmd
}

// platformClient builds the platform client from the configuration.
func (a *app) platformClient() (*pipelines.Client, error) {
	token, err := a.cfg.Token()
	if err != nil {
		return nil, err
	}
	return pipelines.NewClient(pipelines.ClientConfig{
		BaseURL: a.cfg.Platform.URL, Token: token, Logger: a.log,
		Timeout: time.Duration(a.cfg.Platform.Timeout), Retries: a.cfg.Platform.Retries,
		MaxRetryAfter: time.Duration(a.cfg.Platform.MaxRetryAfter),
	})
}

// terminal returns w if it is a terminal, for progress bars; else nil.
func terminal(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return w
	}
	return nil
}

// printRun writes a run's per-entity summary table.
func printRun(w io.Writer, r *pipelines.RunRecord) {
	fmt.Fprintf(w, "run %s: %s", r.RunID, r.Status)
	if r.FinishedAt != nil {
		fmt.Fprintf(w, " in %.1fs", r.FinishedAt.Sub(r.StartedAt).Seconds())
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "entity\tpages\tfetched\tlanded\tquarantined\tMB\tseconds\tstatus\t")
	var tot pipelines.EntityRecord
	order := map[string]int{}
	for i, name := range schemas.Names() {
		order[name] = i
	}
	entities := slices.Clone(r.Entities)
	slices.SortFunc(entities, func(a, b *pipelines.EntityRecord) int { return order[a.Entity] - order[b.Entity] })
	for _, e := range entities {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%s\t\n", e.Entity, e.Pages, e.Fetched, e.Landed, e.Quarantined, float64(e.Bytes)/1e6, e.Seconds, e.Status)
		tot.Pages += e.Pages
		tot.Fetched += e.Fetched
		tot.Landed += e.Landed
		tot.Quarantined += e.Quarantined
		tot.Bytes += e.Bytes
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%.1f\t\t\t\n", tot.Pages, tot.Fetched, tot.Landed, tot.Quarantined, float64(tot.Bytes)/1e6)
	tw.Flush()
	for _, e := range r.Entities {
		if e.Error != "" {
			fmt.Fprintf(w, "  %s: %s\n", e.Entity, e.Error)
		}
	}
}

func (a *app) statusCommand() *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show recent runs and the watermarks of the data folder",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := pipelines.OpenLedger(a.cfg.Data)
			if err != nil {
				return err
			}
			runs, err := l.Runs(n)
			if err != nil {
				return err
			}
			if len(runs) == 0 {
				fmt.Fprintf(a.stdout, "no runs yet in %s\n", a.cfg.Data)
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "run\tstarted\tseconds\tstatus\tfetched\tlanded\tquarantined\terror")
			for _, r := range runs {
				var f, l, q int64
				for _, e := range r.Entities {
					f, l, q = f+e.Fetched, l+e.Landed, q+e.Quarantined
				}
				secs := ""
				if r.FinishedAt != nil {
					secs = fmt.Sprintf("%.1f", r.FinishedAt.Sub(r.StartedAt).Seconds())
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.RunID, r.StartedAt.Format("2006-01-02 15:04:05"), secs, r.Status, f, l, q, clipText(r.Error, 80))
			}
			tw.Flush()
			fmt.Fprintln(a.stdout, "\nwatermarks (every version updated before is in the raw layer):")
			tw = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			wms := l.Watermarks()
			for _, e := range slices.Sorted(maps.Keys(wms)) {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", e, wms[e].At.Format(time.RFC3339), wms[e].RunID)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&n, "runs", 10, "how many recent runs to show")
	return cmd
}

func clipText(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
