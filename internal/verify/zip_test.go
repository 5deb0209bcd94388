package verify_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"

	"github.com/gomirror/gomirror/internal/verify"
)

// reference checks and hashes a zip the way gomirror did before its one
// pass: golang.org/x/mod/zip.CheckZip, then dirhash.HashZip.
func reference(m module.Version, file string) (string, error) {
	cf, err := modzip.CheckZip(m, file)
	if err == nil {
		err = cf.Err()
	}
	if err != nil {
		return "", err
	}
	return dirhash.HashZip(file, dirhash.Hash1)
}

// compareWithReference fails t when verify.Zip and the reference disagree
// on file: one accepts what the other refuses, the hashes differ, or the
// reasons differ.
func compareWithReference(t testing.TB, m module.Version, file string) (accepted bool) {
	t.Helper()
	want, werr := reference(m, file)
	got, gerr := verify.Zip(m, file, "")
	compareResults(t, "verify.Zip", want, werr, got, gerr)
	// The same with the files inflated and hashed while the zip arrives,
	// in pieces of every size.
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{1, 7, 4096, 1 << 20} {
		if chunk < 4096 && fi.Size() > 64<<10 {
			continue // As slow as it is thorough: small zips only.
		}
		got, gerr, _ := prehashed(t, m, file, chunk)
		compareResults(t, fmt.Sprintf("verify.ZipFilePrehashed (arriving %d bytes at a time)", chunk), want, werr, got, gerr)
	}
	return werr == nil
}

// prehashed runs verify.Prehash over file as if it arrived chunk bytes at
// a time, then verify.ZipFilePrehashed, and returns its result and how
// many files Prehash knew.
func prehashed(t testing.TB, m module.Version, file string, chunk int) (string, error, int) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := verify.Prehash(&chunked{data: data, n: chunk})
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, gerr := verify.ZipFilePrehashed(m, f, "", p)
	return got, gerr, p.Len()
}

// chunked reads data n bytes at a time, as a download arrives.
type chunked struct {
	data []byte
	n    int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// compareResults fails t when what checked a zip disagrees with the
// reference: one accepts what the other refuses, the hashes differ, or
// the reasons differ.
func compareResults(t testing.TB, what, want string, werr error, got string, gerr error) {
	t.Helper()
	switch {
	case werr == nil && gerr != nil:
		t.Fatalf("%s refused what the reference accepts (%s): %v", what, want, gerr)
	case werr != nil && gerr == nil:
		t.Fatalf("%s accepted (%s) what the reference refuses: %v", what, got, werr)
	case werr == nil && got != want:
		t.Fatalf("%s: got hash %s, want %s", what, got, want)
	case werr != nil:
		wantMsg := werr.Error()
		if line, _, more := strings.Cut(wantMsg, "\n"); more {
			wantMsg = line + " (and more)"
		}
		if !strings.HasSuffix(gerr.Error(), ": "+wantMsg) {
			t.Fatalf("%s: got reason %q, want it to end with %q", what, gerr, wantMsg)
		}
	}
}

var mv = module.Version{Path: "example.com/m", Version: "v1.0.0"}

const prefix = "example.com/m@v1.0.0/"

// entry is one entry of a hand-made zip. Zero values give a deflated file
// whose header tells the truth.
type entry struct {
	name    string
	data    string
	method  uint16 // zip.Deflate unless set; zip.Store is 0, so use store
	store   bool
	crc     *uint32 // the CRC-32 to declare, when not the true one
	size    *uint64 // the uncompressed size to declare, when not the true one
	rawBody []byte  // the compressed data to write, when not data deflated
}

func u32(v uint32) *uint32 { return &v }
func u64(v uint64) *uint64 { return &v }

// buildZip writes entries with archive/zip's CreateRaw, so that names,
// sizes, CRCs and data can lie.
func buildZip(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		body := e.rawBody
		method := e.method
		switch {
		case e.store:
			method = zip.Store
			if body == nil {
				body = []byte(e.data)
			}
		case method == 0:
			method = zip.Deflate
		}
		if body == nil {
			var c bytes.Buffer
			fw, _ := flate.NewWriter(&c, flate.BestSpeed)
			fw.Write([]byte(e.data))
			fw.Close()
			body = c.Bytes()
		}
		h := &zip.FileHeader{
			Name:               e.name,
			Method:             method,
			CRC32:              crc32.ChecksumIEEE([]byte(e.data)),
			CompressedSize64:   uint64(len(body)),
			UncompressedSize64: uint64(len(e.data)),
		}
		if e.crc != nil {
			h.CRC32 = *e.crc
		}
		if e.size != nil {
			h.UncompressedSize64 = *e.size
		}
		w, err := zw.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func hostileZips(t testing.TB) map[string][]byte {
	good := func(name string) entry { return entry{name: prefix + name, data: "package m\n// " + name + "\n"} }
	mod := entry{name: prefix + "go.mod", data: "module example.com/m\n"}
	z := map[string][]entry{
		"valid":                       {mod, good("m.go"), good("sub/s.go")},
		"stored":                      {mod, {name: prefix + "a.go", data: "package m\n", store: true}},
		"empty":                       {},
		"only the prefix":             {{name: prefix}},
		"prefix entry twice":          {{name: prefix}, {name: prefix}, mod},
		"directory entries":           {{name: prefix + "sub/"}, good("sub/a.go"), mod},
		"directory entry twice":       {{name: prefix + "sub/"}, {name: prefix + "sub/"}, good("sub/a.go")},
		"directory entry with data":   {{name: prefix + "sub/", data: "surprise"}, good("sub/a.go")},
		"directory with data, twice":  {{name: prefix + "sub/", data: "surprise"}, {name: prefix + "sub/"}},
		"duplicate name":              {good("a.go"), good("a.go")},
		"duplicate, different data":   {good("a.go"), {name: prefix + "a.go", data: "other"}},
		"case-fold collision":         {good("A.go"), good("a.go")},
		"unicode case-fold collision": {good("\u212a.go"), good("k.go")},
		"directory case collision":    {good("Sub/a.go"), good("sub/b.go")},
		"file and directory":          {good("x"), good("x/a.go")},
		"outside the prefix":          {mod, {name: "example.com/evil@v1.0.0/x.go", data: "x"}},
		"no prefix at all":            {{name: "x.go", data: "x"}},
		"parent path":                 {{name: prefix + "../x.go", data: "x"}},
		"parent path inside":          {{name: prefix + "a/../x.go", data: "x"}},
		"absolute":                    {{name: "/etc/passwd", data: "x"}},
		"double slash":                {{name: prefix + "a//x.go", data: "x"}},
		"backslash":                   {{name: prefix + "a\\x.go", data: "x"}},
		"non-UTF-8 name":              {{name: prefix + "\xff\xfe.go", data: "x"}},
		"newline in name":             {{name: prefix + "a\nb.go", data: "x"}},
		"NUL in name":                 {{name: prefix + "a\x00b.go", data: "x"}},
		"go.mod not in root":          {mod, {name: prefix + "sub/go.mod", data: "module example.com/m/sub\n"}},
		"GO.MOD":                      {{name: prefix + "GO.MOD", data: "module example.com/m\n"}},
		"bad CRC":                     {mod, {name: prefix + "a.go", data: "package m\n", crc: u32(12345)}},
		"zero CRC":                    {mod, {name: prefix + "a.go", data: "package m\n", crc: u32(0)}},
		"stored, bad CRC":             {{name: prefix + "a.go", data: "package m\n", store: true, crc: u32(1)}},
		"size understated":            {{name: prefix + "a.go", data: "package m\n", size: u64(3)}},
		"size overstated":             {{name: prefix + "a.go", data: "package m\n", size: u64(300)}},
		"huge declared size":          {{name: prefix + "a.go", data: "package m\n", size: u64(1 << 62)}},
		"declared sizes over the sum": {{name: prefix + "a.go", data: "a", size: u64(modzip.MaxZipFile - 1)}, {name: prefix + "b.go", data: "b", size: u64(2)}},
		"max uint64 size":             {{name: prefix + "a.go", data: "a", size: u64(^uint64(0))}},
		"huge go.mod":                 {{name: prefix + "go.mod", data: "module example.com/m\n", size: u64(modzip.MaxGoMod + 1)}},
		"huge LICENSE":                {{name: prefix + "LICENSE", data: "MIT\n", size: u64(modzip.MaxLICENSE + 1)}},
		"garbage deflate":             {{name: prefix + "a.go", data: "package m\n", rawBody: []byte{0xff, 0xff, 0xff, 0x00, 0x12}}},
		"truncated deflate":           {{name: prefix + "a.go", data: strings.Repeat("package m\n", 100), rawBody: []byte{0x4a, 0x4c}}},
		"unknown method":              {{name: prefix + "a.go", data: "x", method: 99, rawBody: []byte("x")}},
		"vendor and .git are kept":    {mod, good("vendor/v.go"), good(".git/config")},
		"reserved name":               {{name: prefix + "aux.go", data: "x"}},
		"trailing dot":                {{name: prefix + "a.", data: "x"}},
	}
	out := map[string][]byte{}
	for name, entries := range z {
		out[name] = buildZip(t, entries)
	}
	valid := out["valid"]
	out["not a zip"] = []byte("<html>not found</html>")
	out["nothing"] = nil
	out["truncated"] = valid[:len(valid)-10]
	out["cut in half"] = valid[:len(valid)/2]
	flipped := bytes.Clone(valid)
	flipped[40] ^= 0x55
	out["byte flipped"] = flipped
	// A central directory that claims more entries than it has.
	lied := bytes.Clone(valid)
	if i := bytes.LastIndex(lied, []byte("PK\x05\x06")); i >= 0 {
		binary.LittleEndian.PutUint16(lied[i+10:], 60000)
	}
	out["entry count lies"] = lied
	return out
}

func writeZip(t testing.TB, dir string, data []byte) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "*.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func TestZipMatchesReferenceOnHostileZips(t *testing.T) {
	dir := t.TempDir()
	accepted := 0
	for name, data := range hostileZips(t) {
		t.Run(name, func(t *testing.T) {
			if compareWithReference(t, mv, writeZip(t, dir, data)) {
				accepted++
			}
		})
	}
	if accepted == 0 {
		t.Errorf("the reference accepted none of the zips: the comparison proves nothing")
	}
}

func TestZipMatchesReferenceOnBadModuleVersions(t *testing.T) {
	file := writeZip(t, t.TempDir(), hostileZips(t)["valid"])
	for _, m := range []module.Version{
		{Path: "example.com/m", Version: "v1.0"},
		{Path: "example.com/m", Version: "master"},
		{Path: "Example.com/m", Version: "v1.0.0"},
		{Path: "example.com/m/v2", Version: "v1.0.0"},
		{Path: "", Version: "v1.0.0"},
		{Path: "example.com/other", Version: "v1.0.0"},
	} {
		t.Run(m.String(), func(t *testing.T) {
			if compareWithReference(t, m, file) {
				t.Errorf("the reference accepted %v: want a refusal", m)
			}
		})
	}
}

// TestZipMatchesReferenceOnGeneratedModules compares the two on many
// module zips made by golang.org/x/mod/zip.Create, as upstream proxies
// make them: random trees, sizes and contents.
func TestZipMatchesReferenceOnGeneratedModules(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		m := module.Version{Path: "example.com/gen", Version: fmt.Sprintf("v1.0.%d", i)}
		file := filepath.Join(dir, fmt.Sprintf("%d.zip", i))
		if err := os.WriteFile(file, generatedZip(t, rng, m), 0o644); err != nil {
			t.Fatal(err)
		}
		if !compareWithReference(t, m, file) {
			t.Fatalf("the reference refused generated zip %d", i)
		}
		// Every file of a zip that Go wrote is inflated while it
		// arrives: none is left for after the last byte.
		z, err := zip.OpenReader(file)
		if err != nil {
			t.Fatal(err)
		}
		files := 0
		for _, zf := range z.File {
			if !strings.HasSuffix(zf.Name, "/") {
				files++
			}
		}
		z.Close()
		if _, _, n := prehashed(t, m, file, 4096); n != files {
			t.Errorf("generated zip %d: Prehash knew %d files, want all %d", i, n, files)
		}
	}
}

// memFile is a file of a module made in memory for golang.org/x/mod/zip.
type memFile struct {
	path string
	data []byte
}

func (f memFile) Path() string                 { return f.path }
func (f memFile) Lstat() (os.FileInfo, error)  { return memInfo{f}, nil }
func (f memFile) Open() (io.ReadCloser, error) { return nopCloser{bytes.NewReader(f.data)}, nil }
func (memInfo) Mode() os.FileMode              { return 0o644 }
func (i memInfo) Size() int64                  { return int64(len(i.f.data)) }
func (i memInfo) Name() string                 { return filepath.Base(i.f.path) }
func (memInfo) IsDir() bool                    { return false }
func (memInfo) Sys() any                       { return nil }
func (memInfo) ModTime() (t time.Time)         { return t }
func (n nopCloser) Close() error               { return nil }
func (n nopCloser) Read(p []byte) (int, error) { return n.r.Read(p) }

type memInfo struct{ f memFile }

type nopCloser struct{ r *bytes.Reader }

func generatedZip(t testing.TB, rng *rand.Rand, m module.Version) []byte {
	t.Helper()
	files := []modzip.File{memFile{"go.mod", []byte("module " + m.Path + "\n")}}
	seen := map[string]bool{"go.mod": true}
	dirs := []string{"", "internal/", "cmd/tool/", "a/b/c/", "Docs/", "testdata/"}
	for range rng.IntN(40) + 1 {
		name := dirs[rng.IntN(len(dirs))] + fmt.Sprintf("f%d.go", rng.IntN(1000))
		if seen[strings.ToLower(name)] {
			continue
		}
		seen[strings.ToLower(name)] = true
		var data []byte
		switch rng.IntN(3) {
		case 0: // text, compresses well
			data = []byte(strings.Repeat(fmt.Sprintf("// line %d of %s\n", rng.IntN(100), name), rng.IntN(2000)))
		case 1: // random bytes, does not
			data = make([]byte, rng.IntN(100<<10))
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
		default: // empty
		}
		files = append(files, memFile{name, data})
	}
	var buf bytes.Buffer
	if err := modzip.Create(&buf, m, files); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func FuzzZip(f *testing.F) {
	for _, data := range hostileZips(f) {
		f.Add(data)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(dir, "fuzz.zip")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		compareWithReference(t, mv, file)
	})
}

// FuzzZipEntries builds zips from fuzzed entries, so that the fuzzer
// reaches the name, size and data checks rather than the zip parser's.
// names holds the entries' names separated by "|" (each under the module's
// prefix unless it starts with "!"); data is cut among them; each byte of
// lies bends one entry's header.
func FuzzZipEntries(f *testing.F) {
	f.Add("go.mod|a.go|sub/b.go", []byte("module example.com/m\npackage m\npackage sub\n"), []byte{0, 0, 0})
	f.Add("a.go|A.go", []byte("xy"), []byte{0, 0})
	f.Add("sub/|sub/|sub/a.go", []byte("abc"), []byte{0, 1, 2})
	f.Add("!x.go|../a|a\xff", []byte("abc"), []byte{3, 4, 5})
	f.Add("go.mod|LICENSE", []byte("module example.com/m\nMIT"), []byte{6, 7})
	f.Add("a.go", []byte("package m\n"), []byte{8})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, names string, data, lies []byte) {
		parts := strings.Split(names, "|")
		if len(parts) > 64 {
			return
		}
		var entries []entry
		for i, p := range parts {
			name := prefix + p
			if rest, ok := strings.CutPrefix(p, "!"); ok {
				name = rest
			}
			n := len(data) / len(parts)
			content := data[i*n : (i+1)*n]
			e := entry{name: name, data: string(content)}
			if i < len(lies) {
				switch lie := lies[i]; lie % 9 {
				case 1:
					e.store = true
				case 2:
					e.crc = u32(uint32(lie) * 7919)
				case 3:
					e.crc = u32(0)
					e.rawBody = append([]byte{0}, content...)
				case 4:
					e.size = u64(uint64(lie) << (lie % 64))
				case 5:
					e.rawBody = []byte{lie, lie ^ 0xff, 0x01}
				case 6:
					e.size = u64(modzip.MaxGoMod + uint64(lie))
				case 7:
					e.size = u64(modzip.MaxLICENSE + uint64(lie))
				case 8:
					e.store, e.size = true, u64(uint64(len(content)/2))
				}
			}
			entries = append(entries, e)
		}
		file := filepath.Join(dir, "fuzz.zip")
		if err := os.WriteFile(file, buildZip(t, entries), 0o644); err != nil {
			t.Fatal(err)
		}
		compareWithReference(t, mv, file)
	})
}
