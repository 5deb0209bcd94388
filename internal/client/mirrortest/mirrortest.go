// Package mirrortest runs fake Go module mirrors for tests: modules built
// with golang.org/x/mod/zip, a checksum database built with
// sumdb.NewTestServer, and mirrors that are fast, slow, broken, stale or
// lying.
package mirrortest

import (
	"crypto/rand"
	"fmt"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"

	"github.com/gomirror/gomirror/internal/client/probes"
)

// Behavior is how a fake mirror misbehaves.
type Behavior int

// The behaviors of fake mirrors.
const (
	// Fast serves everything at once.
	Fast Behavior = iota
	// Slow waits SlowDelay (or until the client gives up) before answering
	// each request.
	Slow
	// Broken answers 500 to everything.
	Broken
	// Stale lacks the newest version of every module that has more than
	// one: it is missing from @v/list and its files are 404.
	Stale
	// Lying serves zips whose content differs from what the checksum
	// database records.
	Lying
	// NoSumDB serves modules but not the checksum database.
	NoSumDB
)

// SlowDelay is how long a Slow mirror waits before each answer.
const SlowDelay = 30 * time.Second

// Module is a module version to build.
type Module struct {
	Path, Version string
	// Files maps file names (relative to the module root) to content.
	// A go.mod is added when missing.
	Files map[string]string
}

type built struct {
	mod                module.Version
	info, gomod, zip   []byte
	lyingZip           []byte
	hashZip, hashGoMod string
}

// Universe is a set of modules and the checksum database that vouches for
// them. Its handlers are safe for concurrent use.
type Universe struct {
	// VerifierKey is the checksum database's public key, for GOSUMDB.
	VerifierKey string
	// Name is the checksum database's name.
	Name string

	mods  map[string]*built // by path@version
	byMod map[string][]string
	db    http.Handler
}

// DefaultModules returns the modules gomirror's commands fetch by default
// (see package probes), with made-up content, plus two versions of the
// frequently released module.
func DefaultModules() []Module {
	var mods []Module
	for _, m := range probes.Modules() {
		mods = append(mods, Module{Path: m.Path, Version: m.Version, Files: map[string]string{
			"lib.go": fmt.Sprintf("package lib\n\n// Version is %s.\nconst Version = %q\n", m.Version, m.Version),
		}})
	}
	for _, v := range []string{"v0.1.0", "v0.2.0"} {
		mods = append(mods, Module{Path: probes.FreshModule, Version: v, Files: map[string]string{"tools.go": "package tools\n"}})
	}
	return mods
}

// NewUniverse builds mods and a checksum database called name.
func NewUniverse(name string, mods []Module) (*Universe, error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, err
	}
	u := &Universe{VerifierKey: vkey, Name: name, mods: map[string]*built{}, byMod: map[string][]string{}}
	for _, m := range mods {
		b, err := build(m)
		if err != nil {
			return nil, err
		}
		u.mods[m.Path+"@"+m.Version] = b
		u.byMod[m.Path] = append(u.byMod[m.Path], m.Version)
	}
	for _, vs := range u.byMod {
		sort.Slice(vs, func(i, j int) bool { return semver.Compare(vs[i], vs[j]) < 0 })
	}
	gosum := func(path, vers string) ([]byte, error) {
		b, ok := u.mods[path+"@"+vers]
		if !ok {
			return nil, fmt.Errorf("%s@%s: not found", path, vers)
		}
		return fmt.Appendf(nil, "%s %s %s\n%s %s/go.mod %s\n", path, vers, b.hashZip, path, vers, b.hashGoMod), nil
	}
	u.db = sumdb.NewServer(sumdb.NewTestServer(skey, gosum))
	return u, nil
}

func build(m Module) (*built, error) {
	good, err := sumdbtest.BuildModule(m.Path, m.Version, m.Files)
	if err != nil {
		return nil, err
	}
	files := map[string]string{"go.mod": string(good.Mod)}
	for k, v := range m.Files {
		files[k] = v
	}
	files["backdoor.go"] = "package lib\n\nfunc init() { /* not what the author published */ }\n"
	lying, err := sumdbtest.BuildModule(m.Path, m.Version, files)
	if err != nil {
		return nil, err
	}
	return &built{mod: good.Version, info: good.Info, gomod: good.Mod, zip: good.Zip, lyingZip: lying.Zip, hashZip: good.ZipHash, hashGoMod: good.ModHash}, nil
}

// Hashes returns the go.sum hashes (h1:...) of path@version's zip and
// go.mod. ok is false for a module the universe does not have.
func (u *Universe) Hashes(path, version string) (zip, gomod string, ok bool) {
	b, ok := u.mods[path+"@"+version]
	if !ok {
		return "", "", false
	}
	return b.hashZip, b.hashGoMod, true
}

// Handler returns a GOPROXY protocol handler that behaves as b, serving
// the checksum database under /sumdb/<name>/ (except NoSumDB and Broken).
func (u *Universe) Handler(b Behavior) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch b {
		case Slow:
			select {
			case <-r.Context().Done():
				return
			case <-time.After(SlowDelay):
			}
		case Broken:
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		p := r.URL.Path
		if rest, ok := strings.CutPrefix(p, "/sumdb/"+u.Name+"/"); ok {
			if b == NoSumDB {
				http.NotFound(w, r)
				return
			}
			if rest == "supported" {
				w.WriteHeader(http.StatusOK)
				return
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + rest
			u.db.ServeHTTP(w, r2)
			return
		}
		u.serveModule(w, r, b)
	})
}

func (u *Universe) serveModule(w http.ResponseWriter, r *http.Request, b Behavior) {
	escPath, file, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/@v/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	path, err := module.UnescapePath(escPath)
	if err != nil {
		http.Error(w, "bad module path", http.StatusBadRequest)
		return
	}
	versions := u.byMod[path]
	if b == Stale && len(versions) > 1 {
		versions = versions[:len(versions)-1]
	}
	if file == "list" {
		if len(versions) == 0 {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, strings.Join(versions, "\n"))
		return
	}
	ext := filepath.Ext(file)
	vers, err := module.UnescapeVersion(strings.TrimSuffix(file, ext))
	if err != nil {
		http.Error(w, "bad version", http.StatusBadRequest)
		return
	}
	listed := false
	for _, v := range versions {
		listed = listed || v == vers
	}
	bm, ok := u.mods[path+"@"+vers]
	if !ok || !listed {
		http.Error(w, "not found: "+path+"@"+vers, http.StatusNotFound)
		return
	}
	switch ext {
	case ".info":
		w.Header().Set("Content-Type", "application/json")
		w.Write(bm.info)
	case ".mod":
		w.Write(bm.gomod)
	case ".zip":
		w.Header().Set("Content-Type", "application/zip")
		if b == Lying {
			w.Write(bm.lyingZip)
		} else {
			w.Write(bm.zip)
		}
	default:
		http.NotFound(w, r)
	}
}

// Guard is an HTTP proxy that refuses everything and records what it was
// asked for. Tests point HTTP_PROXY and HTTPS_PROXY at it: Go's HTTP client
// never proxies loopback addresses, so any request that reaches the Guard
// was headed off the machine. It is safe for concurrent use.
type Guard struct {
	mu    sync.Mutex
	hosts []string
}

// NewGuard returns an empty Guard.
func NewGuard() *Guard { return &Guard{} }

// ServeHTTP records the request's target host and refuses it.
func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.hosts = append(g.hosts, r.Host)
	g.mu.Unlock()
	http.Error(w, "mirrortest: tests must not leave the machine", http.StatusForbidden)
}

// Hosts returns the hosts that requests tried to reach.
func (g *Guard) Hosts() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.hosts...)
}
