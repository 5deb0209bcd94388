package pypi

import (
	"sync"
	"time"
)

// rendered keeps pages rendered from stored metadata, so that a popular
// project's page is decoded and rendered once per stored version and
// format, not on every request. It is safe for concurrent use.
type rendered struct {
	mu    sync.Mutex
	max   int64 // bytes; pages over max/8 are not kept
	bytes int64
	pages map[renderedKey][]byte
}

// renderedKey names one rendering of one stored copy of a page.
type renderedKey struct {
	name string
	mod  int64 // the stored copy's modification time, in nanoseconds
	size int64
	f    format
}

func newRendered(max int64) *rendered {
	return &rendered{max: max, pages: make(map[renderedKey][]byte)}
}

func keyOf(name string, mod time.Time, size int64, f format) renderedKey {
	return renderedKey{name: name, mod: mod.UnixNano(), size: size, f: f}
}

func (r *rendered) get(k renderedKey) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, ok := r.pages[k]
	return data, ok
}

// put keeps data; when the cache is full it starts over, which is cheap
// and keeps what is popular coming back.
func (r *rendered) put(k renderedKey, data []byte) {
	n := int64(len(data))
	if n > r.max/8 || k.size < 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bytes+n > r.max {
		clear(r.pages)
		r.bytes = 0
	}
	if old, ok := r.pages[k]; ok {
		r.bytes -= int64(len(old))
	}
	r.pages[k] = data
	r.bytes += n
}
