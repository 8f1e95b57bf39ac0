package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"
)

// Problem is one way a record breaks the contract.
type Problem struct {
	Field   string // wire name of the field, or "" for the record as a whole
	Message string
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// RecordError lists every problem found in one record. Check it with errors.As.
type RecordError struct {
	Entity   string
	Key      string // the record's key as far as it could be read, "" if not at all
	Problems []Problem
}

func (e *RecordError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s record", e.Entity)
	if e.Key != "" {
		fmt.Fprintf(&b, " %s", e.Key)
	}
	b.WriteString(" breaks the contract: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Reasons is the problems as one line each, for the quarantine.
func (e *RecordError) Reasons() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.String()
	}
	return out
}

// Decode parses one record of the entity strictly: every field is checked
// against the contract and every problem is reported, each naming its field.
// Fields the contract does not name are kept in the record's Extra. On
// success it returns a pointer to the entity's struct; otherwise a
// *RecordError and no record.
func (e *Entity) Decode(data []byte) (any, error) {
	obj := objects.Get().(map[string]json.RawMessage)
	defer func() { clear(obj); objects.Put(obj) }()
	if err := gojson.Unmarshal(data, &obj); err != nil || obj == nil || !isObject(data) {
		msg := "record is not a JSON object"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, &RecordError{Entity: e.Name, Problems: []Problem{{Message: msg}}}
	}
	rec := reflect.New(e.typ)
	v := rec.Elem()
	var probs []Problem
	for _, f := range e.Fields {
		raw, ok := obj[f.Name]
		delete(obj, f.Name)
		if !ok || string(raw) == "null" {
			if f.Required {
				what := "required field is missing"
				if f.Key {
					what = "key field is missing"
				}
				probs = append(probs, Problem{f.Name, what})
			}
			continue
		}
		val, err := f.parse(raw)
		if err != nil {
			probs = append(probs, Problem{f.Name, err.Error()})
			continue
		}
		dst := v.FieldByIndex(f.index)
		if dst.Kind() == reflect.Pointer {
			p := reflect.New(dst.Type().Elem())
			p.Elem().Set(reflect.ValueOf(val).Convert(dst.Type().Elem()))
			dst.Set(p)
		} else {
			dst.Set(reflect.ValueOf(val).Convert(dst.Type()))
		}
	}
	out := rec.Interface()
	if len(probs) == 0 && e.check != nil {
		probs = e.check(out)
	}
	if len(probs) > 0 {
		return nil, &RecordError{Entity: e.Name, Key: e.partialKey(v), Problems: probs}
	}
	if len(obj) > 0 {
		extra, err := encodeExtra(obj)
		if err != nil {
			return nil, &RecordError{Entity: e.Name, Key: e.KeyOf(out), Problems: []Problem{{Message: "unknown fields are not valid JSON: " + err.Error()}}}
		}
		VersionOf(out).Extra = extra
	}
	return out, nil
}

// objects recycles the maps records are decoded into: one per record is the
// largest allocation of a decode.
var objects = sync.Pool{New: func() any { return make(map[string]json.RawMessage, 32) }}

// isObject reports whether data is a JSON object (decoding null into a
// non-nil map leaves it unchanged rather than failing).
func isObject(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// partialKey renders the key fields that were read, for error messages.
func (e *Entity) partialKey(v reflect.Value) string {
	var parts []string
	for _, f := range e.Fields {
		if f.Key {
			if fv := v.FieldByIndex(f.index); !fv.IsZero() {
				parts = append(parts, fmt.Sprintf("%s=%v", f.Name, fv.Interface()))
			}
		}
	}
	return strings.Join(parts, " ")
}

func encodeExtra(obj map[string]json.RawMessage) (RawJSON, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(obj)) {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		if err := json.Compact(&b, obj[k]); err != nil {
			return "", err
		}
	}
	b.WriteByte('}')
	return RawJSON(b.String()), nil
}

// parse turns one raw JSON value into the field's Go value (string, int32,
// bool, Money, Decimal, Date, time.Time or RawJSON).
func (f Field) parse(raw json.RawMessage) (any, error) {
	switch f.Kind {
	case KindInt:
		n, err := strconv.ParseInt(string(raw), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("must be a JSON integer, got %s", clip(raw))
		}
		return int32(n), nil
	case KindBool:
		switch string(raw) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("must be a JSON boolean, got %s", clip(raw))
	case KindObject, KindArray:
		return f.parseJSON(raw)
	}
	s, ok := unquote(raw)
	if !ok {
		if f.Kind == KindMoney || f.Kind == KindDecimal {
			return nil, fmt.Errorf("must be a decimal string such as \"12345.67\", got JSON %s (floats are not allowed)", clip(raw))
		}
		return nil, fmt.Errorf("must be a JSON string, got %s", clip(raw))
	}
	switch f.Kind {
	case KindMoney:
		return ParseMoney(s)
	case KindDecimal:
		return ParseDecimal(s)
	case KindDate:
		return ParseDate(s)
	case KindTimestamp:
		return ParseTimestamp(s)
	}
	if f.Enum != nil && !slices.Contains(f.Enum, s) {
		return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(f.Enum, ", "))
	}
	if f.Format != "" {
		if err := Formats[f.Format](s); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Format, err)
		}
	}
	return s, nil
}

func (f Field) parseJSON(raw json.RawMessage) (any, error) {
	want := byte('{')
	if f.Kind == KindArray {
		want = '['
	}
	if raw[0] != want {
		return nil, fmt.Errorf("must be a JSON %s, got %s", f.Kind, clip(raw))
	}
	if f.Kind == KindArray && f.Format != "" {
		var elems []string
		if err := gojson.Unmarshal(raw, &elems); err != nil {
			return nil, fmt.Errorf("must be an array of %s strings, got %s", f.Format, clip(raw))
		}
		for i, s := range elems {
			if err := Formats[f.Format](s); err != nil {
				return nil, fmt.Errorf("element %d: %s: %w", i+1, f.Format, err)
			}
		}
	}
	return Compact(raw)
}

// unquote reads a JSON string. Most carry no escape, and the record was
// checked as JSON already, so those are sliced rather than decoded.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	return s, gojson.Unmarshal(raw, &s) == nil
}

func clip(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "..."
	}
	return string(raw)
}

func checkDeclaration(rec any) []Problem {
	d := rec.(*Declaration)
	var probs []Problem
	if d.CustomsCode != nil && d.DeclNo[:4] != *d.CustomsCode {
		probs = append(probs, Problem{"customs_code", fmt.Sprintf("%q differs from the customs code %q that opens decl_no", *d.CustomsCode, d.DeclNo[:4])})
	}
	if d.IEFlag != nil {
		if want := map[byte]string{'1': "I", '0': "E"}[d.DeclNo[8]]; *d.IEFlag != want {
			probs = append(probs, Problem{"ie_flag", fmt.Sprintf("%q contradicts decl_no's I/E digit %c (%s)", *d.IEFlag, d.DeclNo[8], want)})
		}
	}
	return probs
}

func checkShift(rec any) []Problem {
	r := rec.(*DutyRoster)
	if r.ShiftStart != nil && r.ShiftEnd != nil && !r.ShiftEnd.After(*r.ShiftStart) {
		return []Problem{{"shift_end", fmt.Sprintf("%s is not after shift_start %s", r.ShiftEnd.Format(time.RFC3339), r.ShiftStart.Format(time.RFC3339))}}
	}
	return nil
}
