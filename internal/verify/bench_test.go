package verify_test

import (
	"archive/zip"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/verify"
)

// benchZip is a module zip to check and hash, with the hash the reference
// gives it.
type benchZip struct {
	m    module.Version
	file string
	size int64
}

// benchZips returns the zips to benchmark: every module zip under the
// directory $GOMIRROR_VERIFY_ZIPS when it is set (such as the bodies
// `go run ./bench` keeps in ~/.cache/gomirror-bench/bodies), and zips
// generated here otherwise. Each is first checked to give the reference's
// result.
func benchZips(b *testing.B) []benchZip {
	var zips []benchZip
	if dir := os.Getenv("GOMIRROR_VERIFY_ZIPS"); dir != "" {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".zip") {
				return err
			}
			z, err := zip.OpenReader(p)
			if err != nil || len(z.File) == 0 {
				return nil
			}
			first := z.File[0].Name
			z.Close()
			// Every name starts with "path@version/".
			path, rest, ok := strings.Cut(first, "@")
			if !ok {
				return nil
			}
			version, _, _ := strings.Cut(rest, "/")
			info, _ := d.Info()
			zips = append(zips, benchZip{module.Version{Path: path, Version: version}, p, info.Size()})
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	} else {
		dir := b.TempDir()
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range 20 {
			m := module.Version{Path: "example.com/gen", Version: fmt.Sprintf("v1.0.%d", i)}
			file := filepath.Join(dir, fmt.Sprintf("%d.zip", i))
			if err := os.WriteFile(file, generatedZip(b, rng, m), 0o644); err != nil {
				b.Fatal(err)
			}
			info, _ := os.Stat(file)
			zips = append(zips, benchZip{m, file, info.Size()})
		}
	}
	if len(zips) == 0 {
		b.Fatal("no zips to benchmark")
	}
	for _, z := range zips {
		compareWithReference(b, z.m, z.file)
	}
	return zips
}

// BenchmarkZip checks and hashes every zip of benchZips once per
// iteration, with the one pass of verify.Zip and with the reference
// (golang.org/x/mod/zip.CheckZip, then dirhash.HashZip).
func BenchmarkZip(b *testing.B) {
	zips := benchZips(b)
	var total int64
	for _, z := range zips {
		total += z.size
	}
	b.Run("one-pass", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for b.Loop() {
			for _, z := range zips {
				if _, err := verify.Zip(z.m, z.file, ""); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for b.Loop() {
			for _, z := range zips {
				if _, err := reference(z.m, z.file); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
