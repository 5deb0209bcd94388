package pull

import (
	"testing"
	"time"
)

func TestStamp(t *testing.T) {
	mod := time.Unix(1700000000, 5)
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{"known", Entry{Size: 10, ModTime: mod}, "a-cwyvpelgpsed"},
		{"unknown size", Entry{Size: -1, ModTime: mod}, ""},
		{"unknown time", Entry{Size: 10}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Stamp(&tt.e)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got != "" && `"`+got+`"` != ETag(tt.e.Size, tt.e.ModTime) {
				t.Errorf("got %q, want the ETag %s unquoted", got, ETag(tt.e.Size, tt.e.ModTime))
			}
		})
	}
}
