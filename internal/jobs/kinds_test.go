package jobs

import (
	"context"
	"slices"
	"testing"
	"time"
)

// goModFixture serves two modules' lists and files.
func goModFixture(f *fakeMirror) {
	f.set("/golang.org/x/text/@v/list", "v0.3.0\nv0.14.0\nv0.2.0\nv0.15.0-rc.1\n")
	f.set("/github.com/!burnt!sushi/toml/@v/list", "")
	f.set("/github.com/!burnt!sushi/toml/@latest", `{"Version":"v0.0.0-20240101000000-abcdefabcdef"}`)
	for _, p := range []string{"/golang.org/x/text/@v/v0.14.0", "/golang.org/x/text/@v/v0.3.0",
		"/github.com/!burnt!sushi/toml/@v/v0.0.0-20240101000000-abcdefabcdef"} {
		f.set(p+".info", `{}`)
		f.set(p+".mod", "module x\n")
		f.set(p+".zip", "PK-zip-bytes")
	}
}

type fakeRecorder struct {
	mods  []string
	since time.Time
}

func (r *fakeRecorder) RecentModules(_ context.Context, since time.Time) ([]string, error) {
	r.since = since
	return r.mods, nil
}

func TestGoModules(t *testing.T) {
	f := newFakeMirror()
	goModFixture(f)
	rec := &fakeRecorder{mods: []string{"github.com/BurntSushi/toml"}}
	clock := newFakeClock(t0)
	r, err := New(Options{Handler: f, Clock: clock, Recorder: rec, Jobs: []Spec{{
		Name: "go", Kind: "go", Schedule: "1h",
		Go: &GoModules{Modules: []string{"golang.org/x/text"}, RecentDays: 7, Newest: 2},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	st := runOnce(t, r, "go")
	if st.Result != Success {
		t.Fatalf("result: got %s (%s), want success", st.Result, st.Error)
	}
	want := []string{
		"/github.com/!burnt!sushi/toml/@latest",
		"/github.com/!burnt!sushi/toml/@v/list",
		"/github.com/!burnt!sushi/toml/@v/v0.0.0-20240101000000-abcdefabcdef.info",
		"/github.com/!burnt!sushi/toml/@v/v0.0.0-20240101000000-abcdefabcdef.mod",
		"/github.com/!burnt!sushi/toml/@v/v0.0.0-20240101000000-abcdefabcdef.zip",
		"/golang.org/x/text/@v/list",
		"/golang.org/x/text/@v/v0.14.0.info",
		"/golang.org/x/text/@v/v0.14.0.mod",
		"/golang.org/x/text/@v/v0.14.0.zip",
		"/golang.org/x/text/@v/v0.3.0.info",
		"/golang.org/x/text/@v/v0.3.0.mod",
		"/golang.org/x/text/@v/v0.3.0.zip",
	}
	if got := f.requested(); !slices.Equal(got, want) {
		t.Errorf("requested:\ngot  %q\nwant %q", got, want)
	}
	if got, want := rec.since, t0.Add(-7*24*time.Hour); !got.Equal(want) {
		t.Errorf("recorder asked since %v, want %v", got, want)
	}
	if st.Bytes == 0 {
		t.Errorf("bytes: got 0, want the bodies counted")
	}

	// The next run refreshes the lists and fetches no file again.
	f.reset()
	st = runOnce(t, r, "go")
	if st.Result != Success {
		t.Fatalf("second run: got %s (%s), want success", st.Result, st.Error)
	}
	want = []string{"/github.com/!burnt!sushi/toml/@latest", "/github.com/!burnt!sushi/toml/@v/list", "/golang.org/x/text/@v/list"}
	if got := f.requested(); !slices.Equal(got, want) {
		t.Errorf("second run requested:\ngot  %q\nwant %q", got, want)
	}
}

func TestGoArchives(t *testing.T) {
	f := newFakeMirror()
	f.set("/golang/?mode=json&include=all", `[
 {"version":"go1.24rc1","stable":false,"files":[{"filename":"go1.24rc1.linux-amd64.tar.gz","os":"linux","arch":"amd64","kind":"archive"}]},
 {"version":"go1.23.1","stable":true,"files":[
  {"filename":"go1.23.1.src.tar.gz","os":"","arch":"","kind":"source"},
  {"filename":"go1.23.1.linux-amd64.tar.gz","os":"linux","arch":"amd64","kind":"archive"},
  {"filename":"go1.23.1.linux-arm64.tar.gz","os":"linux","arch":"arm64","kind":"archive"},
  {"filename":"go1.23.1.windows-amd64.msi","os":"windows","arch":"amd64","kind":"installer"}]},
 {"version":"go1.22.7","stable":true,"files":[{"filename":"go1.22.7.linux-amd64.tar.gz","os":"linux","arch":"amd64","kind":"archive"}]},
 {"version":"go1.21.13","stable":true,"files":[{"filename":"go1.21.13.linux-amd64.tar.gz","os":"linux","arch":"amd64","kind":"archive"}]}
]`)
	for _, n := range []string{"go1.23.1.src.tar.gz", "go1.23.1.linux-amd64.tar.gz", "go1.22.7.linux-amd64.tar.gz"} {
		f.set("/golang/"+n, "archive "+n)
	}
	r := newTestRunner(t, f, newFakeClock(t0), "", Spec{
		Name: "golang", Kind: "golang", Schedule: "@daily",
		Golang: &GoArchives{OS: []string{"linux"}, Arch: []string{"amd64"}, Kinds: []string{"archive", "source"}, Minors: 2},
	})
	st := runOnce(t, r, "golang")
	if st.Result != Success {
		t.Fatalf("result: got %s (%s), want success", st.Result, st.Error)
	}
	want := []string{"/golang/?mode=json&include=all", "/golang/go1.22.7.linux-amd64.tar.gz",
		"/golang/go1.23.1.linux-amd64.tar.gz", "/golang/go1.23.1.src.tar.gz"}
	if got := f.requested(); !slices.Equal(got, want) {
		t.Errorf("requested:\ngot  %q\nwant %q", got, want)
	}
}

func TestVulnDB(t *testing.T) {
	f := newFakeMirror()
	f.set("/vuln/index/db.json", `{"modified":"2026-02-01T00:00:00Z"}`)
	f.set("/vuln/index/modules.json", `[
 {"path":"golang.org/x/net","vulns":[{"id":"GO-2024-0001","modified":"2024-01-01T00:00:00Z"},{"id":"GO-2026-0002","modified":"2026-01-31T00:00:00Z"}]},
 {"path":"golang.org/x/text","vulns":[{"id":"GO-2026-0002","modified":"2026-01-31T00:00:00Z"}]}]`)
	f.set("/vuln/ID/GO-2024-0001.json", `{"id":"GO-2024-0001"}`)
	f.set("/vuln/ID/GO-2026-0002.json", `{"id":"GO-2026-0002"}`)
	r := newTestRunner(t, f, newFakeClock(t0), t.TempDir(), Spec{Name: "vuln", Kind: "vuln", Schedule: "1h"})
	st := runOnce(t, r, "vuln")
	if st.Result != Success {
		t.Fatalf("result: got %s (%s), want success", st.Result, st.Error)
	}
	if got, want := len(f.requested()), 4; got != want {
		t.Errorf("first run requested %q, want %d URIs", f.requested(), want)
	}
	if got, want := st.Cursor, "2026-02-01T00:00:00Z"; got != want {
		t.Errorf("cursor: got %q, want %q", got, want)
	}

	// Only entries modified after the cursor are fetched again.
	f.reset()
	f.set("/vuln/index/db.json", `{"modified":"2026-02-02T00:00:00Z"}`)
	f.set("/vuln/index/modules.json", `[{"path":"golang.org/x/net","vulns":[
 {"id":"GO-2024-0001","modified":"2024-01-01T00:00:00Z"},{"id":"GO-2026-0002","modified":"2026-02-01T12:00:00Z"}]}]`)
	st = runOnce(t, r, "vuln")
	want := []string{"/vuln/ID/GO-2026-0002.json", "/vuln/index/db.json", "/vuln/index/modules.json"}
	if got := f.requested(); st.Result != Success || !slices.Equal(got, want) {
		t.Errorf("second run: got %s, %q, want success, %q", st.Result, got, want)
	}
}

func TestOCIImages(t *testing.T) {
	f := newFakeMirror()
	base := "/v2/library/alpine"
	f.set(base+"/tags/list", `{"name":"library/alpine","tags":["3.18","3.19","3.20","3.21-rc1","latest","edge"]}`)
	f.header[base+"/tags/list"] = map[string]string{"Link": `</v2/library/alpine/tags/list?last=edge&n=6>; rel="next"`}
	f.set(base+"/tags/list?last=edge&n=6", `{"tags":["3.17"]}`)
	index := `{"mediaType":"` + ociIndex + `","manifests":[
 {"mediaType":"` + ociManifest + `","digest":"sha256:aaa","platform":{"os":"linux","architecture":"amd64"}},
 {"mediaType":"` + ociManifest + `","digest":"sha256:bbb","platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
 {"mediaType":"` + ociManifest + `","digest":"sha256:ccc","platform":{"os":"unknown","architecture":"unknown"}}]}`
	for _, tag := range []string{"3.20", "3.19"} {
		f.set(base+"/manifests/"+tag, index)
	}
	f.set(base+"/manifests/sha256:aaa", `{"mediaType":"`+ociManifest+`","config":{"digest":"sha256:c1"},"layers":[{"digest":"sha256:l1"},{"digest":"sha256:l2"}]}`)
	f.set(base+"/manifests/sha256:bbb", `{"mediaType":"`+ociManifest+`","config":{"digest":"sha256:c2"},"layers":[{"digest":"sha256:l3"}]}`)
	for _, d := range []string{"c1", "c2", "l1", "l2", "l3"} {
		f.set(base+"/blobs/sha256:"+d, "blob "+d)
	}
	ghcr := "/v2/ghcr.io/acme/tool"
	f.set(ghcr+"/tags/list", `{"tags":["v1.0.0","v1.2.0","v1.10.0","main"]}`)
	f.set(ghcr+"/manifests/v1.10.0", `{"mediaType":"`+dockerManifest+`","config":{"digest":"sha256:g1"},"layers":[{"digest":"sha256:l1"}]}`)
	f.set(ghcr+"/blobs/sha256:g1", "blob g1")
	f.set(ghcr+"/blobs/sha256:l1", "blob l1")

	r := newTestRunner(t, f, newFakeClock(t0), "", Spec{
		Name: "images", Kind: "oci", Schedule: "0 */6 * * *", Concurrency: 1,
		OCI: &OCIImages{Images: []OCIImage{
			{Repository: "alpine", Tags: `3\.[0-9]+.*`, Semver: true, Newest: 2},
			{Repository: "ghcr.io/acme/tool", Semver: true, Newest: 1, Platforms: []string{"linux/amd64"}},
		}},
	})
	st := runOnce(t, r, "images")
	if st.Result != Success {
		t.Fatalf("result: got %s (%s), want success", st.Result, st.Error)
	}
	want := []string{
		ghcr + "/blobs/sha256:g1", ghcr + "/blobs/sha256:l1", ghcr + "/manifests/v1.10.0", ghcr + "/tags/list",
		base + "/blobs/sha256:c1", base + "/blobs/sha256:c2", base + "/blobs/sha256:l1", base + "/blobs/sha256:l2", base + "/blobs/sha256:l3",
		base + "/manifests/3.19", base + "/manifests/3.20", base + "/manifests/sha256:aaa", base + "/manifests/sha256:bbb",
		base + "/tags/list", base + "/tags/list?last=edge&n=6",
	}
	if got := f.requested(); !slices.Equal(got, want) {
		t.Errorf("requested:\ngot  %q\nwant %q", got, want)
	}
	if got := f.accept[base+"/manifests/3.20"]; !contains(got, ociIndex) || !contains(got, dockerManifest) {
		t.Errorf("manifest Accept: got %q, want the index and manifest types", got)
	}
}

func TestPyPIAndNPM(t *testing.T) {
	f := newFakeMirror()
	f.set("/pypi/simple/requests/", `{"meta":{"api-version":"1.1"},"name":"requests","files":[
 {"filename":"requests-2.31.0-py3-none-any.whl","url":"https://mirror.example/pypi/files/ab/requests-2.31.0-py3-none-any.whl","hashes":{}},
 {"filename":"requests-2.31.0.tar.gz","url":"../../files/cd/requests-2.31.0.tar.gz","hashes":{}},
 {"filename":"requests-2.9.0.tar.gz","url":"/pypi/files/ef/requests-2.9.0.tar.gz","hashes":{}},
 {"filename":"requests-2.32.0rc1.tar.gz","url":"/pypi/files/00/requests-2.32.0rc1.tar.gz","hashes":{}},
 {"filename":"requests-2.32.1.tar.gz","url":"/pypi/files/11/requests-2.32.1.tar.gz","yanked":"broken","hashes":{}}]}`)
	for _, p := range []string{"/pypi/files/ab/requests-2.31.0-py3-none-any.whl", "/pypi/files/cd/requests-2.31.0.tar.gz"} {
		f.set(p, "file")
	}
	f.set("/npm/@scope%2fpkg", `{"name":"@scope/pkg","versions":{
 "1.0.0":{"dist":{"tarball":"http://mirror.example/npm/@scope/pkg/-/pkg-1.0.0.tgz"}},
 "1.10.0":{"dist":{"tarball":"http://mirror.example/npm/@scope/pkg/-/pkg-1.10.0.tgz"}},
 "1.9.0":{"dist":{"tarball":"http://mirror.example/npm/@scope/pkg/-/pkg-1.9.0.tgz"}},
 "2.0.0-beta.1":{"dist":{"tarball":"http://mirror.example/npm/@scope/pkg/-/pkg-2.0.0-beta.1.tgz"}}}}`)
	f.set("/npm/@scope/pkg/-/pkg-1.10.0.tgz", "tgz")
	f.set("/npm/@scope/pkg/-/pkg-1.9.0.tgz", "tgz")
	r := newTestRunner(t, f, newFakeClock(t0), "",
		Spec{Name: "py", Kind: "pypi", Schedule: "1h", PyPI: &Packages{Packages: []string{"Requests"}, Newest: 1}},
		Spec{Name: "js", Kind: "npm", Schedule: "1h", NPM: &Packages{Packages: []string{"@scope/pkg"}, Newest: 2}},
	)
	for _, name := range []string{"py", "js"} {
		if st := runOnce(t, r, name); st.Result != Success {
			t.Fatalf("%s: got %s (%s), want success", name, st.Result, st.Error)
		}
	}
	want := []string{"/npm/@scope%2fpkg", "/npm/@scope/pkg/-/pkg-1.10.0.tgz", "/npm/@scope/pkg/-/pkg-1.9.0.tgz",
		"/pypi/files/ab/requests-2.31.0-py3-none-any.whl", "/pypi/files/cd/requests-2.31.0.tar.gz", "/pypi/simple/requests/"}
	if got := f.requested(); !slices.Equal(got, want) {
		t.Errorf("requested:\ngot  %q\nwant %q", got, want)
	}
	if got := f.accept["/pypi/simple/requests/"]; got != simpleAccept {
		t.Errorf("simple page Accept: got %q, want %q", got, simpleAccept)
	}
}

func TestPEP440Order(t *testing.T) {
	for _, tc := range []struct{ a, b string }{{"2.9.0", "2.31.0"}, {"1.0", "1.0.1"}, {"1.0.0", "1!0.1"}, {"1.0", "1.0.post1"}} {
		if comparePEP440(tc.a, tc.b) >= 0 || comparePEP440(tc.b, tc.a) <= 0 {
			t.Errorf("comparePEP440(%q, %q): want %q before %q", tc.a, tc.b, tc.a, tc.b)
		}
	}
	if comparePEP440("1.0", "1.0.0") != 0 {
		t.Errorf("comparePEP440(1.0, 1.0.0): want equal")
	}
}
