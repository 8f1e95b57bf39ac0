package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/simulator"
)

// Config is hlwarn's configuration: the YAML file (hlwarn.example.yaml
// documents every key), then command-line flags, then HLWARN_* environment
// variables, each overriding the one before. The zero file gives defaults
// that serve a first run.
type Config struct {
	Data      string          `yaml:"data"`
	Platform  PlatformConfig  `yaml:"platform"`
	Transform TransformConfig `yaml:"transform"`
	// Parameters override the risk parameters' defaults (sql/parameters.yaml).
	Parameters map[string]any  `yaml:"parameters"`
	Simulator  SimulatorConfig `yaml:"simulator"`
	Log        LogConfig       `yaml:"log"`
}

// TransformConfig sets the warehouse build.
type TransformConfig struct {
	// ModelsDirs are plug-in folders of extra models, loaded after sql/.
	ModelsDirs  []string `yaml:"models_dirs"`
	MemoryLimit string   `yaml:"memory_limit"` // DuckDB memory_limit; "" is 60 % of RAM
	Threads     int      `yaml:"threads"`      // DuckDB threads; 0 is the number of cores
	KeepBuilds  int      `yaml:"keep_builds"`  // published builds kept beside current
}

// PlatformConfig says where the risk-management platform is and how to talk to it.
type PlatformConfig struct {
	URL           string   `yaml:"url"`
	TokenFile     string   `yaml:"token_file"`
	Timeout       Duration `yaml:"timeout"`
	Retries       int      `yaml:"retries"`
	MaxRetryAfter Duration `yaml:"max_retry_after"`
	// token is read from TokenFile or HLWARN_PLATFORM_TOKEN, never from YAML.
	token string
}

// SimulatorConfig sets the embedded simulator used by demo and simulate.
type SimulatorConfig struct {
	Scale          string  `yaml:"scale"`
	Days           int     `yaml:"days"`
	Seed           uint64  `yaml:"seed"`
	Start          string  `yaml:"start"`
	BackgroundRate float64 `yaml:"background_rate"`
	AnomalyRate    float64 `yaml:"anomaly_rate"`
}

// LogConfig sets the log level (debug, info, warn, error) and format (text, json).
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Duration is a time.Duration written as "60s" or "2m" in YAML.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"'`)
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 60s or 2m", s)
	}
	*d = Duration(v)
	return nil
}

// DefaultConfig is the configuration of a first run with no file.
func DefaultConfig() Config {
	sim := simulator.DefaultConfig()
	return Config{
		Data: "data",
		Platform: PlatformConfig{
			Timeout: Duration(60 * time.Second), Retries: 8, MaxRetryAfter: Duration(60 * time.Second),
		},
		Simulator: SimulatorConfig{
			Scale: sim.Scale, Days: sim.Days, Seed: sim.Seed, Start: sim.Start.String(),
			BackgroundRate: sim.BackgroundRate, AnomalyRate: sim.AnomalyRate,
		},
		Transform: TransformConfig{KeepBuilds: 7},
		Log:       LogConfig{Level: "info", Format: "text"},
	}
}

// loadConfigFile reads path over the defaults; unknown keys are errors, so a
// typo does not silently fall back to a default.
func loadConfigFile(path string) (Config, error) {
	cfg := DefaultConfig()
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("reading config: %w", err)
	}
	if err := yaml.NewDecoder(bytes.NewReader(b), yaml.Strict()).Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %s", path, yaml.FormatError(err, false, true))
	}
	return cfg, nil
}

// applyEnv lets HLWARN_* variables override the file and the flags.
func (c *Config) applyEnv(getenv func(string) string) error {
	str := map[string]*string{
		"HLWARN_DATA":                &c.Data,
		"HLWARN_PLATFORM_URL":        &c.Platform.URL,
		"HLWARN_PLATFORM_TOKEN_FILE": &c.Platform.TokenFile,
		"HLWARN_PLATFORM_TOKEN":      &c.Platform.token,
		"HLWARN_LOG_LEVEL":           &c.Log.Level,
		"HLWARN_LOG_FORMAT":          &c.Log.Format,
		"HLWARN_SIM_SCALE":           &c.Simulator.Scale,
		"HLWARN_SIM_START":           &c.Simulator.Start,
	}
	for k, p := range str {
		if v := getenv(k); v != "" {
			*p = v
		}
	}
	if v := getenv("HLWARN_SIM_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("HLWARN_SIM_DAYS=%q is not a whole number of days", v)
		}
		c.Simulator.Days = n
	}
	if v := getenv("HLWARN_SIM_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("HLWARN_SIM_SEED=%q is not a non-negative integer", v)
		}
		c.Simulator.Seed = n
	}
	return nil
}

// Token returns the platform token: HLWARN_PLATFORM_TOKEN if set, else the
// token file's first line.
func (c *Config) Token() (string, error) {
	if c.Platform.token != "" {
		return c.Platform.token, nil
	}
	if c.Platform.TokenFile == "" {
		return "", errors.New("no platform token: set --platform-token-file (or platform.token_file) or HLWARN_PLATFORM_TOKEN")
	}
	b, err := os.ReadFile(c.Platform.TokenFile)
	if err != nil {
		return "", fmt.Errorf("reading the platform token file: %w", err)
	}
	tok := strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	if tok == "" {
		return "", fmt.Errorf("the platform token file %s is empty", c.Platform.TokenFile)
	}
	return tok, nil
}

// SimConfig turns the simulator settings into a validated simulator.Config.
func (c *Config) SimConfig() (simulator.Config, error) {
	start, err := schemas.ParseDate(c.Simulator.Start)
	if err != nil {
		return simulator.Config{}, fmt.Errorf("simulator start: %w", err)
	}
	sc := simulator.Config{
		Seed: c.Simulator.Seed, Scale: c.Simulator.Scale, Start: start, Days: c.Simulator.Days,
		BackgroundRate: c.Simulator.BackgroundRate, AnomalyRate: c.Simulator.AnomalyRate,
	}
	return sc, sc.Validate()
}
