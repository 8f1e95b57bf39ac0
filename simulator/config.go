// Package simulator generates a believable customs district, deterministic
// by seed, and serves it through the risk-management platform's API
// (platform-api.md) with optional fault injection. It plants anomalies and
// records them, with the background rate's accidental breaches, as ground
// truth for evaluating the warnings. Production code paths never import it
// except the demo and simulate commands.
package simulator

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/schemas/calendar"
)

// Scale is the size of the simulated customs administration.
type Scale struct {
	Name          string
	DirectCustoms int // 直属海关
	SubsPerDirect int // 隶属海关 under each direct customs
	Officers      int // officers in all, about
	Enterprises   int
	DeclsPerDay   int // declarations accepted per working day, about
}

// Scales are the presets of DESIGN.md.
var Scales = map[string]Scale{
	"small":    {Name: "small", DirectCustoms: 1, SubsPerDirect: 1, Officers: 90, Enterprises: 400, DeclsPerDay: 1000},
	"district": {Name: "district", DirectCustoms: 1, SubsPerDirect: 6, Officers: 600, Enterprises: 5000, DeclsPerDay: 20000},
	"national": {Name: "national", DirectCustoms: 12, SubsPerDirect: 6, Officers: 9000, Enterprises: 75000, DeclsPerDay: 300000},
}

// Config sets what is generated. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	Seed  uint64
	Scale string       // a key of Scales
	Start schemas.Date // first simulated day
	Days  int          // simulated days; the simulation ends at the start of Start+Days
	// BackgroundRate is the share of eligible objects that breach a limit by
	// accident (ordinary sloppiness, not planted). Each breach is ground truth.
	BackgroundRate float64
	// AnomalyRate is the share of eligible objects given a planted anomaly,
	// for rules without a rate of their own in RuleRates.
	AnomalyRate float64
	RuleRates   map[string]float64
}

// DefaultConfig is small scale over four weeks that span the 2026 Mid-Autumn
// and National Day holidays.
func DefaultConfig() Config {
	return Config{
		Seed:           20260914,
		Scale:          "small",
		Start:          schemas.MustDate("2026-09-07"),
		Days:           28,
		BackgroundRate: 0.002,
		AnomalyRate:    0.004,
	}
}

// Validate reports the first setting that cannot be simulated.
func (c Config) Validate() error {
	if _, ok := Scales[c.Scale]; !ok {
		names := make([]string, 0, len(Scales))
		for n := range Scales {
			names = append(names, n)
		}
		slices.Sort(names)
		return fmt.Errorf("unknown scale %q; use one of %s", c.Scale, strings.Join(names, ", "))
	}
	if c.Days < 1 || c.Days > 3660 {
		return fmt.Errorf("days = %d; simulate between 1 and 3660 days", c.Days)
	}
	cal := calendar.Default()
	if !cal.Covers(c.Start) || !cal.Covers(c.End()-1) {
		return fmt.Errorf("the simulated period %s..%s is not fully covered by the working-day calendar; add the year's official notice to schemas/calendar/cn_workday_calendar.csv or move --start", c.Start, c.End()-1)
	}
	for name, r := range map[string]float64{"background rate": c.BackgroundRate, "anomaly rate": c.AnomalyRate} {
		if r < 0 || r > 0.5 {
			return fmt.Errorf("%s = %g; it must be between 0 and 0.5", name, r)
		}
	}
	return nil
}

// End is the first day after the simulated period.
func (c Config) End() schemas.Date { return c.Start.AddDays(c.Days) }

// LastDay is the simulated period's last day: the as-of date of its ground truth.
func (c Config) LastDay() schemas.Date { return c.End() - 1 }

// rate is the planted-anomaly rate for rule.
func (c Config) rate(rule string) float64 {
	if r, ok := c.RuleRates[rule]; ok {
		return r
	}
	return c.AnomalyRate
}
