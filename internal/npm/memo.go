package npm

import (
	"container/list"
	"sync"
)

// memo keeps recent values (rendered packuments, parsed packuments) in
// memory, up to a total size, dropping the least recently used. It is
// safe for concurrent use; a nil memo keeps nothing.
type memo struct {
	mu   sync.Mutex
	max  int64
	used int64
	ll   *list.List // of *memoEntry, most recent first
	m    map[string]*list.Element
}

type memoEntry struct {
	key  string
	val  any
	size int64
}

func newMemo(max int64) *memo {
	if max <= 0 {
		return nil
	}
	return &memo{max: max, ll: list.New(), m: make(map[string]*list.Element)}
}

func (c *memo) get(key string) (any, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*memoEntry).val, true
}

// put keeps val, of about size bytes, under key. A value larger than a
// quarter of the memo is not kept.
func (c *memo) put(key string, val any, size int64) {
	if c == nil || size > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.used -= e.Value.(*memoEntry).size
		c.ll.Remove(e)
	}
	c.m[key] = c.ll.PushFront(&memoEntry{key: key, val: val, size: size})
	c.used += size
	for c.used > c.max {
		last := c.ll.Back()
		me := last.Value.(*memoEntry)
		c.ll.Remove(last)
		delete(c.m, me.key)
		c.used -= me.size
	}
}
