package simulator

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

const testToken = "s3cret-test-token"

var serverDataset = sync.OnceValues(func() (*Dataset, error) { return Generate(DefaultConfig()) })

// testDataset is the default simulation, generated once for the package's tests.
func testDataset(t *testing.T) *Dataset {
	t.Helper()
	ds, err := serverDataset()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"officers", "duty_roster", "enterprises"} {
		if len(ds.Records(name)) == 0 {
			t.Fatalf("the default simulation has no %s", name)
		}
	}
	return ds
}

// servedEntities are the entities with records, reference data first.
func servedEntities(ds *Dataset) []*schemas.Entity {
	var out []*schemas.Entity
	for _, e := range schemas.Entities() {
		if len(ds.Records(e.Name)) > 0 {
			out = append(out, e)
		}
	}
	return out
}

func newTestServer(t *testing.T, ds *Dataset, opt ServerOptions) *Server {
	t.Helper()
	opt.Token = cmp.Or(opt.Token, testToken)
	s, err := NewServer(ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeClock is a platform clock the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).In(schemas.Shanghai) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// get sends an authorised GET straight to the handler.
func get(h http.Handler, target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

type page struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor *string           `json:"next_cursor"`
	ServerTime string            `json:"server_time"`
}

func listURL(entity string, q url.Values) string { return "/api/v1/" + entity + "?" + q.Encode() }

func window(since, before time.Time, limit int) url.Values {
	q := url.Values{"limit": {fmt.Sprint(limit)}}
	if !since.IsZero() {
		q.Set("updated_since", since.Format(time.RFC3339Nano))
	}
	if !before.IsZero() {
		q.Set("updated_before", before.Format(time.RFC3339Nano))
	}
	return q
}

// scan follows a window's cursors to its end on a fault-free server.
func scan(t *testing.T, h http.Handler, entity string, q url.Values) []json.RawMessage {
	t.Helper()
	var items []json.RawMessage
	for pages := 0; ; pages++ {
		rec := get(h, listURL(entity, q))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s page %d: %d %s", entity, pages, rec.Code, rec.Body)
		}
		var p page
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatalf("%s page %d: %v", entity, pages, err)
		}
		items = append(items, p.Items...)
		if p.NextCursor == nil {
			return items
		}
		if pages > 100000 {
			t.Fatalf("%s: the scan does not end", entity)
		}
		q.Set("cursor", *p.NextCursor)
	}
}

// inWindow is the versions with since <= updated_at < before; a zero bound is open.
func inWindow(recs []Record, since, before time.Time) []Record {
	var out []Record
	for _, r := range recs {
		if r.UpdatedAt.Before(since) || (!before.IsZero() && !r.UpdatedAt.Before(before)) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func TestServerScanServesEveryVersionOnce(t *testing.T) {
	t.Parallel()
	ds := testDataset(t)
	s := newTestServer(t, ds, ServerOptions{})
	now := s.clock()
	tombstones := 0
	for _, e := range servedEntities(ds) {
		recs := ds.Records(e.Name)
		n := len(recs)
		limit := max(7, n/500) // small pages, but a bounded number of them
		cases := []struct{ name, since, before string }{
			{"up to server time minus lag", "", now.Add(-s.lag).Format(time.RFC3339)},
			{"middle third", recs[n/3].UpdatedAt.Format(time.RFC3339Nano), recs[2*n/3].UpdatedAt.Format(time.RFC3339Nano)},
			{"from the middle on", recs[n/2].UpdatedAt.UTC().Format(time.RFC3339Nano), ""},
		}
		for _, tc := range cases {
			t.Run(e.Name+"/"+tc.name, func(t *testing.T) {
				q := url.Values{"limit": {fmt.Sprint(limit)}}
				var since, before time.Time
				if tc.since != "" {
					since, _ = time.Parse(time.RFC3339Nano, tc.since)
					q.Set("updated_since", tc.since)
				}
				if tc.before != "" {
					before, _ = time.Parse(time.RFC3339Nano, tc.before)
					q.Set("updated_before", tc.before)
				}
				want := inWindow(recs, since, before)
				got := scan(t, s, e.Name, q)
				if len(got) != len(want) {
					t.Fatalf("served %d versions, the window has %d", len(got), len(want))
				}
				for i := range want {
					if !bytes.Equal(got[i], want[i].JSON) {
						t.Fatalf("item %d is\n%s\nwant\n%s", i, got[i], want[i].JSON)
					}
					if i > 0 && cmp.Or(want[i-1].UpdatedAt.Compare(want[i].UpdatedAt), cmp.Compare(want[i-1].Key, want[i].Key)) >= 0 {
						t.Fatalf("items %d and %d are out of (updated_at, key) order", i-1, i)
					}
					if bytes.Contains(got[i], []byte(`"deleted":true`)) {
						tombstones++
					}
				}
			})
		}
	}
	if tombstones == 0 {
		t.Error("no tombstone was served; duty_roster has withdrawn shifts")
	}
}

// visibilityDataset is officers' versions every 3 s over ten minutes.
func visibilityDataset(t *testing.T) (*Dataset, time.Time) {
	t.Helper()
	base := time.Date(2026, 9, 10, 10, 0, 0, 0, schemas.Shanghai)
	em := newEmitter(base.Add(time.Hour))
	for i := range 200 {
		rec := &schemas.Officer{OfficerID: fmt.Sprintf("%08d", 22010000+i), Name: ptr("测试"), Status: ptr("active")}
		rec.UpdatedAt = base.Add(time.Duration(i) * 3 * time.Second)
		em.Emit(rec)
	}
	ds, err := em.dataset(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return ds, base
}

func TestServerVisibility(t *testing.T) {
	t.Parallel()
	hand, base := visibilityDataset(t)
	gen := testDataset(t)
	roster := gen.Records("duty_roster")
	cases := []struct {
		name   string
		ds     *Dataset
		entity string
		clock  time.Time
		lag    time.Duration
	}{
		{"hand-built, default lag", hand, "officers", base.Add(5 * time.Minute), 0},
		{"hand-built, 30 s lag", hand, "officers", base.Add(5*time.Minute + 500*time.Millisecond), 30 * time.Second},
		{"generated roster", gen, "duty_roster", roster[len(roster)/2].UpdatedAt.Add(time.Minute), 0},
		{"generated enterprises", gen, "enterprises", gen.Records("enterprises")[200].UpdatedAt.Add(time.Second), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock(tc.clock)
			s := newTestServer(t, tc.ds, ServerOptions{Clock: clock.Now, VisibilityLag: tc.lag})
			got := map[string]bool{}
			for _, it := range scan(t, s, tc.entity, url.Values{"limit": {"5"}}) {
				got[string(it)] = true
			}
			pending, missing := 0, 0
			for _, r := range tc.ds.Records(tc.entity) {
				switch served := got[string(r.JSON)]; {
				case r.UpdatedAt.After(tc.clock) && served:
					t.Errorf("%s at %s is served before it happened", r.Key, r.UpdatedAt)
				case !r.UpdatedAt.Add(s.lag).After(tc.clock) && !served:
					t.Errorf("%s at %s is missing though older than the lag", r.Key, r.UpdatedAt)
				case r.UpdatedAt.After(tc.clock):
				case r.UpdatedAt.Add(s.lag).After(tc.clock):
					pending++
					if !served {
						missing++
					}
				}
			}
			if tc.ds == hand && (missing == 0 || missing == pending) {
				t.Errorf("%d of %d versions within the lag are missing; the delays should spread over the lag", missing, pending)
			}
			clock.Advance(s.lag)
			for _, r := range tc.ds.Records(tc.entity) {
				if !r.UpdatedAt.After(tc.clock) && !s.visible(s.entities[tc.entity], &r, clock.Now()) {
					t.Fatalf("%s at %s is still invisible a full lag later", r.Key, r.UpdatedAt)
				}
			}
		})
	}
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	ds := testDataset(t)
	start := ds.Config.End().Time().Add(DefaultVisibilityLag + time.Second)
	clock := newFakeClock(start)
	s := newTestServer(t, ds, ServerOptions{Clock: clock.Now})
	first := func(entity string, q url.Values) string {
		var p page
		if err := json.Unmarshal(get(s, listURL(entity, q)).Body.Bytes(), &p); err != nil || p.NextCursor == nil {
			t.Fatalf("no cursor from %s?%s: %v", entity, q.Encode(), err)
		}
		return *p.NextCursor
	}
	before := start.Add(-DefaultVisibilityLag)
	cur := first("officers", window(time.Time{}, before, 3))
	withCursor := func(q url.Values) url.Values { q.Set("cursor", cur); return q }
	cases := []struct {
		name   string
		method string
		target string
		auth   string
		status int
		errMsg string
	}{
		{"no token", "GET", "/api/v1/meta", "", 401, "token"},
		{"wrong token", "GET", "/api/v1/meta", "Bearer wrong", 401, "token"},
		{"token without Bearer", "GET", "/api/v1/meta", testToken, 401, "token"},
		{"post", "POST", "/api/v1/officers", "Bearer " + testToken, 405, "GET"},
		{"unknown entity", "GET", "/api/v1/nope", "Bearer " + testToken, 404, "unknown entity"},
		{"unknown path", "GET", "/api/v2/officers", "Bearer " + testToken, 404, "no such endpoint"},
		{"limit 0", "GET", "/api/v1/officers?limit=0", "Bearer " + testToken, 400, "limit"},
		{"limit 5001", "GET", "/api/v1/officers?limit=5001", "Bearer " + testToken, 400, "limit"},
		{"limit text", "GET", "/api/v1/officers?limit=ten", "Bearer " + testToken, 400, "limit"},
		{"bad since", "GET", "/api/v1/officers?updated_since=2026-09-10", "Bearer " + testToken, 400, "updated_since"},
		{"unescaped plus", "GET", "/api/v1/officers?updated_before=2026-09-10T10:00:00+08:00", "Bearer " + testToken, 400, "%2B"},
		{"since after before", "GET", listURL("officers", window(before, before.Add(-time.Hour), 5)), "Bearer " + testToken, 400, "after"},
		{"malformed cursor", "GET", "/api/v1/officers?cursor=%21%21", "Bearer " + testToken, 400, "malformed cursor"},
		{"cursor of garbage JSON", "GET", "/api/v1/officers?cursor=e30", "Bearer " + testToken, 400, "malformed cursor"},
		{"cursor for another window", "GET", listURL("officers", withCursor(window(time.Time{}, before.Add(-time.Hour), 3))), "Bearer " + testToken, 400, "another entity or window"},
		{"cursor without its window", "GET", listURL("officers", withCursor(url.Values{})), "Bearer " + testToken, 400, "another entity or window"},
		{"cursor for another entity", "GET", listURL("enterprises", withCursor(window(time.Time{}, before, 3))), "Bearer " + testToken, 400, "another entity or window"},
		{"cursor with another limit", "GET", listURL("officers", withCursor(window(time.Time{}, before, 50))), "Bearer " + testToken, 200, ""},
		{"meta", "GET", "/api/v1/meta", "Bearer " + testToken, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			checkResponse(t, rec, tc.status, tc.errMsg)
		})
	}
	t.Run("cursor within its TTL", func(t *testing.T) {
		clock.Advance(DefaultCursorTTL - time.Second)
		checkResponse(t, get(s, listURL("officers", withCursor(window(time.Time{}, before, 3)))), 200, "")
	})
	t.Run("cursor past its TTL", func(t *testing.T) {
		clock.Advance(2 * time.Second)
		rec := get(s, listURL("officers", withCursor(window(time.Time{}, before, 3))))
		checkResponse(t, rec, 410, "")
		if got := strings.TrimSpace(rec.Body.String()); got != `{"error":"cursor expired; restart the window"}` {
			t.Errorf("body %s", got)
		}
	})
}

func checkResponse(t *testing.T, rec *httptest.ResponseRecorder, status int, errMsg string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if v := rec.Header().Get("X-Schema-Version"); v != "1" {
		t.Errorf("X-Schema-Version %q", v)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if status == 200 {
		return
	}
	var body struct{ Error string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, errMsg) {
		t.Errorf("error body %s (%v), want it to mention %q", rec.Body, err, errMsg)
	}
	if strings.Contains(rec.Body.String(), testToken) {
		t.Error("the error body carries the token")
	}
}

func TestServerMeta(t *testing.T) {
	t.Parallel()
	ds := testDataset(t)
	s := newTestServer(t, ds, ServerOptions{})
	rec := get(s, "/api/v1/meta")
	var meta struct {
		SchemaVersion int    `json:"schema_version"`
		ServerTime    string `json:"server_time"`
		Lag           int    `json:"visibility_lag_seconds"`
		Entities      []struct {
			Name string   `json:"name"`
			Key  []string `json:"key"`
		} `json:"entities"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &meta); err != nil {
		t.Fatal(err)
	}
	wantTime := ds.Config.End().Time().Add(DefaultVisibilityLag + time.Second).Format(time.RFC3339)
	if meta.SchemaVersion != 1 || meta.Lag != 120 || meta.ServerTime != wantTime || !strings.HasSuffix(meta.ServerTime, "+08:00") {
		t.Errorf("meta %+v, want schema 1, lag 120, server time %s", meta, wantTime)
	}
	if len(meta.Entities) != len(schemas.Entities()) {
		t.Fatalf("%d entities, want %d", len(meta.Entities), len(schemas.Entities()))
	}
	for i, e := range schemas.Entities() {
		if meta.Entities[i].Name != e.Name || strings.Join(meta.Entities[i].Key, ",") != strings.Join(e.Key, ",") {
			t.Errorf("entity %d is %+v, want %s %v", i, meta.Entities[i], e.Name, e.Key)
		}
	}
}

// exchange is one request's response, as compared between two servers.
type exchange struct {
	status             int
	retryAfter, length string
	body               string
}

// session sends the same requests over every entity, following cursors and
// retrying failures, and records every response.
func session(t *testing.T, s *Server) []exchange {
	t.Helper()
	var out []exchange
	send := func(target string) *httptest.ResponseRecorder {
		rec := get(s, target)
		out = append(out, exchange{rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Content-Length"), rec.Body.String()})
		return rec
	}
	send("/api/v1/meta")
	for _, e := range schemas.Entities() {
		q := url.Values{"limit": {"50"}}
		for tries := 0; tries < 200; tries++ {
			rec := send(listURL(e.Name, q))
			var p page
			if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &p) != nil {
				continue
			}
			if p.NextCursor == nil {
				break
			}
			q.Set("cursor", *p.NextCursor)
		}
	}
	return out
}

func TestServerSameSeedSameResponses(t *testing.T) {
	t.Parallel()
	opt := ServerOptions{Faults: AllFaults(0.1)}
	opt.Faults.Seed, opt.Faults.SlowDelay = 42, time.Microsecond
	var runs [2][]exchange
	var injected [2][]InjectedRecord
	for i := range runs {
		ds, err := Generate(DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		s := newTestServer(t, ds, opt)
		runs[i] = session(t, s)
		injected[i] = s.Injected()
	}
	if len(runs[0]) != len(runs[1]) {
		t.Fatalf("%d and %d responses", len(runs[0]), len(runs[1]))
	}
	for i := range runs[0] {
		if runs[0][i] != runs[1][i] {
			t.Fatalf("response %d differs:\n%+v\n%+v", i, runs[0][i], runs[1][i])
		}
	}
	if len(injected[0]) == 0 || fmt.Sprint(injected[0]) != fmt.Sprint(injected[1]) {
		t.Errorf("injected records differ or are none: %d and %d", len(injected[0]), len(injected[1]))
	}
}

func TestServerRetriedPageIsIdentical(t *testing.T) {
	t.Parallel()
	ds := testDataset(t)
	s := newTestServer(t, ds, ServerOptions{Faults: FaultConfig{Seed: 9, BadRecord: 0.2}})
	for _, e := range servedEntities(ds) {
		q := url.Values{"limit": {"13"}}
		for pages := 0; pages < 40; pages++ {
			a, b := get(s, listURL(e.Name, q)), get(s, listURL(e.Name, q))
			if a.Code != 200 || a.Body.String() != b.Body.String() {
				t.Fatalf("%s?%s answered twice differently:\n%s\n%s", e.Name, q.Encode(), a.Body, b.Body)
			}
			var p page
			if err := json.Unmarshal(a.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.NextCursor == nil {
				break
			}
			q.Set("cursor", *p.NextCursor)
		}
	}
}

func TestServerLogsWithoutToken(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newTestServer(t, testDataset(t), ServerOptions{Logger: logger})
	get(s, "/api/v1/officers?limit=3")
	req := httptest.NewRequest(http.MethodGet, "/api/v1/meta", nil)
	req.Header.Set("Authorization", "Bearer not-"+testToken)
	s.ServeHTTP(httptest.NewRecorder(), req)
	mu.Lock()
	defer mu.Unlock()
	out := buf.String()
	if strings.Contains(out, testToken) {
		t.Errorf("the log carries the token:\n%s", out)
	}
	for _, want := range []string{"path=/api/v1/officers", "status=200", "items=3", "status=401"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestServerOptionsValidation(t *testing.T) {
	t.Parallel()
	ds := testDataset(t)
	cases := []struct {
		name string
		opt  ServerOptions
		want string
	}{
		{"no token", ServerOptions{}, "token"},
		{"negative lag", ServerOptions{Token: "t", VisibilityLag: -time.Second}, "lag"},
		{"negative TTL", ServerOptions{Token: "t", CursorTTL: -time.Second}, "TTL"},
		{"rate above 1", ServerOptions{Token: "t", Faults: FaultConfig{Cut: 1.5}}, "cut"},
		{"negative rate", ServerOptions{Token: "t", Faults: FaultConfig{BadRecord: -0.1}}, "bad-record"},
		{"transient rates above 1", ServerOptions{Token: "t", Faults: AllFaults(0.3)}, "add up"},
		{"negative slow delay", ServerOptions{Token: "t", Faults: FaultConfig{SlowDelay: -1}}, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewServer(ds, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := NewServer(ds, ServerOptions{Token: "t", Faults: AllFaults(0.25)}); err != nil {
		t.Errorf("AllFaults(0.25): %v", err)
	}
}

func TestServerServeShutsDown(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, testDataset(t), ServerOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/api/v1/meta", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("meta over the listener: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}

	ctx, cancel = context.WithCancel(t.Context())
	go func() { done <- s.ListenAndServe(ctx, "127.0.0.1:0") }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe returned %v after cancel", err)
	}
	if err := s.ListenAndServe(t.Context(), "256.0.0.1:1"); err == nil {
		t.Error("ListenAndServe on a bad address succeeded")
	}
}

// BenchmarkServerScan pages through every entity, 5000 versions a page.
func BenchmarkServerScan(b *testing.B) {
	ds, err := serverDataset()
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewServer(ds, ServerOptions{Token: testToken})
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, n := range ds.records {
		for _, r := range n {
			size += int64(len(r.JSON))
		}
	}
	b.SetBytes(size)
	for b.Loop() {
		for _, e := range servedEntities(ds) {
			q := url.Values{"limit": {"5000"}}
			for {
				rec := get(s, listURL(e.Name, q))
				i := bytes.LastIndex(rec.Body.Bytes(), []byte(`"next_cursor":"`))
				if i < 0 {
					break
				}
				cur, _, _ := strings.Cut(rec.Body.String()[i+len(`"next_cursor":"`):], `"`)
				q.Set("cursor", cur)
			}
		}
	}
}
