package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/transforms"
)

// Expected is one warning the ground truth says the rules should raise.
type Expected struct {
	RuleID    string
	ObjectKey string
	Period    string // the quarter or month a counted rule is about; "" for one object
	Colour    string // "" when the rule grades no colour (module V)
}

// Raised is one warning (or non-matching voucher check) in the published
// facts.
type Raised struct {
	RuleID    string
	ObjectKey string
	Period    string
	Colour    string
}

// RuleScore compares one rule's raised warnings with the ground truth.
type RuleScore struct {
	RuleID       string
	Truth        int // warnings the truth expects
	Raised       int // warnings the rules raised
	Matched      int // raised and expected (same rule and object)
	ColourAgreed int // matched with the same colour
}

// Precision is matched / raised; 1 when nothing was raised.
func (s RuleScore) Precision() float64 { return ratio(s.Matched, s.Raised) }

// Recall is matched / expected; 1 when nothing was expected.
func (s RuleScore) Recall() float64 { return ratio(s.Matched, s.Truth) }

// ColourAgreement is the share of matched warnings graded as the truth grades them.
func (s RuleScore) ColourAgreement() float64 { return ratio(s.ColourAgreed, s.Matched) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// Evaluation is the comparison of a build's warnings with a ground truth.
type Evaluation struct {
	Build string
	AsOf  schemas.Date
	Rules []RuleScore // by rule id
	// Misses and FalseAlarms name a few objects per rule, for a first look.
	Misses, FalseAlarms map[string][]string
}

// warningSources are the published tables evaluate reads, with the query
// that turns each into (rule, object, colour). Voucher checks count as
// module V's warnings when the outcome calls for a check by the taxpayer.
var warningSources = map[string]string{
	"fact_deadline_breach":      "SELECT rule_id, object_key, period, colour FROM fact_deadline_breach",
	"fact_procedure_deviation":  "SELECT rule_id, object_key, period, colour FROM fact_procedure_deviation",
	"fact_relationship_anomaly": "SELECT rule_id, object_key, period, colour FROM fact_relationship_anomaly",
	"fact_voucher_check":        "SELECT 'V', check_id, '', '' FROM fact_voucher_check WHERE outcome IN ('mismatch', 'duplicate', 'missing')",
}

// ReadWarnings reads the warnings of the data folder's current build.
func ReadWarnings(ctx context.Context, dataDir string) (build string, asOf schemas.Date, out []Raised, err error) {
	cur := filepath.Join(dataDir, "marts", "current")
	file := filepath.Join(cur, "marts.duckdb")
	if _, err := os.Stat(file); err != nil {
		return "", 0, nil, fmt.Errorf("no published build in %s: run hlwarn transform --as-of D first (%v)", dataDir, err)
	}
	db, err := sql.Open("duckdb", file+"?access_mode=read_only")
	if err != nil {
		return "", 0, nil, err
	}
	defer db.Close()
	tables := map[string]bool{}
	rows, err := db.QueryContext(ctx, "SELECT table_name FROM information_schema.tables")
	if err != nil {
		return "", 0, nil, fmt.Errorf("reading %s: %w", file, err)
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return "", 0, nil, err
		}
		tables[t] = true
	}
	rows.Close()
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(warningSources)) {
		if tables[t] {
			parts = append(parts, warningSources[t])
		}
	}
	if len(parts) == 0 {
		return "", 0, nil, fmt.Errorf("the build in %s publishes no rule facts; is the project's sql/rules/ empty?", cur)
	}
	rows, err = db.QueryContext(ctx, strings.Join(parts, " UNION ALL "))
	if err != nil {
		return "", 0, nil, fmt.Errorf("reading the warnings of %s: %w", file, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Raised
		var colour sql.NullString
		if err := rows.Scan(&r.RuleID, &r.ObjectKey, &r.Period, &colour); err != nil {
			return "", 0, nil, err
		}
		r.Colour = colour.String
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return "", 0, nil, err
	}
	info, err := transforms.ReadBuildInfo(cur)
	if err != nil {
		return "", 0, nil, err
	}
	return info.Build, info.AsOf, out, nil
}

// warningKey identifies a warning for scoring.
type warningKey struct{ rule, object, period string }

// label names the warning's object in a report.
func (k warningKey) label() string {
	if k.period == "" {
		return k.object
	}
	return k.object + " (" + k.period + ")"
}

// Score compares raised warnings with the expected ones, per rule: a
// warning matches when rule, object and period agree. A rule
// appears if either side has it; rules lists rules to show even with
// neither (a rule of the catalogue nothing was planted for).
func Score(expected []Expected, raised []Raised, rules []string) Evaluation {
	want := map[warningKey]string{}
	for _, e := range expected {
		want[warningKey{e.RuleID, e.ObjectKey, e.Period}] = e.Colour
	}
	got := map[warningKey]string{}
	for _, r := range raised {
		got[warningKey{r.RuleID, r.ObjectKey, r.Period}] = r.Colour
	}
	scores := map[string]*RuleScore{}
	score := func(rule string) *RuleScore {
		if scores[rule] == nil {
			scores[rule] = &RuleScore{RuleID: rule}
		}
		return scores[rule]
	}
	for _, r := range rules {
		score(r)
	}
	compareKeys := func(a, b warningKey) int {
		return cmp.Or(cmp.Compare(a.rule, b.rule), cmp.Compare(a.object, b.object), cmp.Compare(a.period, b.period))
	}
	ev := Evaluation{Misses: map[string][]string{}, FalseAlarms: map[string][]string{}}
	for _, k := range slices.SortedFunc(maps.Keys(want), compareKeys) {
		s := score(k.rule)
		s.Truth++
		colour, ok := got[k]
		switch {
		case !ok:
			if len(ev.Misses[k.rule]) < 5 {
				ev.Misses[k.rule] = append(ev.Misses[k.rule], k.label())
			}
		default:
			s.Matched++
			if colour == want[k] {
				s.ColourAgreed++
			}
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(got), compareKeys) {
		s := score(k.rule)
		s.Raised++
		if _, ok := want[k]; !ok && len(ev.FalseAlarms[k.rule]) < 5 {
			ev.FalseAlarms[k.rule] = append(ev.FalseAlarms[k.rule], k.label())
		}
	}
	for _, r := range slices.Sorted(maps.Keys(scores)) {
		ev.Rules = append(ev.Rules, *scores[r])
	}
	return ev
}
