package simulator

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// Page sizes the API accepts.
const (
	DefaultLimit = 1000
	MaxLimit     = 5000
)

// cursor is where a listing continues. It is handed out base64url-encoded
// and is only valid for the window it was issued for.
type cursor struct {
	Entity string `json:"e"`
	Since  *int64 `json:"s,omitempty"` // window bounds, Unix nanoseconds
	Before *int64 `json:"b,omitempty"`
	Pos    int    `json:"p"` // index of the next version in the entity's records
	Issued int64  `json:"t"` // server time at issue, Unix nanoseconds
}

func (c cursor) encode() string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // a struct of strings and integers always encodes
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Entity == "" {
		return c, errors.New("malformed cursor; pass next_cursor back unchanged")
	}
	return c, nil
}

// listQuery is a listing request's parameters.
type listQuery struct {
	since, before *int64 // Unix nanoseconds; nil is an open bound
	limit         int
	cursor        string
}

func parseListQuery(raw string) (listQuery, *reply) {
	q := listQuery{limit: DefaultLimit}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, errorReply(http.StatusBadRequest, "malformed query string: %v", err)
	}
	bounds := []struct {
		name string
		dst  **int64
	}{{"updated_since", &q.since}, {"updated_before", &q.before}}
	for _, b := range bounds {
		name, dst := b.name, b.dst
		v := vals.Get(name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return q, errorReply(http.StatusBadRequest, "%s=%q is not an RFC 3339 timestamp with offset (escape + as %%2B)", name, v)
		}
		ns := t.UnixNano()
		*dst = &ns
	}
	if q.since != nil && q.before != nil && *q.since > *q.before {
		return q, errorReply(http.StatusBadRequest, "updated_since is after updated_before")
	}
	if v := vals.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return q, errorReply(http.StatusBadRequest, "limit=%q must be an integer from 1 to %d", v, MaxLimit)
		}
		q.limit = n
	}
	q.cursor = vals.Get("cursor")
	return q, nil
}

// start is the position a page begins at: the window's first version, or
// the cursor's position after checking it belongs to this window and is fresh.
func (q listQuery) start(name string, lo, n int, now time.Time, ttl time.Duration) (int, *reply) {
	if q.cursor == "" {
		return lo, nil
	}
	c, err := decodeCursor(q.cursor)
	if err != nil {
		return 0, errorReply(http.StatusBadRequest, "%v", err)
	}
	if c.Entity != name || !sameBound(c.Since, q.since) || !sameBound(c.Before, q.before) {
		return 0, errorReply(http.StatusBadRequest, "the cursor belongs to another entity or window; send the same entity, updated_since and updated_before as the request that returned it")
	}
	if now.Sub(time.Unix(0, c.Issued)) > ttl {
		return 0, errorReply(http.StatusGone, "cursor expired; restart the window")
	}
	if c.Pos < lo || c.Pos > n {
		return 0, errorReply(http.StatusBadRequest, "malformed cursor; pass next_cursor back unchanged")
	}
	return c.Pos, nil
}

func sameBound(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// list answers GET /api/v1/{entity}: the visible versions of the window from
// the cursor on, in (updated_at, key) order, written from their encoded JSON.
func (s *Server) list(r *http.Request, name string, now time.Time, f draw) *reply {
	es, ok := s.entities[name]
	if !ok {
		return errorReply(http.StatusNotFound, "unknown entity %q; GET /api/v1/meta lists them", name)
	}
	q, bad := parseListQuery(r.URL.RawQuery)
	if bad != nil {
		return bad
	}
	recs := es.recs
	lo, hi := 0, sort.Search(len(recs), func(i int) bool { return recs[i].UpdatedAt.After(now) })
	if q.since != nil {
		lo = sort.Search(len(recs), func(i int) bool { return recs[i].UpdatedAt.UnixNano() >= *q.since })
	}
	if q.before != nil {
		hi = min(hi, sort.Search(len(recs), func(i int) bool { return recs[i].UpdatedAt.UnixNano() >= *q.before }))
	}
	from, bad := q.start(name, lo, len(recs), now, s.ttl)
	if bad != nil {
		return bad
	}
	pos := from
	if q.cursor != "" && f.back > 0 {
		// At-least-once delivery: start a little before where the previous
		// page ended, though never so far that the page cannot advance.
		pos = max(lo, from-min(f.back, q.limit-1))
	}
	items := make([][]byte, 0, min(q.limit, max(hi-pos, 0)))
	rp := &reply{status: http.StatusOK}
	if pos < from {
		rp.served |= servedDuplicate
	}
	i := pos
	for ; i < hi && rp.items < q.limit; i++ {
		if !s.visible(es, &recs[i], now) {
			continue
		}
		items = append(items, recs[i].JSON)
		rp.items++
		if inj, ok := s.faults.badRecord(es, i); ok {
			items = append(items, inj.rec.JSON)
			rp.bad = append(rp.bad, inj)
			rp.served |= servedBadRecord
		}
	}
	for i < hi && !s.visible(es, &recs[i], now) {
		i++
	}
	next := ""
	if i < hi {
		next = cursor{Entity: name, Since: q.since, Before: q.before, Pos: i, Issued: now.UnixNano()}.encode()
	}
	rp.body = pageBody(items, next, now)
	return rp
}

// visible reports whether the version is visible at now: each version
// appears a deterministic delay after its updated_at, spread evenly over
// [0, lag].
func (s *Server) visible(es *endpoint, r *Record, now time.Time) bool {
	switch {
	case !r.UpdatedAt.Add(s.lag).After(now):
		return true
	case r.UpdatedAt.After(now):
		return false
	}
	h := mix(es.salt ^ hashString(r.Key) ^ mix(uint64(r.UpdatedAt.UnixNano())))
	delay := time.Duration(h % uint64(s.lag+1))
	return !r.UpdatedAt.Add(delay).After(now)
}

// pageBody writes the page around the versions' encoded JSON, unchanged.
func pageBody(items [][]byte, next string, now time.Time) []byte {
	ts := formatTime(now)
	size := len(`{"items":[],"next_cursor":null,"server_time":""}`) + len(next) + len(ts)
	for _, it := range items {
		size += len(it) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"items":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	b = append(b, `],"next_cursor":`...)
	if next == "" {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = append(b, next...)
		b = append(b, '"')
	}
	b = append(b, `,"server_time":"`...)
	b = append(b, ts...)
	return append(b, `"}`...)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// mix is splitmix64's finaliser: a cheap, well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hashString is FNV-1a, stable across processes unlike maphash.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
