package schemas

import (
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Column is a Parquet column beside the entity's own fields (the raw layer's
// extra JSON, and whatever ingest metadata the writer adds).
type Column struct {
	Name string
	Node parquet.Node
}

// ExtraColumn holds the fields the contract does not name, as a JSON object.
var ExtraColumn = Column{"extra", parquet.Optional(parquet.JSON())}

// ParquetNode is the Parquet type of a field: money as DECIMAL(18,2), other
// decimals as DECIMAL(18,6), dates as DATE (int32 days), timestamps as
// microsecond TIMESTAMP adjusted to UTC, objects and arrays as JSON.
func (f Field) ParquetNode() parquet.Node {
	var n parquet.Node
	switch f.Kind {
	case KindString:
		n = parquet.String()
	case KindInt:
		n = parquet.Int(32)
	case KindBool:
		n = parquet.Leaf(parquet.BooleanType)
	case KindMoney:
		n = parquet.Decimal(MoneyScale, 18, parquet.Int64Type)
	case KindDecimal:
		n = parquet.Decimal(DecimalScale, 18, parquet.Int64Type)
	case KindDate:
		n = parquet.Date()
	case KindTimestamp:
		n = parquet.Timestamp(parquet.Microsecond)
	case KindObject, KindArray:
		n = parquet.JSON()
	}
	if f.Nullable {
		return parquet.Optional(n)
	}
	return parquet.Required(n)
}

// RowLayout maps an entity's records to Parquet rows of a schema made of the
// entity's fields, the extra column, and any further columns.
type RowLayout struct {
	Entity       *Entity
	Schema       *parquet.Schema
	fieldCol     []int // column index of each of Entity.Fields
	extraCol     int
	more         []int // column index of each further column
	moreOptional []bool
	ncols        int
}

// NewRowLayout builds the Parquet schema for e with the given further columns.
func (e *Entity) NewRowLayout(more ...Column) (*RowLayout, error) {
	g := parquet.Group{}
	for _, f := range e.Fields {
		g[f.Name] = f.ParquetNode()
	}
	for _, c := range append([]Column{ExtraColumn}, more...) {
		if _, dup := g[c.Name]; dup {
			return nil, fmt.Errorf("column %q of %s is also a contract field", c.Name, e.Name)
		}
		g[c.Name] = c.Node
	}
	l := &RowLayout{Entity: e, Schema: parquet.NewSchema(e.Name, g)}
	col := func(name string) int {
		leaf, _ := l.Schema.Lookup(name)
		return leaf.ColumnIndex
	}
	for _, f := range e.Fields {
		l.fieldCol = append(l.fieldCol, col(f.Name))
	}
	l.extraCol = col(ExtraColumn.Name)
	for _, c := range more {
		l.more = append(l.more, col(c.Name))
		l.moreOptional = append(l.moreOptional, c.Node.Optional())
	}
	l.ncols = len(l.Schema.Columns())
	return l, nil
}

// AppendRow fills row with rec (a pointer to the entity's struct) and the
// further columns' values, in the order given to NewRowLayout. A null further
// value is written as null, so only optional further columns may take one.
func (l *RowLayout) AppendRow(row parquet.Row, rec any, more ...parquet.Value) parquet.Row {
	row = slices.Grow(row[:0], l.ncols)[:l.ncols]
	v := reflect.ValueOf(rec).Elem()
	for i, f := range l.Entity.Fields {
		c := l.fieldCol[i]
		row[c] = leafValue(f, v.FieldByIndex(f.index), c)
	}
	if extra := VersionOf(rec).Extra; extra == "" {
		row[l.extraCol] = parquet.NullValue().Level(0, 0, l.extraCol)
	} else {
		row[l.extraCol] = parquet.ByteArrayValue([]byte(extra)).Level(0, 1, l.extraCol)
	}
	for i, m := range more {
		c, def := l.more[i], 0
		if l.moreOptional[i] && !m.IsNull() {
			def = 1
		}
		row[c] = m.Level(0, def, c)
	}
	return row
}

func leafValue(f Field, fv reflect.Value, col int) parquet.Value {
	def := 0
	if f.Nullable {
		if fv.IsNil() {
			return parquet.NullValue().Level(0, 0, col)
		}
		fv = fv.Elem()
		def = 1
	}
	var pv parquet.Value
	switch f.Kind {
	case KindString, KindObject, KindArray:
		pv = parquet.ByteArrayValue([]byte(fv.String()))
	case KindInt, KindDate:
		pv = parquet.Int32Value(int32(fv.Int()))
	case KindBool:
		pv = parquet.BooleanValue(fv.Bool())
	case KindMoney, KindDecimal:
		pv = parquet.Int64Value(fv.Int())
	case KindTimestamp:
		pv = parquet.Int64Value(fv.Interface().(time.Time).UnixMicro())
	}
	return pv.Level(0, def, col)
}
