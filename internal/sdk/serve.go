package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/lathe-registry/lathe/internal/blob"
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
		return store.Artifact{}, s.artifactNotFound(ctx, a)
	}
	return a, nil
}

// artifactNotFound is the answer about a version the caller may not read: the
// registry's for one that does not exist, which names no module.
func (s *Service) artifactNotFound(ctx context.Context, a store.Artifact) error {
	_, err := s.reg.Artifact(ctx, a.Ecosystem, a.Name, a.Version)
	if err == nil {
		err = notFoundError(fmt.Sprintf("%s package %s %s not found", a.Ecosystem, a.Name, a.Version))
	}
	return err
}

// CountOf counts the versions in a package's list that were generated from the module:
// a list may keep the place of an earlier module of the same name.
func CountOf(arts []store.Artifact, moduleID string) int {
	n := 0
	for _, a := range arts {
		if a.ModuleID == moduleID {
			n++
		}
	}
	return n
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
// request support; only a public module's archive may be kept by shared caches (see
// [CacheControl]). ctx carries the caller.
func (s *Service) ServeArchive(ctx context.Context, w http.ResponseWriter, r *http.Request, a store.Artifact, contentType string) error {
	cacheControl, err := s.ArtifactCacheControl(ctx, a)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", cacheControl)
	s.cache.mu.Lock()
	data, ok := s.cache.archives[a.Blob]
	s.cache.mu.Unlock()
	if ok {
		serveBytes(w, r, a, data)
		return nil
	}
	rc, err := s.Open(ctx, a)
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
// that module, else ErrNotFound saying there is no what (e.g. "crate NAME"). It returns
// the Cache-Control of the page too: private unless the module is public (see
// [CacheControl]).
func (p *Pages[V]) Get(ctx context.Context, reg *registry.Registry, key, what string, seq uint64, render func() (V, string, error)) (V, string, error) {
	var zero V
	now := time.Now()
	p.mu.Lock()
	c, ok := p.pages[key]
	p.mu.Unlock()
	if !ok || !now.Before(c.expires) || c.seq != seq {
		page, moduleID, err := render()
		if err != nil {
			return zero, "", err
		}
		c = cachedPage[V]{page: page, moduleID: moduleID, expires: now.Add(PageTTL), seq: seq}
		p.mu.Lock()
		if p.pages == nil || len(p.pages) >= maxCachedPages {
			p.pages = map[string]cachedPage[V]{}
		}
		p.pages[key] = c
		p.mu.Unlock()
	}
	m, err := reg.ReadableModule(ctx, c.moduleID)
	if errors.Is(err, ErrNotFound) {
		err = notFoundf("no %s", what)
	}
	if err != nil {
		return zero, "", err
	}
	return c.page, CacheControl(m.Visibility, false), nil
}
