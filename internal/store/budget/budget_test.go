package budget

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/disk"
	"github.com/gomirror/gomirror/internal/store/storetest"
)

// clock is a test's time, moved by hand.
type clock struct{ t atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	// An hour ahead, so that files stored now look an hour old.
	c.t.Store(time.Now().Add(time.Hour).UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

// immutableByName is the tests' classifier: "blobs/..." are immutable.
func immutableByName(name string) bool { return strings.HasPrefix(name, "blobs/") }

// harness is a budget Store over a disk store in a temporary directory.
type harness struct {
	*Store
	disk  *disk.Store
	clock *clock
	reg   *prometheus.Registry
}

func newHarness(t *testing.T, dir string, cfg Config) *harness {
	t.Helper()
	d, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{disk: d, clock: newClock(), reg: prometheus.NewRegistry()}
	if cfg.Immutable == nil {
		cfg.Immutable = immutableByName
	}
	cfg.Registerer = h.reg
	h.Store, err = newStore(d, cfg, h.clock.now, make(chan chan struct{}))
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	<-h.Counted()
	h.settle()
	return h
}

// settle waits until the background worker has measured the files queued
// for it and run an eviction pass if one is due.
func (h *harness) settle() {
	for {
		reply := make(chan struct{})
		h.flush <- reply
		<-reply
		if len(h.sizeq) == 0 {
			return
		}
	}
}

// advance moves the test's clock, and the clock that Touch reads.
func (h *harness) advance(d time.Duration) {
	h.clock.advance(d)
	h.Store.clock.Store(h.clock.now().UnixNano())
}

func (h *harness) put(t *testing.T, name string, size int) {
	t.Helper()
	if err := h.Put(t.Context(), name, bytes.NewReader(content(name, size))); err != nil {
		t.Fatal(err)
	}
}

// content is size bytes that depend on name.
func content(name string, size int) []byte {
	return bytes.Repeat([]byte(name[len(name)-1:]), size)
}

// stored lists the names in the disk store.
func (h *harness) stored(t *testing.T) []string {
	t.Helper()
	return storetest.WalkAll(t, h.disk, "")
}

func (h *harness) checkUsed(t *testing.T) {
	t.Helper()
	var sum int64
	for _, name := range h.stored(t) {
		rc, err := h.disk.Get(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		size, _, _ := store.Stat(rc)
		rc.Close()
		sum += size
	}
	if got := h.Used(); got != sum {
		t.Errorf("Used: got %d, want %d, the bytes on disk", got, sum)
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return newHarness(t, t.TempDir(), Config{Bytes: 1 << 30}).Store
	})
}

func TestNewInvalid(t *testing.T) {
	d, err := disk.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"zero budget", Config{}},
		{"negative budget", Config{Bytes: -1}},
		{"low water over 1", Config{Bytes: 1, LowWater: 1.5}},
		{"negative recent", Config{Bytes: 1, Recent: -time.Second}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := New(d, tt.cfg); err == nil {
				s.stop()
				t.Errorf("New(%+v): got no error", tt.cfg)
			}
		})
	}
}

func TestEvictionOrder(t *testing.T) {
	h := newHarness(t, t.TempDir(), Config{Bytes: 1000})
	// Stored in this order, a minute apart: a, b, c, d, e (200 bytes each).
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		h.put(t, "blobs/"+n, 200)
		h.Touch("blobs/"+n, true)
		h.advance(time.Minute)
	}
	// Read a and c since: b is now the least recently used, then d.
	h.Touch("blobs/a", true)
	h.Touch("blobs/c", true)
	h.advance(time.Minute)
	h.settle()
	if got := h.Used(); got != 1000 {
		t.Fatalf("Used at the budget: got %d, want 1000", got)
	}
	// 200 more: 1200 bytes, over 1000; down to 900 or less takes two.
	h.put(t, "blobs/f", 200)
	h.settle()
	if got, want := h.stored(t), []string{"blobs/a", "blobs/c", "blobs/e", "blobs/f"}; !slices.Equal(got, want) {
		t.Errorf("after the eviction: got %v, want %v", got, want)
	}
	if got := h.Used(); got != 800 {
		t.Errorf("Used: got %d, want 800", got)
	}
	if got := testutil.ToFloat64(h.evictions); got != 2 {
		t.Errorf("evictions: got %v, want 2", got)
	}
	h.checkUsed(t)
}

func TestMetadataNeverEvicted(t *testing.T) {
	h := newHarness(t, t.TempDir(), Config{Bytes: 1000})
	// Old metadata, by Touch and by name, and a file whose name looks
	// immutable but which the core says is metadata.
	h.put(t, "lists/a", 300)
	h.Touch("lists/a", false)
	h.put(t, "sumdb/tile", 300) // never touched: kept by its name
	h.put(t, "blobs/meta", 300)
	h.Touch("blobs/meta", false)
	h.advance(time.Hour)
	h.put(t, "blobs/x", 300)
	h.Touch("blobs/x", true)
	h.settle()
	h.advance(time.Hour)
	h.put(t, "blobs/y", 300)
	h.settle()
	want := []string{"blobs/meta", "blobs/y", "lists/a", "sumdb/tile"}
	if got := h.stored(t); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// Over budget, with nothing more to evict: it stays so.
	if got := h.Used(); got != 1200 {
		t.Errorf("Used: got %d, want 1200", got)
	}
	h.checkUsed(t)
}

func TestRecentNeverEvicted(t *testing.T) {
	h := newHarness(t, t.TempDir(), Config{Bytes: 1000, Recent: 10 * time.Minute})
	h.put(t, "blobs/old", 400)
	h.advance(20 * time.Minute)
	h.put(t, "blobs/read", 400)
	h.advance(5 * time.Minute)
	h.Touch("blobs/read", true) // read 5 minutes ago by the time of the eviction
	h.advance(5 * time.Minute)
	h.put(t, "blobs/new", 400)
	h.settle()
	if got, want := h.stored(t), []string{"blobs/new", "blobs/read"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// Once the window has passed, the next write over budget evicts the
	// least recent.
	h.advance(11 * time.Minute)
	h.put(t, "blobs/newer", 400)
	h.settle()
	if got, want := h.stored(t), []string{"blobs/new", "blobs/newer"}; !slices.Equal(got, want) {
		t.Errorf("after the window: got %v, want %v", got, want)
	}
	h.checkUsed(t)
}

func TestStuckEvictionBacksOff(t *testing.T) {
	// Metadata alone is over the budget: each eviction walks every file
	// and frees nothing, so the next waits evictBackoff.
	h := newHarness(t, t.TempDir(), Config{Bytes: 1000})
	h.put(t, "lists/big", 1500)
	h.settle()
	h.advance(time.Second)
	h.put(t, "blobs/x", 100)
	h.put(t, "blobs/y", 100)
	h.advance(time.Second)
	h.settle()
	if got, want := h.stored(t), []string{"blobs/x", "blobs/y", "lists/big"}; !slices.Equal(got, want) {
		t.Errorf("within the backoff: got %v, want %v", got, want)
	}
	h.advance(evictBackoff)
	h.settle()
	if got, want := h.stored(t), []string{"blobs/y", "lists/big"}; !slices.Equal(got, want) {
		t.Errorf("after the backoff: got %v, want %v", got, want)
	}
}

func TestJustStoredNeverEvicted(t *testing.T) {
	// A file bigger than the budget: everything else goes, it stays.
	h := newHarness(t, t.TempDir(), Config{Bytes: 1000})
	h.put(t, "blobs/a", 100)
	h.advance(time.Minute)
	h.put(t, "blobs/huge", 2000)
	h.settle()
	if got, want := h.stored(t), []string{"blobs/huge"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestOpenFileReadableAfterEviction(t *testing.T) {
	h := newHarness(t, t.TempDir(), Config{Bytes: 1 << 20})
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(rand.Uint32())
	}
	if err := h.Put(t.Context(), "blobs/big", bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	rc, err := h.Get(t.Context(), "blobs/big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := make([]byte, 1000)
	if _, err := io.ReadFull(rc, got); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Hour)
	h.put(t, "blobs/next", 1000)
	h.settle()
	if _, err := h.Get(t.Context(), "blobs/big"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get after eviction: got %v, want not exist", err)
	}
	rest, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading the evicted file through its open handle: %v", err)
	}
	if got = append(got, rest...); !bytes.Equal(got, want) {
		t.Errorf("read %d bytes through the open handle, want the whole %d-byte file", len(got), len(want))
	}
}

func TestRestartAccounting(t *testing.T) {
	dir := t.TempDir()
	d, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]int{
		"blobs/a":      100,
		"blobs/b":      200,
		"lists/a":      300,
		"sumdb/tile/1": 400,
	}
	var total int64
	for name, size := range files {
		storetest.Put(t, d, name, bytes.NewReader(content(name, size)))
		total += int64(size)
	}
	d.Close()

	h := newHarness(t, dir, Config{Bytes: 2000})
	if got := h.Used(); got != total {
		t.Errorf("Used after the walk: got %d, want %d", got, total)
	}
	// Down to a budget of 800 (low water 720): the immutable files go, by
	// their names, and the rest stays, over budget.
	h.Close()
	h = newHarness(t, dir, Config{Bytes: 800})
	if got, want := h.stored(t), []string{"lists/a", "sumdb/tile/1"}; !slices.Equal(got, want) {
		t.Errorf("after a restart with a smaller budget: got %v, want %v", got, want)
	}
	h.checkUsed(t)
}

func TestTouchedBeforeCounted(t *testing.T) {
	// A file that a request touches before the walk reaches it is
	// counted once, and classified by the Touch.
	dir := t.TempDir()
	d, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, d, "other/x", bytes.NewReader(content("x", 500)))
	flush := make(chan chan struct{})
	s, err := newStore(d, Config{Bytes: 1000, Immutable: immutableByName}, time.Now, flush)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Touch("other/x", true)
	<-s.Counted()
	h := &harness{Store: s, disk: d}
	h.settle()
	if got := s.Used(); got != 500 {
		t.Errorf("Used: got %d, want 500", got)
	}
	v, ok := s.files.Load("other/x")
	if !ok || v.(*file).class.Load()&evictable == 0 {
		t.Errorf("other/x: not classified as immutable by its Touch")
	}
}

func TestTouchOfUnknownFile(t *testing.T) {
	// A file that another process stored after the walk is measured
	// when it is first touched.
	h := newHarness(t, t.TempDir(), Config{Bytes: 1000})
	storetest.Put(t, h.disk, "blobs/elsewhere", bytes.NewReader(content("e", 300)))
	h.Touch("blobs/elsewhere", true)
	h.settle()
	if got := h.Used(); got != 300 {
		t.Errorf("Used: got %d, want 300", got)
	}
	// And a file touched as it was being removed is forgotten.
	h.Touch("blobs/gone", true)
	h.settle()
	if _, ok := h.files.Load("blobs/gone"); ok {
		t.Errorf("a touched file that is not stored is still known")
	}
}

func TestDeleteUncounts(t *testing.T) {
	h := newHarness(t, t.TempDir(), Config{Bytes: 1000})
	h.put(t, "blobs/a", 300)
	h.put(t, "lists/b", 200)
	if err := h.Delete(t.Context(), "blobs/a"); err != nil {
		t.Fatal(err)
	}
	if got := h.Used(); got != 200 {
		t.Errorf("Used: got %d, want 200", got)
	}
	// Replacing a file counts the difference.
	h.put(t, "lists/b", 50)
	if got := h.Used(); got != 50 {
		t.Errorf("Used after replacing: got %d, want 50", got)
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t, t.TempDir(), Config{Bytes: 1000})
	h.put(t, "blobs/a", 600)
	h.advance(time.Minute)
	h.put(t, "blobs/b", 600)
	h.settle()
	want := `
# HELP gomirror_store_budget_bytes The store's byte budget (--store-budget).
# TYPE gomirror_store_budget_bytes gauge
gomirror_store_budget_bytes 1000
# HELP gomirror_store_evictions_total Immutable files removed from the store to keep it within its byte budget.
# TYPE gomirror_store_evictions_total counter
gomirror_store_evictions_total 1
# HELP gomirror_store_used_bytes Bytes of the files in the store, as counted for its byte budget.
# TYPE gomirror_store_used_bytes gauge
gomirror_store_used_bytes 600
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestConcurrency(t *testing.T) {
	h := newHarness(t, t.TempDir(), Config{Bytes: 20_000, Recent: time.Second})
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 200 {
				name := fmt.Sprintf("blobs/%d", r.IntN(50))
				if r.IntN(4) == 0 {
					name = path.Join("lists", fmt.Sprint(r.IntN(5)))
				}
				switch r.IntN(5) {
				case 0, 1:
					if err := h.Put(ctx, name, bytes.NewReader(content(name, 100+r.IntN(900)))); err != nil {
						t.Error(err)
						return
					}
					h.Touch(name, strings.HasPrefix(name, "blobs/"))
				case 2:
					if rc, err := h.Get(ctx, name); err == nil {
						io.Copy(io.Discard, rc)
						rc.Close()
						h.Touch(name, strings.HasPrefix(name, "blobs/"))
					}
				case 3:
					if i%10 == 0 {
						if err := h.Delete(ctx, name); err != nil {
							t.Error(err)
							return
						}
					}
				default:
					h.advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	h.settle()
	h.checkUsed(t)
	// Every file counted is stored, and every stored file counted.
	var known []string
	h.files.Range(func(k, _ any) bool {
		known = append(known, k.(string))
		return true
	})
	slices.Sort(known)
	if got := h.stored(t); !slices.Equal(known, got) {
		t.Errorf("known files %v, stored files %v", known, got)
	}
}

func TestWithoutWalker(t *testing.T) {
	// A store that cannot list counts what is stored from now on.
	s, err := New(&plainStore{m: map[string][]byte{}}, Config{Bytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	<-s.Counted()
	if err := s.Put(t.Context(), "blobs/a", strings.NewReader("12345")); err != nil {
		t.Fatal(err)
	}
	if got := s.Used(); got != 5 {
		t.Errorf("Used: got %d, want 5", got)
	}
	if err := s.Walk(t.Context(), "", func(string) error { return nil }); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Walk: got %v, want ErrUnsupported", err)
	}
}

// plainStore is a store with none of the optional abilities, whose
// readers cannot Stat.
type plainStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (p *plainStore) Get(_ context.Context, name string) (io.ReadCloser, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.m[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (p *plainStore) Put(_ context.Context, name string, r io.Reader) error {
	b, err := io.ReadAll(r)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m[name] = b
	return err
}

func (p *plainStore) Delete(_ context.Context, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, name)
	return nil
}

func BenchmarkTouch(b *testing.B) {
	s, err := New(&plainStore{m: map[string][]byte{}}, Config{Bytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	<-s.Counted()
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("golang.org/x/mod%d/@v/v0.%d.0.zip", i, i)
		s.Touch(names[i], true)
	}
	b.Run("same", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.Touch(names[0], true)
			}
		})
	})
	b.Run("spread", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				s.Touch(names[i%len(names)], true)
				i++
			}
		})
	})
}
