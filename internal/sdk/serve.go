package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

// Published artifacts never change, so their records and small archives are kept in
// memory: serving one then costs no store or disk access beyond the access check.
const (
	maxCachedRecords      = 100000
	maxCachedArchive      = 256 << 10
	maxCachedArchiveBytes = 64 << 20
)

type artifactCache struct {
	mu       sync.Mutex
	records  map[string]store.Artifact
	archives map[string][]byte // by blob key
	bytes    int
}

func artifactKey(ecosystem, name, version string) string {
	return ecosystem + "\x00" + name + "\x00" + version
}

// Published returns a published version of a package if the caller may read its module.
func (s *Service) Published(ctx context.Context, ecosystem, name, version string) (store.Artifact, error) {
	key := artifactKey(ecosystem, name, version)
	s.cache.mu.Lock()
	a, ok := s.cache.records[key]
	s.cache.mu.Unlock()
	if !ok {
		a, err := s.reg.Artifact(ctx, ecosystem, name, version)
		if err == nil {
			s.remember(a)
		}
		return a, err
	}
	if _, err := s.reg.ReadableModule(ctx, a.ModuleID); err != nil {
		// The registry's own answer, which names no module.
		return s.reg.Artifact(ctx, ecosystem, name, version)
	}
	return a, nil
}

func (s *Service) remember(a store.Artifact) {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	if s.cache.records == nil || len(s.cache.records) >= maxCachedRecords {
		s.cache.records = make(map[string]store.Artifact)
	}
	s.cache.records[artifactKey(a.Ecosystem, a.Name, a.Version)] = a
}

// ServeArchive writes an artifact's archive as the response, with range and conditional
// request support.
func (s *Service) ServeArchive(w http.ResponseWriter, r *http.Request, a store.Artifact, contentType string) error {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	s.cache.mu.Lock()
	data, ok := s.cache.archives[a.Blob]
	s.cache.mu.Unlock()
	if ok {
		serveBytes(w, r, a, data)
		return nil
	}
	rc, err := s.Open(r.Context(), a)
	if err != nil {
		return err
	}
	defer rc.Close()
	rs, ok := rc.(io.ReadSeeker)
	if !ok {
		data, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		rs = bytes.NewReader(data)
	}
	size, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if size <= maxCachedArchive {
		data := make([]byte, size)
		if _, err := io.ReadFull(rs, data); err != nil {
			return err
		}
		// A corrupt blob must not be cached and served forever.
		if blob.Key(data) != a.Blob {
			return errors.New("archive " + a.Blob + " does not match its key")
		}
		s.cache.mu.Lock()
		if s.cache.archives == nil || s.cache.bytes+len(data) > maxCachedArchiveBytes {
			s.cache.archives, s.cache.bytes = make(map[string][]byte), 0
		}
		s.cache.archives[a.Blob] = data
		s.cache.bytes += len(data)
		s.cache.mu.Unlock()
		serveBytes(w, r, a, data)
		return nil
	}
	http.ServeContent(w, r, "", a.CreateTime, rs)
	return nil
}

// serveBytes writes a whole archive in one write, the common case; ranges and
// conditional requests, which package managers rarely send, go through ServeContent.
func serveBytes(w http.ResponseWriter, r *http.Request, a store.Artifact, data []byte) {
	if r.Header.Get("Range") != "" || r.Header.Get("If-Modified-Since") != "" || r.Header.Get("If-None-Match") != "" ||
		r.Header.Get("If-Range") != "" || r.Header.Get("If-Unmodified-Since") != "" || r.Header.Get("If-Match") != "" {
		http.ServeContent(w, r, "", a.CreateTime, bytes.NewReader(data))
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
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

// Fail answers with the status an error calls for: 404 for what does not exist or may not
// be seen, 424 with the plugin's words for a failed generation (for a [*GenerationError],
// its whole message: package, module, commit, plugin, the plugin's error and what to
// do), which package managers print, and 500 with a pointer to the log (where it is
// written, under what) for anything else.
func Fail(w http.ResponseWriter, log *slog.Logger, what string, err error) {
	msg, failed := PluginFailure(err)
	switch {
	case errors.Is(err, ErrNotFound):
		TextError(w, http.StatusNotFound, err.Error())
	case failed:
		// Not a 5xx, which package managers retry although the generation would fail the
		// same way: the request depends on a generation that failed. Nor a 404 or 410, on
		// which the go command would ask the next proxy in its list.
		TextError(w, http.StatusFailedDependency, msg)
	case errors.Is(err, context.Canceled):
		// The client went away.
	default:
		log.Error(what, "err", err)
		TextError(w, http.StatusInternalServerError, "internal error; the server log has details")
	}
}

// PluginFailure returns what to tell a client about a generation that failed, for
// protocols that carry the message otherwise than [Fail] does.
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

// PageTTL is how long a rendered index page is reused: a version published since then
// appears at most that much later.
const PageTTL = time.Second

// maxCachedPages caps a Pages cache; it starts over when it is full.
const maxCachedPages = 10000

// Pages keeps rendered index pages (a crate's index file, a project page) for PageTTL, so
// that package managers re-reading them on every build cost no store queries, and no
// longer once this process publishes a version of the page's package ([Service.Publications]),
// so that a new version is listed at once. The zero value is ready to use.
type Pages[V any] struct {
	mu    sync.Mutex
	pages map[string]cachedPage[V]
}

type cachedPage[V any] struct {
	page     V
	moduleID string
	expires  time.Time
	seq      uint64 // the package's publications when it was rendered
}

// Get returns the page named key, rendering it when it is missing, stale, or older than
// publication seq of its package (read before the call, so that a version published while
// the page renders makes it stale). render also returns the module whose access decides
// who may see the page; a page from the cache is returned only if the caller may read
// that module, else ErrNotFound saying there is no what (e.g. "crate NAME").
func (p *Pages[V]) Get(ctx context.Context, reg *registry.Registry, key, what string, seq uint64, render func() (V, string, error)) (V, error) {
	now := time.Now()
	p.mu.Lock()
	c, ok := p.pages[key]
	p.mu.Unlock()
	if ok && now.Before(c.expires) && c.seq == seq {
		if _, err := reg.ReadableModule(ctx, c.moduleID); err != nil {
			var zero V
			if errors.Is(err, ErrNotFound) {
				err = notFoundf("no %s", what)
			}
			return zero, err
		}
		return c.page, nil
	}
	page, moduleID, err := render()
	if err != nil {
		return page, err
	}
	p.mu.Lock()
	if p.pages == nil || len(p.pages) >= maxCachedPages {
		p.pages = map[string]cachedPage[V]{}
	}
	p.pages[key] = cachedPage[V]{page: page, moduleID: moduleID, expires: now.Add(PageTTL), seq: seq}
	p.mu.Unlock()
	return page, nil
}
