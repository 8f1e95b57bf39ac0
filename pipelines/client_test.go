package pipelines_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/pipelines"
)

const page = `{"items":[{"a":1}],"next_cursor":null,"server_time":"2026-10-05T01:00:00+08:00"}`

// platform answers each request with the next of answers (the last repeats).
func platform(t *testing.T, answers ...func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		w.Header().Set("X-Schema-Version", "1")
		answers[min(i, len(answers)-1)](w)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func status(code int, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":"status %d"}`, code)
	}
}

func body(s string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { fmt.Fprint(w, s) }
}

func client(t *testing.T, url string, cfg pipelines.ClientConfig) *pipelines.Client {
	t.Helper()
	cfg.BaseURL, cfg.Token = url, testToken
	if cfg.RetryWaitMin == 0 {
		cfg.RetryWaitMin, cfg.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	}
	c, err := pipelines.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetryAfterIsCapped(t *testing.T) {
	t.Parallel()
	srv, n := platform(t, status(429, "Retry-After", "3600"), status(503, "Retry-After", "3600"), body(page))
	c := client(t, srv.URL, pipelines.ClientConfig{MaxRetryAfter: 20 * time.Millisecond})
	t0 := time.Now()
	p, err := c.Page(context.Background(), "officers", pipelines.PageQuery{})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("page after 429 and 503: %v", err)
	}
	if d := time.Since(t0); d > 2*time.Second || n.Load() != 3 {
		t.Errorf("took %v over %d requests; Retry-After must be capped", d, n.Load())
	}
}

func TestCutAndInvalidBodiesAreRetried(t *testing.T) {
	t.Parallel()
	srv, n := platform(t, body(page[:30]), body("<html>proxy error</html>"), body(page))
	p, err := client(t, srv.URL, pipelines.ClientConfig{}).Page(context.Background(), "officers", pipelines.PageQuery{})
	if err != nil || len(p.Items) != 1 || n.Load() != 3 {
		t.Fatalf("want the third, whole page; got %v after %d requests", err, n.Load())
	}
	srv2, _ := platform(t, body(page[:30]))
	_, err = client(t, srv2.URL, pipelines.ClientConfig{Retries: 2}).Page(context.Background(), "officers", pipelines.PageQuery{})
	var be *pipelines.BodyError
	if !errors.As(err, &be) {
		t.Fatalf("a body never whole: want a BodyError, got %v", err)
	}
}

func TestEachAttemptHasADeadline(t *testing.T) {
	t.Parallel()
	hang := func(w http.ResponseWriter) { time.Sleep(2 * time.Second) }
	srv, n := platform(t, hang, body(page))
	c := client(t, srv.URL, pipelines.ClientConfig{Timeout: 100 * time.Millisecond})
	if _, err := c.Page(context.Background(), "officers", pipelines.PageQuery{}); err != nil || n.Load() != 2 {
		t.Fatalf("a hung attempt must time out and be retried: %v after %d", err, n.Load())
	}
}

func TestRefusalsSayWhatToCheck(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code int
		want string
	}{
		{401, "check the platform token"},
		{404, "check the entity names"},
		{400, "bug in the request"},
		{503, "retry the run later"},
	}
	for _, tc := range cases {
		srv, _ := platform(t, status(tc.code))
		_, err := client(t, srv.URL, pipelines.ClientConfig{Retries: 1}).Page(context.Background(), "officers", pipelines.PageQuery{})
		var ae *pipelines.APIError
		if !errors.As(err, &ae) || ae.Status != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d: got %v", tc.code, err)
		}
	}
	srv, _ := platform(t, status(410))
	if _, err := client(t, srv.URL, pipelines.ClientConfig{}).Page(context.Background(), "officers", pipelines.PageQuery{Cursor: "c"}); !errors.Is(err, pipelines.ErrCursorExpired) {
		t.Errorf("410: want ErrCursorExpired, got %v", err)
	}
}

func TestClientConfigChecked(t *testing.T) {
	t.Parallel()
	for _, cfg := range []pipelines.ClientConfig{
		{Token: "t"},
		{BaseURL: "ftp://x", Token: "t"},
		{BaseURL: "http://x"},
	} {
		if _, err := pipelines.NewClient(cfg); err == nil {
			t.Errorf("NewClient(%+v) accepted", cfg)
		}
	}
}
