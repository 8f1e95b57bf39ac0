// Command hlwarn is the customs enforcement and integrity risk warning pipeline.
package main

import (
	"os"

	"github.com/hlwarn/hlwarn/internal/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr)) }
