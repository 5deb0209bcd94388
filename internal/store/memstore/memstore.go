// Package memstore is a store.Store kept in memory, for tests of the parts
// of gomirror that read and write a store.
package memstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gomirror/gomirror/internal/store"
)

var (
	_ store.Store      = (*Store)(nil)
	_ store.Walker     = (*Store)(nil)
	_ store.FilePutter = (*Store)(nil)
)

// Store keeps files in a map. The zero value is not usable; call New. It is
// safe for concurrent use.
type Store struct {
	mu    sync.Mutex
	files map[string][]byte
	mods  map[string]time.Time // when each file was put
}

// New returns an empty Store.
func New() *Store {
	return &Store{files: make(map[string][]byte), mods: make(map[string]time.Time)}
}

// Get returns the content of name, or an error matching fs.ErrNotExist.
// The content has a method Stat that tells its size and when it was put,
// as store.Stat reads it.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := store.CheckName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	data, ok := s.files[name]
	mod := s.mods[name]
	s.mu.Unlock()
	if !ok {
		return nil, &fs.PathError{Op: "get", Path: name, Err: fs.ErrNotExist}
	}
	return &content{Reader: bytes.NewReader(data), info: info{name: name, size: int64(len(data)), mod: mod}}, nil
}

// content is a stored file as Get returns it.
type content struct {
	*bytes.Reader
	info info
}

func (c *content) Close() error               { return nil }
func (c *content) Stat() (fs.FileInfo, error) { return c.info, nil }

// info describes a stored file.
type info struct {
	name string
	size int64
	mod  time.Time
}

func (i info) Name() string       { return path.Base(i.name) }
func (i info) Size() int64        { return i.size }
func (i info) Mode() fs.FileMode  { return 0o444 }
func (i info) ModTime() time.Time { return i.mod }
func (i info) IsDir() bool        { return false }
func (i info) Sys() any           { return nil }

// Put stores the whole of content under name.
func (s *Store) Put(ctx context.Context, name string, content io.Reader) error {
	if err := store.CheckName(name); err != nil {
		return err
	}
	data, err := io.ReadAll(content)
	if err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	s.mu.Lock()
	s.files[name] = data
	s.mods[name] = time.Now()
	s.mu.Unlock()
	return nil
}

// PutFile stores the whole content of f under name, whatever f's offset,
// which it leaves unchanged; f stays at its path.
func (s *Store) PutFile(ctx context.Context, name string, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	return s.Put(ctx, name, io.NewSectionReader(f, 0, fi.Size()))
}

// Delete removes name.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := store.CheckName(name); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.files, name)
	delete(s.mods, name)
	s.mu.Unlock()
	return nil
}

// Walk calls fn for each name under prefix.
func (s *Store) Walk(ctx context.Context, prefix string, fn func(name string) error) error {
	for _, name := range s.Names() {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(name); err != nil {
			return err
		}
	}
	return nil
}

// Names returns the names in the store, sorted.
func (s *Store) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.files))
	for name := range s.files {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Bytes returns the content of name and whether there is one.
func (s *Store) Bytes(name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.files[name]
	return bytes.Clone(data), ok
}
