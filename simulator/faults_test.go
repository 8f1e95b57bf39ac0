package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// withinBinomial checks that got is within 4 sigma of n draws at rate p.
func withinBinomial(t *testing.T, what string, got int64, n int, p float64) {
	t.Helper()
	mean, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
	if math.Abs(float64(got)-mean) > 4*sd {
		t.Errorf("%s: %d of %d, want about %.0f ± %.0f", what, got, n, mean, 4*sd)
	}
}

func TestFaultTransientRates(t *testing.T) {
	t.Parallel()
	ds := testDataset(t)
	var first page
	if err := json.Unmarshal(get(newTestServer(t, ds, ServerOptions{}), "/api/v1/enterprises?limit=5").Body.Bytes(), &first); err != nil || first.NextCursor == nil {
		t.Fatalf("no first page: %v", err)
	}
	faults := AllFaults(0.1)
	faults.Seed, faults.SlowDelay = 1, time.Nanosecond
	s := newTestServer(t, ds, ServerOptions{Faults: faults})
	const n = 2000
	statuses := map[int]int{}
	for range n {
		rec := get(s, "/api/v1/enterprises?limit=5&cursor="+*first.NextCursor)
		statuses[rec.Code]++
		if rec.Code == 429 && rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("429 with Retry-After %q, want the default 1", rec.Header().Get("Retry-After"))
		}
	}
	st := s.Stats()
	if st.Requests != n {
		t.Errorf("%d requests counted, sent %d", st.Requests, n)
	}
	fiveXX := int64(0)
	for _, code := range serverErrors {
		if statuses[code] == 0 {
			t.Errorf("no %d among the server errors", code)
		}
		fiveXX += int64(statuses[code])
	}
	for _, c := range []struct {
		name     string
		stat     int64
		observed int64 // what the client saw, -1 if it cannot tell
		trials   int
	}{
		{"rate limit", st.RateLimited, int64(statuses[429]), n},
		{"server error", st.ServerErrors, fiveXX, n},
		{"expired cursor", st.ExpiredCursors, int64(statuses[410]), n},
		{"cut", st.Cut, -1, n},
		{"slow", st.Slow, -1, n},
		{"duplicate", st.Duplicates, -1, statuses[200]},
	} {
		withinBinomial(t, c.name, c.stat, c.trials, 0.1)
		if c.observed >= 0 && c.observed != c.stat {
			t.Errorf("%s: counted %d, the client saw %d", c.name, c.stat, c.observed)
		}
	}
}

func TestFaultBadRecordRate(t *testing.T) {
	t.Parallel()
	ds := testDataset(t)
	s := newTestServer(t, ds, ServerOptions{Faults: FaultConfig{Seed: 3, BadRecord: 0.1}})
	versions, bad := 0, int64(0)
	for _, e := range servedEntities(ds) {
		// The scan is otherwise fault-free, so every item beyond the versions is a bad copy.
		versions += len(ds.Records(e.Name))
		bad += int64(len(scan(t, s, e.Name, url.Values{"limit": {"1000"}})) - len(ds.Records(e.Name)))
	}
	withinBinomial(t, "bad records", bad, versions, 0.1)
	if st := s.Stats(); st.BadRecords != bad || int64(len(s.Injected())) != bad {
		t.Errorf("served %d bad records, counted %d, logged %d", bad, st.BadRecords, len(s.Injected()))
	}
}

// badSample is a record to make bad copies of.
type badSample struct {
	entity *schemas.Entity
	rec    Record
}

// kindSamples are records with a field of every kind, some null, a
// tombstone, and the first version of every generated entity.
func kindSamples(t *testing.T, ds *Dataset) []badSample {
	t.Helper()
	at := time.Date(2026, 9, 10, 10, 0, 0, 0, schemas.Shanghai)
	v := schemas.Version{UpdatedAt: at}
	recs := []any{
		&schemas.Declaration{DeclNo: "220120261000000123", CustomsCode: ptr("2201"), IEFlag: ptr("I"), TradeMode: ptr("0110"),
			ConsigneeCode: ptr("2201910001"), ArrivalDate: ptr(schemas.MustDate("2026-09-08")), DeclaredAt: ptr(at),
			DutyPayable: ptr(schemas.Money(123456)), AggregatedTax: ptr(true), Status: ptr("accepted"), Version: v},
		&schemas.DeclarationItem{DeclNo: "220120261000000123", ItemNo: 2, HSCode: ptr("8471300000"), Qty: ptr(schemas.Decimal(1500000)), Version: v},
		&schemas.TaxVoucher{VoucherNo: "220120261000000123-D", TaxpayerUSCC: ptr(validIdentifiers["uscc"]), Amount: ptr(schemas.Yuan(9)), Version: v},
		&schemas.VoucherCheck{CheckID: "VC1", TaxPeriod: ptr("2026-09"), Version: v},
		&schemas.TemporaryAdmission{TANo: "TA1", Extensions: ptr(int32(1)), ApprovalLevel: ptr("customs"), Version: v},
		&schemas.Manual{ManualNo: "C22012600007", ExtensionApproved: ptr(false), Version: v},
		&schemas.DutyRoster{OfficerID: "22010001", DutyDate: schemas.MustDate("2026-09-11"), Version: schemas.Version{UpdatedAt: at, Deleted: true}},
	}
	var out []badSample
	for _, rec := range recs {
		e, err := schemas.EntityOf(rec)
		if err != nil {
			t.Fatal(err)
		}
		em := newEmitter(at.Add(time.Hour))
		em.Emit(rec)
		out = append(out, badSample{e, em.records[e.Name][0]})
	}
	for _, e := range servedEntities(ds) {
		out = append(out, badSample{e, ds.Records(e.Name)[0]})
	}
	return out
}

func TestFaultBadRecordKindsBreakOneRule(t *testing.T) {
	t.Parallel()
	samples := kindSamples(t, testDataset(t))
	for _, k := range badKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			checked := 0
			for _, sm := range samples {
				targets := badTargets(sm.entity)
				i := slices.IndexFunc(targets, func(bt badTarget) bool { return bt.kind == k })
				if i < 0 {
					continue
				}
				fields := targets[i].fields
				if len(fields) == 0 {
					fields = []schemas.Field{{}}
				}
				for _, f := range fields {
					for h := range uint64(2) {
						raw, err := k.apply(sm.rec.JSON, f, h)
						if err != nil {
							t.Fatal(err)
						}
						checkOneProblem(t, sm.entity, raw, f.Name)
						checked++
					}
				}
			}
			if checked == 0 {
				t.Errorf("no sample record has a field for %s", k.name)
			}
		})
	}
}

// checkOneProblem decodes raw and wants exactly one problem, in field.
func checkOneProblem(t *testing.T, e *schemas.Entity, raw []byte, field string) {
	t.Helper()
	_, err := e.Decode(raw)
	var re *schemas.RecordError
	if !errors.As(err, &re) {
		t.Fatalf("%s accepted a bad record: %s", e.Name, raw)
	}
	if len(re.Problems) != 1 || re.Problems[0].Field != field {
		t.Errorf("%s: problems %v, want one in %q:\n%s", e.Name, re.Problems, field, raw)
	}
}

func TestFaultInjectedRecordsAreStable(t *testing.T) {
	t.Parallel()
	ds := testDataset(t)
	s := newTestServer(t, ds, ServerOptions{Faults: FaultConfig{Seed: 11, BadRecord: 0.2, Duplicate: 0.5}})
	follower := map[string]string{} // valid item -> the bad item after it, "" for none
	seenBad := map[string]bool{}
	for _, name := range []string{"officers", "enterprises", "duty_roster"} {
		e, _ := schemas.Lookup(name)
		for pass := range 3 {
			q := url.Values{"limit": {fmt.Sprint(7 + pass)}}
			for retry := 0; ; retry++ {
				rec := get(s, listURL(name, q))
				var p page
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
					t.Fatal(err)
				}
				for i, it := range p.Items {
					if _, err := e.Decode(it); err != nil {
						seenBad[name+string(it)] = true
						continue
					}
					next := ""
					if i+1 < len(p.Items) {
						if _, err := e.Decode(p.Items[i+1]); err != nil {
							next = string(p.Items[i+1])
						}
					}
					if prev, ok := follower[string(it)]; ok && prev != next {
						t.Fatalf("%s: a retried version is followed by\n%s\nthen by\n%s", name, prev, next)
					}
					follower[string(it)] = next
				}
				if p.NextCursor == nil {
					break
				}
				if retry%2 == 1 { // every page is asked for twice
					q.Set("cursor", *p.NextCursor)
				}
			}
		}
	}
	inj := s.Injected()
	unique := map[string]bool{}
	for _, r := range inj {
		if unique[r.Entity+string(r.JSON)] {
			t.Errorf("Injected lists %s %s twice", r.Entity, r.JSON)
		}
		unique[r.Entity+string(r.JSON)] = true
		if !seenBad[r.Entity+string(r.JSON)] {
			t.Errorf("Injected lists %s %s, never served", r.Entity, r.JSON)
		}
	}
	if len(unique) != len(seenBad) || len(inj) == 0 {
		t.Errorf("Injected lists %d records, %d distinct bad records were served", len(unique), len(seenBad))
	}
	if st := s.Stats(); st.BadRecords <= int64(len(inj)) || st.Duplicates == 0 {
		t.Errorf("stats %+v: repeats should serve bad records again and pages should repeat versions", st)
	}
}

// extraction is what a retrying client read from one window.
type extraction struct {
	valid, invalid   map[string]bool
	eofs, badJSON    int
	restarts, errors int
}

// extract reads [.., before) of entity, retrying every fault: 429 and 5xx
// retry the request, 410 restarts the window from the last version read,
// a cut body retries the page.
func extract(t *testing.T, client *http.Client, base string, e *schemas.Entity, before time.Time, limit int) extraction {
	t.Helper()
	x := extraction{valid: map[string]bool{}, invalid: map[string]bool{}}
	var since, last time.Time // the window's start; the last version read
	cursor := ""
	for tries := 0; tries < 100000; tries++ {
		q := window(since, before, limit)
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req, _ := http.NewRequest(http.MethodGet, base+listURL(e.Name, q), nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := client.Do(req)
		if err != nil {
			x.errors++
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("reading %s: %v", e.Name, err)
			}
			x.eofs++
			continue
		case resp.StatusCode == http.StatusGone:
			x.restarts++
			since, cursor = last, ""
			continue
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			continue
		case resp.StatusCode != http.StatusOK:
			t.Fatalf("%s: %d %s", e.Name, resp.StatusCode, body)
		}
		var p page
		if json.Unmarshal(body, &p) != nil {
			x.badJSON++
			continue
		}
		for _, it := range p.Items {
			rec, err := e.Decode(it)
			if err != nil {
				x.invalid[string(it)] = true
				continue
			}
			v := schemas.VersionOf(rec)
			x.valid[fmt.Sprintf("%s@%d", e.KeyOf(rec), v.UpdatedAt.UnixNano())] = true
			last = v.UpdatedAt
		}
		if p.NextCursor == nil {
			return x
		}
		cursor = *p.NextCursor
	}
	t.Fatalf("%s: the extraction does not end", e.Name)
	return x
}

func TestFaultExtractionRecoversEverything(t *testing.T) {
	t.Parallel()
	ds := testDataset(t)
	faults := AllFaults(0.1)
	faults.Seed, faults.SlowDelay = 5, time.Millisecond
	s := newTestServer(t, ds, ServerOptions{Faults: faults})
	hs := httptest.NewServer(s)
	defer hs.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	total := extraction{}
	for _, e := range servedEntities(ds) {
		recs := ds.Records(e.Name)
		before := s.clock().Add(-s.lag)
		if len(recs) > 3000 { // keeps the test quick at any scale
			before = recs[3000].UpdatedAt
		}
		x := extract(t, client, hs.URL, e, before, max(10, len(recs)/100))
		want := inWindow(recs, time.Time{}, before)
		for _, r := range want {
			if !x.valid[fmt.Sprintf("%s@%d", r.Key, r.UpdatedAt.UnixNano())] {
				t.Errorf("%s %s at %s was never read", e.Name, r.Key, r.UpdatedAt)
			}
		}
		if len(x.valid) != len(want) {
			t.Errorf("%s: read %d distinct versions, the window has %d", e.Name, len(x.valid), len(want))
		}
		injected := map[string]bool{}
		for _, r := range s.Injected() {
			if r.Entity == e.Name {
				injected[string(r.JSON)] = true
			}
		}
		if fmt.Sprint(injected) != fmt.Sprint(x.invalid) {
			t.Errorf("%s: %d undecodable records read, %d injected", e.Name, len(x.invalid), len(injected))
		}
		total.eofs += x.eofs
		total.badJSON += x.badJSON
		total.restarts += x.restarts
	}
	st := s.Stats()
	if total.eofs == 0 || total.badJSON == 0 || total.restarts == 0 || st.RateLimited == 0 || st.ServerErrors == 0 ||
		st.Slow == 0 || st.Duplicates == 0 || st.BadRecords == 0 {
		t.Errorf("the extraction met too few faults to prove anything: client %+v, server %+v", total, st)
	}
	t.Logf("client saw %d unexpected EOFs, %d invalid bodies, %d restarts; server %+v", total.eofs, total.badJSON, total.restarts, st)
}

func TestFaultSlowAndRetryAfter(t *testing.T) {
	t.Parallel()
	ds := testDataset(t)
	slow := newTestServer(t, ds, ServerOptions{Faults: FaultConfig{Slow: 1, SlowDelay: 30 * time.Millisecond}})
	t0 := time.Now()
	if rec := get(slow, "/api/v1/meta"); rec.Code != 200 || time.Since(t0) < 30*time.Millisecond {
		t.Errorf("slow meta: %d after %s", rec.Code, time.Since(t0))
	}

	stuck := newTestServer(t, ds, ServerOptions{Faults: FaultConfig{Slow: 1, SlowDelay: time.Hour}})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/v1/meta", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	stuck.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || stuck.Stats().Slow != 0 {
		t.Errorf("a slow request whose context ended: %d, %+v", rec.Code, stuck.Stats())
	}

	limited := newTestServer(t, ds, ServerOptions{Faults: FaultConfig{RateLimit: 1, RetryAfter: 2500 * time.Millisecond}})
	rec = get(limited, "/api/v1/officers")
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "3" {
		t.Errorf("rate limited: %d, Retry-After %q, want 429 and 3", rec.Code, rec.Header().Get("Retry-After"))
	}
	checkResponse(t, rec, 429, "rate limit")
}

func TestFaultCutBodies(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, testDataset(t), ServerOptions{Faults: FaultConfig{Seed: 2, Cut: 1}})
	hs := httptest.NewServer(s)
	defer hs.Close()
	eofs, invalid := 0, 0
	for range 40 {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+"/api/v1/officers?limit=50", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			eofs++
		case err != nil:
			t.Fatal(err)
		case json.Valid(body):
			t.Fatalf("a cut body is valid JSON: %s", body)
		default:
			invalid++
		}
	}
	if eofs == 0 || invalid == 0 || s.Stats().Cut != 40 {
		t.Errorf("%d unexpected EOFs and %d invalid bodies, %d counted; want both kinds, 40 in all", eofs, invalid, s.Stats().Cut)
	}
	if len(s.Injected()) != 0 {
		t.Error("a cut page logged injected records")
	}
}

func TestFaultDuplicatesStillAdvance(t *testing.T) {
	t.Parallel()
	ds := testDataset(t)
	s := newTestServer(t, ds, ServerOptions{Faults: FaultConfig{Seed: 4, Duplicate: 1}})
	recs := ds.Records("officers")
	for _, limit := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			q := url.Values{"limit": {fmt.Sprint(limit)}}
			seen := map[string]bool{}
			served := 0
			for pages := 1; ; pages++ {
				if pages > len(recs) {
					t.Fatalf("%d pages of %d for %d versions: the cursor does not advance", pages, limit, len(recs))
				}
				var p page
				if err := json.Unmarshal(get(s, listURL("officers", q)).Body.Bytes(), &p); err != nil {
					t.Fatal(err)
				}
				for _, it := range p.Items {
					seen[string(it)] = true
				}
				served += len(p.Items)
				if p.NextCursor == nil {
					break
				}
				q.Set("cursor", *p.NextCursor)
			}
			if len(seen) != len(recs) || (limit > 1) != (served > len(recs)) {
				t.Errorf("served %d items, %d distinct, of %d versions", served, len(seen), len(recs))
			}
		})
	}
}
