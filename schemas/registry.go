package schemas

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
)

// Kind is a field's value type in the contract.
type Kind uint8

// The kinds of contract field.
const (
	KindString    Kind = iota // JSON string, maybe with a format or an enum
	KindInt                   // JSON integer (counts, sequence numbers)
	KindBool                  // JSON boolean
	KindMoney                 // decimal string, ≤ 2 fraction digits
	KindDecimal               // decimal string, ≤ 6 fraction digits
	KindDate                  // "YYYY-MM-DD"
	KindTimestamp             // RFC 3339 with offset
	KindObject                // JSON object kept verbatim
	KindArray                 // JSON array kept verbatim
)

var kindNames = [...]string{"string", "integer", "boolean", "money", "decimal", "date", "timestamp", "object", "array"}

func (k Kind) String() string { return kindNames[k] }

// Field describes one field of an entity.
type Field struct {
	Name     string   // wire name, snake_case
	Kind     Kind     // value type
	Key      bool     // part of the entity key
	Required bool     // must be present and non-null (key fields and updated_at)
	Format   string   // identifier format (Formats), for strings and array elements
	Enum     []string // allowed values, for strings
	Nullable bool     // the Go field is a pointer; null is stored as null
	index    []int    // reflect index path into the entity struct
}

// Entity describes one entity of the contract: its endpoint name, key and fields.
type Entity struct {
	Name   string
	Group  string   // reference, clearance, tax, procedures or supervision
	Key    []string // key field names, in order
	Fields []Field  // contract fields in struct order; updated_at and deleted last
	typ    reflect.Type
	check  func(rec any) []Problem
}

// New returns a pointer to a zero record of the entity's Go type.
func (e *Entity) New() any { return reflect.New(e.typ).Interface() }

// Type is the entity's Go struct type.
func (e *Entity) Type() reflect.Type { return e.typ }

// Field returns the field named name.
func (e *Entity) Field(name string) (Field, bool) {
	for _, f := range e.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// KeyOf renders rec's key as its values joined by "|" (a date as YYYY-MM-DD).
func (e *Entity) KeyOf(rec any) string {
	v := reflect.ValueOf(rec).Elem()
	parts := make([]string, 0, len(e.Key))
	for _, f := range e.Fields {
		if f.Key {
			parts = append(parts, fmt.Sprint(v.FieldByIndex(f.index).Interface()))
		}
	}
	return strings.Join(parts, "|")
}

// VersionOf returns the version metadata embedded in rec.
func VersionOf(rec any) *Version {
	return reflect.ValueOf(rec).Elem().FieldByName("Version").Addr().Interface().(*Version)
}

type entityDef struct {
	name, group string
	proto       any
	check       func(rec any) []Problem
}

var defs = []entityDef{
	{"departments", "reference", Department{}, nil},
	{"officers", "reference", Officer{}, nil},
	{"duty_roster", "reference", DutyRoster{}, checkShift},
	{"enterprises", "reference", Enterprise{}, nil},
	{"interest_declarations", "reference", InterestDeclaration{}, nil},
	{"declarations", "clearance", Declaration{}, checkDeclaration},
	{"declaration_items", "clearance", DeclarationItem{}, nil},
	{"declaration_events", "clearance", DeclarationEvent{}, nil},
	{"control_orders", "clearance", ControlOrder{}, nil},
	{"inspections", "clearance", Inspection{}, nil},
	{"modification_requests", "clearance", ModificationRequest{}, nil},
	{"tax_vouchers", "tax", TaxVoucher{}, nil},
	{"voucher_checks", "tax", VoucherCheck{}, nil},
	{"voucher_inquiries", "tax", VoucherInquiry{}, nil},
	{"refunds", "tax", Refund{}, nil},
	{"manuals", "procedures", Manual{}, nil},
	{"temporary_admissions", "procedures", TemporaryAdmission{}, nil},
	{"transits", "procedures", Transit{}, nil},
	{"guarantees", "procedures", Guarantee{}, nil},
	{"licences", "procedures", Licence{}, nil},
	{"cases", "supervision", Case{}, nil},
	{"audits", "supervision", Audit{}, nil},
	{"leads", "supervision", Lead{}, nil},
	{"disposals", "supervision", Disposal{}, nil},
}

var registry = sync.OnceValue(func() []*Entity {
	out := make([]*Entity, 0, len(defs))
	for _, d := range defs {
		out = append(out, buildEntity(d))
	}
	return out
})

// Entities lists every entity of the contract, reference data first.
func Entities() []*Entity { return registry() }

// Names lists the entity names in registry order.
func Names() []string {
	var names []string
	for _, e := range Entities() {
		names = append(names, e.Name)
	}
	return names
}

// Lookup finds an entity by its endpoint name.
func Lookup(name string) (*Entity, error) {
	for _, e := range Entities() {
		if e.Name == name {
			return e, nil
		}
	}
	return nil, fmt.Errorf("unknown entity %q; the contract has %s", name, strings.Join(Names(), ", "))
}

// EntityOf finds the entity whose Go type is rec's (a struct or a pointer to one).
func EntityOf(rec any) (*Entity, error) {
	t := reflect.TypeOf(rec)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for _, e := range Entities() {
		if e.typ == t {
			return e, nil
		}
	}
	return nil, fmt.Errorf("%s is not a contract entity type", t)
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	dateType    = reflect.TypeFor[Date]()
	moneyType   = reflect.TypeFor[Money]()
	decimalType = reflect.TypeFor[Decimal]()
)

func buildEntity(d entityDef) *Entity {
	t := reflect.TypeOf(d.proto)
	e := &Entity{Name: d.name, Group: d.group, typ: t, check: d.check}
	vi := -1
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Anonymous {
			vi = i
			continue
		}
		e.Fields = append(e.Fields, buildField(d.name, sf, []int{i}))
	}
	vt := reflect.TypeFor[Version]()
	up, _ := vt.FieldByName("UpdatedAt")
	del, _ := vt.FieldByName("Deleted")
	e.Fields = append(e.Fields,
		Field{Name: "updated_at", Kind: KindTimestamp, Required: true, index: []int{vi, up.Index[0]}},
		Field{Name: "deleted", Kind: KindBool, index: []int{vi, del.Index[0]}})
	for _, f := range e.Fields {
		if f.Key {
			e.Key = append(e.Key, f.Name)
		}
	}
	return e
}

func buildField(entity string, sf reflect.StructField, index []int) Field {
	name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	f := Field{Name: name, index: index}
	ft := sf.Type
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
		f.Nullable = true
	} else {
		f.Required = true
	}
	for opt := range strings.SplitSeq(sf.Tag.Get("hl"), ",") {
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "key":
			f.Key = true
		case "fmt":
			if Formats[v] == nil {
				panic(fmt.Sprintf("schemas: %s.%s names unknown format %q", entity, name, v))
			}
			f.Format = v
		case "enum":
			f.Enum = strings.Split(v, "|")
		case "object":
			f.Kind = KindObject
		case "array":
			f.Kind = KindArray
		}
	}
	if f.Kind == KindObject || f.Kind == KindArray {
		return f
	}
	switch {
	case ft == timeType:
		f.Kind = KindTimestamp
	case ft == dateType:
		f.Kind = KindDate
	case ft == moneyType:
		f.Kind = KindMoney
	case ft == decimalType:
		f.Kind = KindDecimal
	case ft.Kind() == reflect.String:
		f.Kind = KindString
	case ft.Kind() == reflect.Int32:
		f.Kind = KindInt
	case ft.Kind() == reflect.Bool:
		f.Kind = KindBool
	default:
		panic(fmt.Sprintf("schemas: %s.%s has unsupported Go type %s", entity, name, sf.Type))
	}
	return f
}
