package transforms_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/transforms"
)

// TestDeclarationConsigneesFollowTheirRecords lands, on top of the test
// lake, what moves a declaration in or out of int_declaration_consignees on
// a night although the declaration itself does not change: a new guarantee
// naming an old declaration no record named (X, in), a guarantee moved from
// the one declaration naming it (Y, out) to another (Z, in), a refund
// deleted that alone named its declaration (W, out); and a new consignee
// for a declaration an inspection names (V). After the night the table
// must hold those rows, and what a full evaluation holds.
func TestDeclarationConsigneesFollowTheirRecords(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	days := lakeDays()
	prev, night := days[len(days)-3], days[len(days)-2]
	const model = "int_declaration_consignees"
	sel := []string{"+" + model}
	p := loadProject(t)
	e := openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: prev, Select: sel})
	e.Close()

	// Each declaration named by one record only, with that record.
	named := `WITH names AS (
    SELECT decl_no, 'guarantees' AS entity, guarantee_no AS id FROM stg_guarantees
    UNION ALL SELECT decl_no, 'refunds', refund_id FROM stg_refunds
    UNION ALL SELECT decl_no, 'transits', transit_no FROM stg_transits
    UNION ALL SELECT decl_no, 'modification_requests', request_id FROM stg_modification_requests
    UNION ALL SELECT decl_no, 'inspections', inspection_id FROM stg_inspections)
SELECT decl_no, min(id) FROM names WHERE entity = '%s' AND decl_no IS NOT NULL
  AND decl_no NOT IN (SELECT decl_no FROM names WHERE entity <> '%[1]s' AND decl_no IS NOT NULL)
  AND decl_no IN (SELECT decl_no FROM int_declaration_consignees)
GROUP BY decl_no HAVING count(*) = 1 ORDER BY decl_no LIMIT 2`
	first := func(q string) []string { return firstRow(t, dir, q) }
	unnamed := queryStrings(t, warehouse(dir), fmt.Sprintf(`SELECT decl_no FROM stg_declarations
WHERE decl_no NOT IN (SELECT decl_no FROM %s) AND updated_at < TIMESTAMPTZ '%s 00:00:00+08:00' ORDER BY decl_no LIMIT 2`, model, prev))
	if len(unnamed) < 2 {
		t.Fatal("the test needs two old declarations no record names")
	}
	x, z := unnamed[0], unnamed[1]
	y := first(fmt.Sprintf(named, "guarantees"))
	w := first(fmt.Sprintf(named, "refunds"))
	v := first(fmt.Sprintf(named, "inspections"))
	consignee := func(decl string) string {
		return strings.Join(queryStrings(t, warehouse(dir), fmt.Sprintf("SELECT coalesce(consignee_code, '∅') FROM %s WHERE decl_no = '%s'", model, decl)), ",")
	}
	for _, decl := range []string{y[0], w[0], v[0]} {
		if consignee(decl) == "" {
			t.Fatalf("%s has no row before the night; the test needs one", decl)
		}
	}
	landed := night.Time().Add(24*time.Hour - time.Second)
	craftVersion(t, dir, "guarantees", "guarantee_no = '"+y[1]+"'", fmt.Sprintf("'CRAFTED-G1' AS guarantee_no, '%s' AS decl_no", x), night, landed)
	craftVersion(t, dir, "guarantees", "guarantee_no = '"+y[1]+"'", fmt.Sprintf("'%s' AS decl_no", z), night, landed)
	craftVersion(t, dir, "refunds", "refund_id = '"+w[1]+"'", "true AS deleted", night, landed)
	craftVersion(t, dir, "declarations", "decl_no = '"+v[0]+"'", "'9999999999' AS consignee_code", night, landed)

	e = openEngine(t, p, dir, 0)
	res := run(t, e, transforms.RunOptions{AsOf: night, Select: sel})
	e.Close()
	got := nightTables(t, dir, []string{model})
	for _, c := range []struct{ what, decl string }{{"X, named by a new guarantee,", x}, {"Z, the guarantee's new declaration,", z}} {
		if consignee(c.decl) == "" {
			t.Errorf("%s %s has no row after the night", c.what, c.decl)
		}
	}
	for _, c := range []struct{ what, decl string }{{"Y, left by its guarantee,", y[0]}, {"W, whose refund was deleted,", w[0]}} {
		if row := consignee(c.decl); row != "" {
			t.Errorf("%s %s still has a row (%s) after the night", c.what, c.decl, row)
		}
	}
	if row := consignee(v[0]); row != "9999999999" {
		t.Errorf("V %s, given a new consignee, holds %q; want 9999999999", v[0], row)
	}
	checkEqualsFull(t, p, dir, night, sel, got, res)
}
