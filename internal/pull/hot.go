package pull

import (
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// Bounds of the hot-file cache.
const (
	// hotMaxLocal is the largest file kept in memory when the store hands
	// out local files: a .info, a .mod, a page, where a hit's system calls
	// cost more than its bytes. A larger file goes out with sendfile from
	// the page cache, a few system calls more than a copy from memory,
	// while keeping such files (5 MB of a `go mod download all`'s) would
	// double the memory a warm mirror holds after a burst, the collector's
	// headroom included.
	hotMaxLocal = 4 << 10
	// hotMaxRemote is the largest file kept in memory when a hit on the
	// store is a request over the network (S3): small zips too.
	hotMaxRemote = 64 << 10
	// hotTTL is how long a file is served from memory before the store is
	// read again. A file that gomirror fsck quarantines stops being served
	// within this time.
	hotTTL = 5 * time.Second
	// defaultHotCacheSize bounds the bytes kept in memory.
	defaultHotCacheSize = 16 << 20
	// hotReleaseBytes is how much a sweep must free to hand memory back
	// to the system at once.
	hotReleaseBytes = 1 << 20
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
	// sweeping is set while a sweep of expired entries is scheduled;
	// guarded by mu.
	sweeping bool
}

// hotEntry is a cached file with its response headers worked out once. It
// is kept under its artifact's HotKey, such as the URL path that named it.
type hotEntry struct {
	ecosystem   string
	kind        string
	contentType []string // Content-Type
	data        []byte
	mod         time.Time
	expires     time.Time
	length      []string // Content-Length
	lastMod     []string // Last-Modified
	etag        []string // ETag
}

// hotMaxFile returns the largest file worth keeping in memory when the
// store's reader is rc: the store's own files are cheap to send again,
// a remote store's are not.
func hotMaxFile(rc io.Reader) int64 {
	if _, local := rc.(*os.File); local {
		return hotMaxLocal
	}
	return hotMaxRemote
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

// put caches data, the content of a, under the key rawPath, last modified
// at mod, evicting entries to stay within the cache's size.
func (c *hotCache) put(rawPath string, a *Artifact, data []byte, mod, now time.Time) *hotEntry {
	e := &hotEntry{
		ecosystem:   a.Ecosystem,
		kind:        a.Kind,
		contentType: []string{a.ContentType},
		data:        data,
		mod:         mod,
		expires:     now.Add(c.ttl),
		length:      []string{strconv.Itoa(len(data))},
		lastMod:     []string{mod.UTC().Format(http.TimeFormat)},
		etag:        []string{ETag(int64(len(data)), mod)},
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
		if !c.sweeping {
			c.sweeping = true
			time.AfterFunc(2*c.ttl, c.sweep)
		}
	}
	return e
}

// sweep drops the expired entries, so that the memory of files no longer
// hit goes back to the system rather than waiting for puts to evict
// them, and schedules itself again while entries remain. When it frees
// much, it hands the memory back at once: an idle mirror should not hold
// the files of its last burst.
func (c *hotCache) sweep() {
	now := time.Now()
	c.mu.Lock()
	freed := int64(0)
	for k, v := range c.entries {
		if now.After(v.expires) {
			freed += int64(len(v.data))
			c.size -= int64(len(v.data))
			delete(c.entries, k)
		}
	}
	c.sweeping = len(c.entries) > 0
	if c.sweeping {
		time.AfterFunc(2*c.ttl, c.sweep)
	}
	c.mu.Unlock()
	if freed >= hotReleaseBytes {
		debug.FreeOSMemory()
	}
}
