package simulator

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// A period too long to simulate in memory at once (a district year) is
// simulated in pieces, each the same world further on. Cut at a piece's end
// without more, the lake would keep for ever the work that piece left in
// flight: a day or two of declarations never reviewed, released or paid,
// which every open-item rule would measure night after night. So each piece
// is simulated some days past its end (its tail), Until splits off the
// versions after the end that belong to the piece's own declarations, and
// the next piece serves them with its own (Carry): the seam then leaves
// only what a real platform would have left open.

// carriedEntities are what a declaration's own clearance makes (the day
// generator plans them with the declaration): what Until carries over a
// seam. The follow-ups (refunds, guarantees, cases, audits, ...) are not
// among them: every piece generates its own as of its own last day, back
// into the time before it, so the next piece makes them again.
var carriedEntities = []string{"declarations", "declaration_items", "declaration_events", "control_orders",
	"inspections", "modification_requests", "tax_vouchers"}

// Until splits d at end, a day inside its period: before holds every
// version dated before end, the ground truth dated before it, and a Config
// that ends there; carried holds the versions from end on of the
// declarations accepted before end and of the clearance records that name
// them (carriedEntities), for the piece that starts at end. Versions from
// end on of anything else are dropped: the declarations accepted from end
// on, and what names them, are the next piece's to simulate.
func (d *Dataset) Until(end schemas.Date) (before, carried *Dataset, err error) {
	if end <= d.Config.Start || end > d.Config.End() {
		return nil, nil, fmt.Errorf("simulator: cannot split %s–%s at %s: the day must fall inside the period", d.Config.Start, d.Config.LastDay(), end)
	}
	at := end.Time()
	cfg := d.Config
	cfg.Days = int(end - cfg.Start)
	before = &Dataset{Config: cfg, records: map[string][]Record{}}
	carried = &Dataset{Config: cfg, records: map[string][]Record{}}
	for _, t := range d.Truth {
		if t.Date < end {
			before.Truth = append(before.Truth, t)
		}
	}
	accepted := map[string]bool{}
	for _, r := range d.records["declarations"] {
		if !r.UpdatedAt.Before(at) {
			break
		}
		accepted[r.Key] = true
	}
	for _, e := range schemas.Entities() {
		recs := d.records[e.Name]
		cut, _ := slices.BinarySearchFunc(recs, at, func(r Record, t time.Time) int { return r.UpdatedAt.Compare(t) })
		before.records[e.Name] = recs[:cut:cut]
		carried.records[e.Name] = nil
		if !slices.Contains(carriedEntities, e.Name) {
			continue
		}
		// A tombstone names its key only: the key's earlier versions say
		// which declaration it belongs to.
		declOf := map[string]string{}
		for _, r := range recs {
			decl := declNoOf(e, r)
			if decl == "" {
				decl = declOf[r.Key]
			} else {
				declOf[r.Key] = decl
			}
			if !r.UpdatedAt.Before(at) && accepted[decl] {
				carried.records[e.Name] = append(carried.records[e.Name], r)
			}
		}
	}
	return before, carried, nil
}

// declNoOf is the declaration r names, "" for a tombstone that does not
// name it.
func declNoOf(e *schemas.Entity, r Record) string {
	if e.Name == "declarations" {
		return r.Key
	}
	_, rest, ok := bytes.Cut(r.JSON, []byte(`"decl_no":"`))
	if !ok {
		return ""
	}
	decl, _, ok := bytes.Cut(rest, []byte(`"`))
	if !ok {
		return ""
	}
	return string(decl)
}

// Carry is d with the versions an earlier piece carried over (Until) served
// among its own. They must fall inside d's period, and no (key, updated_at)
// may be in both.
func (d *Dataset) Carry(carried *Dataset) (*Dataset, error) {
	out := &Dataset{Config: d.Config, records: map[string][]Record{}, Truth: d.Truth}
	start, end := d.Config.Start.Time(), d.Config.End().Time()
	for name, recs := range d.records {
		out.records[name] = recs
	}
	merged := map[string][]Record{}
	for name, recs := range carried.records {
		if len(recs) == 0 {
			continue
		}
		if first, last := recs[0].UpdatedAt, recs[len(recs)-1].UpdatedAt; first.Before(start) || !last.Before(end) {
			return nil, fmt.Errorf("simulator: carried %s versions dated %s to %s fall outside the period %s–%s", name,
				first.Format(time.RFC3339), last.Format(time.RFC3339), d.Config.Start, d.Config.LastDay())
		}
		merged[name] = append(slices.Clone(d.records[name]), recs...)
	}
	if err := sortRecords(merged); err != nil {
		return nil, fmt.Errorf("simulator: carrying versions into %s–%s: %w; carry only what Until split off at this piece's first day, once", d.Config.Start, d.Config.LastDay(), err)
	}
	for name, recs := range merged {
		out.records[name] = recs
	}
	return out, nil
}
