package goproxy

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Bounds of the hot-file cache.
const (
	// hotMaxFile is the largest file kept in memory: .info and .mod files
	// and small zips, where a hit's system calls cost more than its bytes.
	hotMaxFile = 64 << 10
	// hotTTL is how long a file is served from memory before the store is
	// read again. A file that gomirror fsck quarantines stops being served
	// within this time.
	hotTTL = 5 * time.Second
	// defaultHotCacheSize bounds the bytes kept in memory.
	defaultHotCacheSize = 16 << 20
)

// hotCache keeps small versioned files in memory for a few seconds, so
// that repeated hits on them make no system call but the write to the
// client, and a hit through an S3 store makes no request. It is safe for
// concurrent use.
type hotCache struct {
	ttl     time.Duration
	mu      sync.RWMutex
	max     int64
	size    int64
	entries map[string]*hotEntry
}

// hotEntry is a cached file with its response headers worked out once. It
// is kept under the URL path that named it.
type hotEntry struct {
	kind    kind
	data    []byte
	mod     time.Time
	expires time.Time
	length  []string // Content-Length
	lastMod []string // Last-Modified
	etag    []string // ETag
}

func newHotCache(max int64) *hotCache {
	return &hotCache{ttl: hotTTL, max: max, entries: make(map[string]*hotEntry)}
}

// get returns the live entry kept under the URL path rawPath, or nil. A
// nil cache has none.
func (c *hotCache) get(rawPath string, now time.Time) *hotEntry {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	e := c.entries[rawPath]
	c.mu.RUnlock()
	if e == nil || now.After(e.expires) {
		return nil
	}
	return e
}

// put caches data, a file of kind k, under the URL path rawPath, last
// modified at mod, evicting entries to stay within the cache's size.
func (c *hotCache) put(rawPath string, k kind, data []byte, mod, now time.Time) *hotEntry {
	e := &hotEntry{
		kind:    k,
		data:    data,
		mod:     mod,
		expires: now.Add(c.ttl),
		length:  []string{strconv.Itoa(len(data))},
		lastMod: []string{mod.UTC().Format(http.TimeFormat)},
		etag:    []string{etag(int64(len(data)), mod)},
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[rawPath]; old != nil {
		c.size -= int64(len(old.data))
		delete(c.entries, rawPath)
	}
	// Expired entries go first, then any: map order is as good as random.
	for k, v := range c.entries {
		if c.size+int64(len(data)) <= c.max {
			break
		}
		if now.After(v.expires) {
			c.size -= int64(len(v.data))
			delete(c.entries, k)
		}
	}
	for k, v := range c.entries {
		if c.size+int64(len(data)) <= c.max {
			break
		}
		c.size -= int64(len(v.data))
		delete(c.entries, k)
	}
	if c.size+int64(len(data)) <= c.max {
		c.entries[rawPath] = e
		c.size += int64(len(data))
	}
	return e
}

// plainGet reports whether r is a GET or HEAD with no conditional or range
// header, which a cached file answers without net/http's checks.
func plainGet(r *http.Request) bool {
	h := r.Header
	return h.Get("Range") == "" && h.Get("If-None-Match") == "" && h.Get("If-Modified-Since") == "" &&
		h.Get("If-Match") == "" && h.Get("If-Unmodified-Since") == ""
}
