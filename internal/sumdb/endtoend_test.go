package sumdb_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/store/memstore"
	"github.com/gomirror/gomirror/internal/sumdb"
)

// TestEndToEndRealDatabase is an END-TO-END test, not hermetic: it looks a
// real module up in the real sum.golang.org, reached through the public Go
// module proxy's /sumdb/ path, checking signatures and tile proofs.
func TestEndToEndRealDatabase(t *testing.T) {
	const proxy = "https://proxy.golang.org"
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Get(proxy + "/sumdb/sum.golang.org/supported")
	if err != nil {
		t.Skipf("end-to-end: the public Go module proxy %s cannot be reached: %v", proxy, err)
	}
	resp.Body.Close()

	st := memstore.New()
	s, err := sumdb.New(sumdb.Config{
		Proxies:  []string{proxy},
		Store:    st,
		StateDir: t.TempDir(),
		Client:   client,
	})
	if err != nil {
		t.Fatal(err)
	}
	zip, mod, err := s.Lookup(t.Context(), "golang.org/x/text", "v0.3.0")
	if err != nil {
		t.Fatal(err)
	}
	const (
		wantZip = "h1:g61tztE5qeGQ89tm6NTjjM9VPIm088od1l6aSorWRWg="
		wantMod = "h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ="
	)
	if zip != wantZip || mod != wantMod {
		t.Errorf("got %s %s, want %s %s", zip, mod, wantZip, wantMod)
	}
	if _, ok := st.Bytes("sumdb/sum.golang.org/lookup/golang.org/x/text@v0.3.0"); !ok {
		t.Errorf("the lookup was not kept in the store")
	}
}
