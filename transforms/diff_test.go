package transforms_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hlwarn/hlwarn/transforms"
)

// diffProbes are keyed models over the enterprises whose scopes name the
// records diff.enterprises says changed in one column: the USCC, or the
// credit class. Each row says the as-of date it was evaluated on.
func diffProbes() fstest.MapFS {
	probe := func(column string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(`/* ---
kind: keyed
unique_key: ent_code
scope: |
  SELECT ent_code FROM diff.enterprises WHERE ` + column + `
--- */
SELECT e.ent_code, getvariable('as_of') AS evaluated_on
FROM stg_enterprises AS e
JOIN scope ON scope.key = e.ent_code
`)}
	}
	return fstest.MapFS{"marts/probe_uscc.sql": probe("uscc"), "marts/probe_credit.sql": probe("credit_class")}
}

// TestDiffNamesTheColumnsThatChanged lands, on top of the test lake, an
// enterprise's new credit class (A), a new USCC (B), a version that changes
// nothing but its time (C), a credit class taken away (D, a value to NULL),
// a new enterprise (E) and a tombstone (F). diff.enterprises must name, for
// each column, exactly the records whose value of it changed between the
// staging rows before and after the night, counting a record that came or
// went as changed in every column; and the four models whose scopes follow
// the taxpayer's enterprise by its USCC through it (fact_voucher_check,
// A05, A06, A23) must, after the night, hold what a full evaluation holds,
// with B's vouchers no longer mapped to B.
func TestDiffNamesTheColumnsThatChanged(t *testing.T) {
	t.Parallel()
	dir := freshDataDir(t)
	days := lakeDays()
	prev, night := days[len(days)-3], days[len(days)-2]
	followers := []string{"fact_voucher_check", "rule_a05_arrears_unenforced", "rule_a06_deferral_irregular", "rule_a23_inquiry_unanswered"}
	sel := []string{"+probe_uscc", "+probe_credit"}
	for _, m := range followers {
		sel = append(sel, "+"+m)
	}
	p := loadProject(t, diffProbes())
	e := openEngine(t, p, dir, 0)
	run(t, e, transforms.RunOptions{AsOf: prev, Select: sel})
	e.Close()

	enterprises := func() map[string][2]string { // ent_code → uscc, credit class
		out := map[string][2]string{}
		for _, r := range queryStrings(t, warehouse(dir), "SELECT ent_code, coalesce(uscc, '∅'), coalesce(credit_class, '∅') FROM stg_enterprises") {
			f := strings.Split(r, "|")
			out[f[0]] = [2]string{f[1], f[2]}
		}
		return out
	}
	before := enterprises()
	// Enterprises that pay taxes, the busiest first: B's vouchers must
	// reach the followers' rows.
	payers := queryStrings(t, warehouse(dir), `SELECT e.ent_code, e.uscc FROM stg_enterprises AS e
JOIN stg_tax_vouchers AS v ON v.taxpayer_uscc = e.uscc
WHERE e.credit_class IS NOT NULL
  AND e.uscc IN (SELECT taxpayer_uscc FROM stg_voucher_checks)
GROUP BY ALL ORDER BY count(*) DESC, e.ent_code LIMIT 5`)
	if len(payers) < 5 {
		t.Fatalf("%d enterprises pay taxes and submit voucher checks; the test needs 5", len(payers))
	}
	pick := func(i int) (ent, uscc string) {
		f := strings.Split(payers[i], "|")
		return f[0], f[1]
	}
	a, _ := pick(0)
	b, bUscc := pick(1)
	c, _ := pick(2)
	d, _ := pick(3)
	f, _ := pick(4)
	bRows := fmt.Sprintf("SELECT count(*) FROM fact_voucher_check WHERE ent_code = '%s'", b)
	if n := queryStrings(t, warehouse(dir), bRows)[0]; n == "0" {
		t.Fatalf("B (%s) has no voucher check; the test needs some", b)
	}
	landed := night.Time().Add(24*time.Hour - time.Second)
	one := func(ent string) string { return "ent_code = '" + ent + "'" }
	other := "CASE WHEN credit_class = 'dishonest' THEN 'general' ELSE 'dishonest' END AS credit_class"
	craftVersion(t, dir, "enterprises", one(a), other, night, landed)
	craftVersion(t, dir, "enterprises", one(b), "'91000000CRAFTEDB00' AS uscc", night, landed)
	craftVersion(t, dir, "enterprises", one(c), "credit_class AS credit_class", night, landed)
	craftVersion(t, dir, "enterprises", one(d), "CAST(NULL AS VARCHAR) AS credit_class", night, landed)
	craftVersion(t, dir, "enterprises", one(a), "'CRAFTEDE00' AS ent_code, '91000000CRAFTEDE00' AS uscc", night, landed)
	craftVersion(t, dir, "enterprises", one(f), "true AS deleted", night, landed)

	e = openEngine(t, p, dir, 0)
	res := run(t, e, transforms.RunOptions{AsOf: night, Select: sel})
	e.Close()
	after := enterprises()
	if _, ok := after["CRAFTEDE00"]; !ok {
		t.Fatal("the crafted enterprise E did not land")
	}
	evaluated := map[string]int64{}
	for _, m := range res.Models {
		evaluated[m.Model] = m.Evaluated
	}
	got := nightTables(t, dir, followers)
	for i, probe := range []string{"probe_uscc", "probe_credit"} {
		// What changed in the column, from the staging rows themselves.
		var want, gone []string
		for ent := range before {
			if _, ok := after[ent]; !ok {
				gone = append(gone, ent)
			}
		}
		for ent, v := range after {
			if w, ok := before[ent]; !ok || w[i] != v[i] {
				want = append(want, ent)
			}
		}
		slices.Sort(want)
		named := queryStrings(t, warehouse(dir), fmt.Sprintf("SELECT ent_code FROM %s WHERE evaluated_on = DATE '%s' ORDER BY ent_code", probe, night))
		if !slices.Equal(named, want) {
			t.Errorf("%s evaluated %v on the night; the records whose value changed are %v", probe, named, want)
		}
		if n := evaluated[probe]; n != int64(len(want)+len(gone)) {
			t.Errorf("%s's scope held %d records; want the %d changed and the %d deleted (%v)", probe, n, len(want), len(gone), gone)
		}
	}
	for _, x := range []struct {
		ent   string
		uscc  bool
		creds bool
	}{{a, false, true}, {b, true, false}, {c, false, false}, {d, false, true}, {"CRAFTEDE00", true, true}} {
		for probe, want := range map[string]bool{"probe_uscc": x.uscc, "probe_credit": x.creds} {
			was := queryStrings(t, warehouse(dir), fmt.Sprintf("SELECT count(*) FROM %s WHERE ent_code = '%s' AND evaluated_on = DATE '%s'", probe, x.ent, night))[0] == "1"
			if was != want {
				t.Errorf("%s evaluated %s on the night: %v; want %v", probe, x.ent, was, want)
			}
		}
	}

	if n := queryStrings(t, warehouse(dir), bRows)[0]; n != "0" {
		t.Errorf("after B's USCC changed, %s voucher checks still name B; want none (their USCC %s names no enterprise now)", n, bUscc)
	}
	checkEqualsFull(t, p, dir, night, sel, got, res)
}
