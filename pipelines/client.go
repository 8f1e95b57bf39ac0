// Package pipelines extracts the risk-management platform's data over its
// HTTP API (platform-api.md) into the raw Parquet lake: the client, paging
// and windows, the raw writer, quarantine, and the run ledger.
package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"

	gojson "github.com/goccy/go-json"
)

// SchemaVersion is the contract's major version this build understands.
const SchemaVersion = 1

// ClientConfig configures a platform client. Zero fields take the defaults
// documented on each.
type ClientConfig struct {
	BaseURL string // e.g. http://127.0.0.1:8700; required
	Token   string // bearer token; required; never logged
	// Timeout bounds one HTTP attempt, body included. Default 60 s.
	Timeout time.Duration
	// Retries is how many times a failed attempt (connection error, 429,
	// 5xx, a body cut short) is retried before giving up. Default 8.
	Retries int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff with
	// jitter between attempts. Defaults 250 ms and 30 s.
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRetryAfter caps the platform's Retry-After. Default 60 s.
	MaxRetryAfter time.Duration
	Logger        *slog.Logger // default: discard
}

func (c *ClientConfig) setDefaults() {
	if c.Timeout == 0 {
		c.Timeout = 60 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 8
	}
	if c.RetryWaitMin == 0 {
		c.RetryWaitMin = 250 * time.Millisecond
	}
	if c.RetryWaitMax == 0 {
		c.RetryWaitMax = 30 * time.Second
	}
	if c.MaxRetryAfter == 0 {
		c.MaxRetryAfter = 60 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Client talks to the platform's API. It is safe for concurrent use.
type Client struct {
	cfg  ClientConfig
	base *url.URL
	http *retryablehttp.Client
}

// NewClient checks cfg and builds a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	cfg.setDefaults()
	if cfg.BaseURL == "" {
		return nil, errors.New("no platform URL: set --platform-url or HLWARN_PLATFORM_URL")
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("platform URL %q is not an http(s) URL such as http://127.0.0.1:8700", cfg.BaseURL)
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("no platform token: set --platform-token-file or HLWARN_PLATFORM_TOKEN")
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Timeout: cfg.Timeout}
	rc.Logger = cfg.Logger
	rc.RetryMax = cfg.Retries
	rc.RetryWaitMin, rc.RetryWaitMax = cfg.RetryWaitMin, cfg.RetryWaitMax
	rc.Backoff = cfg.backoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &Client{cfg: cfg, base: base, http: rc}, nil
}

// backoff waits the platform's Retry-After, capped, when it gave one, else
// an exponential delay with full jitter between min and max.
func (c *ClientConfig) backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, c.MaxRetryAfter)
		}
	}
	d := lo << min(attempt, 30)
	if d <= 0 || d > hi {
		d = hi
	}
	return lo + rand.N(d-lo+1)
}

// APIError is a response the platform refused, after retries where they apply.
type APIError struct {
	Status  int
	Path    string // request path, without the query
	Message string // the platform's {"error": ...}
}

func (e *APIError) Error() string {
	hint := ""
	switch e.Status {
	case http.StatusUnauthorized:
		hint = "; check the platform token (--platform-token-file or HLWARN_PLATFORM_TOKEN)"
	case http.StatusNotFound:
		hint = "; check the entity names against GET /api/v1/meta"
	case http.StatusBadRequest:
		hint = "; this is a bug in the request, report it"
	default:
		if e.Status >= 500 || e.Status == http.StatusTooManyRequests {
			hint = "; the platform kept failing, retry the run later"
		}
	}
	return fmt.Sprintf("platform answered %d %s on %s: %s%s", e.Status, http.StatusText(e.Status), e.Path, e.Message, hint)
}

// ErrCursorExpired means a page's cursor outlived its 10 minutes (410): the
// caller must restart the window.
var ErrCursorExpired = errors.New("platform cursor expired (410)")

// SchemaVersionError is a response with a contract version this build does
// not know. It is never retried.
type SchemaVersionError struct{ Got string }

func (e *SchemaVersionError) Error() string {
	return fmt.Sprintf("platform speaks contract version %q, this hlwarn understands %d; stop and upgrade hlwarn (or the contract) before extracting", e.Got, SchemaVersion)
}

// BodyError is a response whose body could not be read or was not valid
// JSON after every retry.
type BodyError struct {
	Path string
	Err  error
}

func (e *BodyError) Error() string {
	return fmt.Sprintf("platform response on %s was cut short or not JSON after retries: %v", e.Path, e.Err)
}

func (e *BodyError) Unwrap() error { return e.Err }

// get fetches path with query and decodes the JSON body into out. Transient
// failures are retried, including bodies that are cut short or not JSON; a
// page is never half-used. It returns the body size.
func (c *Client) get(ctx context.Context, path string, query url.Values, out any) (int, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var lastErr error
	for attempt := 0; attempt <= c.cfg.Retries; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, c.cfg.backoff(c.cfg.RetryWaitMin, c.cfg.RetryWaitMax, attempt, nil)); err != nil {
				return 0, err
			}
		}
		n, err := c.getOnce(ctx, u.String(), path, out)
		var be *BodyError
		if !errors.As(err, &be) {
			return n, err
		}
		lastErr = err
		c.cfg.Logger.Warn("retrying a page whose body was cut short or not JSON", "path", path, "attempt", attempt+1, "err", be.Err)
	}
	return 0, lastErr
}

func (c *Client) getOnce(ctx context.Context, rawURL, path string, out any) (int, error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, fmt.Errorf("building request for %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("cannot reach the platform at %s (%s): %w; check --platform-url and that the platform is up", c.base.Redacted(), path, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if v := resp.Header.Get("X-Schema-Version"); v != strconv.Itoa(SchemaVersion) {
		return 0, &SchemaVersionError{Got: v}
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, &BodyError{Path: path, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = gojson.Unmarshal(body, &e)
		if resp.StatusCode == http.StatusGone {
			return 0, ErrCursorExpired
		}
		return 0, &APIError{Status: resp.StatusCode, Path: path, Message: e.Error}
	}
	if err := gojson.Unmarshal(body, out); err != nil {
		return 0, &BodyError{Path: path, Err: err}
	}
	return len(body), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Meta is the platform's self-description.
type Meta struct {
	SchemaVersion        int       `json:"schema_version"`
	ServerTime           time.Time `json:"server_time"`
	VisibilityLagSeconds int       `json:"visibility_lag_seconds"`
	Entities             []struct {
		Name string   `json:"name"`
		Key  []string `json:"key"`
	} `json:"entities"`
}

// VisibilityLag is the platform's visibility lag as a duration.
func (m Meta) VisibilityLag() time.Duration {
	return time.Duration(m.VisibilityLagSeconds) * time.Second
}

// Meta fetches GET /api/v1/meta.
func (c *Client) Meta(ctx context.Context) (Meta, error) {
	var m Meta
	if _, err := c.get(ctx, "/api/v1/meta", nil, &m); err != nil {
		return Meta{}, err
	}
	if m.SchemaVersion != SchemaVersion {
		return Meta{}, &SchemaVersionError{Got: strconv.Itoa(m.SchemaVersion)}
	}
	return m, nil
}

// PageQuery selects one page of an entity: the half-open window
// [Since, Before) on updated_at (zero times leave a side open), a cursor
// from the previous page, and the page size (0: the platform's default).
type PageQuery struct {
	Since, Before time.Time
	Cursor        string
	Limit         int
}

// Page is one page of an entity's versions, items kept as raw JSON.
type Page struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor *string           `json:"next_cursor"`
	ServerTime time.Time         `json:"server_time"`
	Bytes      int               `json:"-"`
}

// Page fetches one page of entity.
func (c *Client) Page(ctx context.Context, entity string, q PageQuery) (*Page, error) {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("updated_since", q.Since.Format(time.RFC3339Nano))
	}
	if !q.Before.IsZero() {
		v.Set("updated_before", q.Before.Format(time.RFC3339Nano))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var p Page
	n, err := c.get(ctx, "/api/v1/"+url.PathEscape(entity), v, &p)
	if err != nil {
		return nil, err
	}
	p.Bytes = n
	return &p, nil
}
