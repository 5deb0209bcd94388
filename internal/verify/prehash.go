package verify

import (
	"archive/zip"
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"sync"

	flate "github.com/klauspost/compress/flate"
	"golang.org/x/mod/module"
)

// Prehashed is what [Prehash] learnt of a module zip while it arrived:
// the inflated size, CRC-32 and SHA-256 of each file whose data it could
// read in order from its local header. [ZipFilePrehashed] uses it to
// check and hash the finished zip without inflating those files again.
// A nil *Prehashed knows nothing. It is safe for concurrent use once
// Prehash has returned it.
type Prehashed struct {
	// entries are by the offset of a file's data in the zip.
	entries map[int64]prehashEntry
}

type prehashEntry struct {
	method   uint16
	consumed int64 // compressed bytes the inflater read
	size     uint64
	crc      uint32
	sum      [sha256.Size]byte
}

// Len returns how many files p knows.
func (p *Prehashed) Len() int {
	if p == nil {
		return 0
	}
	return len(p.entries)
}

const (
	localHeaderSig    = 0x04034b50
	dataDescriptorSig = 0x08074b50
	centralHeaderSig  = 0x02014b50
	localHeaderLen    = 30
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// prehashState is the reusable state of one Prehash.
type prehashState struct {
	br  *bufio.Reader
	fr  io.ReadCloser // a klauspost/compress/flate reader
	buf []byte
	sha hash.Hash
	crc hash.Hash32
}

var prehashStates sync.Pool

// Prehash reads a module zip from r, typically as it downloads, and
// inflates and hashes each file it finds by walking the local headers, so
// that after the last byte only the central directory is left to check.
// It reads r to its end, or until the zip stops looking like what Go's
// archive/zip writes (local headers one after the other, each file
// deflated or stored, data descriptors after the data); it never fails:
// what it could not read is read again by [ZipFilePrehashed]. Nothing it
// learns is trusted: ZipFilePrehashed uses a file's entry only where the
// central directory's own reading of the zip would read the very bytes
// that Prehash inflated.
func Prehash(r io.Reader) *Prehashed {
	p := &Prehashed{entries: make(map[int64]prehashEntry)}
	cr := &countingReader{r: r}
	st, _ := prehashStates.Get().(*prehashState)
	if st == nil {
		br := bufio.NewReaderSize(cr, 64<<10)
		st = &prehashState{br: br, fr: flate.NewReader(br), buf: make([]byte, 64<<10), sha: sha256.New(), crc: crc32.NewIEEE()}
	} else {
		st.br.Reset(cr)
	}
	defer func() {
		st.br.Reset(nil)
		prehashStates.Put(st)
	}()
	pos := func() int64 { return cr.n - int64(st.br.Buffered()) }
	out := io.MultiWriter(st.sha, st.crc)
	var h [localHeaderLen]byte
	for {
		if _, err := io.ReadFull(st.br, h[:]); err != nil {
			break
		}
		if binary.LittleEndian.Uint32(h[0:]) != localHeaderSig {
			break
		}
		flags := binary.LittleEndian.Uint16(h[6:])
		method := binary.LittleEndian.Uint16(h[8:])
		csize := binary.LittleEndian.Uint32(h[18:])
		skip := int(binary.LittleEndian.Uint16(h[26:])) + int(binary.LittleEndian.Uint16(h[28:]))
		if _, err := st.br.Discard(skip); err != nil {
			break
		}
		dataOff := pos()
		st.sha.Reset()
		st.crc.Reset()
		var n int64
		var err error
		switch {
		case method == zip.Deflate:
			if err = st.fr.(flate.Resetter).Reset(st.br, nil); err != nil {
				break
			}
			n, err = io.CopyBuffer(out, onlyReader{st.fr}, st.buf)
		case method == zip.Store && flags&0x8 == 0 && csize != ^uint32(0):
			n, err = io.CopyBuffer(out, io.LimitReader(onlyReader{st.br}, int64(csize)), st.buf)
			if err == nil && n != int64(csize) {
				err = io.ErrUnexpectedEOF
			}
		default:
			err = errors.ErrUnsupported
		}
		if err != nil {
			break
		}
		e := prehashEntry{method: method, consumed: pos() - dataOff, size: uint64(n), crc: st.crc.Sum32()}
		st.sha.Sum(e.sum[:0])
		p.entries[dataOff] = e
		if flags&0x8 != 0 && !skipDataDescriptor(st.br) {
			break
		}
	}
	// Read r to its end: whoever feeds it waits for nothing.
	io.CopyBuffer(io.Discard, onlyReader{st.br}, st.buf)
	return p
}

// skipDataDescriptor skips the data descriptor after a file's data: an
// optional signature, the CRC-32 and two sizes of 4 bytes or, in a zip64
// file, of 8. It reports whether a header follows.
func skipDataDescriptor(br *bufio.Reader) bool {
	if b, err := br.Peek(4); err == nil && binary.LittleEndian.Uint32(b) == dataDescriptorSig {
		br.Discard(4)
	}
	if _, err := br.Discard(12); err != nil {
		return false
	}
	if nextIsHeader(br) {
		return true
	}
	br.Discard(8) // The zip64 sizes.
	return nextIsHeader(br)
}

func nextIsHeader(br *bufio.Reader) bool {
	b, err := br.Peek(4)
	if err != nil {
		return false
	}
	sig := binary.LittleEndian.Uint32(b)
	return sig == localHeaderSig || sig == centralHeaderSig
}

// sumOf returns the SHA-256 of zf's content when p knows it and reading zf
// through archive/zip, as hash1 does, would give that content with no
// error: zf's data starts where p's entry does, is read with the same
// method, and holds at least the bytes p's inflater read; the sizes and
// CRC-32 then agree as archive/zip checks them, data descriptor
// included. When any of it does not hold, ok is false and the caller
// reads zf itself.
func (p *Prehashed) sumOf(zf *zip.File, ra io.ReaderAt) (sum [sha256.Size]byte, ok bool) {
	if p == nil || strings.HasSuffix(zf.Name, "/") {
		return sum, false
	}
	off, err := zf.DataOffset()
	if err != nil {
		return sum, false
	}
	e, found := p.entries[off]
	if !found || e.method != zf.Method || e.size != zf.UncompressedSize64 || zf.CompressedSize64 > 1<<62 {
		return sum, false
	}
	switch e.method {
	case zip.Deflate:
		if e.consumed > int64(zf.CompressedSize64) {
			return sum, false
		}
	case zip.Store:
		if e.consumed != int64(zf.CompressedSize64) {
			return sum, false
		}
	default:
		return sum, false
	}
	if zf.Flags&0x8 != 0 {
		// archive/zip reads the data descriptor after the data, as
		// declared by the central directory, and wants its CRC-32.
		desc := io.NewSectionReader(ra, off+int64(zf.CompressedSize64), 16)
		var buf [16]byte
		if _, err := io.ReadFull(desc, buf[:4]); err != nil {
			return sum, false
		}
		at := 0
		if binary.LittleEndian.Uint32(buf[:4]) != dataDescriptorSig {
			at = 4
		}
		if _, err := io.ReadFull(desc, buf[at:12]); err != nil {
			return sum, false
		}
		if binary.LittleEndian.Uint32(buf[:4]) != zf.CRC32 || e.crc != zf.CRC32 {
			return sum, false
		}
	} else if zf.CRC32 != 0 && e.crc != zf.CRC32 {
		return sum, false
	}
	return e.sum, true
}

// ZipFilePrehashed is [ZipFile], taking from p the hashes of the files
// that [Prehash] inflated while the zip arrived, where they are the
// very ones ZipFile would compute; the other files are read as ZipFile
// reads them. Its result, hash and error alike, is ZipFile's. A nil p
// makes it ZipFile.
func ZipFilePrehashed(m module.Version, f *os.File, want string, p *Prehashed) (got string, err error) {
	return zipFile(m, f, want, p)
}
