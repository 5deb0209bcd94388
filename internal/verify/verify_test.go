package verify_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
	"github.com/gomirror/gomirror/internal/verify"
)

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "m.zip")
	if err := os.WriteFile(f, data, 0o666); err != nil {
		t.Fatal(err)
	}
	return f
}

// flipDataByte changes one byte inside the compressed data of the first
// file of a zip.
func flipDataByte(t *testing.T, data []byte) []byte {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	off, err := z.File[0].DataOffset()
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(data)
	out[off+1] ^= 0x55
	return out
}

// rawZip builds a zip with archive/zip directly, without the checks of
// golang.org/x/mod/zip.
func rawZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestZip(t *testing.T) {
	good := sumdbtest.NewModule(t, "example.com/m", "v1.0.0", map[string]string{"m.go": "package m\n"})
	edited := sumdbtest.NewModule(t, "example.com/m", "v1.0.0", map[string]string{"m.go": "package m // edited\n"})
	mv := good.Version

	tests := []struct {
		name     string
		zip      []byte
		want     string
		mismatch bool
		invalid  bool
		fails    bool // any error
	}{
		{name: "valid", zip: good.Zip, want: good.ZipHash},
		{name: "valid, no hash to compare", zip: good.Zip},
		{name: "one byte changed", zip: flipDataByte(t, good.Zip), want: good.ZipHash, fails: true},
		{name: "rebuilt with one file edited", zip: edited.Zip, want: good.ZipHash, mismatch: true},
		{name: "file outside module prefix", zip: rawZip(t, map[string]string{
			"example.com/m@v1.0.0/go.mod":  "module example.com/m\n",
			"example.com/evil@v1.0.0/x.go": "package x\n",
		}), invalid: true},
		{name: "parent path", zip: rawZip(t, map[string]string{
			"example.com/m@v1.0.0/../../x.go": "package x\n",
		}), invalid: true},
		{name: "not a zip", zip: []byte("<html>not found</html>"), invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verify.Zip(mv, writeFile(t, tt.zip), tt.want)
			var mm *verify.MismatchError
			switch {
			case tt.mismatch:
				if !errors.As(err, &mm) {
					t.Fatalf("got error %v, want a *MismatchError", err)
				}
				if mm.Module != mv || mm.File != "zip" || mm.Want != good.ZipHash || mm.Got != edited.ZipHash {
					t.Errorf("got %+v, want module %v file zip want %s got %s", mm, mv, good.ZipHash, edited.ZipHash)
				}
				wantMsg := "example.com/m@v1.0.0: zip checksum mismatch: checksum database has " + good.ZipHash + ", upstream sent " + edited.ZipHash
				if err.Error() != wantMsg {
					t.Errorf("got message %q, want %q", err, wantMsg)
				}
			case tt.invalid:
				if !errors.Is(err, verify.ErrInvalid) {
					t.Fatalf("got error %v, want one wrapping ErrInvalid", err)
				}
				if !strings.Contains(err.Error(), "example.com/m@v1.0.0") {
					t.Errorf("got error %q, want it to name example.com/m@v1.0.0", err)
				}
			case tt.fails:
				if err == nil {
					t.Fatalf("got no error, want one")
				}
			default:
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if got != good.ZipHash {
					t.Errorf("got hash %s, want %s", got, good.ZipHash)
				}
			}
		})
	}
}

func TestZipMissingFile(t *testing.T) {
	_, err := verify.Zip(module.Version{Path: "example.com/m", Version: "v1.0.0"}, filepath.Join(t.TempDir(), "none.zip"), "")
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, verify.ErrInvalid) {
		t.Errorf("got error %v, want one matching fs.ErrNotExist and not ErrInvalid", err)
	}
}

func TestMod(t *testing.T) {
	good := sumdbtest.NewModule(t, "example.com/m", "v1.0.0", nil)
	mv := good.Version
	editedMod := append(bytes.Clone(good.Mod), "\nrequire example.com/other v1.2.3\n"...)

	tests := []struct {
		name     string
		data     []byte
		want     string
		mismatch bool
		invalid  bool
	}{
		{name: "valid", data: good.Mod, want: good.ModHash},
		{name: "valid, no hash to compare", data: good.Mod},
		{name: "edited", data: editedMod, want: good.ModHash, mismatch: true},
		{name: "wrong module line", data: []byte("module example.com/other\n"), invalid: true},
		{name: "no module line", data: []byte("go 1.21\n"), invalid: true},
		{name: "unparseable", data: []byte("module example.com/m\nrequire (\n"), invalid: true},
		{name: "html error page", data: []byte("<html><body>502 Bad Gateway</body></html>\n"), invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verify.Mod(mv, tt.data, tt.want)
			var mm *verify.MismatchError
			switch {
			case tt.mismatch:
				if !errors.As(err, &mm) || mm.File != "go.mod" || mm.Want != good.ModHash || mm.Got == good.ModHash {
					t.Fatalf("got error %v, want a go.mod *MismatchError", err)
				}
				if !strings.HasPrefix(err.Error(), "example.com/m@v1.0.0: go.mod checksum mismatch: checksum database has "+good.ModHash) {
					t.Errorf("got message %q", err)
				}
			case tt.invalid:
				if !errors.Is(err, verify.ErrInvalid) || !strings.Contains(err.Error(), "example.com/m@v1.0.0") {
					t.Fatalf("got error %v, want one wrapping ErrInvalid naming the module", err)
				}
			default:
				if err != nil || got != good.ModHash {
					t.Fatalf("got %q, %v; want %q, nil", got, err, good.ModHash)
				}
			}
		})
	}
}

func TestInfo(t *testing.T) {
	tests := []struct {
		name    string
		version string
		data    string
		invalid bool
	}{
		{name: "valid", version: "v1.0.0", data: `{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}`},
		{name: "valid without time", version: "v1.0.0", data: `{"Version":"v1.0.0"}`},
		{name: "query resolved", version: "master", data: `{"Version":"v0.0.0-20240102030405-abcdefabcdef","Time":"2024-01-02T03:04:05Z"}`},
		{name: "incompatible", version: "v2.0.0+incompatible", data: `{"Version":"v2.0.0+incompatible"}`},
		{name: "wrong version", version: "v1.0.0", data: `{"Version":"v1.0.1","Time":"2024-01-02T03:04:05Z"}`, invalid: true},
		{name: "no version", version: "v1.0.0", data: `{"Time":"2024-01-02T03:04:05Z"}`, invalid: true},
		{name: "non-canonical version", version: "master", data: `{"Version":"v1.0"}`, invalid: true},
		{name: "bad time", version: "v1.0.0", data: `{"Version":"v1.0.0","Time":"yesterday"}`, invalid: true},
		{name: "not json", version: "v1.0.0", data: `<html>`, invalid: true},
		{name: "trailing garbage", version: "v1.0.0", data: `{"Version":"v1.0.0"} x`, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verify.Info(module.Version{Path: "example.com/m", Version: tt.version}, []byte(tt.data))
			if tt.invalid != (err != nil) {
				t.Fatalf("got error %v, want error: %v", err, tt.invalid)
			}
			if err != nil && !errors.Is(err, verify.ErrInvalid) {
				t.Errorf("got error %v, want one wrapping ErrInvalid", err)
			}
		})
	}
}

func FuzzInfo(f *testing.F) {
	f.Add("v1.0.0", []byte(`{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}`))
	f.Add("master", []byte(`{"Version":"v0.0.0-20240102030405-abcdefabcdef"}`))
	f.Add("v1.0.0", []byte(`{"Version":"v1.0.1"}`))
	f.Add("v1.0.0", []byte(`{"Version":null,"Time":1}`))
	f.Add("v2.0.0+incompatible", []byte(`[]`))
	f.Fuzz(func(t *testing.T, version string, data []byte) {
		mv := module.Version{Path: "example.com/m", Version: version}
		err := verify.Info(mv, data)
		if err == nil {
			return
		}
		if !errors.Is(err, verify.ErrInvalid) {
			t.Errorf("got error %v, want one wrapping ErrInvalid", err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("got a multi-line error %q, want one line", err)
		}
	})
}
