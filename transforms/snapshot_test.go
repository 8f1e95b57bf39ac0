package transforms_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/transforms"
)

// TestSnapshotTakesLateVersions: a transform as of a day that runs before
// the day's last versions have landed builds its snapshots from part of
// the day; the next day's merge must take those versions when they land
// (older than the snapshot's date, but landed after it), so the carried
// snapshots equal ones rebuilt from all of raw.
func TestSnapshotTakesLateVersions(t *testing.T) {
	t.Parallel()
	url, clock, setClock := nightlyPlatform(t)
	dir := t.TempDir()
	p := loadProject(t)
	e := openEngine(t, p, dir, 0)
	staging := []string{"tag:staging"}
	days := lakeDays()
	d := days[len(days)/2]
	steps := []struct {
		clock time.Time
		asOf  schemas.Date
	}{
		{d.Time().Add(-23 * time.Hour), d - 1},      // the night before: up to d−1
		{d.Time().Add(12 * time.Hour), d},           // midday: half of d landed
		{d.AddDays(1).Time().Add(time.Hour), d + 1}, // the rest of d lands only now
		{d.AddDays(3).Time().Add(time.Hour), d + 3}, // a gap of a day
	}
	for _, s := range steps {
		setClock(s.clock)
		if err := extractAt(url, dir, clock); err != nil {
			t.Fatal(err)
		}
		run(t, e, transforms.RunOptions{AsOf: s.asOf, Select: staging})
	}
	tables := []string{"stg_declarations", "stg_declaration_events", "stg_tax_vouchers", "stg_duty_roster", "stg_officers"}
	carried := map[string][]string{}
	e.Close()
	for _, tbl := range tables {
		carried[tbl] = queryStrings(t, warehouse(dir), "SELECT * FROM "+tbl+" ORDER BY ALL")
	}
	e = openEngine(t, p, dir, 0)
	defer e.Close()
	if err := e.DropIncremental(context.Background()); err != nil {
		t.Fatal(err)
	}
	run(t, e, transforms.RunOptions{AsOf: d + 3, Select: staging})
	e.Close()
	for _, tbl := range tables {
		rebuilt := queryStrings(t, warehouse(dir), "SELECT * FROM "+tbl+" ORDER BY ALL")
		if len(rebuilt) == 0 {
			t.Errorf("%s is empty", tbl)
		}
		if got := carried[tbl]; !slices.Equal(got, rebuilt) {
			t.Errorf("%s carried forward: %d rows, rebuilt: %d rows; %s", tbl, len(got), len(rebuilt), firstDiff(got, rebuilt))
		}
	}
}
