package simulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// Defaults of FaultConfig.
const (
	DefaultRetryAfter = time.Second
	DefaultSlowDelay  = 2 * time.Second
)

// FaultConfig sets the faults a Server injects. Rates are shares from 0 to 1;
// the zero value injects nothing.
//
// RateLimit, ServerError, Cut and ExpireCursor are transient: each request
// draws at most one of them from a generator seeded by Seed and the
// request's number, so a retry can succeed. They are exclusive, so their
// rates may add up to 1 at most. ExpireCursor only hits requests that carry
// a cursor. Slow is drawn independently and delays whatever the answer is.
// Duplicate is drawn per cursor request too. BadRecord is not drawn per
// request: whether a version is followed by a bad copy is a function of
// Seed, the entity and the version's position, so a retried page carries
// the same bad records.
type FaultConfig struct {
	Seed         uint64
	RateLimit    float64 // 429 Too Many Requests with Retry-After
	ServerError  float64 // 500, 502, 503 or 504
	Slow         float64 // wait SlowDelay before answering
	Cut          float64 // the body is cut short: invalid JSON or an unexpected EOF
	ExpireCursor float64 // 410 Gone on a request with a cursor
	Duplicate    float64 // a cursor page starts a few versions early (at-least-once delivery)
	BadRecord    float64 // per version served: an extra, invalid copy follows it
	RetryAfter   time.Duration
	SlowDelay    time.Duration
}

// AllFaults sets every kind of fault to rate. The four transient failures
// are exclusive, so NewServer refuses a rate above 0.25.
func AllFaults(rate float64) FaultConfig {
	return FaultConfig{RateLimit: rate, ServerError: rate, Slow: rate, Cut: rate, ExpireCursor: rate, Duplicate: rate, BadRecord: rate}
}

func (c FaultConfig) withDefaults() (FaultConfig, error) {
	rates := []struct {
		name string
		r    float64
	}{{"rate-limit", c.RateLimit}, {"server-error", c.ServerError}, {"slow", c.Slow}, {"cut", c.Cut},
		{"expire-cursor", c.ExpireCursor}, {"duplicate", c.Duplicate}, {"bad-record", c.BadRecord}}
	for _, r := range rates {
		if !(r.r >= 0 && r.r <= 1) {
			return c, fmt.Errorf("%s fault rate %g is not between 0 and 1", r.name, r.r)
		}
	}
	if sum := c.RateLimit + c.ServerError + c.Cut + c.ExpireCursor; sum > 1 {
		return c, fmt.Errorf("the transient fault rates (rate-limit, server-error, cut, expire-cursor) add up to %g; at most one fails a request, so they may add up to 1 at most", sum)
	}
	if c.RetryAfter < 0 || c.SlowDelay < 0 {
		return c, fmt.Errorf("retry-after %s and slow delay %s may not be negative", c.RetryAfter, c.SlowDelay)
	}
	c.RetryAfter = cmp.Or(c.RetryAfter, DefaultRetryAfter)
	c.SlowDelay = cmp.Or(c.SlowDelay, DefaultSlowDelay)
	return c, nil
}

// failure is the transient failure a request drew, if any.
type failure uint8

const (
	_ failure = iota // none
	failRateLimit
	failServerError
	failCut
	failExpire
)

// draw is what one request drew.
type draw struct {
	fail     failure
	status   int  // for failServerError
	cleanCut bool // for failCut: the body ends cleanly, else it promises more
	slow     bool
	back     int // versions a cursor page starts early; 0 for none
}

var serverErrors = [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// draw picks request n's faults. Every value is drawn whatever the rates,
// so that one kind's rate does not change another's draws.
func (c FaultConfig) draw(n uint64, hasCursor bool) draw {
	rng := rand.New(rand.NewPCG(c.Seed, n))
	u, slow, dup := rng.Float64(), rng.Float64(), rng.Float64()
	d := draw{status: serverErrors[rng.IntN(len(serverErrors))], cleanCut: rng.IntN(2) == 0, slow: slow < c.Slow, back: 1 + rng.IntN(3)}
	switch {
	case u < c.RateLimit:
		d.fail = failRateLimit
	case u < c.RateLimit+c.ServerError:
		d.fail = failServerError
	case u < c.RateLimit+c.ServerError+c.Cut:
		d.fail = failCut
	case u < c.RateLimit+c.ServerError+c.Cut+c.ExpireCursor && hasCursor:
		d.fail = failExpire
	}
	if !hasCursor || dup >= c.Duplicate {
		d.back = 0
	}
	return d
}

// faultSet is the faults one response carried.
type faultSet uint8

const (
	servedRateLimit faultSet = 1 << iota
	servedServerError
	servedSlow
	servedCut
	servedExpire
	servedDuplicate
	servedBadRecord
)

var faultNames = []string{"rate_limit", "server_error", "slow", "cut", "expire_cursor", "duplicate", "bad_record"}

func (f faultSet) String() string {
	var names []string
	for i, n := range faultNames {
		if f&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// FaultStats counts the requests a Server received and the faults it served.
type FaultStats struct {
	Requests       int64
	RateLimited    int64 // 429 responses
	ServerErrors   int64 // injected 5xx responses
	Slow           int64 // delayed responses
	Cut            int64 // bodies cut short
	ExpiredCursors int64 // injected 410s (a cursor past its TTL is not counted)
	Duplicates     int64 // pages that started before their cursor
	BadRecords     int64 // bad records in pages served whole, repeats included
}

type faultCounters struct {
	requests, rateLimited, serverErrors, slow, cut, expired, duplicates, badRecords atomic.Int64
}

// Stats returns the counts so far.
func (s *Server) Stats() FaultStats {
	c := &s.stats
	return FaultStats{
		Requests: c.requests.Load(), RateLimited: c.rateLimited.Load(), ServerErrors: c.serverErrors.Load(),
		Slow: c.slow.Load(), Cut: c.cut.Load(), ExpiredCursors: c.expired.Load(),
		Duplicates: c.duplicates.Load(), BadRecords: c.badRecords.Load(),
	}
}

func (c *faultCounters) count(f faultSet, badRecords int) {
	// In the order of faultSet's bits.
	for i, n := range [...]*atomic.Int64{&c.rateLimited, &c.serverErrors, &c.slow, &c.cut, &c.expired, &c.duplicates} {
		if f&(1<<i) != 0 {
			n.Add(1)
		}
	}
	c.badRecords.Add(int64(badRecords))
}

// InjectedRecord is one bad record the server slipped into a page.
type InjectedRecord struct {
	Entity string
	Kind   string // one of the Bad* kinds
	Field  string // the broken field; "" when the record as a whole is broken
	JSON   []byte // the record as served
}

// injected is a bad record with the position of the version it copies.
type injected struct {
	pos int
	rec InjectedRecord
}

type injectionLog struct {
	mu   sync.Mutex
	seen map[injectionKey]bool
	recs []InjectedRecord
}

type injectionKey struct {
	entity string
	pos    int
}

func (l *injectionLog) add(bad []injected) {
	if len(bad) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[injectionKey]bool{}
	}
	for _, b := range bad {
		k := injectionKey{b.rec.Entity, b.pos}
		if !l.seen[k] {
			l.seen[k] = true
			l.recs = append(l.recs, b.rec)
		}
	}
}

// Injected lists the bad records served in pages delivered whole, each once
// however often it was served, in the order first served. Their JSON must
// not be modified.
func (s *Server) Injected() []InjectedRecord {
	s.injected.mu.Lock()
	defer s.injected.mu.Unlock()
	return slices.Clone(s.injected.recs)
}

// badRecord decides whether the version at pos is followed by a bad copy,
// and makes it: the same for every page that serves that version.
func (c FaultConfig) badRecord(es *endpoint, pos int) (injected, bool) {
	if c.BadRecord == 0 || len(es.bad) == 0 {
		return injected{}, false
	}
	h := mix(c.Seed ^ es.salt ^ mix(uint64(pos)))
	if unit(h) >= c.BadRecord {
		return injected{}, false
	}
	h = mix(h)
	t := es.bad[h%uint64(len(es.bad))]
	rec := InjectedRecord{Entity: es.entity.Name, Kind: t.kind.name}
	var f schemas.Field
	if len(t.fields) > 0 {
		h = mix(h)
		f = t.fields[h%uint64(len(t.fields))]
		rec.Field = f.Name
	}
	raw, err := t.kind.apply(es.recs[pos].JSON, f, mix(h))
	if err != nil {
		panic(fmt.Sprintf("simulator: corrupting %s record %s: %v", es.entity.Name, es.recs[pos].Key, err))
	}
	rec.JSON = raw
	return injected{pos: pos, rec: rec}, true
}

// The kinds of injected bad record: a copy of a real version with exactly
// one contract rule broken.
const (
	BadFloatMoney   = "float_money"    // a money field as a JSON number
	BadMissingKey   = "missing_key"    // a key field left out
	BadEnum         = "unknown_enum"   // a value outside the field's enum
	BadTimestamp    = "bad_timestamp"  // no offset, or not RFC 3339 at all
	BadDate         = "bad_date"       // not YYYY-MM-DD
	BadIdentifier   = "bad_identifier" // an identifier of the wrong length or charset
	BadUSCCCheck    = "bad_uscc_check" // a USCC whose check character is wrong
	BadIntAsString  = "int_as_string"  // an integer field as a JSON string
	BadNotObject    = "not_object"     // the record is not a JSON object
	BadBoolAsString = "bool_as_string" // a boolean field as a JSON string
)

// badKind breaks one rule, in a field it fits or, if fits is nil, in the
// record as a whole. corrupt gets the field's raw value (nil if null or
// absent) and returns its replacement, nil to leave the field out.
type badKind struct {
	name    string
	fits    func(schemas.Field) bool
	corrupt func(old []byte, f schemas.Field, h uint64) []byte
}

var badKinds = []*badKind{
	{BadFloatMoney, isKind(schemas.KindMoney), func(old []byte, _ schemas.Field, _ uint64) []byte {
		return []byte(cmp.Or(unquote(old), "1234.5"))
	}},
	{BadMissingKey, func(f schemas.Field) bool { return f.Key }, func([]byte, schemas.Field, uint64) []byte { return nil }},
	{BadEnum, func(f schemas.Field) bool { return f.Enum != nil }, func(_ []byte, f schemas.Field, _ uint64) []byte {
		v := "unknown"
		for slices.Contains(f.Enum, v) {
			v += "_value"
		}
		return quote(v)
	}},
	{BadTimestamp, isKind(schemas.KindTimestamp), func(old []byte, _ schemas.Field, h uint64) []byte {
		t, err := time.Parse(time.RFC3339Nano, unquote(old))
		if err != nil {
			t = time.Date(2026, 9, 10, 10, 0, 0, 0, schemas.Shanghai)
		}
		return quote(t.Format([]string{"2006-01-02T15:04:05", "2006/01/02 15:04"}[h%2]))
	}},
	{BadDate, isKind(schemas.KindDate), func(old []byte, _ schemas.Field, h uint64) []byte {
		t, err := time.Parse(time.DateOnly, unquote(old))
		if err != nil {
			t = time.Date(2026, 9, 10, 0, 0, 0, 0, time.UTC)
		}
		return quote(t.Format([]string{"2006/01/02", "02.01.2006"}[h%2]))
	}},
	{BadIdentifier, func(f schemas.Field) bool { return f.Kind == schemas.KindString && badIdentifiers[f.Format] != nil },
		func(old []byte, f schemas.Field, _ uint64) []byte {
			s := unquote(old)
			if schemas.Formats[f.Format](s) != nil {
				s = validIdentifiers[f.Format]
			}
			return quote(badIdentifiers[f.Format](s))
		}},
	{BadUSCCCheck, func(f schemas.Field) bool { return f.Kind == schemas.KindString && f.Format == "uscc" },
		func(old []byte, _ schemas.Field, h uint64) []byte {
			s := unquote(old)
			if schemas.CheckUSCC(s) != nil {
				s = validIdentifiers["uscc"]
			}
			i := strings.IndexByte(usccChars, s[17])
			return quote(s[:17] + string(usccChars[(i+1+int(h%30))%len(usccChars)]))
		}},
	{BadIntAsString, isKind(schemas.KindInt), func(old []byte, _ schemas.Field, _ uint64) []byte {
		return quote(cmp.Or(string(old), "1"))
	}},
	{BadNotObject, nil, nil},
	{BadBoolAsString, isKind(schemas.KindBool), func(old []byte, _ schemas.Field, _ uint64) []byte {
		return quote(cmp.Or(string(old), "false"))
	}},
}

func isKind(k schemas.Kind) func(schemas.Field) bool {
	return func(f schemas.Field) bool { return f.Kind == k }
}

// validIdentifiers are well-formed identifiers, to break when a field is null.
var validIdentifiers = map[string]string{
	"customs_code": "2201", "decl_no": "220120261000000001", "ent_code": "2201910001",
	"uscc": "91310115MA1K4Q8B2" + string(must(schemas.USCCCheckChar("91310115MA1K4Q8B2"))), "officer_id": "22010001",
	"hs_code": "8471300000", "trade_mode": "0110", "manual_no": "B22012600001",
	"voucher_no": "220120261000000001", "month": "2026-09", "id": "X1",
}

// badIdentifiers break a well-formed identifier of each format.
var badIdentifiers = map[string]func(string) string{
	"customs_code": func(s string) string { return s[:3] },
	"decl_no":      func(s string) string { return s[:17] },
	"ent_code":     func(s string) string { return s[:9] },
	"uscc":         func(s string) string { return s[:17] },
	"officer_id":   func(s string) string { return s[:2] + "AB" + s[4:] },
	"hs_code":      func(s string) string { return s[:8] },
	"trade_mode":   func(s string) string { return s[:2] + "A" + s[3:] },
	"manual_no":    func(s string) string { return "A" + s[1:] },
	"voucher_no":   func(s string) string { return s[:10] },
	"month":        func(s string) string { return strings.Replace(s, "-", "/", 1) },
	"id":           func(string) string { return "" },
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// badTarget is a kind of bad record and the fields of one entity it can break.
type badTarget struct {
	kind   *badKind
	fields []schemas.Field
}

// badTargets lists the kinds of bad record that apply to e.
func badTargets(e *schemas.Entity) []badTarget {
	var out []badTarget
	for _, k := range badKinds {
		t := badTarget{kind: k}
		if k.fits != nil {
			for _, f := range e.Fields {
				if k.fits(f) {
					t.fields = append(t.fields, f)
				}
			}
			if len(t.fields) == 0 {
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

// apply makes a bad copy of the record rec, breaking field f.
func (k *badKind) apply(rec []byte, f schemas.Field, h uint64) ([]byte, error) {
	if k.fits == nil {
		return slices.Concat([]byte("["), rec, []byte("]")), nil
	}
	ms, err := members(rec)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(ms, func(m member) bool { return m.name == f.Name })
	var old []byte
	if i >= 0 && string(ms[i].raw) != "null" {
		old = ms[i].raw
	}
	switch v := k.corrupt(old, f, h); {
	case v == nil && i >= 0:
		ms = slices.Delete(ms, i, i+1)
	case v != nil && i >= 0:
		ms[i].raw = v
	case v != nil:
		ms = append(ms, member{f.Name, v})
	}
	return encodeMembers(ms), nil
}

// member is one name and raw value of a JSON object, kept in order so that
// a bad copy reads like the record it copies.
type member struct {
	name string
	raw  []byte
}

// members splits a JSON object into its members, without decoding them.
func members(obj []byte) ([]member, error) {
	obj = bytes.TrimSpace(obj)
	if !json.Valid(obj) || obj[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var ms []member
	for i := skipSpace(obj, 1); obj[i] != '}'; {
		end := valueEnd(obj, i)
		name := unquote(obj[i:end])
		i = skipSpace(obj, skipSpace(obj, end)+1) // past the colon
		end = valueEnd(obj, i)
		ms = append(ms, member{name, obj[i:end]})
		if i = skipSpace(obj, end); obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return ms, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd is the end of the valid JSON value that starts at b[i].
func valueEnd(b []byte, i int) int {
	depth, inString := 0, false
	for j := i; j < len(b); j++ {
		c := b[j]
		switch {
		case inString && c == '\\':
			j++
		case inString:
			inString = c != '"'
			if !inString && depth == 0 {
				return j + 1
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 {
				return j
			}
			if depth--; depth == 0 {
				return j + 1
			}
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return j
		}
	}
	return len(b)
}

func encodeMembers(ms []member) []byte {
	b := []byte{'{'}
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, quote(m.name)...)
		b = append(b, ':')
		b = append(b, m.raw...)
	}
	return append(b, '}')
}

func quote(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// unquote is the JSON string raw holds, or "" if it holds something else.
func unquote(raw []byte) string {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : n-1])
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}
