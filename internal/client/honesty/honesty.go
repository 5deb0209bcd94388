// Package honesty proves that a Go module mirror serves what the checksum
// database vouches for: it fetches a module through the GOPROXY chain, as
// the go command would, hashes the go.mod and the zip with
// golang.org/x/mod/sumdb/dirhash, and compares them with the records of the
// checksum database, read and verified with golang.org/x/mod/sumdb.
package honesty

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
	modzip "golang.org/x/mod/zip"

	"github.com/gomirror/gomirror/internal/client/proxychain"
)

// knownKeys are the public keys of checksum databases the go command knows
// by name.
var knownKeys = map[string]string{
	"sum.golang.org":       "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
	"sum.golang.google.cn": "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
}

// Options says what to verify. Chain and GOSUMDB are required.
type Options struct {
	// HTTP fetches from proxies and the checksum database; nil means
	// http.DefaultClient.
	HTTP *http.Client
	// Chain is the GOPROXY chain to walk, as the go command does.
	Chain []proxychain.Entry
	// GOSUMDB is the go command's GOSUMDB setting.
	GOSUMDB string
	// Module is the module to fetch.
	Module module.Version
}

// Attempt is what one entry of the chain said.
type Attempt struct {
	Entry  string `json:"entry"`
	Result string `json:"result"`
}

// Mismatch is a file whose hash differs from the checksum database's.
type Mismatch struct {
	// File is "go.mod" or "zip".
	File string `json:"file"`
	// Got is the hash of what the mirror served; Want is the database's.
	Got  string `json:"got"`
	Want string `json:"want"`
}

// Result is the outcome of a verification.
type Result struct {
	Module module.Version `json:"module"`
	// Answered is the chain entry that served the module; Index is its
	// position, from 1.
	Answered string    `json:"answered"`
	Index    int       `json:"index"`
	Attempts []Attempt `json:"attempts"`
	// SumDB names the checksum database and where it was reached.
	SumDB    string `json:"sumdb"`
	SumDBURL string `json:"sumdb_url"`
	// ModHash and ZipHash are the hashes of what the mirror served.
	ModHash string `json:"mod_hash"`
	ZipHash string `json:"zip_hash"`
	// Mismatches is empty when the mirror is honest.
	Mismatches []Mismatch `json:"mismatches,omitempty"`
}

// OK reports whether everything matched.
func (r *Result) OK() bool { return len(r.Mismatches) == 0 }

// errNotFound marks a 404 or 410 answer: the go command falls through to
// the next entry after ",".
var errNotFound = fmt.Errorf("not found: %w", fs.ErrNotExist)

type fetched struct {
	mod     []byte
	zipFile string
}

// Verify fetches opts.Module through the chain and checks it against the
// checksum database. It returns an error when no entry serves the module or
// the checksum database cannot be read or misbehaves; a mismatch is not an
// error but a Result whose Mismatches name both hashes.
func Verify(ctx context.Context, opts Options) (*Result, error) {
	if opts.HTTP == nil {
		opts.HTTP = http.DefaultClient
	}
	m := opts.Module
	if err := module.Check(m.Path, m.Version); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	key, explicitURL, err := parseGOSUMDB(opts.GOSUMDB)
	if err != nil {
		return nil, err
	}
	verifier, err := note.NewVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("verify: GOSUMDB key: %w", err)
	}
	name := verifier.Name()

	res := &Result{Module: m, SumDB: name}
	var got *fetched
	var base string
	for i, e := range opts.Chain {
		if e.Err != nil {
			return nil, fmt.Errorf("verify: GOPROXY entry %d: %w", i+1, e.Err)
		}
		switch e.Kind {
		case proxychain.Off:
			res.Attempts = append(res.Attempts, Attempt{e.Raw, "off: downloads disallowed"})
			return res, fmt.Errorf("verify %s: GOPROXY entry %d is off: no proxy served the module", m, i+1)
		case proxychain.Direct:
			res.Attempts = append(res.Attempts, Attempt{e.Raw, "direct: the go command would fetch from the origin; gomirror verifies proxies only"})
			return res, fmt.Errorf("verify %s: no proxy in GOPROXY served it (the go command would fall back to direct)", m)
		}
		f, err := fetch(ctx, opts.HTTP, e.URL, m)
		if err == nil {
			defer os.Remove(f.zipFile)
			res.Attempts = append(res.Attempts, Attempt{e.Raw, "served"})
			res.Answered, res.Index = e.URL, i+1
			got, base = f, e.URL
			break
		}
		res.Attempts = append(res.Attempts, Attempt{e.Raw, err.Error()})
		if !errors.Is(err, fs.ErrNotExist) && !e.AnyError {
			return res, fmt.Errorf("verify %s: %s: %w", m, e.URL, err)
		}
	}
	if got == nil {
		return res, fmt.Errorf("verify %s: no entry of GOPROXY served it", m)
	}

	modHash, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(got.mod)), nil
	})
	if err != nil {
		return res, err
	}
	res.ModHash = modHash
	if _, err := modzip.CheckZip(m, got.zipFile); err != nil {
		return res, fmt.Errorf("verify %s: %s served a malformed zip: %w", m, base, err)
	}
	zipHash, err := dirhash.HashZip(got.zipFile, dirhash.Hash1)
	if err != nil {
		return res, fmt.Errorf("verify %s: hash zip: %w", m, err)
	}
	res.ZipHash = zipHash

	dbURL := explicitURL
	if dbURL == "" {
		dbURL = "https://" + name
		if ok, _ := supported(ctx, opts.HTTP, base, name); ok {
			dbURL = base + "/sumdb/" + name
		}
	}
	res.SumDBURL = dbURL
	ops := &clientOps{ctx: ctx, hc: opts.HTTP, base: strings.TrimRight(dbURL, "/"), key: key, name: name}
	client := sumdb.NewClient(ops)
	wantZip, err := lookup(client, m.Path, m.Version)
	if err == nil {
		var wantMod string
		wantMod, err = lookup(client, m.Path, m.Version+"/go.mod")
		if err == nil {
			if wantMod != modHash {
				res.Mismatches = append(res.Mismatches, Mismatch{File: "go.mod", Got: modHash, Want: wantMod})
			}
			if wantZip != zipHash {
				res.Mismatches = append(res.Mismatches, Mismatch{File: "zip", Got: zipHash, Want: wantZip})
			}
		}
	}
	if msg := ops.securityError(); msg != "" {
		return res, fmt.Errorf("verify %s: checksum database %s misbehaves: %s", m, dbURL, msg)
	}
	if err != nil {
		return res, fmt.Errorf("verify %s: checksum database %s: %w", m, dbURL, err)
	}
	return res, nil
}

func lookup(c *sumdb.Client, path, vers string) (string, error) {
	lines, err := c.Lookup(path, vers)
	if err != nil {
		return "", err
	}
	for _, l := range lines {
		if f := strings.Fields(l); len(f) == 3 && f[1] == vers {
			return f[2], nil
		}
	}
	return "", fmt.Errorf("no record for %s %s", path, vers)
}

// parseGOSUMDB returns the verifier key and the explicit URL (or "") of a
// GOSUMDB setting, as the go command reads it.
func parseGOSUMDB(v string) (key, u string, err error) {
	f := strings.Fields(v)
	if len(f) == 0 {
		f = []string{"sum.golang.org"}
	}
	if f[0] == "off" {
		return "", "", errors.New("verify: GOSUMDB=off: there is no checksum database to verify against (fix: go env -w GOSUMDB=sum.golang.org)")
	}
	if f[0] == "sum.golang.google.cn" && len(f) == 1 {
		f = append(f, "https://sum.golang.google.cn")
	}
	if len(f) > 2 {
		return "", "", fmt.Errorf("verify: malformed GOSUMDB %q", v)
	}
	key = f[0]
	if k, ok := knownKeys[key]; ok {
		key = k
	}
	if len(f) == 2 {
		u = strings.TrimRight(f[1], "/")
	}
	return key, u, nil
}

func supported(ctx context.Context, hc *http.Client, base, name string) (bool, error) {
	resp, err := get(ctx, hc, base+"/sumdb/"+name+"/supported")
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

func get(ctx context.Context, hc *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return hc.Do(req)
}

func fetch(ctx context.Context, hc *http.Client, base string, m module.Version) (*fetched, error) {
	ep, err := module.EscapePath(m.Path)
	if err != nil {
		return nil, err
	}
	ev, err := module.EscapeVersion(m.Version)
	if err != nil {
		return nil, err
	}
	prefix := base + "/" + ep + "/@v/" + ev
	mod, err := fetchBody(ctx, hc, prefix+".mod", 16<<20, nil)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp("", "gomirror-verify-*.zip")
	if err != nil {
		return nil, err
	}
	_, err = fetchBody(ctx, hc, prefix+".zip", modzip.MaxZipFile, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	return &fetched{mod: mod, zipFile: tmp.Name()}, nil
}

// fetchBody GETs u into w (or memory, when w is nil), refusing more than
// limit bytes.
func fetchBody(ctx context.Context, hc *http.Client, u string, limit int64, w io.Writer) ([]byte, error) {
	resp, err := get(ctx, hc, u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("GET %s: %s: %w", u, resp.Status, errNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var buf bytes.Buffer
	if w == nil {
		w = &buf
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if n > limit {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", u, limit)
	}
	return buf.Bytes(), nil
}

// clientOps gives a sumdb.Client an in-memory configuration and cache and
// reads the database over HTTP.
type clientOps struct {
	ctx  context.Context
	hc   *http.Client
	base string
	key  string
	name string

	mu     sync.Mutex
	latest []byte
	secErr []string
}

var _ sumdb.ClientOps = (*clientOps)(nil)

func (o *clientOps) ReadRemote(path string) ([]byte, error) {
	return fetchBody(o.ctx, o.hc, o.base+path, 16<<20, nil)
}

func (o *clientOps) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(o.key), nil
	}
	if strings.HasSuffix(file, "/latest") {
		o.mu.Lock()
		defer o.mu.Unlock()
		return append([]byte(nil), o.latest...), nil
	}
	return nil, fmt.Errorf("unknown config %s: %w", file, fs.ErrNotExist)
}

func (o *clientOps) WriteConfig(file string, old, new []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !bytes.Equal(old, o.latest) {
		return sumdb.ErrWriteConflict
	}
	o.latest = append([]byte(nil), new...)
	return nil
}

func (o *clientOps) ReadCache(file string) ([]byte, error) { return nil, fs.ErrNotExist }
func (o *clientOps) WriteCache(file string, data []byte)   {}
func (o *clientOps) Log(msg string)                        {}

func (o *clientOps) SecurityError(msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.secErr = append(o.secErr, msg)
}

func (o *clientOps) securityError() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.secErr, "; ")
}
