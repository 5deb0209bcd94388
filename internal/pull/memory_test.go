package pull

import (
	"context"
	"sync"
	"testing"
)

func TestMemoryBound(t *testing.T) {
	const limit = 100 << 20
	m := NewMemory(limit)
	var wg sync.WaitGroup
	// Eight documents of 65 MB and eight of 5 MB at once: each 65 MB one
	// needs more than the whole budget, so it is decoded alone.
	for i := range 16 {
		size := int64(65 << 20)
		if i%2 == 1 {
			size = 5 << 20
		}
		wg.Go(func() {
			release, err := m.Reserve(t.Context(), size)
			if err != nil {
				t.Error(err)
				return
			}
			release()
			release() // A second call gives nothing back twice.
		})
	}
	wg.Wait()
	if got := m.Peak(); got > limit || got < 5<<20*MemoryFactor {
		t.Errorf("peak reservation: got %d, want between %d and %d", got, 5<<20*MemoryFactor, limit)
	}
	release, err := m.Reserve(t.Context(), limit) // All of it is free again.
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func TestMemoryNil(t *testing.T) {
	var m *Memory
	if NewMemory(-1) != nil {
		t.Errorf("NewMemory(-1): got a budget, want none")
	}
	release, err := m.Reserve(t.Context(), 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if m.Peak() != 0 {
		t.Errorf("nil budget: got peak %d, want 0", m.Peak())
	}
}

func TestMemoryWaitEndsWithContext(t *testing.T) {
	m := NewMemory(10)
	release, err := m.Reserve(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := m.Reserve(ctx, 1); err == nil {
		t.Errorf("Reserve with a full budget and a cancelled context: got no error")
	}
}
