package simulator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/hlwarn/hlwarn/schemas"
)

// Where a breach in the simulated data comes from.
const (
	Planted    = "planted"    // a deliberate anomaly, by the anomaly rate
	Background = "background" // an accidental breach, by the background rate
)

// TruthRow is one warning the pipeline should raise on the simulated data.
type TruthRow struct {
	RuleID     string       `json:"rule_id"`
	Source     string       `json:"source"`      // planted or background
	ObjectType string       `json:"object_type"` // the contract entity the rule is about, or "pair"
	ObjectKey  string       `json:"object_key"`  // that entity's key; officer_id|ent_code for a pair
	OfficerID  string       `json:"officer_id,omitempty"`
	EntCode    string       `json:"ent_code,omitempty"`
	Date       schemas.Date `json:"date"`   // the first day the warning is due
	Colour     string       `json:"colour"` // yellow, orange or red, as of the truth's as-of date
	Note       string       `json:"note,omitempty"`
	// RuleVersion is "1" unless the rule picks a version by the event date
	// (e.g. the Tariff Law's on 2024-12-01). Period is the quarter (2026Q3)
	// for rules counted over one, "" for rules about a single object.
	RuleVersion string `json:"rule_version"`
	Period      string `json:"period,omitempty"`
	WarningID   string `json:"warning_id"` // schemas.WarningID of the above
}

func compareTruth(a, b TruthRow) int {
	return cmp.Or(cmp.Compare(a.RuleID, b.RuleID), cmp.Compare(a.ObjectKey, b.ObjectKey), cmp.Compare(a.Date, b.Date))
}

// Truth is the ground-truth file: the planted anomalies and background
// breaches of one simulation, as of its last day.
type Truth struct {
	Seed  uint64       `json:"seed"`
	Scale string       `json:"scale"`
	Start schemas.Date `json:"start"`
	AsOf  schemas.Date `json:"as_of"`
	Rows  []TruthRow   `json:"rows"`
}

// GroundTruth returns the dataset's ground truth.
func (d *Dataset) GroundTruth() Truth {
	return Truth{Seed: d.Config.Seed, Scale: d.Config.Scale, Start: d.Config.Start, AsOf: d.Config.LastDay(), Rows: d.Truth}
}

// Write writes the ground truth as indented JSON.
func (t Truth) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(t)
}

// WriteFile writes the ground truth to path.
func (t Truth) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing ground truth: %w", err)
	}
	if err := t.Write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing ground truth to %s: %w", path, err)
	}
	return f.Close()
}

// deviation decides whether one object eligible for rule breaks it: planted
// at the rule's anomaly rate, otherwise by accident at the background rate.
// It returns Planted, Background or "".
func (w *World) deviation(rng *rand.Rand, rule string) string {
	u := rng.Float64()
	switch p := w.cfg.rate(rule); {
	case u < p:
		return Planted
	case u < p+w.cfg.BackgroundRate:
		return Background
	}
	return ""
}

// ReadTruthFile reads a ground-truth file written by WriteFile.
func ReadTruthFile(path string) (Truth, error) {
	var t Truth
	b, err := os.ReadFile(path)
	if err != nil {
		return t, fmt.Errorf("reading the ground truth: %w", err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("%s is no ground-truth file (hlwarn simulate truth --out FILE writes one): %w", path, err)
	}
	return t, nil
}
