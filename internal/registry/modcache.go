package registry

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/lathe-registry/lathe/internal/store"
)

// moduleCacheTTL bounds how long another process's change of a module's visibility may
// go unnoticed by [Registry.ReadableModule]; changes made through this registry take
// effect at once.
const moduleCacheTTL = 5 * time.Second

// moduleCacheMax caps the cached modules; the cache starts over when it is full.
const moduleCacheMax = 10000

type moduleCache struct {
	mu      sync.Mutex
	modules map[string]cachedModule
}

type cachedModule struct {
	m       store.Module
	expires time.Time
}

func (c *moduleCache) get(id string, now time.Time) (store.Module, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.modules[id]
	if !ok || now.After(e.expires) {
		return store.Module{}, false
	}
	return e.m, true
}

func (c *moduleCache) put(m store.Module, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.modules == nil || len(c.modules) >= moduleCacheMax {
		c.modules = make(map[string]cachedModule)
	}
	c.modules[m.ID] = cachedModule{m: m, expires: now.Add(moduleCacheTTL)}
}

func (c *moduleCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.modules, id)
}

// ReadableModule returns the module with the id if the caller may read it, like
// [Registry.Module], for the hot path of package downloads: it remembers modules for a
// few seconds.
func (r *Registry) ReadableModule(ctx context.Context, id string) (store.Module, error) {
	now := time.Now()
	m, ok := r.modules.get(id, now)
	if !ok {
		var err error
		m, err = r.store.ModuleByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return store.Module{}, errModuleNotFound()
		}
		if err != nil {
			return store.Module{}, err
		}
		r.modules.put(m, now)
	}
	if err := authorize(ctx, read, m, ""); err != nil {
		return store.Module{}, err
	}
	return m, nil
}
