// Package upstream fetches module files from the chain of sources that
// gomirror mirrors, walking it exactly as the go command walks GOPROXY.
//
// The chain is written in GOPROXY syntax: proxy URLs separated by "," or
// "|", optionally ending in "direct" or "off". After a proxy answers 404 or
// 410, the next entry is tried whatever the separator; after any other
// failure, the next entry is tried only when the separator that follows the
// failing proxy is "|". "direct" fetches from the version control system by
// running the go command in an isolated module cache, and "off" refuses.
// Modules matching the Private patterns (GOPRIVATE syntax) are fetched only
// directly, never from a proxy.
//
// [Upstream.Fetch] takes names laid out like GOMODCACHE/cache/download,
// for example "golang.org/x/text/@v/v0.3.0.zip", and streams the content.
// Its errors follow the house rules: "not found" matches [fs.ErrNotExist]
// and its message is the upstream's one-line reason, a chain ending in "off"
// gives an error matching [fs.ErrPermission], and a malformed name gives an
// error matching [fs.ErrInvalid]. A proxy that sends no response header
// within HeaderTimeout, or no byte of its body within IdleTimeout, gives an
// error matching [os.ErrDeadlineExceeded], never "not found".
package upstream
