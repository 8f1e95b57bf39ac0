// Package sql holds hlwarn's SQL models, embedded: staging/, dims/, facts/,
// rules/ and marts/, one SELECT per file under a YAML header, and
// parameters.yaml, the catalogue of risk parameters.
package sql

import "embed"

// FS is the embedded models and parameter catalogue.
//
//go:embed parameters.yaml dims facts rules
var FS embed.FS
