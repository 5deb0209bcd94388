package sdk

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

const (
	// maxArchiveSize bounds a download whose size nobody announced.
	maxArchiveSize = 2 << 30
	// maxUnpackedSize bounds what an archive may unpack to: a Go release
	// is a few hundred megabytes.
	maxUnpackedSize = 4 << 30
)

// fromArchive installs release v from the mirror's /golang/ archive for
// this platform into unpacked, downloading into staging. It returns an
// *unavailableError when the mirror has no such archive.
func (in *Installer) fromArchive(ctx context.Context, v, staging, unpacked string, res *Result) error {
	rels, err := in.Releases(ctx)
	switch {
	case errors.Is(err, ErrNoArchives):
		return &unavailableError{reason: "the mirror serves no /golang/", err: err}
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("install %s: %w", v, err)
	case err != nil:
		// A mirror whose /golang/ is failing may still serve modules; the
		// toolchain module is checked on its own, so trying it costs
		// nothing in safety.
		return &unavailableError{reason: "the /golang/ index is unavailable: " + err.Error(), err: fs.ErrNotExist}
	}
	f, ok := archiveFor(rels, v, in.goos(), in.goarch())
	if !ok {
		reason := fmt.Sprintf("the /golang/ index does not list %s", v)
		for _, r := range rels {
			if r.Version == v {
				reason = fmt.Sprintf("/golang/ has no %s archive for %s/%s", v, in.goos(), in.goarch())
			}
		}
		return &unavailableError{reason: reason, err: fs.ErrNotExist}
	}
	if f.Filename != path.Base(f.Filename) || !strings.HasPrefix(f.Filename, v+".") {
		return fmt.Errorf("install %s: the /golang/ index names a bad archive %q", v, f.Filename)
	}
	u := in.mirrorURL() + "/golang/" + f.Filename
	want, err := in.readSHA256(ctx, u+".sha256")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &unavailableError{reason: err.Error(), err: err}
		}
		return fmt.Errorf("install %s: %w", v, err)
	}
	checked := "sha256 against " + f.Filename + ".sha256"
	if f.SHA256 != "" {
		if !strings.EqualFold(f.SHA256, want) {
			return fmt.Errorf("install %s: %s: the index says sha256 %s but %s.sha256 says %s", v, f.Filename, f.SHA256, f.Filename, want)
		}
		checked += " and the index's sha256"
	}
	if f.Size > 0 {
		checked += " and size"
	}
	file := filepath.Join(staging, f.Filename)
	n, got, err := in.download(ctx, u, file, f.Filename, f.Size)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &unavailableError{reason: err.Error(), err: err}
		}
		return fmt.Errorf("install %s: %w", v, err)
	}
	if f.Size > 0 && n != f.Size {
		return fmt.Errorf("install %s: %s: downloaded %d bytes, the index says %d", v, f.Filename, n, f.Size)
	}
	if got != want {
		return fmt.Errorf("install %s: %s: checksum mismatch: downloaded sha256 %s, %s.sha256 says %s", v, f.Filename, got, f.Filename, want)
	}
	if strings.HasSuffix(f.Filename, ".zip") {
		err = unpackZip(ctx, unpacked, file)
	} else {
		err = unpackTarGz(ctx, unpacked, file)
	}
	if err != nil {
		return fmt.Errorf("install %s: unpack %s: %w", v, f.Filename, err)
	}
	if err := os.Remove(file); err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	if err := allowExec(unpacked, in.goos()); err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	res.Source, res.URL, res.Checked = Archive, u, checked
	return nil
}

// readSHA256 reads a .sha256 file: the hex SHA-256 of a file, as
// golang.org/dl reads it (the first field; the rest of the line, such as a
// file name, is allowed).
func (in *Installer) readSHA256(ctx context.Context, u string) (string, error) {
	body, err := in.get(ctx, u)
	if err != nil {
		return "", err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, 4096))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", u, err)
	}
	return parseSHA256(data)
}

// parseSHA256 returns the lower-case hex SHA-256 that data begins with.
func parseSHA256(data []byte) (string, error) {
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return "", errors.New("empty .sha256 file")
	}
	sum := strings.ToLower(fields[0])
	if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("a .sha256 file holds %.80q, not a hex SHA-256", fields[0])
	}
	return sum, nil
}

// download writes u to file and returns its size and hex SHA-256. label
// names the download in progress reports; size is the size announced by
// the index, or 0. A partial file is removed.
func (in *Installer) download(ctx context.Context, u, file, label string, size int64) (n int64, sum string, err error) {
	resp, err := in.do(ctx, u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	limit := int64(maxArchiveSize)
	if size > 0 {
		limit = size
	}
	if resp.ContentLength > limit {
		return 0, "", fmt.Errorf("%s: %d bytes, more than the %d expected", u, resp.ContentLength, limit)
	}
	total := size
	if total <= 0 {
		total = resp.ContentLength
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(file)
		}
	}()
	h := sha256.New()
	bar := newProgress(in.Progress, in.Terminal, label, total)
	n, err = io.Copy(io.MultiWriter(f, h, bar), io.LimitReader(resp.Body, limit+1))
	bar.done(err == nil)
	if err != nil {
		return n, "", fmt.Errorf("download %s: %w", u, err)
	}
	if n > limit {
		return n, "", fmt.Errorf("download %s: more than the %d bytes expected", u, limit)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, "", fmt.Errorf("download %s: got %d bytes of %d", u, n, resp.ContentLength)
	}
	if err := f.Close(); err != nil {
		return n, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// archivePath returns where an archive entry goes under dir: the entry's
// name less the "go/" every Go release archive starts with. It refuses
// names that are not local paths.
func archivePath(dir, name string) (string, error) {
	rel, ok := strings.CutPrefix(name, "go/")
	if !ok || strings.Contains(name, `\`) {
		return "", fmt.Errorf("archive entry %q is not under go/", name)
	}
	if rel == "" {
		return dir, nil
	}
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return "", fmt.Errorf("archive entry %q leaves go/", name)
	}
	return filepath.Join(dir, filepath.FromSlash(rel)), nil
}

// unpackTarGz unpacks a Go release .tar.gz into dir, as golang.org/dl
// does: directories and regular files only, with their permission bits.
func unpackTarGz(ctx context.Context, dir, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	budget := int64(maxUnpackedSize)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		dst, err := archivePath(dir, hdr.Name)
		if err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			budget -= hdr.Size
			if budget < 0 {
				return fmt.Errorf("unpacks to more than %d bytes", maxUnpackedSize)
			}
			if err := writeFile(dst, tr, hdr.Size, fs.FileMode(hdr.Mode).Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("archive entry %q is neither a file nor a directory", hdr.Name)
		}
	}
}

// unpackZip unpacks a Go release .zip into dir, as golang.org/dl does.
func unpackZip(ctx context.Context, dir, file string) error {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return err
	}
	defer zr.Close()
	budget := int64(maxUnpackedSize)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, zf := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		dst, err := archivePath(dir, zf.Name)
		if err != nil {
			return err
		}
		mode := zf.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case mode.IsRegular():
			size := int64(zf.UncompressedSize64)
			if size < 0 || zf.UncompressedSize64 > maxUnpackedSize {
				return fmt.Errorf("unpacks to more than %d bytes", maxUnpackedSize)
			}
			budget -= size
			if budget < 0 {
				return fmt.Errorf("unpacks to more than %d bytes", maxUnpackedSize)
			}
			rc, err := zf.Open()
			if err != nil {
				return err
			}
			perm := mode.Perm()
			if perm == 0 {
				perm = 0o644 // a zip made without Unix modes
			}
			err = writeFile(dst, rc, size, perm)
			rc.Close()
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("archive entry %q is neither a file nor a directory", zf.Name)
		}
	}
	return nil
}

// writeFile creates dst, which must not exist, with exactly size bytes
// from r.
func writeFile(dst string, r io.Reader, size int64, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	n, err := io.Copy(w, io.LimitReader(r, size+1))
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(dst), err)
	}
	if n != size {
		return fmt.Errorf("archive entry %s: got %d bytes, its header says %d", filepath.Base(dst), n, size)
	}
	return nil
}
