package cli

import (
	"fmt"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
)

func (a *app) configCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (file, flags and HLWARN_* variables applied)",
		Long:  "config prints the configuration a job would run with, as YAML. The platform token is never printed.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := yaml.Marshal(a.cfg)
			if err != nil {
				return err
			}
			fmt.Fprint(a.stdout, string(b))
			return nil
		},
	}
}

// MarshalYAML writes a duration as a Go duration string.
func (d Duration) MarshalYAML() ([]byte, error) { return []byte(time.Duration(d).String()), nil }
