package server

import (
	"errors"
	"slices"
	"testing"
)

// Close runs what the parts pushed, last first, once, and reports every
// failure.
func TestCloseRunsTheCleanupStackOnce(t *testing.T) {
	s := &Server{}
	var ran []string
	errStore := errors.New("store")
	s.onClose(func() error { ran = append(ran, "store"); return errStore })
	s.onClose(func() error { ran = append(ran, "audit log"); return nil })
	s.onClose(func() error { ran = append(ran, "redis"); return nil })
	if err := s.Close(); !errors.Is(err, errStore) {
		t.Errorf("Close: got %v, want the store's error", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if want := []string{"redis", "audit log", "store"}; !slices.Equal(ran, want) {
		t.Errorf("cleanups run: got %q, want %q", ran, want)
	}
}
