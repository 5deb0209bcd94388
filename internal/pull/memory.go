package pull

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/semaphore"
)

// Memory bounds the memory that decoding metadata documents (npm
// packuments, PyPI project pages) takes across all requests at once.
// Decoding a document of n bytes reserves Factor × n bytes first, and
// waits while other decodings hold the rest; a document larger than the
// whole budget waits for all of it, and is decoded alone. A nil *Memory
// reserves nothing. It is safe for concurrent use.
type Memory struct {
	sem   *semaphore.Weighted
	limit int64

	mu        sync.Mutex
	used, max int64
}

// MemoryFactor is how many bytes decoding a JSON document takes for each
// byte of it, measured on large packuments and project pages: the raw
// bytes, the decoded values, and what a rendered answer is built from.
const MemoryFactor = 6

// DefaultMemory is the budget of [NewMemory] for a zero limit: 512 MiB.
const DefaultMemory = 512 << 20

// NewMemory returns a budget of limit bytes; zero means DefaultMemory and
// a negative limit gives nil, no bound.
func NewMemory(limit int64) *Memory {
	switch {
	case limit < 0:
		return nil
	case limit == 0:
		limit = DefaultMemory
	}
	return &Memory{sem: semaphore.NewWeighted(limit), limit: limit}
}

// Reserve reserves the memory to decode a document of size bytes, waiting
// until it is free or ctx ends, and returns the function that gives it
// back. Its error is ctx's.
func (m *Memory) Reserve(ctx context.Context, size int64) (release func(), err error) {
	if m == nil {
		return func() {}, nil
	}
	n := min(max(size, 0)*MemoryFactor, m.limit)
	if err := m.sem.Acquire(ctx, n); err != nil {
		return nil, fmt.Errorf("waiting for memory to decode %d bytes: %w", size, err)
	}
	m.mu.Lock()
	m.used += n
	m.max = max(m.max, m.used)
	m.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			m.used -= n
			m.mu.Unlock()
			m.sem.Release(n)
		})
	}, nil
}

// Peak returns the most memory that was reserved at once.
func (m *Memory) Peak() int64 {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.max
}
