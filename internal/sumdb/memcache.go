package sumdb

import (
	"container/list"
	"sync"
)

// memCache is a small least-recently-used cache of byte slices, bounded by
// their total size. It keeps the checksum database's tiles that lookups
// read again and again (the upper levels of the tree), so that a lookup
// reads them from memory rather than from the store. It is safe for
// concurrent use; a nil *memCache keeps nothing.
type memCache struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // of *memEntry, most recently used first
	byKey map[string]*list.Element
}

type memEntry struct {
	key  string
	data []byte
}

// newMemCache returns a cache of at most max bytes of data.
func newMemCache(max int) *memCache {
	return &memCache{max: max, order: list.New(), byKey: make(map[string]*list.Element)}
}

// get returns the data kept under key. The caller must not modify it.
func (c *memCache) get(key string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*memEntry).data, true
}

// put keeps data under key, dropping the least recently used entries to
// stay within the bound. Data larger than a quarter of the bound is not
// kept. The caller must not modify data afterwards.
func (c *memCache) put(key string, data []byte) {
	if c == nil || len(data) > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		old := e.Value.(*memEntry)
		c.size += len(data) - len(old.data)
		old.data = data
		c.order.MoveToFront(e)
	} else {
		c.byKey[key] = c.order.PushFront(&memEntry{key: key, data: data})
		c.size += len(data)
	}
	for c.size > c.max {
		e := c.order.Back()
		old := e.Value.(*memEntry)
		c.order.Remove(e)
		delete(c.byKey, old.key)
		c.size -= len(old.data)
	}
}

// hashMemo remembers the hashes of module versions that verified lookups
// returned, so that the fills of a version's .mod and .zip, and
// prefetches, look it up once. A version's hashes never change once the
// database has them. It keeps at most max versions, forgetting the
// oldest first; it is safe for concurrent use.
type hashMemo struct {
	mu    sync.Mutex
	max   int
	byKey map[string]hashes
	fifo  []string
	next  int // where the next key goes in fifo once it is full
}

type hashes struct{ zip, mod string }

func newHashMemo(max int) *hashMemo {
	return &hashMemo{max: max, byKey: make(map[string]hashes)}
}

func (m *hashMemo) get(key string) (hashes, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.byKey[key]
	return h, ok
}

func (m *hashMemo) put(key string, h hashes) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byKey[key]; ok {
		m.byKey[key] = h
		return
	}
	if len(m.fifo) < m.max {
		m.fifo = append(m.fifo, key)
	} else {
		delete(m.byKey, m.fifo[m.next])
		m.fifo[m.next] = key
		m.next = (m.next + 1) % m.max
	}
	m.byKey[key] = h
}
