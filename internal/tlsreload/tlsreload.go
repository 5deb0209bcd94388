// Package tlsreload serves a TLS certificate that is read again from its
// files when they change, so that a renewed certificate takes effect on
// the next connection without a restart.
package tlsreload

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultInterval is how often the files are checked for changes.
const DefaultInterval = 2 * time.Second

// Config configures a Reloader. CertFile and KeyFile are required.
type Config struct {
	// CertFile and KeyFile are PEM files, as tls.LoadX509KeyPair reads
	// them: the certificate chain, leaf first, and its private key.
	CertFile, KeyFile string
	// Interval is the least time between two checks of the files; a
	// handshake in between uses the certificate as it is. Zero means
	// DefaultInterval; a negative Interval checks on every handshake.
	Interval time.Duration
	// Logger is told of reloads and of bad new files. Nil discards.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Reloader holds the certificate in force. Its GetCertificate, for
// tls.Config, checks the files' size and modification time at most once per
// interval and loads them again when either changed. A new pair that does
// not load (a key that does not match, a half-written file) keeps the old
// certificate, is logged, and is tried again when the files change again.
// It is safe for concurrent use.
type Reloader struct {
	cfg  Config
	log  *slog.Logger
	cert atomic.Pointer[tls.Certificate]

	mu      sync.Mutex // held while checking
	checked time.Time
	stat    [2]fileStat // of the pair last tried
}

type fileStat struct {
	size int64
	mod  time.Time
}

// New loads the pair for the first time; unlike later loads, a failure
// here is returned.
func New(cfg Config) (*Reloader, error) {
	if cfg.CertFile == "" || cfg.KeyFile == "" {
		return nil, fmt.Errorf("tlsreload: both a certificate and a key file are required")
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Reloader{cfg: cfg, log: cfg.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	st, err := r.statFiles()
	if err != nil {
		return nil, err
	}
	c, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s, key %s: %w", cfg.CertFile, cfg.KeyFile, err)
	}
	r.cert.Store(&c)
	r.stat = st
	r.checked = cfg.Now()
	return r, nil
}

func (r *Reloader) statFiles() ([2]fileStat, error) {
	var st [2]fileStat
	for i, f := range []string{r.cfg.CertFile, r.cfg.KeyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return st, fmt.Errorf("tls: %w", err)
		}
		st[i] = fileStat{fi.Size(), fi.ModTime()}
	}
	return st, nil
}

// GetCertificate returns the certificate in force, after reloading it if
// its files changed. It never fails once New succeeded.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.maybeReload()
	return r.cert.Load(), nil
}

// Certificate returns the certificate in force, without checking the
// files.
func (r *Reloader) Certificate() *tls.Certificate { return r.cert.Load() }

func (r *Reloader) maybeReload() {
	if !r.mu.TryLock() {
		return // Another handshake is checking.
	}
	defer r.mu.Unlock()
	now := r.cfg.Now()
	if r.cfg.Interval > 0 && now.Sub(r.checked) < r.cfg.Interval {
		return
	}
	r.checked = now
	st, err := r.statFiles()
	if err != nil {
		if r.stat != ([2]fileStat{}) {
			r.log.Error("tls: cannot read the certificate files, keeping the current certificate", "err", err)
			r.stat = [2]fileStat{}
		}
		return
	}
	if st == r.stat {
		return
	}
	r.stat = st
	c, err := tls.LoadX509KeyPair(r.cfg.CertFile, r.cfg.KeyFile)
	if err != nil {
		r.log.Error("tls: bad new certificate, keeping the current one", "cert", r.cfg.CertFile, "key", r.cfg.KeyFile, "err", err)
		return
	}
	r.cert.Store(&c)
	r.log.Info("tls: certificate reloaded", "cert", r.cfg.CertFile)
}

// TLSConfig returns a server configuration that serves r's certificate,
// with TLS 1.2 or later and HTTP/2 offered.
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: r.GetCertificate,
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}
