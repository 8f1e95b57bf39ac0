package calendar

import (
	"strings"
	"testing"

	"github.com/hlwarn/hlwarn/schemas"
)

func d(s string) schemas.Date { return schemas.MustDate(s) }

func TestWorkdays(t *testing.T) {
	t.Parallel()
	c := Default()
	cases := []struct {
		date string
		want bool
	}{
		{"2026-09-30", true},  // Wednesday before National Day
		{"2026-10-01", false}, // holiday
		{"2026-10-07", false}, // holiday
		{"2026-10-08", true},  // Thursday
		{"2026-10-10", true},  // Saturday made a working day
		{"2026-10-11", false}, // Sunday
		{"2024-02-04", true},  // Sunday made a working day (春节)
		{"2027-03-06", false}, // Saturday in a year the file does not list
	}
	for _, tc := range cases {
		if got := c.IsWorkday(d(tc.date)); got != tc.want {
			t.Errorf("IsWorkday(%s) = %v, want %v", tc.date, got, tc.want)
		}
	}
	if !c.Covers(d("2026-01-01")) || c.Covers(d("2027-01-01")) {
		t.Errorf("Covers: want 2026 listed and 2027 not")
	}
}

func TestWorkdayArithmetic(t *testing.T) {
	t.Parallel()
	c := Default()
	// 2026-09-30 (Wed) + 1 WD skips the 8-day National Day break to 2026-10-08.
	if got := c.AddWorkdays(d("2026-09-30"), 1); got != d("2026-10-08") {
		t.Errorf("AddWorkdays(2026-09-30, 1) = %s, want 2026-10-08", got)
	}
	// 10-08 Thu, 10-09 Fri, 10-10 Sat (workday), 10-12 Mon.
	if got := c.AddWorkdays(d("2026-10-08"), 3); got != d("2026-10-12") {
		t.Errorf("AddWorkdays(2026-10-08, 3) = %s, want 2026-10-12", got)
	}
	if got := c.WorkdaysBetween(d("2026-09-30"), d("2026-10-12")); got != 4 {
		t.Errorf("WorkdaysBetween = %d, want 4", got)
	}
	if got := c.NextWorkday(d("2026-10-03")); got != d("2026-10-08") {
		t.Errorf("NextWorkday(2026-10-03) = %s, want 2026-10-08", got)
	}
	if got := c.NextWorkday(d("2026-10-09")); got != d("2026-10-09") {
		t.Errorf("NextWorkday of a working day must be itself, got %s", got)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"bad kind":  "date,kind,name,source\n2026-01-01,party,x,y\n",
		"bad date":  "date,kind,name,source\n2026-13-01,holiday,x,y\n",
		"duplicate": "date,kind,name,source\n2026-01-01,holiday,x,y\n2026-01-01,holiday,x,y\n",
		"no header": "2026-01-01,holiday,x,y\n",
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%s: Parse accepted %q", name, in)
		}
	}
}
