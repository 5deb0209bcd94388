package sdk

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// ToolchainModulePath is the module the go command downloads toolchains
// as.
const ToolchainModulePath = "golang.org/toolchain"

// ToolchainModuleVersion returns the golang.org/toolchain module version that
// holds release v for goos/goarch, as the go command names it.
func ToolchainModuleVersion(v, goos, goarch string) module.Version {
	return module.Version{Path: ToolchainModulePath, Version: "v0.0.1-" + v + "." + goos + "-" + goarch}
}

// fromToolchainModule installs release v from the golang.org/toolchain
// module into unpacked, downloading into staging.
func (in *Installer) fromToolchainModule(ctx context.Context, v, staging, unpacked string, res *Result) error {
	m := ToolchainModuleVersion(v, in.goos(), in.goarch())
	if err := module.Check(m.Path, m.Version); err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	// Set up the checksum database first: a GOSUMDB that cannot work
	// should fail before a long download.
	db, err := in.openChecksumDB(ctx)
	if err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	escPath, err := module.EscapePath(m.Path)
	if err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	escVers, err := module.EscapeVersion(m.Version)
	if err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	u := in.mirrorURL() + "/" + escPath + "/@v/" + escVers + ".zip"
	file := filepath.Join(staging, "toolchain.zip")
	if _, _, err := in.download(ctx, u, file, m.String()+".zip", 0); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &unavailableError{reason: err.Error(), err: err}
		}
		return fmt.Errorf("install %s: %w", v, err)
	}
	if err := checkZipPrefix(file, m); err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	// Hash the zip and check the hash against the checksum database, as
	// the go command's modfetch does before it unzips.
	h, err := dirhash.HashZip(file, dirhash.DefaultHash)
	if err != nil {
		return fmt.Errorf("install %s: hash %s: %w", v, m, err)
	}
	lines, err := db.lookup(m.Path, m.Version)
	if err != nil {
		return fmt.Errorf("install %s: verifying %s: %w", v, m, err)
	}
	if err := checkSum(lines, m, h, db.name); err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	if err := modzip.Unzip(unpacked, m, file); err != nil {
		return fmt.Errorf("install %s: unzip %s: %w", v, m, err)
	}
	if err := os.Remove(file); err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	if err := allowExec(unpacked, in.goos()); err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	if err := restoreGoMods(unpacked); err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	res.Source, res.URL = ToolchainModule, u
	res.Checked = "h1 hash against the checksum database " + db.name + " via " + db.base
	return nil
}

// checkZipPrefix checks that every file of the zip is under
// module@version/, as the go command does after a download.
func checkZipPrefix(file string, m module.Version) error {
	z, err := zip.OpenReader(file)
	if err != nil {
		return fmt.Errorf("open the zip of %s: %w", m, err)
	}
	defer z.Close()
	prefix := m.String() + "/"
	for _, f := range z.File {
		if !strings.HasPrefix(f.Name, prefix) {
			return fmt.Errorf("zip for %s has unexpected file %s", m, f.Name)
		}
	}
	return nil
}

// checkSum finds m's hash h among the go.sum lines of the checksum
// database, with the go command's messages.
func checkSum(lines []string, m module.Version, h, db string) error {
	have := m.Path + " " + m.Version + " " + h
	prefix := m.Path + " " + m.Version + " h1:"
	for _, line := range lines {
		if line == have {
			return nil
		}
		if strings.HasPrefix(line, prefix) {
			return module.VersionError(m, fmt.Errorf("verifying module: checksum mismatch\n\tdownloaded: %v\n\t%s: %v", h, db, line[len(prefix)-len("h1:"):]))
		}
	}
	return module.VersionError(m, errors.New("verifying module: checksum missing from the checksum database's answer"))
}

// allowExec sets the execute bits the go command sets on a toolchain it
// has unzipped (zips carry no modes): on every file in pkg/tool and bin,
// and on lib's go_GOOS_GOARCH_exec scripts. It only adds bits, so it
// changes nothing in a release archive that has them. Windows needs none.
func allowExec(dir, goos string) error {
	if goos == "windows" {
		return nil
	}
	set := func(root, pattern string) error {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if pattern != "" {
				if ok, _ := filepath.Match(pattern, d.Name()); !ok {
					return nil
				}
			}
			info, err := os.Stat(p)
			if err != nil {
				return err
			}
			if info.Mode()&0o111 == 0o111 {
				return nil
			}
			return os.Chmod(p, info.Mode()&0o777|0o111)
		})
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	// The go command's order: pkg/tool and lib first, bin/go last.
	for _, s := range []struct{ root, pattern string }{
		{"pkg/tool", ""},
		{"lib", "go_?*_?*_exec"},
		{"bin/gofmt", ""},
		{"bin", ""},
	} {
		if err := set(filepath.Join(dir, filepath.FromSlash(s.root)), s.pattern); err != nil {
			return fmt.Errorf("make %s executable: %w", s.root, err)
		}
	}
	return nil
}

// restoreGoMods copies every _go.mod of a toolchain module to go.mod
// beside it, as the go command does on the first use of a toolchain: a
// module zip cannot hold the go.mod files of the standard library's
// nested modules, so the toolchain modules carry them as _go.mod.
// src/go.mod is written last; the go command takes it as the sign that
// the others are there.
func restoreGoMods(dir string) error {
	src := filepath.Join(dir, "src", "_go.mod")
	var mods []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "_go.mod" && p != src {
			mods = append(mods, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("find _go.mod files: %w", err)
	}
	if _, err := os.Stat(src); err == nil {
		mods = append(mods, src)
	}
	for _, p := range mods {
		if err := copyFile(p, filepath.Join(filepath.Dir(p), "go.mod")); err != nil {
			return fmt.Errorf("restore go.mod from %s: %w", p, err)
		}
	}
	return nil
}

// copyFile copies old to new, which must not exist, with old's mode.
func copyFile(old, new string) error {
	info, err := os.Stat(old)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(old)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(new, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chmod(new, info.Mode().Perm())
}
