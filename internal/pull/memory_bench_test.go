package pull_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/npm"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/pypi"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// BenchmarkLargeMetadataMemory measures the process's peak and held
// resident memory while the npm and PyPI mirrors serve four 65 MB
// packuments and four 55 MB project pages at once, cold (each fetched,
// checked and stored, then decoded and rendered), with and without the
// shared memory budget. It reports peak-MB, the peak resident memory, and
// held-MB, what stays resident once the garbage is collected and given
// back; the figures are in docs/performance.md. Run it alone:
//
//	go test ./internal/pull -run '^$' -bench LargeMetadataMemory -benchtime 1x
func BenchmarkLargeMetadataMemory(b *testing.B) {
	dir := b.TempDir()
	for i := range 4 {
		writePackument(b, filepath.Join(dir, fmt.Sprintf("npm-big%d", i)), fmt.Sprintf("big%d", i), 65<<20)
		writeProjectPage(b, filepath.Join(dir, fmt.Sprintf("pypi-big%d", i)), fmt.Sprintf("big%d", i), 55<<20)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var file string
		switch {
		case strings.HasPrefix(r.URL.Path, "/npm/"):
			file = "npm-" + strings.TrimPrefix(r.URL.Path, "/npm/")
			w.Header().Set("Content-Type", "application/json")
		case strings.HasPrefix(r.URL.Path, "/simple/"):
			file = "pypi-" + strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
		}
		f, err := os.Open(filepath.Join(dir, filepath.Base(file)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, _ := f.Stat()
		w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
		io.Copy(w, f)
	}))
	defer up.Close()
	for _, budget := range []int64{pull.DefaultMemory, -1} {
		b.Run(fmt.Sprintf("budget=%d", budget), func(b *testing.B) {
			for range b.N {
				peak, held := measureMetadata(b, up.URL, pull.NewMemory(budget))
				b.ReportMetric(float64(peak>>20), "peak-MB")
				b.ReportMetric(float64(held>>20), "held-MB")
			}
		})
	}
}

func measureMetadata(b *testing.B, upURL string, mem *pull.Memory) (peak, held int64) {
	dir := b.TempDir()
	st, err := disk.New(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cache, err := pull.New(pull.Config{Store: st, TempDir: filepath.Join(dir, disk.TempDir)})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cache.Shutdown(ctx)
	}()
	nh, err := npm.New(npm.Config{Cache: cache, Upstream: npm.Upstream{URL: upURL + "/npm/"}, MaxPackumentSize: 128 << 20, Memory: mem})
	if err != nil {
		b.Fatal(err)
	}
	ph, err := pypi.New(pypi.Config{Cache: cache, Indexes: []string{upURL + "/simple/"}, MaxPageSize: 128 << 20, Memory: mem})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/npm/", nh)
	mux.Handle("/pypi/", ph)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	runtime.GC()
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // Resets the peak (VmHWM).
	var wg sync.WaitGroup
	for i := range 4 {
		for _, p := range []string{fmt.Sprintf("/npm/big%d", i), fmt.Sprintf("/pypi/simple/big%d/", i)} {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+p, nil)
				req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json")
				resp, err := srv.Client().Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || n == 0 {
					b.Errorf("%s: got %s with %d bytes", p, resp.Status, n)
				}
			})
		}
	}
	wg.Wait()
	peak = procStatus(b, "VmHWM")
	debug.FreeOSMemory() // A collection that gives what is free back.
	held = procStatus(b, "VmRSS")
	return peak, held
}

// procStatus returns a size from /proc/self/status, in bytes.
func procStatus(b *testing.B, key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status to read the resident memory from")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// writePackument writes a packument of name of about size bytes: versions
// with long readmes, as large packages have.
func writePackument(b *testing.B, file, name string, size int) {
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, `{"_id":%q,"name":%q,"dist-tags":{"latest":"1.0.0"},"versions":{`, name, name)
	readme := strings.Repeat("lorem ipsum dolor sit amet ", 600)
	n := 0
	for v := 0; n < size; v++ {
		if v > 0 {
			w.WriteString(",")
		}
		k, _ := fmt.Fprintf(w, `"1.0.%d":{"name":%q,"version":"1.0.%d","readme":%q,"dependencies":{"a":"^1.0.0","b":"~2.3.4"},"dist":{"tarball":"%s/-/%s-1.0.%d.tgz","shasum":"0000000000000000000000000000000000000000","integrity":"sha512-AAAA"}}`,
			v, name, v, readme, "https://registry.example/"+name, name, v)
		n += k
	}
	w.WriteString(`},"time":{"modified":"2024-01-01T00:00:00.000Z"}}`)
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

// writeProjectPage writes a PEP 691 project page of name of about size
// bytes: many files, as projects with wheels for every platform have.
func writeProjectPage(b *testing.B, file, name string, size int) {
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, `{"meta":{"api-version":"1.1"},"name":%q,"versions":[],"files":[`, name)
	n := 0
	for i := 0; n < size; i++ {
		if i > 0 {
			w.WriteString(",")
		}
		fn := fmt.Sprintf("%s-%d.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", name, i)
		k, _ := fmt.Fprintf(w, `{"filename":%q,"url":"https://files.example/packages/%s","hashes":{"sha256":"%064x"},"requires-python":">=3.8","yanked":false,"size":123456,"upload-time":"2024-05-01T10:00:00.123456Z"}`,
			fn, fn, i)
		n += k
	}
	w.WriteString(`]}`)
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}
