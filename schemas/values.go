package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Shanghai is the platform's local time zone (+08:00, no daylight saving).
var Shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// Date is a calendar date in platform local time, held as days since
// 1970-01-01. Parquet stores it with the date logical type (an int32 day
// count: parquet-go writes time.Time dates wrong, see STYLE.md).
type Date int32

// ParseDate reads a strict YYYY-MM-DD date.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// MustDate is ParseDate for literals known to be valid; it panics otherwise.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DateOf is the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Time is midnight at the start of d in platform local time.
func (d Date) Time() time.Time {
	u := time.Unix(int64(d)*86400, 0).UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, Shanghai)
}

// AddDays is d moved by n calendar days.
func (d Date) AddDays(n int) Date { return d + Date(n) }

// Weekday is d's day of the week.
func (d Date) Weekday() time.Weekday { return time.Weekday((int(d) + 4) % 7) }

func (d Date) String() string { return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly) }

// MarshalJSON writes the contract's "YYYY-MM-DD" string.
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads a "YYYY-MM-DD" string.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date must be a JSON string: %w", err)
	}
	v, err := ParseDate(s)
	*d = v
	return err
}

// Money is a CNY amount with exactly two fraction digits, held in fen (cents).
// Parquet stores it as DECIMAL(18,2). It is never a float.
type Money int64

// Decimal is a rate, quantity or unit price with up to six fraction digits,
// held in millionths. Parquet stores it as DECIMAL(18,6).
type Decimal int64

// Scales of the fixed-point types.
const (
	MoneyScale   = 2
	DecimalScale = 6
)

// Yuan is a whole-yuan amount as Money.
func Yuan(n int64) Money { return Money(n * 100) }

func (m Money) String() string { return formatFixed(int64(m), MoneyScale) }

// MarshalJSON writes the contract's decimal string, e.g. "12345.67".
func (m Money) MarshalJSON() ([]byte, error) { return []byte(`"` + m.String() + `"`), nil }

func (d Decimal) String() string { return formatFixed(int64(d), DecimalScale) }

// MarshalJSON writes a decimal string with trailing zeros trimmed, e.g. "0.0005".
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// ParseMoney reads a decimal string with at most two fraction digits.
func ParseMoney(s string) (Money, error) {
	v, err := parseFixed(s, MoneyScale)
	return Money(v), err
}

// ParseDecimal reads a decimal string with at most six fraction digits.
func ParseDecimal(s string) (Decimal, error) {
	v, err := parseFixed(s, DecimalScale)
	return Decimal(v), err
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000}

func formatFixed(v int64, scale int) string {
	neg := v < 0
	if neg {
		v = -v
	}
	ip, fp := v/pow10[scale], v%pow10[scale]
	s := strconv.FormatInt(ip, 10)
	if fp != 0 || scale == MoneyScale {
		frac := fmt.Sprintf("%0*d", scale, fp)
		if scale != MoneyScale {
			frac = strings.TrimRight(frac, "0")
		}
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}

// parseFixed reads [-]digits[.digits] into an integer scaled by 10^scale,
// refusing exponents, signs other than a leading minus, and excess digits.
func parseFixed(s string, scale int) (int64, error) {
	body := strings.TrimPrefix(s, "-")
	ip, fp, hasDot := strings.Cut(body, ".")
	if ip == "" || !allDigits(ip) || (hasDot && (fp == "" || !allDigits(fp))) {
		return 0, fmt.Errorf("%q is not a plain decimal number", s)
	}
	if len(fp) > scale {
		return 0, fmt.Errorf("%q has %d fraction digits, at most %d allowed", s, len(fp), scale)
	}
	if len(ip) > 18-scale {
		return 0, fmt.Errorf("%q is too large", s)
	}
	n, _ := strconv.ParseInt(ip, 10, 64)
	v := n * pow10[scale]
	if fp != "" {
		f, _ := strconv.ParseInt(fp, 10, 64)
		v += f * pow10[scale-len(fp)]
	}
	if s != body {
		v = -v
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseTimestamp reads an RFC 3339 timestamp that carries an explicit offset.
func ParseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || len(s) < len("2006-01-02T15:04:05Z") {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp with offset", s)
	}
	return t, nil
}

// RawJSON is a JSON object or array kept verbatim (detail, changes, extra).
// Parquet stores it as a string with the JSON logical type.
type RawJSON string

// MarshalJSON writes the value as it is; an empty value is null.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if r == "" {
		return []byte("null"), nil
	}
	return []byte(r), nil
}

// Compact is j re-encoded without insignificant space.
func Compact(j []byte) (RawJSON, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, j); err != nil {
		return "", err
	}
	return RawJSON(b.String()), nil
}
