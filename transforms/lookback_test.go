package transforms_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/transforms"
)

// lookbackModel counts refunds accepted per day over the missing days of
// a five-day window.
const lookbackModel = `/* ---
kind: incremental
partition_by: day
lookback: 5
--- */
SELECT CAST(t.d AS DATE) AS day, count(r.refund_id) AS accepted
FROM range(getvariable('partition_from'), getvariable('as_of') + INTERVAL 1 DAY, INTERVAL 1 DAY) AS t(d)
LEFT JOIN stg_refunds AS r ON r.accepted_on = CAST(t.d AS DATE)
GROUP BY ALL
`

// TestLookbackFillsWindow checks that an incremental model with a lookback
// builds every missing day of its window on the first run, then only the
// new day (an earlier day's late refund is not counted again: that day is
// done), and that a gap of missed nights is filled on the next run.
func TestLookbackFillsWindow(t *testing.T) {
	t.Parallel()
	p, err := loadFolder(t, map[string]string{"marts/daily.sql": lookbackModel})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	refunds := filepath.Join(dir, "raw.refunds.csv")
	csv := "refund_id,accepted_on,updated_at\n" +
		"R1,2026-09-06,2026-09-06T10:00:00+08:00\n" +
		"R2,2026-09-08,2026-09-08T10:00:00+08:00\n" +
		"R3,2026-09-10,2026-09-10T10:00:00+08:00\n" +
		"R4,2026-09-11,2026-09-11T10:00:00+08:00\n" +
		"R5,2026-09-08,2026-09-11T11:00:00+08:00\n" + // lands after 09-08 was done
		"R6,2026-09-14,2026-09-14T10:00:00+08:00\n"
	if err := os.WriteFile(refunds, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(dates ...string) []string {
		t.Helper()
		var asOf []schemas.Date
		for _, d := range dates {
			asOf = append(asOf, schemas.MustDate(d))
		}
		tab, err := p.RunFixture(context.Background(), &transforms.Fixture{Dir: dir, Model: "daily", AsOf: asOf, Inputs: map[string]string{"raw.refunds": refunds}})
		if err != nil {
			t.Fatal(err)
		}
		return tab.Rows
	}
	first := run("2026-09-10")
	if want := []string{"2026-09-06,1", "2026-09-07,0", "2026-09-08,1", "2026-09-09,0", "2026-09-10,1"}; !slices.Equal(first, want) {
		t.Errorf("after the first run: %v; want the five days of the window %v", first, want)
	}
	nightly := run("2026-09-10", "2026-09-11", "2026-09-14")
	want := []string{"2026-09-06,1", "2026-09-07,0", "2026-09-08,1", "2026-09-09,0", "2026-09-10,1", "2026-09-11,1",
		"2026-09-12,0", "2026-09-13,0", "2026-09-14,1"}
	if !slices.Equal(nightly, want) {
		t.Errorf("after nights 09-10, 09-11 and 09-14: %v; want %v (09-12 and 09-13 filled, 09-08 kept)", nightly, want)
	}
}

// TestLookbackNeedsPartitionFrom checks that a lookback model that cannot
// compute a range of days is refused at load time.
func TestLookbackNeedsPartitionFrom(t *testing.T) {
	t.Parallel()
	bad := strings.Replace(lookbackModel, "getvariable('partition_from')", "getvariable('as_of')", 1)
	_, err := loadFolder(t, map[string]string{"marts/daily.sql": bad})
	if err == nil || !strings.Contains(err.Error(), "marts/daily.sql") || !strings.Contains(err.Error(), "partition_from") {
		t.Errorf("load: %v; want an error naming the file and partition_from", err)
	}
	_, err = loadFolder(t, map[string]string{"marts/t.sql": "/* ---\nkind: table\nlookback: 3\n--- */\nSELECT 1 AS x\n"})
	if err == nil || !strings.Contains(err.Error(), "lookback are for incremental models") {
		t.Errorf("lookback on a table: %v", err)
	}
}
