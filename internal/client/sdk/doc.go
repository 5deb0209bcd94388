// Package sdk installs Go releases where golang.org/dl puts them: a release
// goX.Y.Z goes in ROOT/goX.Y.Z (ROOT is ~/sdk by default), with
// golang.org/dl's ".unpacked-success" marker, so that the goX.Y.Z wrapper
// command finds it installed.
//
// An [Installer] takes a release from one Go mirror, from the first of two
// sources that has it:
//
//   - the mirror's /golang/ release archives, laid out as dl.google.com/go
//     and the Aliyun and USTC mirrors lay them out: the archive for this
//     platform is found in the index /golang/?mode=json&include=all and
//     checked, before it is unpacked, against /golang/<file>.sha256 and the
//     index's sha256 and size;
//   - otherwise (no /golang/, an index that fails, or no such archive),
//     the golang.org/toolchain module, version v0.0.1-goX.Y.Z.GOOS-GOARCH,
//     through the mirror's GOPROXY protocol, checked against the checksum
//     database (sum.golang.org unless GOSUMDB names another) exactly as the
//     go command checks a toolchain it downloads, and unpacked as the go
//     command unpacks one.
//
// An install is built in a hidden staging directory beside its target and
// renamed into place only when it is complete, so a failed or interrupted
// install leaves nothing behind.
package sdk
