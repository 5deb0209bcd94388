package vulndb_test

import (
	"testing"

	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/vulndb"
	"github.com/gomirror/gomirror/internal/vulndb/vulndbtest"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"index/db.json", true},
		{"index/db.json.gz", true},
		{"index/modules.json.gz", true},
		{"index/vulns.json", true},
		{"ID/GO-2021-0113.json", true},
		{"ID/GO-2021-0113.json.gz", true},
		{"ID/GO-2024-12345.json", true},
		{"ID/GO-2024-123456789.json", false},
		{"", false},
		{"index/", false},
		{"index/other.json", false},
		{"index/db.json.gz.gz", false},
		{"ID/GO-2021-0113", false},
		{"ID/GO-2021-0113.yaml", false},
		{"ID/../index/db.json", false},
		{"ID/GO-2021-0113.json/x", false},
		{"ID/index.json", false},
		{"/index/db.json", false},
		{"id/GO-2021-0113.json", false},
	}
	for _, tt := range tests {
		if got := vulndb.ValidName(tt.name); got != tt.want {
			t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	// Every file of a database is a valid name.
	for _, name := range vulndbtest.SampleDB(t).Names() {
		if !vulndb.ValidName(name) {
			t.Errorf("ValidName(%q) = false for a file of the database", name)
		}
	}
	for name, want := range map[string]string{"index/db.json": "application/json", "ID/GO-2021-0113.json.gz": "application/gzip"} {
		if got := vulndb.ContentType(name); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", name, got, want)
		}
	}
}

// FuzzValidName checks that every valid name is a valid store name under
// the database's prefix.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"index/db.json", "ID/GO-2021-0113.json.gz", "ID/../x", "ID/GO-2021-0113.json\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if vulndb.ValidName(name) {
			if err := store.CheckName(vulndb.StorePrefix + name); err != nil {
				t.Errorf("ValidName(%q) but %v", name, err)
			}
		}
	})
}
