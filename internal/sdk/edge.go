package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/limit"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

// Every ecosystem's HTTP edge answers the same way: the helpers here decide caching,
// revalidation and the status of an error once, for all of them.

// ImmutableMaxAge is how long caches may keep what never changes: a year, the longest
// RFC 9111 asks caches to honour.
const ImmutableMaxAge = "max-age=31536000"

// CacheControl returns the Cache-Control of a response made from a module's content. A
// shared cache (a CDN or proxy in front of Lathe) may keep only what anyone may read:
// anything else was answered to a caller with credentials, and is private. Immutable
// responses (published archives and what is stored with them) may be kept a year;
// mutable ones (indexes, packuments, version lists) are revalidated on every use.
func CacheControl(vis store.Visibility, immutable bool) string {
	switch {
	case vis == store.Public && immutable:
		return "public, " + ImmutableMaxAge + ", immutable"
	case vis == store.Public:
		return "no-cache"
	case immutable:
		return "private, " + ImmutableMaxAge + ", immutable"
	}
	return "private, no-cache"
}

// CallerVisibility is the visibility of a response whose content depends on who asks
// (such as a list of the modules the caller can see): public for anonymous callers only.
func CallerVisibility(ctx context.Context) store.Visibility {
	if _, ok := auth.User(ctx); ok {
		return store.Private
	}
	return store.Public
}

// ArtifactCacheControl returns the Cache-Control of a published artifact's archive and
// metadata, from its module's visibility now: a module made private since publication
// is no longer cached publicly, and one the caller may no longer read is the package
// version that does not exist, naming no module.
func (s *Service) ArtifactCacheControl(ctx context.Context, a store.Artifact) (string, error) {
	m, err := s.reg.ReadableModule(ctx, a.ModuleID)
	if errors.Is(err, ErrNotFound) {
		return "", s.artifactNotFound(ctx, a)
	}
	if err != nil {
		return "", err
	}
	return CacheControl(m.Visibility, true), nil
}

// MatchesETag reports whether an If-None-Match header matches etag: with the weak
// comparison RFC 9110 prescribes for it (W/"x" matches "x"), any of a comma-separated
// list, or "*".
func MatchesETag(header, etag string) bool {
	etag = strings.TrimPrefix(etag, "W/")
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// NotModified sets a response's ETag and, if the request's If-None-Match matches it,
// answers 304 and reports true.
func NotModified(w http.ResponseWriter, r *http.Request, etag string) bool {
	w.Header().Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && MatchesETag(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}

// ErrTokenRequired matches errors for requests that must carry a token and carry none:
// answered 401.
var ErrTokenRequired = errors.New("this index needs a token")

// Edge is how one ecosystem answers over HTTP: the shape of its error bodies and how it
// asks for credentials.
type Edge struct {
	// Ecosystem names the ecosystem in the log, e.g. "npm".
	Ecosystem string
	Log       *slog.Logger
	// JSON writes error bodies as {"error": message}, which npm clients print; otherwise
	// they are plain text, which the go command, cargo and pip print.
	JSON bool
	// TokenHelp follows "invalid token: create one with lathe token create" in the
	// answer to a token that names no user: how to give one to the package manager.
	TokenHelp string
	// Challenge is the WWW-Authenticate header of 401 answers, if the package manager
	// reads one.
	Challenge string
}

// Error answers with a status and a message in the ecosystem's shape: for 424 also its
// status line's reason phrase where the protocol has one (see [FailedDependency]).
func (e *Edge) Error(w http.ResponseWriter, code int, msg string) {
	if code == http.StatusUnauthorized && e.Challenge != "" {
		w.Header().Set("WWW-Authenticate", e.Challenge)
	}
	if !e.JSON {
		TextError(w, code, msg)
		return
	}
	body, _ := json.Marshal(map[string]string{"error": msg})
	body = append(body, '\n')
	if code == http.StatusFailedDependency && FailedDependency(w, "application/json", body, msg) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// Fail answers with the status an error calls for, the one mapping of errors to HTTP
// statuses of every ecosystem:
//
//   - 404 for what does not exist or may not be seen ([ErrNotFound]), with its message,
//     as for any other missing thing;
//   - 424 with the plugin's words for a failed generation (for a [*GenerationError], its
//     whole message: package, module, commit, plugin, the plugin's error and what to
//     do), which package managers print. Not a 5xx, which package managers retry
//     although the generation would fail the same way, nor a 404 or 410, on which the
//     go command would ask the next proxy in its list;
//   - 401 for a token that names no user ([auth.ErrInvalidToken]) or a missing one
//     ([ErrTokenRequired]), with the ecosystem's challenge;
//   - 429 with a Retry-After for an anonymous request that would generate beyond its
//     address's rate ([*RateLimitError]);
//   - 400 for a request that cannot be valid ([registry.ErrInvalid]);
//   - 429 with Retry-After for a caller, or a server, with too many requests running
//     ([limit.ErrBusy]);
//   - nothing when the client went away;
//   - otherwise 500 with a pointer to the log, where the error is written with the
//     request's method and path and the ecosystem.
func (e *Edge) Fail(w http.ResponseWriter, r *http.Request, err error) {
	msg, failed := PluginFailure(err)
	var limited *RateLimitError
	switch {
	case errors.Is(err, ErrNotFound):
		e.Error(w, http.StatusNotFound, err.Error())
	case failed:
		e.Error(w, http.StatusFailedDependency, msg)
	case errors.Is(err, auth.ErrInvalidToken):
		e.Error(w, http.StatusUnauthorized, auth.ErrInvalidToken.Error()+e.TokenHelp)
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(limited.Seconds()))
		e.Error(w, http.StatusTooManyRequests, err.Error())
	case errors.Is(err, ErrTokenRequired):
		e.Error(w, http.StatusUnauthorized, err.Error())
	case errors.Is(err, registry.ErrInvalid):
		e.Error(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, limit.ErrBusy):
		w.Header().Set("Retry-After", strconv.Itoa(int(limit.RetryAfter/time.Second)))
		e.Error(w, http.StatusTooManyRequests, err.Error())
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away. (A cancellation of anything else is a failure: an
		// empty answer would be a 200.)
	default:
		e.Log.Error("SDK request failed", "method", r.Method, "path", r.URL.Path, "ecosystem", e.Ecosystem, "err", err)
		e.Error(w, http.StatusInternalServerError, "internal error; the server log has details")
	}
}

// PluginFailure returns what to tell a client about a generation that failed, for
// protocols that carry the message otherwise than [Edge.Fail] does.
func PluginFailure(err error) (string, bool) {
	var ge *GenerationError
	switch {
	case errors.As(err, &ge) && errors.Is(ge.Err, codegen.ErrPlugin):
		return ge.Error() + ". " + ge.Advice(), true
	case errors.As(err, &ge):
		return ge.Error() + "; lathe sdk jobs lists failed generations", true
	case errors.Is(err, codegen.ErrPlugin):
		return "generating the package failed: " + err.Error(), true
	}
	return "", false
}

// TextError answers with a status and a plain-text message, which package managers show
// their users.
func TextError(w http.ResponseWriter, code int, msg string) {
	const contentType = "text/plain; charset=utf-8"
	if code == http.StatusFailedDependency && FailedDependency(w, contentType, []byte(msg+"\n"), msg) {
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

// maxReason bounds a status line's reason phrase.
const maxReason = 1024

// FailedDependency answers 424 with body over HTTP/1.x, msg being the status line's
// reason phrase too, as PyPI does for its errors: uv and Yarn print the status line but no
// body, and pip prints it with -vv. net/http writes only standard phrases, so the response
// is written on the hijacked connection, which is then closed. It reports false, having
// written nothing, where there is no connection to take (HTTP/2 has no phrases).
func FailedDependency(w http.ResponseWriter, contentType string, body []byte, msg string) bool {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	defer conn.Close()
	reason := []byte(msg)
	if len(reason) > maxReason {
		reason = append(reason[:maxReason-3], "..."...)
	}
	for i, c := range reason {
		if c < ' ' || c > '~' {
			reason[i] = '?' // a phrase is one line of visible ASCII
		}
	}
	fmt.Fprintf(rw, "HTTP/1.1 424 %s\r\nContent-Type: %s\r\nCache-Control: no-cache\r\n"+
		"Content-Length: %d\r\nConnection: close\r\n\r\n%s", reason, contentType, len(body), body)
	_ = rw.Flush()
	return true
}
