package coord

import (
	"testing"
	"time"
)

func TestNotFoundShared(t *testing.T) {
	url := testRedis(t)
	prefix := testPrefix()
	a := newReplica(t, url, prefix, 0)
	b := newReplica(t, url, prefix, 0)
	const name = "example.com/gone/@v/v1.0.0.info"
	const reason = "not found: example.com/gone@v1.0.0: invalid version: unknown revision v1.0.0"

	if got, ok := b.NotFound(t.Context(), name); ok {
		t.Fatalf("got NotFound %q, true before any answer was remembered, want false", got)
	}
	a.SetNotFound(t.Context(), name, reason, 300*time.Millisecond)
	got, ok := b.NotFound(t.Context(), name)
	if !ok || got != reason {
		t.Fatalf("got NotFound %q, %v on the other replica, want %q, true", got, ok, reason)
	}
	if got, ok := b.NotFound(t.Context(), name+"x"); ok {
		t.Errorf("got NotFound %q, true for another name, want false", got)
	}
	eventually(t, "the remembered answer to expire", func() bool {
		_, ok := b.NotFound(t.Context(), name)
		return !ok
	})
}

func TestSetNotFoundTTL(t *testing.T) {
	url := testRedis(t)
	r := newReplica(t, url, testPrefix(), 0)
	tests := []struct {
		name string
		ttl  time.Duration
		want bool
	}{
		{"zero", 0, false},
		{"negative", -time.Second, false},
		{"below a millisecond", time.Microsecond, false},
		{"a minute", time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "example.com/m/@v/" + tt.name + ".info"
			r.SetNotFound(t.Context(), name, "gone", tt.ttl)
			if _, ok := r.NotFound(t.Context(), name); ok != tt.want {
				t.Errorf("got remembered=%v for ttl %v, want %v", ok, tt.ttl, tt.want)
			}
		})
	}
	if g := r.degradedGauge(); g != 0 {
		t.Errorf("got degraded gauge %v, want 0", g)
	}
}
