package simulator

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// The platform API's defaults (platform-api.md).
const (
	SchemaVersion        = 1
	DefaultVisibilityLag = 120 * time.Second
	DefaultCursorTTL     = 10 * time.Minute
)

// ServerOptions configure a Server. A zero field takes its default.
type ServerOptions struct {
	// Token is the bearer token every request must carry. Required.
	Token string
	// Clock is the platform's clock. Default: fixed at the dataset's end plus
	// VisibilityLag plus a second, so every version is visible and no cursor
	// ever expires.
	Clock func() time.Time
	// VisibilityLag is the most a version's visibility trails its updated_at.
	// Default DefaultVisibilityLag.
	VisibilityLag time.Duration
	// CursorTTL is how long a cursor stays valid. Default DefaultCursorTTL.
	CursorTTL time.Duration
	// Faults sets the injected faults; the zero value injects none.
	Faults FaultConfig
	// Logger gets one debug line per request. Default: discard.
	Logger *slog.Logger
}

// Server is the simulated risk-management platform: it serves a Dataset
// through the API of platform-api.md, optionally with injected faults. It
// implements http.Handler and is safe for concurrent use.
type Server struct {
	ds       *Dataset
	digest   [sha256.Size]byte // of the token: comparing digests hides the token's length
	clock    func() time.Time
	lag      time.Duration
	ttl      time.Duration
	faults   FaultConfig
	log      *slog.Logger
	entities map[string]*endpoint
	metaList []metaEntity
	stats    faultCounters
	injected injectionLog
}

// endpoint is one entity as the server pages it.
type endpoint struct {
	entity *schemas.Entity
	recs   []Record
	salt   uint64 // mixes the entity into its per-version hashes
	bad    []badTarget
}

type metaEntity struct {
	Name string   `json:"name"`
	Key  []string `json:"key"`
}

// NewServer checks opt, fills in its defaults and returns a server for ds.
func NewServer(ds *Dataset, opt ServerOptions) (*Server, error) {
	switch {
	case ds == nil:
		return nil, errors.New("simulated platform: no dataset")
	case opt.Token == "":
		return nil, errors.New("simulated platform: a bearer token is required")
	case opt.VisibilityLag < 0:
		return nil, fmt.Errorf("simulated platform: visibility lag %s is negative", opt.VisibilityLag)
	case opt.CursorTTL < 0:
		return nil, fmt.Errorf("simulated platform: cursor TTL %s is negative", opt.CursorTTL)
	}
	faults, err := opt.Faults.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("simulated platform: %w", err)
	}
	s := &Server{
		ds: ds, digest: sha256.Sum256([]byte(opt.Token)), clock: opt.Clock,
		lag: cmp.Or(opt.VisibilityLag, DefaultVisibilityLag), ttl: cmp.Or(opt.CursorTTL, DefaultCursorTTL),
		faults: faults, log: opt.Logger, entities: map[string]*endpoint{},
	}
	if s.clock == nil {
		fixed := ds.Config.End().Time().Add(s.lag + time.Second)
		s.clock = func() time.Time { return fixed }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, e := range schemas.Entities() {
		s.entities[e.Name] = &endpoint{entity: e, recs: ds.Records(e.Name), salt: hashString(e.Name), bad: badTargets(e)}
		s.metaList = append(s.metaList, metaEntity{Name: e.Name, Key: e.Key})
	}
	return s, nil
}

// reply is a response before it is written, so that faults can shape it.
type reply struct {
	status     int
	body       []byte
	retryAfter string
	items      int        // versions served, for the log
	bad        []injected // bad records in the page, logged once served whole
	served     faultSet
}

func errorReply(status int, format string, args ...any) *reply {
	body, _ := json.Marshal(map[string]string{"error": fmt.Sprintf(format, args...)})
	return &reply{status: status, body: body}
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.stats.requests.Add(1)
	rp := s.authorize(w, r)
	f := draw{}
	if rp == nil {
		f = s.faults.draw(uint64(n), r.URL.Query().Get("cursor") != "")
		rp = s.handle(r, f)
	}
	s.write(w, rp, f)
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "platform request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", rp.status), slog.Int("items", rp.items), slog.String("faults", rp.served.String()))
}

// authorize returns an error reply for a request without the token or not a GET.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) *reply {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	got := sha256.Sum256([]byte(tok))
	if !ok || subtle.ConstantTimeCompare(got[:], s.digest[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="platform"`)
		return errorReply(http.StatusUnauthorized, "missing or wrong bearer token")
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return errorReply(http.StatusMethodNotAllowed, "method %s not allowed; the API is read-only (GET)", r.Method)
	}
	return nil
}

// handle delays the request if it drew that, then answers it.
func (s *Server) handle(r *http.Request, f draw) *reply {
	if !f.slow {
		return s.answer(r, f)
	}
	t := time.NewTimer(s.faults.SlowDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return errorReply(http.StatusServiceUnavailable, "request cancelled")
	}
	rp := s.answer(r, f)
	rp.served |= servedSlow
	return rp
}

// answer serves the request's transient failure, if it drew one, or routes it.
func (s *Server) answer(r *http.Request, f draw) *reply {
	switch f.fail {
	case failRateLimit:
		rp := errorReply(http.StatusTooManyRequests, "rate limit exceeded; retry later")
		rp.retryAfter = strconv.FormatInt(int64((s.faults.RetryAfter+time.Second-1)/time.Second), 10)
		rp.served = servedRateLimit
		return rp
	case failServerError:
		rp := errorReply(f.status, "transient platform error")
		rp.served = servedServerError
		return rp
	case failExpire:
		rp := errorReply(http.StatusGone, "cursor expired; restart the window")
		rp.served = servedExpire
		return rp
	}
	now := s.clock()
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v1/")
	switch {
	case !ok || path == "" || strings.Contains(path, "/"):
		return errorReply(http.StatusNotFound, "no such endpoint %q; the API serves /api/v1/meta and /api/v1/{entity}", r.URL.Path)
	case path == "meta":
		return s.meta(now)
	}
	return s.list(r, path, now, f)
}

// meta answers GET /api/v1/meta. Marshalling strings and integers cannot fail.
func (s *Server) meta(now time.Time) *reply {
	body, _ := json.Marshal(struct {
		SchemaVersion int          `json:"schema_version"`
		ServerTime    string       `json:"server_time"`
		Lag           int64        `json:"visibility_lag_seconds"`
		Entities      []metaEntity `json:"entities"`
	}{SchemaVersion, formatTime(now), int64((s.lag + time.Second - 1) / time.Second), s.metaList})
	return &reply{status: http.StatusOK, body: body}
}

// write sends rp, cutting a successful body short when the request drew that.
func (s *Server) write(w http.ResponseWriter, rp *reply, f draw) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Schema-Version", strconv.Itoa(SchemaVersion))
	if rp.retryAfter != "" {
		h.Set("Retry-After", rp.retryAfter)
	}
	body, length := rp.body, len(rp.body)
	if f.fail == failCut && rp.status == http.StatusOK {
		// Half the time the body ends cleanly but too early (invalid JSON);
		// otherwise the declared length promises more than is sent, and
		// the server drops the connection: the client sees an unexpected EOF.
		rp.served |= servedCut
		body = body[:len(body)/2]
		if f.cleanCut {
			length = len(body)
		}
	}
	h.Set("Content-Length", strconv.Itoa(length))
	w.WriteHeader(rp.status)
	_, err := w.Write(body)
	whole := err == nil && rp.served&servedCut == 0
	if !whole {
		rp.bad = nil
	}
	s.stats.count(rp.served, len(rp.bad))
	s.injected.add(rp.bad)
}

// Serve serves the API on ln until ctx is cancelled, then shuts down
// gracefully; in-flight requests see their context cancelled.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serving the simulated platform: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serving the simulated platform: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("shutting down the simulated platform: %w", err)
	}
	return nil
}

// ListenAndServe listens on addr and serves the API until ctx is cancelled.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// formatTime is the platform's timestamp: RFC 3339 at +08:00.
func formatTime(t time.Time) string { return t.In(schemas.Shanghai).Format(time.RFC3339Nano) }
