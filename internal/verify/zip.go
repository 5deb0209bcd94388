package verify

import (
	"archive/zip"
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	flate "github.com/klauspost/compress/flate"
	"hash"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// Zip checks the module zip file at path for m: every file in it lies under
// the "path@version/" prefix and has a valid name, sizes are within the go
// command's limits (the rules of golang.org/x/mod/zip.CheckZip), and every
// file can be read back. It returns the zip's "h1:" hash, the one
// golang.org/x/mod/sumdb/dirhash.HashZip computes. When want is not empty
// and the hash differs, the error is a *MismatchError. Structural failures
// wrap ErrInvalid; failing to open path is returned as is (it matches
// fs.ErrNotExist when there is no such file).
//
// Zip reads the zip's central directory once and each file's data once,
// where CheckZip followed by HashZip would read the directory twice.
func Zip(m module.Version, path string, want string) (got string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("verifying %s zip: %w", m, err)
	}
	defer f.Close()
	return ZipFile(m, f, want)
}

// ZipFile is [Zip] for an open file, read from its start whatever its
// offset. The caller closes f.
func ZipFile(m module.Version, f *os.File, want string) (got string, err error) {
	return zipFile(m, f, want, nil)
}

func zipFile(m module.Version, f *os.File, want string, p *Prehashed) (got string, err error) {
	got, err = hashZip(m, f, p)
	if err != nil {
		return "", invalid(m, "zip: %s", firstLine(err.Error()))
	}
	if want != "" && got != want {
		return got, &MismatchError{Module: m, File: "zip", Want: want, Got: got}
	}
	return got, nil
}

// hashZip checks f as golang.org/x/mod/zip.CheckZip does and, when it
// passes, hashes it as dirhash.HashZip with dirhash.Hash1 does, reading
// the central directory once.
func hashZip(m module.Version, f *os.File, p *Prehashed) (string, error) {
	z, err := checkZip(m, f)
	if err != nil {
		return "", err
	}
	return hash1(z, f, p)
}

// checkZip applies the rules of golang.org/x/mod/zip.CheckZip (x/mod
// v0.42.0) to f and returns its reader. The error, when there is one, reads
// as CheckZip's does. TestZipMatchesReference and FuzzZip hold the two
// equal.
func checkZip(m module.Version, f *os.File) (*zip.Reader, error) {
	if vers := module.CanonicalVersion(m.Version); vers != m.Version {
		return nil, fmt.Errorf("version %q is not canonical (should be %q)", m.Version, vers)
	}
	if err := module.Check(m.Path, m.Version); err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	zipSize := info.Size()
	if zipSize > modzip.MaxZipFile {
		return nil, fmt.Errorf("module zip file is too large (%d bytes; limit is %d bytes)", zipSize, modzip.MaxZipFile)
	}
	z, err := zip.NewReader(f, zipSize)
	if err != nil {
		return nil, err
	}
	z.RegisterDecompressor(zip.Deflate, newInflater)
	var cf modzip.CheckedFiles
	addError := func(zf *zip.File, err error) {
		cf.Invalid = append(cf.Invalid, modzip.FileError{Path: zf.Name, Err: err})
	}
	prefix := m.Path + "@" + m.Version + "/"
	collisions := make(collisionChecker, len(z.File))
	var size int64
	for _, zf := range z.File {
		if !strings.HasPrefix(zf.Name, prefix) {
			addError(zf, fmt.Errorf("path does not have prefix %q", prefix))
			continue
		}
		name := zf.Name[len(prefix):]
		if name == "" {
			continue
		}
		isDir := strings.HasSuffix(name, "/")
		if isDir {
			name = name[:len(name)-1]
		}
		if path.Clean(name) != name {
			addError(zf, errPathNotClean)
			continue
		}
		if err := module.CheckFilePath(name); err != nil {
			addError(zf, err)
			continue
		}
		if err := collisions.check(name, isDir); err != nil {
			addError(zf, err)
			continue
		}
		if isDir {
			continue
		}
		if base := path.Base(name); strings.EqualFold(base, "go.mod") {
			if base != name {
				addError(zf, errGoModNotRoot)
				continue
			}
			if name != "go.mod" {
				addError(zf, errGoModCase)
				continue
			}
		}
		sz := int64(zf.UncompressedSize64)
		if sz >= 0 && modzip.MaxZipFile-size >= sz {
			size += sz
		} else if cf.SizeError == nil {
			cf.SizeError = fmt.Errorf("total uncompressed size of module contents too large (max size is %d bytes)", modzip.MaxZipFile)
		}
		if name == "go.mod" && sz > modzip.MaxGoMod {
			addError(zf, fmt.Errorf("go.mod file too large (max size is %d bytes)", modzip.MaxGoMod))
			continue
		}
		if name == "LICENSE" && sz > modzip.MaxLICENSE {
			addError(zf, fmt.Errorf("LICENSE file too large (max size is %d bytes)", modzip.MaxLICENSE))
			continue
		}
	}
	if err := cf.Err(); err != nil {
		return nil, err
	}
	return z, nil
}

// The errors of golang.org/x/mod/zip that it does not export.
var (
	errPathNotClean = errors.New("file path is not clean")
	errGoModCase    = errors.New("go.mod files must have lowercase names")
	errGoModNotRoot = errors.New("go.mod file not in module root directory")
)

// collisionChecker finds names that differ only in case, and names used
// twice, as golang.org/x/mod/zip's does.
type collisionChecker map[string]pathInfo

type pathInfo struct {
	path  string
	isDir bool
}

func (cc collisionChecker) check(p string, isDir bool) error {
	for {
		fold := strToFold(p)
		if other, ok := cc[fold]; ok {
			if p != other.path {
				return fmt.Errorf("case-insensitive file name collision: %q and %q", other.path, p)
			}
			if isDir != other.isDir {
				return fmt.Errorf("entry %q is both a file and a directory", p)
			}
			if !isDir {
				return fmt.Errorf("multiple entries for file %q", p)
			}
		} else {
			cc[fold] = pathInfo{path: p, isDir: isDir}
		}
		parent := path.Dir(p)
		if parent == "." {
			return nil
		}
		p, isDir = parent, true
	}
}

// strToFold returns a string that equals strToFold(t) exactly when s and t
// are equal under Unicode case folding.
func strToFold(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return foldSlow(s)
		}
	}
	return s
}

func foldSlow(s string) string {
	var b strings.Builder
	for _, r := range s {
		// SimpleFold cycles to the next equivalent rune above r, or
		// wraps around to the smallest: stop at the smallest.
		for {
			r0 := r
			r = unicode.SimpleFold(r0)
			if r <= r0 {
				break
			}
		}
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// inflater inflates one file of a zip, reading its compressed data in
// large blocks: archive/zip's own reads it 4 KiB at a time, a system call
// each. It returns itself to a pool when closed.
type inflater struct {
	br     *bufio.Reader
	fr     io.ReadCloser // a compress/flate reader, which is a flate.Resetter
	closed bool
}

var inflaters sync.Pool

// newInflater is a zip.Decompressor.
func newInflater(r io.Reader) io.ReadCloser {
	if in, ok := inflaters.Get().(*inflater); ok {
		in.br.Reset(r)
		in.closed = false
		if err := in.fr.(flate.Resetter).Reset(in.br, nil); err == nil {
			return in
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	return &inflater{br: br, fr: flate.NewReader(br)}
}

func (in *inflater) Read(p []byte) (int, error) { return in.fr.Read(p) }

func (in *inflater) Close() error {
	if in.closed {
		return nil
	}
	in.closed = true
	err := in.fr.Close()
	in.br.Reset(nil)
	inflaters.Put(in)
	return err
}

// hashState is the reusable state of one hash1: the buffer files are read
// into and the per-file hash.
type hashState struct {
	buf []byte
	h   hash.Hash
}

var hashStates = sync.Pool{New: func() any {
	return &hashState{buf: make([]byte, 64<<10), h: sha256.New()}
}}

// hash1 returns dirhash.Hash1 of every file of z, as dirhash.HashZip
// computes it: names in sorted order, each with the SHA-256 of its
// content; a name used twice stands for its last entry both times. The
// content's hash is taken from p where p knows it (see
// Prehashed.sumOf); ra is what z reads.
func hash1(z *zip.Reader, ra io.ReaderAt, p *Prehashed) (string, error) {
	last := make(map[string]*zip.File, len(z.File))
	names := make([]string, 0, len(z.File))
	for _, zf := range z.File {
		names = append(names, zf.Name)
		last[zf.Name] = zf
	}
	slices.Sort(names)
	st := hashStates.Get().(*hashState)
	defer hashStates.Put(st)
	sum := sha256.New()
	line := make([]byte, 0, 128)
	var digest [sha256.Size]byte
	for _, name := range names {
		if strings.Contains(name, "\n") {
			return "", errors.New("dirhash: filenames with newlines are not supported")
		}
		if sum, ok := p.sumOf(last[name], ra); ok {
			digest = sum
		} else {
			r, err := last[name].Open()
			if err != nil {
				return "", err
			}
			st.h.Reset()
			_, err = io.CopyBuffer(st.h, onlyReader{r}, st.buf)
			r.Close()
			if err != nil {
				return "", err
			}
			st.h.Sum(digest[:0])
		}
		line = hex.AppendEncode(line[:0], digest[:])
		line = append(line, "  "...)
		line = append(line, name...)
		line = append(line, '\n')
		sum.Write(line)
	}
	return "h1:" + base64.StdEncoding.EncodeToString(sum.Sum(nil)), nil
}

// onlyReader hides every method of a reader but Read, so that
// io.CopyBuffer uses the buffer it is given.
type onlyReader struct{ io.Reader }
