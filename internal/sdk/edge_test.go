package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/limit"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

// Only what anyone may read is cacheable by shared caches, and only what never changes
// is immutable.
func TestCacheControl(t *testing.T) {
	for _, c := range []struct {
		vis       store.Visibility
		immutable bool
		want      string
	}{
		{store.Public, true, "public, max-age=31536000, immutable"},
		{store.Public, false, "no-cache"},
		{store.Private, true, "private, max-age=31536000, immutable"},
		{store.Private, false, "private, no-cache"},
	} {
		if got := CacheControl(c.vis, c.immutable); got != c.want {
			t.Errorf("CacheControl(%v, %v) = %q, want %q", c.vis, c.immutable, got, c.want)
		}
	}
	if got := CallerVisibility(context.Background()); got != store.Public {
		t.Errorf("an anonymous caller's pages are %v", got)
	}
	if got := CallerVisibility(auth.WithUser(context.Background(), store.Owner{Name: "alice"})); got != store.Private {
		t.Errorf("a user's pages are %v", got)
	}
}

func TestMatchesETag(t *testing.T) {
	const etag = `"abc"`
	for _, c := range []struct {
		header string
		want   bool
	}{
		{`"abc"`, true},
		{`W/"abc"`, true},
		{`"x", "abc"`, true},
		{`"x",W/"abc"`, true},
		{` "x" , "abc" `, true},
		{`*`, true},
		{`"x", *`, true},
		{`"x"`, false},
		{`"ab"`, false},
		{`abc`, false},
		{`"abc`, false},
		{``, false},
		{`W/"x", "y"`, false},
	} {
		if got := MatchesETag(c.header, etag); got != c.want {
			t.Errorf("MatchesETag(%q, %s) = %v, want %v", c.header, etag, got, c.want)
		}
	}
	if !MatchesETag(`"abc"`, `W/"abc"`) {
		t.Error("a weak ETag does not match its strong form")
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("If-None-Match", `W/"x", "abc"`)
	if !NotModified(rec, req, etag) || rec.Code != http.StatusNotModified || rec.Header().Get("ETag") != etag {
		t.Errorf("NotModified: %d, ETag %q", rec.Code, rec.Header().Get("ETag"))
	}
}

// Every error gets the status it calls for in the ecosystem's body shape; a failed
// generation's whole message reaches the client; other errors are logged with the
// request.
func TestFail(t *testing.T) {
	ge := &GenerationError{Ecosystem: "go", Package: "p", Version: "v1", Err: fmt.Errorf("%w: a.proto: bad", codegen.ErrPlugin),
		Build: Build{SDK: SDK{Owner: "o", Module: "m"}, Commit: store.Commit{ID: "0123456789abcdef0123456789abcdef"},
			Steps: []Step{{Owner: "acme", Name: "gen", Version: store.PluginVersion{Version: "v1.0.0"}}}}}
	for _, c := range []struct {
		err       error
		code      int
		want      string
		challenge bool
	}{
		{ge, http.StatusFailedDependency, ge.Error() + ". " + ge.Advice(), false},
		{fmt.Errorf("dependency: %w", ge), http.StatusFailedDependency, ge.Error() + ". " + ge.Advice(), false},
		{fmt.Errorf("%w: x", codegen.ErrPlugin), http.StatusFailedDependency, "generating the package failed: plugin failed: x", false},
		{notFoundf("no such thing"), http.StatusNotFound, "not found: no such thing", false},
		{auth.ErrInvalidToken, http.StatusUnauthorized, "invalid token: create one with lathe token create and say so", true},
		{fmt.Errorf("%w: log in", ErrTokenRequired), http.StatusUnauthorized, "this index needs a token: log in", true},
		{fmt.Errorf("%w: bad name", registry.ErrInvalid), http.StatusBadRequest, "invalid argument: bad name", false},
		{&RateLimitError{RetryAfter: 1500 * time.Millisecond}, http.StatusTooManyRequests, (&RateLimitError{RetryAfter: 2 * time.Second}).Error(), false},
		{fmt.Errorf("%w: wait", limit.ErrBusy), http.StatusTooManyRequests, "too many requests at once: wait", false},
		{errors.New("disk on fire"), http.StatusInternalServerError, "internal error; the server log has details", false},
	} {
		for _, json := range []bool{false, true} {
			var log bytes.Buffer
			e := &Edge{Ecosystem: "test", Log: slog.New(slog.NewTextHandler(&log, nil)), JSON: json, TokenHelp: " and say so", Challenge: "Basic"}
			rec := httptest.NewRecorder()
			e.Fail(rec, httptest.NewRequest(http.MethodGet, "/gen/x", nil), c.err)
			want := c.want + "\n"
			if json {
				want = fmt.Sprintf("{\"error\":%q}\n", c.want)
			}
			if rec.Code != c.code || rec.Body.String() != want {
				t.Errorf("Fail(%v), JSON %v = %d %q, want %d %q", c.err, json, rec.Code, rec.Body, c.code, want)
			}
			wantRetry := ""
			if rl := (*RateLimitError)(nil); errors.As(c.err, &rl) {
				wantRetry = "2"
			} else if errors.Is(c.err, limit.ErrBusy) {
				wantRetry = "5"
			}
			if got := rec.Header().Get("Retry-After"); got != wantRetry {
				t.Errorf("Fail(%v): Retry-After %q", c.err, got)
			}
			if got := rec.Header().Get("WWW-Authenticate"); (got == "Basic") != c.challenge {
				t.Errorf("Fail(%v): WWW-Authenticate %q", c.err, got)
			}
			logged := log.String()
			if (c.code == http.StatusInternalServerError) != (logged != "") {
				t.Errorf("Fail(%v) logged %q", c.err, logged)
			}
			if c.code == http.StatusInternalServerError {
				for _, s := range []string{"method=GET", "path=/gen/x", "ecosystem=test", `err="disk on fire"`} {
					if !strings.Contains(logged, s) {
						t.Errorf("the log %q lacks %s", logged, s)
					}
				}
			}
		}
	}
	if ge.Error() != "generating go package p v1 of module o/m at commit 0123456789ab with acme/gen:v1.0.0 failed: plugin failed: a.proto: bad" {
		t.Errorf("message: %s", ge.Error())
	}

	// A client that went away gets nothing; a cancellation of anything else is a failure.
	e := &Edge{Ecosystem: "test", Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	e.Fail(rec, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx), context.Canceled)
	if rec.Body.Len() != 0 {
		t.Errorf("answered a client that went away: %q", rec.Body)
	}
	rec = httptest.NewRecorder()
	e.Fail(rec, httptest.NewRequest(http.MethodGet, "/", nil), context.Canceled)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("a cancelled operation of a waiting client: %d", rec.Code)
	}
}
