package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
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
		raw := make([]byte, (1<<10<<(i%6))/2)
		rand.Read(raw)
		m, err := sumdbtest.BuildModule(mv.Path, mv.Version, map[string]string{
			"data.go": "package smoke\n\n// Data is filler.\nconst Data = \"" + hex.EncodeToString(raw) + "\"\n",
		})
		if err != nil {
			return nil, nil, "", err
		}
		gosum[mv.Path+"@"+mv.Version] = m.GoSum()
		base := "/" + esc + "/@v/" + mv.Version
		for _, f := range []struct {
			ext  string
			data []byte
		}{{".info", m.Info}, {".mod", m.Mod}, {".zip", m.Zip}} {
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
