// Package cli is hlwarn's command line: commands and flags, configuration
// loading, and the wiring of the packages below it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// app carries what every command needs: the streams, the configuration and
// the logger. Flags set their value into cfg only when given.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	cfgPath        string
	bindings       []binding
	cfg            Config
	log            *slog.Logger
}

// binding applies one flag's value to the configuration when the flag was
// given. Several commands may declare a flag of one name; each binding
// belongs to its own.
type binding struct {
	flag  *pflag.Flag
	apply func(*Config)
}

// Run executes hlwarn with args and returns the process exit code. Ctrl-C
// and SIGTERM cancel the context, which interrupts the running job.
func Run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: stdout, stderr: stderr, getenv: os.Getenv}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "hlwarn: %v\n", err)
		if errors.Is(err, context.Canceled) {
			return 130
		}
		return 1
	}
	return 0
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "hlwarn",
		Short: "Customs enforcement and integrity risk warnings (HL2008) from the risk-management platform",
		Long: `hlwarn extracts the customs risk-management platform's data every night, builds
fact tables and graded warning marts in DuckDB, and publishes them for BI tools,
the daily prompts and the quarterly performance evaluation.

Run "hlwarn demo" to see the whole job on the embedded simulator.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.configure(cmd)
		},
	}
	root.PersistentFlags().StringVar(&a.cfgPath, "config", "", "YAML configuration file (see hlwarn.example.yaml)")
	a.stringFlag(root, true, "data", "data folder (raw lake, warehouse, marts, ledger)", func(c *Config) *string { return &c.Data })
	a.stringFlag(root, true, "log-level", "log level: debug, info, warn or error", func(c *Config) *string { return &c.Log.Level })
	root.AddCommand(a.demoCommand(), a.extractCommand(), a.transformCommand(), a.statusCommand(), a.lineageCommand(), a.configCommand(), a.simulateCommand(), a.rulesCommand(), a.evaluateCommand())
	return root
}

// stringFlag declares a flag that overrides a string setting when given.
func (a *app) stringFlag(cmd *cobra.Command, persistent bool, name, usage string, field func(*Config) *string) {
	fs := cmd.Flags()
	if persistent {
		fs = cmd.PersistentFlags()
	}
	v := fs.String(name, "", usage)
	a.bindings = append(a.bindings, binding{fs.Lookup(name), func(c *Config) { *field(c) = *v }})
}

// intFlag declares a flag that overrides an int setting when given.
func (a *app) intFlag(cmd *cobra.Command, name, usage string, field func(*Config) *int) {
	v := cmd.Flags().Int(name, 0, usage)
	a.bindings = append(a.bindings, binding{cmd.Flags().Lookup(name), func(c *Config) { *field(c) = *v }})
}

// configure layers the configuration: defaults, the file, the flags given,
// then HLWARN_* variables; and sets up logging.
func (a *app) configure(cmd *cobra.Command) error {
	cfg, err := loadConfigFile(a.cfgPath)
	if err != nil {
		return err
	}
	for _, b := range a.bindings {
		if f := cmd.Flags().Lookup(b.flag.Name); f == b.flag && f.Changed {
			b.apply(&cfg)
		}
	}
	if err := cfg.applyEnv(a.getenv); err != nil {
		return err
	}
	a.cfg = cfg
	a.log, err = newLogger(a.stderr, cfg.Log)
	return err
}

func newLogger(w io.Writer, c LogConfig) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", c.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.Format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: use text or json", c.Format)
}
