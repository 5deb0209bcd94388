package doctor

import (
	"slices"
	"testing"
)

func TestResolvers(t *testing.T) {
	conf := "# generated\nsearch corp.example\nnameserver 223.5.5.5\nnameserver  2400:3200::1 \noptions edns0\nnameserver\n"
	got := Resolvers([]byte(conf))
	want := []string{"223.5.5.5", "2400:3200::1"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
