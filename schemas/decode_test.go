package schemas

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

type fixture struct {
	Entity string         `json:"entity"`
	Record map[string]any `json:"record"`
}

// validFixtures reads one valid record per entity from testdata/valid.jsonl.
func validFixtures(t *testing.T) map[string]map[string]any {
	t.Helper()
	f, err := os.Open("testdata/valid.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]any{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var fx fixture
		if err := json.Unmarshal(sc.Bytes(), &fx); err != nil {
			t.Fatalf("valid.jsonl: %v", err)
		}
		out[fx.Entity] = fx.Record
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeOK(t *testing.T, entity string, rec map[string]any) any {
	t.Helper()
	e, err := Lookup(entity)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Decode(mustJSON(t, rec))
	if err != nil {
		t.Fatalf("Decode(%s): %v", entity, err)
	}
	return out
}

func TestValidRecordsRoundTrip(t *testing.T) {
	t.Parallel()
	fx := validFixtures(t)
	if got, want := len(fx), len(Entities()); got != want {
		t.Fatalf("valid.jsonl has %d entities, the registry %d", got, want)
	}
	for _, e := range Entities() {
		t.Run(e.Name, func(t *testing.T) {
			in := fx[e.Name]
			if in == nil {
				t.Fatalf("no valid fixture for %s", e.Name)
			}
			rec := decodeOK(t, e.Name, in)
			var back map[string]any
			if err := json.Unmarshal(mustJSON(t, rec), &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, in) {
				t.Errorf("round trip changed the record:\n got  %v\n want %v", back, in)
			}
			if len(e.Key) == 0 {
				t.Errorf("%s has no key", e.Name)
			}
		})
	}
}

func TestKeyOf(t *testing.T) {
	t.Parallel()
	fx := validFixtures(t)
	for entity, want := range map[string]string{
		"declaration_items": "220120261000012345|1",
		"duty_roster":       "10000001|2026-10-03",
		"declarations":      "220120261000012345",
	} {
		e, _ := Lookup(entity)
		if got := e.KeyOf(decodeOK(t, entity, fx[entity])); got != want {
			t.Errorf("KeyOf(%s) = %q, want %q", entity, got, want)
		}
	}
}

// TestForbiddenKinds breaks one contract rule at a time and checks that the
// record is refused with a problem naming the broken field.
func TestForbiddenKinds(t *testing.T) {
	t.Parallel()
	fx := validFixtures(t)
	cases := []struct {
		name, entity, field string
		value               any // nil deletes the field
		want                string
	}{
		{"float money", "declarations", "customs_value", 1250000.5, "floats are not allowed"},
		{"money with three decimals", "tax_vouchers", "amount", "10.005", "at most 2"},
		{"money with exponent", "refunds", "amount", "1e5", "not a plain decimal"},
		{"decimal as number", "declaration_items", "duty_rate", 0.05, "decimal string"},
		{"missing key", "declarations", "decl_no", nil, "key field is missing"},
		{"missing second key", "declaration_items", "item_no", nil, "key field is missing"},
		{"missing updated_at", "officers", "updated_at", nil, "required"},
		{"unknown enum", "declarations", "status", "approved", "not one of"},
		{"unknown post", "officers", "post", "janitor", "not one of"},
		{"timestamp without offset", "declarations", "declared_at", "2026-09-14T09:30:00", "RFC 3339"},
		{"timestamp with space", "declaration_events", "occurred_at", "2026-09-14 09:30:00+08:00", "RFC 3339"},
		{"date with slashes", "refunds", "accepted_on", "2026/09/20", "YYYY-MM-DD"},
		{"impossible date", "cases", "filed_on", "2026-02-30", "YYYY-MM-DD"},
		{"bad uscc check character", "enterprises", "uscc", "91310115MA1K4ABCDE", "check character"},
		{"uscc with forbidden letter", "voucher_checks", "taxpayer_uscc", "91310115MA1K4ABCDI", "outside the GB 32100 charset"},
		{"decl_no too short", "declaration_events", "decl_no", "22012026100001234", "18 characters"},
		{"decl_no bad I/E digit", "inspections", "decl_no", "220120265000012345", "I/E digit"},
		{"officer_id with letters", "officers", "officer_id", "1000000A", "outside 0-9"},
		{"ent_code lower case", "enterprises", "ent_code", "2201100a3f", "outside [0-9A-Z]"},
		{"hs_code short", "declaration_items", "hs_code", "847130", "10 characters"},
		{"manual_no wrong letter", "manuals", "manual_no", "A22012600017", "start with B or C"},
		{"voucher_no too short", "tax_vouchers", "voucher_no", "2201-L", "18 to 22"},
		{"customs code letters", "departments", "customs_code", "22AB", "outside 0-9"},
		{"tax period", "voucher_checks", "tax_period", "2026-13", "YYYY-MM"},
		{"integer as string", "declaration_items", "item_no", "1", "JSON integer"},
		{"integer with fraction", "temporary_admissions", "extensions", 1.5, "JSON integer"},
		{"boolean as string", "inspections", "record_signed", "true", "JSON boolean"},
		{"officers not an array", "inspections", "officers", "10000015", "JSON array"},
		{"officers element bad", "inspections", "officers", []string{"10000015", "x"}, "element 2"},
		{"detail not an object", "declaration_events", "detail", []int{1}, "JSON object"},
		{"ie_flag contradicts decl_no", "declarations", "ie_flag", "E", "contradicts"},
		{"customs_code contradicts decl_no", "declarations", "customs_code", "2202", "differs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := map[string]any{}
			for k, v := range fx[tc.entity] {
				rec[k] = v
			}
			if tc.value == nil {
				delete(rec, tc.field)
			} else {
				rec[tc.field] = tc.value
			}
			e, _ := Lookup(tc.entity)
			out, err := e.Decode(mustJSON(t, rec))
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("Decode accepted the record (got %v, %v)", out, err)
			}
			if out != nil {
				t.Errorf("a refused record must not be returned")
			}
			for _, p := range re.Problems {
				if p.Field == tc.field && strings.Contains(p.Message, tc.want) {
					return
				}
			}
			t.Errorf("no problem on %s mentioning %q in: %v", tc.field, tc.want, re)
		})
	}
}

func TestEveryProblemReported(t *testing.T) {
	t.Parallel()
	rec := validFixtures(t)["declarations"]
	rec["customs_value"] = 12.5
	rec["status"] = "lost"
	rec["arrival_date"] = "10 Sept"
	e, _ := Lookup("declarations")
	_, err := e.Decode(mustJSON(t, rec))
	var re *RecordError
	if !errors.As(err, &re) {
		t.Fatalf("want a RecordError, got %v", err)
	}
	got := map[string]bool{}
	for _, p := range re.Problems {
		got[p.Field] = true
	}
	for _, f := range []string{"customs_value", "status", "arrival_date"} {
		if !got[f] {
			t.Errorf("problem on %s not reported: %v", f, re)
		}
	}
	if !strings.Contains(re.Error(), "220120261000012345") {
		t.Errorf("error does not name the record: %v", re)
	}
}

func TestNotAnObject(t *testing.T) {
	t.Parallel()
	e, _ := Lookup("officers")
	for _, in := range []string{`[1,2]`, `"x"`, `{"officer_id":`, `null`} {
		if _, err := e.Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%s) accepted", in)
		}
	}
}

func TestUnknownFieldsKept(t *testing.T) {
	t.Parallel()
	rec := validFixtures(t)["officers"]
	rec["zeta"] = map[string]any{"b": 1, "a": []int{1, 2}}
	rec["alpha"] = "新字段"
	out := decodeOK(t, "officers", rec)
	want := `{"alpha":"新字段","zeta":{"a":[1,2],"b":1}}`
	if got := string(VersionOf(out).Extra); got != want {
		t.Errorf("Extra = %s, want %s", got, want)
	}
	plain := decodeOK(t, "officers", validFixtures(t)["officers"])
	if VersionOf(plain).Extra != "" {
		t.Errorf("a record without unknown fields has Extra %q", VersionOf(plain).Extra)
	}
}

func TestTombstone(t *testing.T) {
	t.Parallel()
	e, _ := Lookup("duty_roster")
	out, err := e.Decode([]byte(`{"officer_id":"10000001","duty_date":"2026-10-03","updated_at":"2026-10-01T16:00:00+08:00","deleted":true}`))
	if err != nil {
		t.Fatal(err)
	}
	r := out.(*DutyRoster)
	if !r.Deleted || r.ShiftStart != nil || r.DutyDate != MustDate("2026-10-03") {
		t.Errorf("tombstone decoded as %+v", r)
	}
	if _, err := e.Decode([]byte(`{"duty_date":"2026-10-03","updated_at":"2026-10-01T16:00:00+08:00","deleted":true}`)); err == nil {
		t.Errorf("a tombstone without its key must be refused")
	}
}

func TestUSCC(t *testing.T) {
	t.Parallel()
	valid := []string{"91310115MA1K4ABCDD", "91440300708461136T"}
	for _, s := range valid {
		if err := CheckUSCC(s); err != nil {
			t.Errorf("CheckUSCC(%s): %v", s, err)
		}
		// Every other check character, and every single-character change
		// of the body, must be refused.
		for _, c := range []byte(usccCharset) {
			if c != s[17] {
				if CheckUSCC(s[:17]+string(c)) == nil {
					t.Errorf("CheckUSCC accepted %s with check character %c", s[:17], c)
				}
			}
		}
		for i := 0; i < 17; i++ {
			b := []byte(s)
			b[i] = usccCharset[(strings.IndexByte(usccCharset, b[i])+1)%31]
			if CheckUSCC(string(b)) == nil {
				t.Errorf("CheckUSCC accepted %s, corrupted at position %d", b, i+1)
			}
		}
	}
	for _, s := range []string{"", "91310115MA1K4ABCD", "91310115MA1K4ABCDDX", "91310115MA1K4ABCDO"} {
		if CheckUSCC(s) == nil {
			t.Errorf("CheckUSCC accepted %q", s)
		}
	}
}

func TestFixedPoint(t *testing.T) {
	t.Parallel()
	money := map[string]Money{"0": 0, "12345.67": 1234567, "-6500.00": -650000, "0.5": 50, "1": 100}
	for s, want := range money {
		got, err := ParseMoney(s)
		if err != nil || got != want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	if Money(-650000).String() != "-6500.00" || Money(5).String() != "0.05" {
		t.Errorf("Money.String: %s %s", Money(-650000), Money(5))
	}
	for _, bad := range []string{"", "-", ".5", "5.", "1,000.00", "+1", "1e3", " 1", "12.345", "NaN", "99999999999999999"} {
		if _, err := ParseMoney(bad); err == nil {
			t.Errorf("ParseMoney(%q) accepted", bad)
		}
	}
	d, err := ParseDecimal("0.0005")
	if err != nil || d != 500 || d.String() != "0.0005" {
		t.Errorf("ParseDecimal(0.0005) = %d %v %s", d, err, d)
	}
	if _, err := ParseDecimal("0.1234567"); err == nil {
		t.Errorf("ParseDecimal accepted seven fraction digits")
	}
}

func TestDate(t *testing.T) {
	t.Parallel()
	d := MustDate("2026-03-02")
	if d.String() != "2026-03-02" || d.Weekday().String() != "Monday" {
		t.Errorf("date 2026-03-02 reads back as %s, %s", d, d.Weekday())
	}
	if DateOf(d.Time()) != d || d.Time().Hour() != 0 {
		t.Errorf("Time/DateOf do not round-trip: %v", d.Time())
	}
	if MustDate("1970-01-01") != 0 {
		t.Errorf("epoch is not day 0")
	}
}

func TestWarningIDStable(t *testing.T) {
	t.Parallel()
	a := WarningID("A07", "1", "RF1", "")
	if a != WarningID("A07", "1", "RF1", "") || len(a) != 21 || a[0] != 'W' {
		t.Errorf("WarningID not stable or malformed: %s", a)
	}
	for _, other := range []string{WarningID("A07", "2", "RF1", ""), WarningID("A07", "1", "RF2", ""), WarningID("A07", "1", "RF1", "2026Q3"), WarningID("A0", "71", "RF1", "")} {
		if other == a {
			t.Errorf("different inputs give the same id %s", a)
		}
	}
}
