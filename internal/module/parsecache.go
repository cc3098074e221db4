package module

import (
	"bytes"
	"container/list"
	"sync"

	"github.com/bufbuild/protocompile/parser"
	"github.com/bufbuild/protocompile/reporter"
)

// ParseCache keeps the parse results of .proto files, keyed by path and exact content, so
// that a push changing a few files of a large module parses only those; parsing is about
// half of compiling. Entries are evicted least recently used once the cached sources
// exceed the byte budget. A nil *ParseCache caches nothing. Safe for concurrent use: the
// compiler clones every result it is given before linking mutates it.
type ParseCache struct {
	mu      sync.Mutex
	budget  int
	size    int
	lru     *list.List // of *parseEntry, most recent first
	entries map[string]*list.Element
}

type parseEntry struct {
	key    string // path + "\x00" + content
	result parser.Result
}

// NewParseCache returns a cache holding the parse results of up to budget bytes of source.
func NewParseCache(budget int) *ParseCache {
	return &ParseCache{budget: budget, lru: list.New(), entries: make(map[string]*list.Element)}
}

// parse returns the parse result of the file, from the cache or by parsing it. ok is false
// when the file does not parse: the compiler then parses it again to report the errors
// with their positions.
func (c *ParseCache) parse(path string, content []byte) (parser.Result, bool) {
	if c == nil {
		return nil, false
	}
	key := path + "\x00" + string(content)
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*parseEntry).result, true
	}
	c.mu.Unlock()

	h := reporter.NewHandler(nil)
	file, err := parser.Parse(path, bytes.NewReader(content), h)
	if err != nil {
		return nil, false
	}
	result, err := parser.ResultFromAST(file, true, h)
	if err != nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(key) <= c.budget {
		c.entries[key] = c.lru.PushFront(&parseEntry{key: key, result: result})
		c.size += len(key)
		for c.size > c.budget {
			oldest := c.lru.Back()
			c.lru.Remove(oldest)
			e := oldest.Value.(*parseEntry)
			delete(c.entries, e.key)
			c.size -= len(e.key)
		}
	}
	return result, true
}
