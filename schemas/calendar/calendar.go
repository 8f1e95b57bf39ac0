// Package calendar is the official working-day calendar of the People's
// Republic of China (国务院办公厅 notices), embedded from
// cn_workday_calendar.csv: weekends are off unless listed as workday, listed
// holidays are off. Years the file does not list follow the weekend rule only;
// Covers tells whether a date's year is listed.
package calendar

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

//go:embed cn_workday_calendar.csv
var embedded []byte

// Day is one row of the calendar file: an adjusted working day or a holiday.
type Day struct {
	Date   schemas.Date
	Kind   string // holiday or workday
	Name   string // the festival, e.g. 春节
	Source string // the notice that set it
}

// The span over which working-day indexes are precomputed.
var (
	spanFirst = schemas.MustDate("2000-01-01")
	spanLast  = schemas.MustDate("2060-12-31")
)

// Calendar answers working-day questions. It is immutable and safe to share.
type Calendar struct {
	days  []Day
	kind  map[schemas.Date]string
	years map[int]bool
	index []int32 // index[i]: working days in [spanFirst, spanFirst+i]
}

// Default is the embedded official calendar.
var Default = sync.OnceValue(func() *Calendar {
	c, err := Parse(bytes.NewReader(embedded))
	if err != nil {
		panic(fmt.Sprintf("calendar: embedded cn_workday_calendar.csv: %v", err))
	}
	return c
})

// Parse reads a calendar file with the header date,kind,name,source.
func Parse(r io.Reader) (*Calendar, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 4
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading calendar: %w", err)
	}
	if len(rows) == 0 || rows[0][0] != "date" || rows[0][1] != "kind" {
		return nil, fmt.Errorf("reading calendar: want header date,kind,name,source")
	}
	c := &Calendar{kind: map[schemas.Date]string{}, years: map[int]bool{}}
	for i, row := range rows[1:] {
		d, err := schemas.ParseDate(row[0])
		if err != nil {
			return nil, fmt.Errorf("calendar line %d: %w", i+2, err)
		}
		if row[1] != "holiday" && row[1] != "workday" {
			return nil, fmt.Errorf("calendar line %d: kind %q is neither holiday nor workday", i+2, row[1])
		}
		if _, dup := c.kind[d]; dup {
			return nil, fmt.Errorf("calendar line %d: %s listed twice", i+2, d)
		}
		c.kind[d] = row[1]
		c.years[d.Time().Year()] = true
		c.days = append(c.days, Day{Date: d, Kind: row[1], Name: row[2], Source: row[3]})
	}
	c.index = make([]int32, spanLast-spanFirst+1)
	n := int32(0)
	for d := spanFirst; d <= spanLast; d++ {
		if c.isWorkday(d) {
			n++
		}
		c.index[d-spanFirst] = n
	}
	return c, nil
}

// Days lists the calendar file's rows in file order.
func (c *Calendar) Days() []Day { return c.days }

// Covers reports whether d's year is listed in the calendar file.
func (c *Calendar) Covers(d schemas.Date) bool { return c.years[d.Time().Year()] }

// IsWorkday reports whether d is a working day.
func (c *Calendar) IsWorkday(d schemas.Date) bool {
	c.mustSpan(d)
	return c.isWorkday(d)
}

func (c *Calendar) isWorkday(d schemas.Date) bool {
	switch c.kind[d] {
	case "holiday":
		return false
	case "workday":
		return true
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Index is the number of working days from 2000-01-01 up to and including d,
// so the working days in (a, b] are Index(b) − Index(a).
func (c *Calendar) Index(d schemas.Date) int {
	c.mustSpan(d)
	return int(c.index[d-spanFirst])
}

// NextWorkday is d if it is a working day, else the first working day after
// it: where a calendar-day limit that ends on a day off moves to.
func (c *Calendar) NextWorkday(d schemas.Date) schemas.Date {
	for !c.IsWorkday(d) {
		d++
	}
	return d
}

// AddWorkdays is the n-th working day after d (d itself not counted), n ≥ 1.
func (c *Calendar) AddWorkdays(d schemas.Date, n int) schemas.Date {
	target := c.Index(d) + n
	for d++; c.Index(d) < target; d++ {
	}
	return d
}

// WorkdaysBetween counts the working days in (a, b]; negative when b < a.
func (c *Calendar) WorkdaysBetween(a, b schemas.Date) int { return c.Index(b) - c.Index(a) }

func (c *Calendar) mustSpan(d schemas.Date) {
	if d < spanFirst || d > spanLast {
		panic(fmt.Sprintf("calendar: %s is outside %s..%s", d, spanFirst, spanLast))
	}
}
