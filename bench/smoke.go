package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
	modzip "golang.org/x/mod/zip"
)

// runSmoke runs every section with generated modules, a fake checksum
// database and tiny sizes: it checks that the harness and gomirror serve
// every body right, and asserts no timing. It needs no network.
func (b *bench) runSmoke(ctx context.Context, o options) error {
	for _, tool := range []string{"nginx", "wrk"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := fmt.Sprintf("%s is not installed (Debian package %s)", tool, tool)
			if os.Getenv("CI") == "true" {
				return errors.New(msg + ": the smoke benchmark needs it in CI")
			}
			fmt.Fprintf(b.out, "bench -smoke: SKIP: %s\n", msg)
			return errSkip
		}
	}
	if err := b.build(ctx); err != nil {
		return err
	}
	b.bodies = filepath.Join(b.work, "bodies")
	if err := os.MkdirAll(b.bodies, 0o755); err != nil {
		return err
	}
	t, handler, vkey, err := smokeUpstream(b.bodies, 12)
	if err != nil {
		return err
	}
	b.gosumdb = vkey
	sim := &simulator{dir: b.bodies, sumdb: handler}
	sim.setLink(link{})
	simURL, stopSim, err := sim.start()
	if err != nil {
		return err
	}
	defer stopSim()
	s := &suite{
		trace: t, sim: sim, simURL: simURL,
		runs: 1, clients: o.clients, conns: 16, loadDur: time.Second,
		near:       link{RTT: time.Millisecond, Bandwidth: 50e6},
		far:        link{RTT: 20 * time.Millisecond, Handshake: 40 * time.Millisecond, Bandwidth: 5e6},
		bigSizes:   []int64{64 << 10, 1 << 20},
		scaleSizes: []int{100, 2000},
		scaleCache: filepath.Join(b.work, "scale"),
		hitCount:   200,
		sections:   sections(o.only),
	}
	err = b.runSuite(ctx, s)
	fmt.Fprintf(b.out, "\nSmoke run: generated modules and checksum database, tiny sizes; the numbers mean nothing.\n\n%s", s.table())
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "\nbench -smoke: ok: every body of %d requests matched, through the simulator, gomirror (cold and warm) and nginx\n", len(t))
	return nil
}

// smokeUpstream generates n module versions into dir, laid out like
// GOPROXY, and a checksum database that knows them. It returns the trace of
// fetching them all, the database's handler for the simulator's /sumdb/
// path, and its verifier key.
func smokeUpstream(dir string, n int) (trace, http.Handler, string, error) {
	const name = "sum.bench.example"
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, nil, "", err
	}
	gosum := map[string]string{}
	var t trace
	add := func(path string, data []byte) error {
		file, _ := localPath(dir, path)
		if err := writeAtomic(file, data); err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		t = append(t, entry{Path: path, Status: http.StatusOK, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
		return nil
	}
	for i := range n {
		mv := module.Version{Path: fmt.Sprintf("example.com/smoke/M%d", i), Version: fmt.Sprintf("v1.%d.0", i)}
		esc, _ := module.EscapePath(mv.Path)
		mod := []byte("module " + mv.Path + "\n\ngo 1.21\n")
		zipData, err := smokeZip(mv, mod, 1<<10<<(i%6))
		if err != nil {
			return nil, nil, "", err
		}
		zh, mh, err := hashes(zipData, mod, dir)
		if err != nil {
			return nil, nil, "", err
		}
		gosum[mv.Path+"@"+mv.Version] = fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", mv.Path, mv.Version, zh, mv.Path, mv.Version, mh)
		base := "/" + esc + "/@v/" + mv.Version
		info := fmt.Appendf(nil, `{"Version":%q,"Time":"2024-01-02T03:04:05Z"}`, mv.Version)
		for _, f := range []struct {
			ext  string
			data []byte
		}{{".info", info}, {".mod", mod}, {".zip", zipData}} {
			if err := add(base+f.ext, f.data); err != nil {
				return nil, nil, "", err
			}
		}
	}
	t = append(t, entry{Path: "/example.com/smoke/missing/@v/v1.0.0.info", Status: http.StatusNotFound})

	srv := sumdb.NewServer(sumdb.NewTestServer(skey, func(path, vers string) ([]byte, error) {
		if s, ok := gosum[path+"@"+vers]; ok {
			return []byte(s), nil
		}
		return nil, fmt.Errorf("%s@%s: not found", path, vers)
	}))
	prefix := "/sumdb/" + name
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		switch {
		case !ok:
			http.NotFound(w, r)
		case rest == "/supported":
			w.WriteHeader(http.StatusOK)
		default:
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = rest, ""
			srv.ServeHTTP(w, r2)
		}
	})
	return t, h, vkey, nil
}

// smokeZip makes the module zip of mv with a go.mod and a file of size
// random-looking bytes in hex.
func smokeZip(mv module.Version, mod []byte, size int) ([]byte, error) {
	raw := make([]byte, size/2)
	rand.Read(raw)
	files := []modzip.File{
		memFile{"go.mod", mod},
		memFile{"data.go", []byte("package smoke\n\n// Data is filler.\nconst Data = \"" + hex.EncodeToString(raw) + "\"\n")},
	}
	var buf bytes.Buffer
	if err := modzip.Create(&buf, mv, files); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// hashes returns the go.sum hashes of a module zip and a go.mod.
func hashes(zipData, mod []byte, tmpDir string) (zipHash, modHash string, err error) {
	f, err := os.CreateTemp(tmpDir, ".zip-*")
	if err != nil {
		return "", "", err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(zipData)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", err
	}
	if zipHash, err = dirhash.HashZip(f.Name(), dirhash.Hash1); err != nil {
		return "", "", err
	}
	modHash, err = dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(mod)), nil
	})
	return zipHash, modHash, err
}

// memFile is a file of a module zip, in memory.
type memFile struct {
	name string
	data []byte
}

func (f memFile) Path() string                 { return f.name }
func (f memFile) Lstat() (os.FileInfo, error)  { return memInfo(f), nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type memInfo memFile

func (fi memInfo) Name() string       { return filepath.Base(fi.name) }
func (fi memInfo) Size() int64        { return int64(len(fi.data)) }
func (fi memInfo) Mode() os.FileMode  { return 0o644 }
func (fi memInfo) ModTime() time.Time { return time.Time{} }
func (fi memInfo) IsDir() bool        { return false }
func (fi memInfo) Sys() any           { return nil }
