package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hlwarn/hlwarn/simulator"
	"github.com/spf13/cobra"
)

// simFlags declares the flags that shape the simulated district.
func (a *app) simFlags(cmd *cobra.Command) {
	a.intFlag(cmd, "days", "simulated days (default 28)", func(c *Config) *int { return &c.Simulator.Days })
	a.stringFlag(cmd, false, "scale", "simulated size: small, district or national (default small)", func(c *Config) *string { return &c.Simulator.Scale })
	a.stringFlag(cmd, false, "start", "first simulated day, YYYY-MM-DD (default 2026-09-07)", func(c *Config) *string { return &c.Simulator.Start })
	seed := cmd.Flags().Uint64("seed", 0, "random seed; the same seed gives the same district (default 20260914)")
	a.bindings = append(a.bindings, binding{cmd.Flags().Lookup("seed"), func(c *Config) { c.Simulator.Seed = *seed }})
}

// generate builds the simulated dataset from the configuration, logging how long it took.
func (a *app) generate() (*simulator.Dataset, error) {
	sc, err := a.cfg.SimConfig()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	ds, err := simulator.Generate(sc)
	if err != nil {
		return nil, fmt.Errorf("simulating: %w", err)
	}
	total := 0
	for _, n := range ds.Count() {
		total += n
	}
	a.log.Info("simulated district", "scale", sc.Scale, "start", sc.Start, "days", sc.Days, "seed", sc.Seed,
		"versions", total, "truth_rows", len(ds.Truth), "seconds", fmt.Sprintf("%.1f", time.Since(t0).Seconds()))
	return ds, nil
}

func (a *app) simulateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "The embedded platform simulator: serve its API, write its ground truth",
	}
	cmd.AddCommand(a.simulateServeCommand(), a.simulateTruthCommand())
	return cmd
}

func (a *app) simulateServeCommand() *cobra.Command {
	var addr string
	var faults float64
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the simulated platform's API until interrupted",
		Example: `  echo secret > platform.token
  hlwarn simulate serve --addr 127.0.0.1:8700 --platform-token-file platform.token --days 30 --faults 0.05`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			token, err := a.cfg.Token()
			if err != nil {
				return err
			}
			ds, err := a.generate()
			if err != nil {
				return err
			}
			srv, err := simulator.NewServer(ds, simulator.ServerOptions{
				Token: token, Clock: tickingClock(ds), Faults: simulator.AllFaults(faults), Logger: a.log,
			})
			if err != nil {
				return err
			}
			a.log.Info("serving the simulated platform", "addr", addr, "faults", faults)
			return srv.ListenAndServe(cmd.Context(), addr)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8700", "address to listen on")
	cmd.Flags().Float64Var(&faults, "faults", 0, "rate of each injected fault (429, 5xx, slow and cut bodies, expired cursors, repeats, bad records), 0..0.25")
	a.stringFlag(cmd, false, "platform-token-file", "file holding the bearer token clients must present", func(c *Config) *string { return &c.Platform.TokenFile })
	a.simFlags(cmd)
	return cmd
}

// tickingClock is the simulated platform's clock: it starts when every
// simulated version has become visible and runs with the wall clock.
func tickingClock(ds *simulator.Dataset) func() time.Time {
	start := ds.Config.End().Time().Add(simulator.DefaultVisibilityLag + time.Second)
	launched := time.Now()
	return func() time.Time { return start.Add(time.Since(launched)) }
}

func (a *app) simulateTruthCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "truth",
		Short: "Write the simulation's planted anomalies and background breaches (ground truth) as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ds, err := a.generate()
			if err != nil {
				return err
			}
			t := ds.GroundTruth()
			if err := t.WriteFile(out); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %d ground-truth rows as of %s to %s\n", len(t.Rows), t.AsOf, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "truth.json", "file to write")
	a.simFlags(cmd)
	return cmd
}

// randomToken is a fresh bearer token for an in-process simulator.
func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
