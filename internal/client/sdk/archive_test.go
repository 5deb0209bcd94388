package sdk

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"go/version"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTarGz(t *testing.T, hdrs ...*tar.Header) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg && h.Size == 0 {
			h.Size = 2
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("hi"))
		}
	}
	tw.Close()
	zw.Close()
	file := filepath.Join(t.TempDir(), "a.tar.gz")
	os.WriteFile(file, buf.Bytes(), 0o644)
	return file
}

func TestUnpackRefusesEntriesOutsideGo(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  *tar.Header
		want string
	}{
		{"parent", &tar.Header{Name: "go/../evil", Typeflag: tar.TypeReg, Mode: 0o644}, "leaves go/"},
		{"absolute", &tar.Header{Name: "/etc/evil", Typeflag: tar.TypeReg, Mode: 0o644}, "not under go/"},
		{"outside go/", &tar.Header{Name: "other/file", Typeflag: tar.TypeReg, Mode: 0o644}, "not under go/"},
		{"backslash", &tar.Header{Name: `go/..\evil`, Typeflag: tar.TypeReg, Mode: 0o644}, "not under go/"},
		{"symlink", &tar.Header{Name: "go/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, "neither a file nor a directory"},
		{"hard link", &tar.Header{Name: "go/link", Typeflag: tar.TypeLink, Linkname: "go/x"}, "neither a file nor a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeTarGz(t, &tar.Header{Name: "go/", Typeflag: tar.TypeDir, Mode: 0o755}, tc.hdr)
			dir := filepath.Join(t.TempDir(), "out")
			err := unpackTarGz(t.Context(), dir, file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil")); err == nil {
				t.Errorf("an entry was written outside the target")
			}
		})
	}
}

func TestUnpackZipDuplicateAndTraversal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		names []string
		want  string
	}{
		{"duplicate", []string{"go/a", "go/a"}, "exists"},
		{"parent", []string{"go/../../evil"}, "leaves go/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			for _, n := range tc.names {
				w, _ := zw.Create(n)
				w.Write([]byte("x"))
			}
			zw.Close()
			file := filepath.Join(t.TempDir(), "a.zip")
			os.WriteFile(file, buf.Bytes(), 0o644)
			err := unpackZip(t.Context(), filepath.Join(t.TempDir(), "out"), file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestParseSHA256(t *testing.T) {
	const sum = "f6c8a87aa03b92c4b0bf3d558e28ea03006eb29db78917daec5cfb6ec1046265"
	for in, ok := range map[string]bool{
		sum:                                   true,
		sum + "\n":                            true,
		strings.ToUpper(sum):                  true,
		sum + "  go1.22.0.linux-amd64.tar.gz": true,
		sum[:62]:                              false,
		"":                                    false,
		"<html>":                              false,
		"zz" + sum[2:]:                        false,
	} {
		got, err := parseSHA256([]byte(in))
		if (err == nil) != ok || ok && got != sum {
			t.Errorf("parseSHA256(%q) = %q, %v; want ok=%v", in, got, err, ok)
		}
	}
}

// FuzzParseSHA256 checks that any .sha256 body either fails or yields 64
// lower-case hex digits.
func FuzzParseSHA256(f *testing.F) {
	f.Add([]byte("f6c8a87aa03b92c4b0bf3d558e28ea03006eb29db78917daec5cfb6ec1046265"))
	f.Add([]byte("F6C8A87AA03B92C4B0BF3D558E28EA03006EB29DB78917DAEC5CFB6EC1046265 name\n"))
	f.Add([]byte("not found"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sum, err := parseSHA256(data)
		if err != nil {
			return
		}
		if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
			t.Fatalf("parseSHA256(%q) = %q", data, sum)
		}
	})
}

// FuzzParseIndex checks that any index either fails to parse or yields
// valid release names, newest first.
func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(`[{"version":"go1.22.0","stable":true,"files":[{"filename":"go1.22.0.linux-amd64.tar.gz","os":"linux","arch":"amd64","version":"go1.22.0","sha256":"f6c8a87aa03b92c4b0bf3d558e28ea03006eb29db78917daec5cfb6ec1046265","size":68988925,"kind":"archive"}]},{"version":"go1.21rc2","stable":false,"files":[]}]`))
	f.Add([]byte(`[{"version":"../../etc"},{"version":"go1.9"},{"version":"go1.10"}]`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rels, err := parseIndex(data)
		if err != nil {
			return
		}
		for i, r := range rels {
			if err := CheckVersion(r.Version); err != nil {
				t.Fatalf("release %d: %v", i, err)
			}
			if i > 0 && version.Compare(rels[i-1].Version, r.Version) < 0 {
				t.Fatalf("%s listed before %s", rels[i-1].Version, r.Version)
			}
		}
		for _, r := range rels {
			if f, ok := archiveFor(rels, r.Version, "linux", "amd64"); ok && f.Kind != "archive" {
				t.Fatalf("archiveFor chose %+v", f)
			}
		}
	})
}

// FuzzArchivePath checks that no archive entry name lands outside the
// target directory.
func FuzzArchivePath(f *testing.F) {
	for _, s := range []string{"go/bin/go", "go/", "go/../x", "go/a/../../x", "/go/x", `go\..\x`, "go//x", "go/./x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		dir := filepath.Join(string(filepath.Separator)+"sdk", "staging")
		p, err := archivePath(dir, name)
		if err != nil {
			return
		}
		if p != dir && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Fatalf("archivePath(%q) = %q, outside %q", name, p, dir)
		}
	})
}
