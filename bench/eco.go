package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The ecosystems section compares a cold fill of each of gomirror's other
// mirrors with the tool a site would otherwise run for it, each in front
// of the same upstream on the near link, in one run:
//   - OCI: blobs pulled through gomirror and through docker-registry's
//     proxy mode (Debian's docker-registry), from a docker-registry
//     holding a pushed image;
//   - PyPI: `pip download` through gomirror and straight from a static
//     index (PEP 503 pages and wheels served by Go's file server);
//   - npm: a cold `npm install` through gomirror and through verdaccio,
//     measured by go run ./bench/npm -cold (the npm registry is the
//     upstream).

// linked serves h on loopback behind the simulator's near link: each
// request waits an RTT, a new connection a handshake too, and bodies are
// paced. It returns the base URL.
func (b *bench) linked(h http.Handler, l link) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			delay := l.RTT
			if st, ok := r.Context().Value(connKey{}).(*connState); ok && st.requests.Add(1) == 1 {
				delay += l.Handshake
			}
			time.Sleep(delay)
			if l.Bandwidth > 0 {
				w = &paced{ResponseWriter: w, bw: l.Bandwidth, start: time.Now()}
			}
			h.ServeHTTP(w, r)
		}),
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, &connState{})
		},
	}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() { hs.Close() }, nil
}

// ecosystems runs the section.
func (b *bench) ecosystems(ctx context.Context, s *suite) error {
	if err := b.ociCold(ctx, s); err != nil {
		s.add(row{"eco", "OCI: cold blob fill", "failed: " + oneLine(err.Error()), "", "", "", ""})
	}
	if err := b.pipCold(ctx, s); err != nil {
		s.add(row{"eco", "PyPI: cold pip download", "failed: " + oneLine(err.Error()), "", "", "", ""})
	}
	if err := b.npmCold(ctx, s); err != nil {
		s.add(row{"eco", "npm: cold npm install", "failed: " + oneLine(err.Error()), "", "", "", ""})
	}
	return nil
}

// startRegistry runs Debian's docker-registry on loopback with its storage
// in dir; proxy, when set, makes it a pull-through cache of that URL.
func (b *bench) startRegistry(ctx context.Context, dir, proxy string) (*proc, string, error) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return nil, "", errors.New("docker-registry is not installed (Debian package docker-registry)")
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if proxy != "" {
		conf += "proxy:\n  remoteurl: " + proxy + "\n"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	confFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		return nil, "", err
	}
	b.nlog++
	p, err := b.startProc("docker-registry", filepath.Join(b.work, fmt.Sprintf("docker-registry-%d.log", b.nlog)), os.Environ(), bin, "serve", confFile)
	if err != nil {
		return nil, "", err
	}
	u := "http://" + addr
	if err := waitHTTP(ctx, p, u+"/v2/"); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, u, nil
}

// ociCold pushes an image of four 16 MiB layers to a docker-registry
// behind the near link, then pulls its blobs, 4 at a time, straight from
// it, through a cold docker-registry in proxy mode and through a cold
// gomirror, alternating, s.runs times.
func (b *bench) ociCold(ctx context.Context, s *suite) error {
	up, upURL, err := b.startRegistry(ctx, filepath.Join(b.work, "oci-upstream"), "")
	if err != nil {
		return err
	}
	defer up.stop()
	target, err := url.Parse(upURL)
	if err != nil {
		return err
	}
	linkedUp, stopLink, err := b.linked(httputil.NewSingleHostReverseProxy(target), s.near)
	if err != nil {
		return err
	}
	defer stopLink()
	img, err := random.Image(1024, 1)
	if err != nil {
		return err
	}
	var digests []v1.Hash
	for range 4 {
		layer, err := random.Layer(16<<20, types.OCIUncompressedLayer)
		if err != nil {
			return err
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return err
		}
		d, _ := layer.Digest()
		digests = append(digests, d)
	}
	ref, err := name.ParseReference(strings.TrimPrefix(upURL, "http://")+"/bench/image:1", name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("pushing the image: %w", err)
	}
	const host = "upstream.bench"
	pull := func(base, prefix string) (time.Duration, error) {
		client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 5 * time.Minute}
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, len(digests))
		for _, d := range digests {
			wg.Go(func() {
				resp, err := client.Get(base + "/v2/" + prefix + "bench/image/blobs/" + d.String())
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				h := sha256.New()
				n, err := io.Copy(h, resp.Body)
				switch {
				case err != nil:
					errs <- err
				case resp.StatusCode != http.StatusOK:
					errs <- fmt.Errorf("%s: %s", d, resp.Status)
				case "sha256:"+hex.EncodeToString(h.Sum(nil)) != d.String():
					errs <- fmt.Errorf("%s: got %d bytes of another blob", d, n)
				}
			})
		}
		wg.Wait()
		close(errs)
		return time.Since(start), <-errs
	}
	var direct, dreg, gm []time.Duration
	for i := range s.runs {
		d, err := pull(linkedUp, "")
		if err != nil {
			return fmt.Errorf("straight: %w", err)
		}
		direct = append(direct, d)
		rp, regURL, err := b.startRegistry(ctx, filepath.Join(b.work, fmt.Sprintf("oci-proxy-%d", i)), linkedUp)
		if err != nil {
			return err
		}
		d, err = pull(regURL, "")
		rp.stop()
		if err != nil {
			return fmt.Errorf("docker-registry's proxy: %w", err)
		}
		dreg = append(dreg, d)
		m, err := b.startMirror(ctx, s.dataDir(b), s.simURL, "--oci", "--oci-registries", host+"="+linkedUp, "--oci-default-registry", host)
		if err != nil {
			return err
		}
		d, err = pull(m.URL, host+"/")
		m.stop()
		if err != nil {
			return fmt.Errorf("gomirror: %w", err)
		}
		gm = append(gm, d)
		b.logf("OCI cold run %d: straight %v, docker-registry proxy %v, gomirror %v", i+1, direct[i], dreg[i], gm[i])
	}
	md, mr, mg := median(direct), median(dreg), median(gm)
	s.add(row{"eco", fmt.Sprintf("OCI: cold pull of 4 blobs of 16 MiB, 4 at a time, median of %d", s.runs), secs(mg),
		secs(mr) + " docker-registry proxy; " + secs(md) + " straight",
		fmt.Sprintf("%.2f× docker-registry's; %.2f× straight (docker-registry %.2f×)", mg.Seconds()/mr.Seconds(), mg.Seconds()/md.Seconds(), mr.Seconds()/md.Seconds()),
		"≤ 1.0× docker-registry's", verdict(mg.Seconds()/mr.Seconds(), 1.0, false)})
	return nil
}

// wheel returns a minimal valid wheel of project at version whose payload
// is size random bytes, stored uncompressed.
func wheel(rng *rand.Rand, project, version string, size int) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	dist := project + "-" + version + ".dist-info/"
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	files := []struct {
		name string
		data []byte
	}{
		{project + "/__init__.py", []byte("# bench\n")},
		{project + "/data.bin", payload},
		{dist + "METADATA", []byte("Metadata-Version: 2.1\nName: " + project + "\nVersion: " + version + "\n")},
		{dist + "WHEEL", []byte("Wheel-Version: 1.0\nGenerator: gomirror-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")},
	}
	var record strings.Builder
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Store})
		if err != nil {
			return nil, err
		}
		w.Write(f.data)
		sum := sha256.Sum256(f.data)
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.data))
	}
	fmt.Fprintf(&record, "%sRECORD,,\n", dist)
	w, err := zw.Create(dist + "RECORD")
	if err != nil {
		return nil, err
	}
	io.WriteString(w, record.String())
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pipCold writes a static index of 24 projects, one wheel each (100 KB
// to 4 MB), serves it behind the near link, and times one `pip download`
// of all of them straight from it and through a cold gomirror,
// alternating, s.runs times.
func (b *bench) pipCold(ctx context.Context, s *suite) error {
	if err := exec.CommandContext(ctx, "python3", "-m", "pip", "--version").Run(); err != nil {
		return errors.New("pip is not installed (Debian package python3-pip)")
	}
	dir := filepath.Join(b.work, "pypi-index")
	rng := rand.New(rand.NewPCG(3, 4))
	var projects []string
	var total int64
	for i := range 24 {
		project := fmt.Sprintf("benchpkg%02d", i)
		projects = append(projects, project)
		data, err := wheel(rng, project, "1.0", 100_000+rng.IntN(4_000_000))
		if err != nil {
			return err
		}
		total += int64(len(data))
		file := project + "-1.0-py3-none-any.whl"
		if err := os.MkdirAll(filepath.Join(dir, "packages"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "packages", file), data, 0o644); err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		page := fmt.Sprintf("<!DOCTYPE html>\n<html><body>\n<a href=\"../../packages/%s#sha256=%x\">%s</a>\n</body></html>\n", file, sum, file)
		if err := os.MkdirAll(filepath.Join(dir, "simple", project), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "simple", project, "index.html"), []byte(page), 0o644); err != nil {
			return err
		}
	}
	index, stopIndex, err := b.linked(http.FileServer(http.Dir(dir)), s.near)
	if err != nil {
		return err
	}
	defer stopIndex()
	download := func(indexURL string) (time.Duration, error) {
		out, err := os.MkdirTemp(b.work, "pip-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(out)
		args := append([]string{"-m", "pip", "download", "--no-deps", "--no-cache-dir", "--disable-pip-version-check", "-q", "-d", out, "--index-url", indexURL}, projects...)
		cmd := exec.CommandContext(ctx, "python3", args...)
		start := time.Now()
		if o, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("pip download: %v: %s", err, oneLine(string(o)))
		}
		d := time.Since(start)
		entries, err := os.ReadDir(out)
		if err != nil || len(entries) != len(projects) {
			return 0, fmt.Errorf("pip download: got %d files (%v), want %d", len(entries), err, len(projects))
		}
		return d, nil
	}
	var direct, gm []time.Duration
	for i := range s.runs {
		d, err := download(index + "/simple/")
		if err != nil {
			return fmt.Errorf("straight: %w", err)
		}
		direct = append(direct, d)
		m, err := b.startMirror(ctx, s.dataDir(b), s.simURL, "--pypi", "--pypi-indexes", index+"/simple/")
		if err != nil {
			return err
		}
		d, err = download(m.URL + "/pypi/simple/")
		m.stop()
		if err != nil {
			return fmt.Errorf("gomirror: %w", err)
		}
		gm = append(gm, d)
		b.logf("PyPI cold run %d: straight %v, gomirror %v", i+1, direct[i], gm[i])
	}
	md, mg := median(direct), median(gm)
	s.add(row{"eco", fmt.Sprintf("PyPI: cold pip download of 24 wheels (%s), median of %d", mb(total), s.runs), secs(mg),
		secs(md) + " straight from the static index", fmt.Sprintf("%.2f×", mg.Seconds()/md.Seconds()), "report", ""})
	return nil
}

// npmCold runs go run ./bench/npm -cold and adds its table's rows.
func (b *bench) npmCold(ctx context.Context, s *suite) error {
	if _, err := exec.LookPath("npm"); err != nil {
		return errors.New("npm is not installed (Debian package npm)")
	}
	out := filepath.Join(b.work, "npm.md")
	cmd := exec.CommandContext(ctx, "go", "run", "./bench/npm", "-cold", "-runs", fmt.Sprint(s.runs), "-o", out)
	cmd.Dir = b.repo
	if o, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go run ./bench/npm -cold: %v: %s", err, oneLine(string(o)))
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Split(strings.Trim(line, "| "), " | ")
		if len(f) < 4 || f[0] == "target" || strings.HasPrefix(f[0], "---") {
			continue
		}
		s.add(row{"eco", fmt.Sprintf("npm: cold `npm install express@4.21.2` through %s, median of %d (runs: %s)", f[0], s.runs, f[2]), f[1], "", strings.TrimSuffix(f[3], "x") + "× gomirror's", "", ""})
	}
	return nil
}
