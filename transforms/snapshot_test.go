package transforms_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
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

// TestStateClustered: the declaration events' state is kept sorted by step
// (then version time), so a model reading one step skips the others' row
// groups. The nightly merges append at the end; once the appended rows
// pass a tenth of the sorted ones, a merge sorts the state again. Either
// way every row but the unsorted tail is in order, and the merges change
// no content (TestSnapshotTakesLateVersions).
func TestStateClustered(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	p := loadProject(t)
	days := lakeDays()
	staging := []string{"stg_declaration_events"}
	clustered := func() (sorted, appended int64) {
		t.Helper()
		rows := queryStrings(t, warehouse(dir), "SELECT sorted_rows || '|' || appended FROM _hlwarn.clustered WHERE model = 'stg_declaration_events'")
		if len(rows) != 1 {
			t.Fatalf("_hlwarn.clustered holds %d rows for stg_declaration_events, want 1", len(rows))
		}
		if _, err := fmt.Sscanf(strings.ReplaceAll(rows[0], "|", " "), "%d %d", &sorted, &appended); err != nil {
			t.Fatal(err)
		}
		return sorted, appended
	}
	// Out of order: rows (by row id, less the unsorted tail) whose step
	// and time come before the previous row's.
	unordered := func(tail int64) []string {
		t.Helper()
		return queryStrings(t, warehouse(dir), fmt.Sprintf(`SELECT count(*) FROM (
  SELECT step, updated_at, lag(step) OVER w AS ps, lag(updated_at) OVER w AS pu, row_number() OVER w AS n, count(*) OVER () AS total
  FROM _hlwarn.state_declaration_events WINDOW w AS (ORDER BY rowid))
WHERE n <= total - %d AND (step < ps OR (step = ps AND updated_at < pu))`, tail))
	}
	first := days[len(days)/3]
	e := openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: first, Select: staging})
	e.Close()
	sorted0, appended := clustered()
	if appended != 0 || sorted0 == 0 {
		t.Fatalf("after a rebuild: %d sorted rows, %d appended; want all sorted", sorted0, appended)
	}
	if got := unordered(0); got[0] != "0" {
		t.Fatalf("after a rebuild %s rows are out of (step, updated_at) order", got[0])
	}
	resorted := false
	for d := first + 1; d <= days[len(days)-1]; d++ {
		e := openEngine(t, p, dir, 0)
		run(t, e, transforms.RunOptions{AsOf: d, Select: staging})
		e.Close()
		sorted, appended := clustered()
		if float64(appended) > 0.1*float64(sorted) {
			t.Fatalf("as of %s: %d rows appended to %d sorted, more than a tenth; the merge should have sorted them", d, appended, sorted)
		}
		if got := unordered(appended); got[0] != "0" {
			t.Fatalf("as of %s: %s rows before the %d appended are out of order", d, got[0], appended)
		}
		resorted = resorted || sorted > sorted0
	}
	if !resorted {
		t.Errorf("no merge over %d days sorted the state again", days[len(days)-1]-first)
	}
}
