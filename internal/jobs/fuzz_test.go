package jobs

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

func FuzzNextLink(f *testing.F) {
	for _, s := range []string{`</v2/a/tags/list?last=b&n=1>; rel="next"`, `<http://x/y>; rel="next"`, `<%zz>; rel="next"`, `garbage`, `<>; rel="next"`} {
		f.Add(s)
	}
	base, _ := url.Parse("http://gomirror.internal/v2/a/tags/list")
	f.Fuzz(func(t *testing.T, link string) {
		got := nextLink(link, base)
		if got != "" && !strings.HasPrefix(got, "/") {
			t.Errorf("nextLink(%q) = %q, not a path", link, got)
		}
	})
}

func FuzzPyPIVersion(f *testing.F) {
	for _, s := range []string{"requests-2.31.0-py3-none-any.whl", "requests-2.31.0.tar.gz", "x-1!2.0.post1.zip", "-.whl", "a-b-c-d-e.whl", "1.0a1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, filename string) {
		v := pypiVersion(filename)
		_ = pypiPre(v)
		if comparePEP440(v, v) != 0 {
			t.Errorf("comparePEP440(%q, %q) != 0", v, v)
		}
		if a, b := comparePEP440(v, "1.0"), comparePEP440("1.0", v); a != -b {
			t.Errorf("comparePEP440 not antisymmetric for %q: %d, %d", v, a, b)
		}
	})
}

// FuzzSyncBodies answers every request of every kind of job with the same
// body: a job must end with a result and, unless success, a reason,
// whatever the mirror says.
func FuzzSyncBodies(f *testing.F) {
	for _, s := range []string{
		`{"modified":"2026-01-01T00:00:00Z"}`, `[]`, `[{"version":"go1.22.0","stable":true,"files":[{"filename":"a/../b","kind":"archive"}]}]`,
		`{"tags":["1.0","v2"],"mediaType":"x","manifests":[{"digest":"sha256:x"}],"config":{"digest":"../x"}}`,
		`{"files":[{"filename":"x-1.0.tar.gz","url":"javascript:alert(1)"}]}`, `{"versions":{"1.0.0":{"dist":{"tarball":"//evil/x.tgz"}}}}`,
		"v1.0.0\nv2.0.0+incompatible\nbad\n", `[{"path":"x","vulns":[{"id":"../../etc","modified":"2030-01-01T00:00:00Z"}]}]`,
	} {
		f.Add(s)
	}
	specs := []Spec{
		{Name: "go", Kind: "go", Schedule: "1h", Go: &GoModules{Modules: []string{"example.com/m"}, Newest: 2}},
		{Name: "golang", Kind: "golang", Schedule: "1h", Golang: &GoArchives{}},
		{Name: "vuln", Kind: "vuln", Schedule: "1h"},
		{Name: "oci", Kind: "oci", Schedule: "1h", OCI: &OCIImages{Images: []OCIImage{{Repository: "alpine"}}}},
		{Name: "pypi", Kind: "pypi", Schedule: "1h", PyPI: &Packages{Packages: []string{"requests"}}},
		{Name: "npm", Kind: "npm", Schedule: "1h", NPM: &Packages{Packages: []string{"react"}}},
		{Name: "maven", Kind: "maven", Schedule: "1h", Maven: &MavenArtifacts{Artifacts: []string{"org.slf4j:slf4j-api"}, Newest: 2}},
	}
	f.Fuzz(func(t *testing.T, body string) {
		var requests atomic.Int64 // jobs request in parallel
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if requests.Add(1) > 500 {
				http.Error(w, "enough", http.StatusNotFound)
				return
			}
			w.Write([]byte(body))
		})
		r, err := New(Options{Jobs: specs, Handler: h})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range specs {
			requests.Store(0)
			st, err := r.Run(t.Context(), s.Name)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case st.Result != Success && st.Result != Partial && st.Result != Failed:
				t.Errorf("%s: result %q", s.Name, st.Result)
			case st.Result != Success && st.Error == "":
				t.Errorf("%s: %s without a reason", s.Name, st.Result)
			}
		}
	})
}

func FuzzOpsHandler(f *testing.F) {
	for _, s := range []string{"/-/jobs", "/-/jobs/v", "/-/jobs/v/run", "/-/jobs//run", "/-/jobs/v/run/x", "/-/jobsx", "/-/jobs/%2e%2e/run"} {
		f.Add("GET", s)
		f.Add("POST", s)
	}
	r, err := New(Options{Jobs: []Spec{{Name: "v", Kind: "vuln", Schedule: "1h"}}, Handler: http.NotFoundHandler()})
	if err != nil {
		f.Fatal(err)
	}
	h := r.Handler()
	f.Fuzz(func(t *testing.T, method, path string) {
		if method != "GET" && method != "HEAD" {
			method = "PUT"
		}
		req := httptest.NewRequest(method, "/", nil)
		req.URL.Path = path
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("%s %q: %d", method, path, rec.Code)
		}
	})
}
