package simulator

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// declNoDecoded is the declaration a version names, read by the contract's
// decoder (Until reads it from the bytes), "" when it names none.
func declNoDecoded(t *testing.T, e *schemas.Entity, r Record) string {
	t.Helper()
	if e.Name == "declarations" {
		return r.Key
	}
	rec, err := e.Decode(r.JSON)
	if err != nil {
		t.Fatalf("%s %s: %v", e.Name, r.Key, err)
	}
	f := reflect.ValueOf(rec).Elem().FieldByName("DeclNo")
	if !f.IsValid() {
		t.Fatalf("%s has a decl_no field but its struct no DeclNo", e.Name)
	}
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return ""
		}
		f = f.Elem()
	}
	return f.String()
}

func TestUntilCarriesTheSeamsWorkInFlight(t *testing.T) {
	ds, err := serverDataset()
	if err != nil {
		t.Fatal(err)
	}
	end := ds.Config.Start.AddDays(14)
	at := end.Time()
	before, carried, err := ds.Until(end)
	if err != nil {
		t.Fatal(err)
	}
	if before.Config.End() != end || before.Config.Start != ds.Config.Start {
		t.Errorf("before's period is %s–%s, want %s to the day before %s", before.Config.Start, before.Config.LastDay(), ds.Config.Start, end)
	}
	for _, tr := range before.Truth {
		if tr.Date >= end {
			t.Fatalf("before keeps truth dated %s", tr.Date)
		}
	}
	accepted := map[string]bool{}
	for _, r := range ds.Records("declarations") {
		if r.UpdatedAt.Before(at) {
			accepted[r.Key] = true
		}
	}
	var kept, carriedN, dropped int
	for _, e := range schemas.Entities() {
		all, b, c := ds.Records(e.Name), before.Records(e.Name), carried.Records(e.Name)
		var wantBefore, wantCarried int
		declOf := map[string]string{}
		for _, r := range all {
			decl := ""
			if slices.Contains(carriedEntities, e.Name) {
				if decl = declNoDecoded(t, e, r); decl == "" {
					decl = declOf[r.Key]
				}
				declOf[r.Key] = decl
			}
			switch {
			case r.UpdatedAt.Before(at):
				wantBefore++
			case accepted[decl]:
				wantCarried++
			default:
				dropped++
			}
		}
		if len(b) != wantBefore || len(c) != wantCarried {
			t.Errorf("%s: before %d, carried %d versions; want %d and %d", e.Name, len(b), len(c), wantBefore, wantCarried)
		}
		for _, r := range b {
			if !r.UpdatedAt.Before(at) {
				t.Fatalf("%s %s dated %s is before %s", e.Name, r.Key, r.UpdatedAt, end)
			}
		}
		for _, r := range c {
			if r.UpdatedAt.Before(at) {
				t.Fatalf("%s %s dated %s is carried past %s", e.Name, r.Key, r.UpdatedAt, end)
			}
		}
		kept += len(b)
		carriedN += len(c)
	}
	// The seam is real: the first half leaves work in flight, which goes on
	// into the second (releases, payments, ...), while the declarations
	// accepted in the second half are its own.
	if carriedN == 0 || dropped == 0 || kept == 0 {
		t.Fatalf("kept %d, carried %d, dropped %d versions: a 14-day cut of four weeks should do all three", kept, carriedN, dropped)
	}
	released := 0
	for _, r := range carried.Records("declarations") {
		if strings.Contains(string(r.JSON), `"status":"released"`) {
			released++
		}
	}
	if released == 0 {
		t.Error("no declaration accepted before the cut is released after it")
	}

	next, err := Generate(Config{Seed: ds.Config.Seed, Scale: ds.Config.Scale, Start: end, Days: 7,
		BackgroundRate: ds.Config.BackgroundRate, AnomalyRate: ds.Config.AnomalyRate})
	if err != nil {
		t.Fatal(err)
	}
	// The carried versions run past the next piece's week: a piece is
	// simulated past its end by at least as long as it carries.
	if _, err := next.Carry(carried); err == nil || !strings.Contains(err.Error(), "fall outside the period") {
		t.Errorf("carrying versions past the period: got %v, want an error naming the period", err)
	}
	_, week, err := ds.Until(end)
	if err != nil {
		t.Fatal(err)
	}
	for name, recs := range week.records {
		week.records[name] = recs[:0]
		for _, r := range recs {
			if r.UpdatedAt.Before(next.Config.End().Time()) {
				week.records[name] = append(week.records[name], r)
			}
		}
	}
	served, err := next.Carry(week)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range schemas.Entities() {
		got, own, in := served.Records(e.Name), next.Records(e.Name), week.Records(e.Name)
		if len(got) != len(own)+len(in) {
			t.Errorf("%s: served %d versions, want the piece's %d and the %d carried", e.Name, len(got), len(own), len(in))
		}
		for i := 1; i < len(got); i++ {
			if got[i].UpdatedAt.Before(got[i-1].UpdatedAt) {
				t.Fatalf("%s: served out of order at %d", e.Name, i)
			}
		}
		if len(next.Records(e.Name)) != len(own) {
			t.Fatalf("%s: Carry changed the piece it was given", e.Name)
		}
	}
	if _, err := served.Carry(week); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("carrying the same versions twice: got %v, want an error", err)
	}
	if _, _, err := ds.Until(ds.Config.Start); err == nil {
		t.Error("a cut at the first day should be refused")
	}
}

// A tombstone names only its key; Until carries it with the declaration
// the key's earlier versions name.
func TestUntilCarriesTombstonesByTheirKey(t *testing.T) {
	start := schemas.MustDate("2026-09-01")
	at := func(day int) time.Time { return start.AddDays(day).Time().Add(9 * time.Hour) }
	decl, other := "220120260000000001", "220120260000000002"
	ds := &Dataset{Config: Config{Seed: 1, Scale: "small", Start: start, Days: 10}, records: map[string][]Record{
		"declarations": {
			{UpdatedAt: at(1), Key: decl, JSON: []byte(`{"decl_no":"` + decl + `","status":"accepted"}`)},
			{UpdatedAt: at(6), Key: other, JSON: []byte(`{"decl_no":"` + other + `","status":"accepted"}`)},
		},
		"declaration_events": {
			{UpdatedAt: at(1), Key: "EV1", JSON: []byte(`{"event_id":"EV1","decl_no":"` + decl + `"}`)},
			{UpdatedAt: at(2), Key: "EV2", JSON: []byte(`{"event_id":"EV2","decl_no":"` + decl + `"}`)},
			{UpdatedAt: at(6), Key: "EV1", JSON: []byte(`{"event_id":"EV1","deleted":true}`)},
			{UpdatedAt: at(7), Key: "EV2", JSON: []byte(`{"event_id":"EV2","decl_no":"` + other + `"}`)},
			{UpdatedAt: at(7), Key: "EV3", JSON: []byte(`{"event_id":"EV3","deleted":true}`)},
		},
	}}
	_, carried, err := ds.Until(start.AddDays(5))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range carried.Records("declaration_events") {
		got = append(got, r.Key+"@"+r.UpdatedAt.Format("02"))
	}
	// EV1's tombstone goes with decl; EV2 now names a declaration of the
	// next piece, and EV3 none: theirs to simulate.
	if want := []string{"EV1@07"}; !slices.Equal(got, want) {
		t.Errorf("carried events %v, want %v", got, want)
	}
	if n := len(carried.Records("declarations")); n != 0 {
		t.Errorf("carried %d declarations; the one accepted after the cut is the next piece's", n)
	}
}
