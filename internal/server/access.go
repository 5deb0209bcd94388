package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/gomirror/gomirror/internal/access"
	"github.com/gomirror/gomirror/internal/cargo"
	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/goproxy"
	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/modglob"
	"github.com/gomirror/gomirror/internal/npm"
	"github.com/gomirror/gomirror/internal/oci"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/tlsreload"
)

// accessControl is the server's access control: the guard in front of the
// router, the files it reads, the audit trail, HTTPS and the operations
// listener.
type accessControl struct {
	cfg       config.Config
	log       *slog.Logger
	audit     *slog.Logger
	auditFile *os.File // nil unless the audit log is a file
	guardCfg  access.Config
	guard     *access.Guard
	tls       *tlsreload.Reloader // nil without HTTPS
	ops       http.Handler        // the operations listener's handler
	opsServer *http.Server
}

// setupAccess reads the access configuration and gives the core its
// admission hook. Its errors name the setting.
func (s *Server) setupAccess(cfg config.Config, log *slog.Logger, pcfg *pull.Config) error {
	a := &accessControl{cfg: cfg, log: log, audit: log}
	ac := cfg.Access
	switch ac.AuditLog {
	case "":
	case "-":
		a.audit = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	default:
		f, err := os.OpenFile(ac.AuditLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("audit-log: %w", err)
		}
		a.auditFile = f
		a.audit = slog.New(slog.NewJSONHandler(f, nil))
	}
	s.access = a
	g := access.Config{Audit: a.audit, OpsElsewhere: ac.OpsListen != ""}
	var err error
	if g.AuthFailures, err = access.ParseRate(ac.AuthFailureLimit); err != nil {
		return fmt.Errorf("auth-failure-limit: %w", err)
	}
	if g.RequestRate, err = access.ParseRate(ac.RateLimit); err != nil {
		return fmt.Errorf("rate-limit: %w", err)
	}
	if ac.FillsPerClient != "" {
		if g.FillsPerClient, err = strconv.Atoi(ac.FillsPerClient); err != nil {
			return fmt.Errorf("fills-per-client: %w", err)
		}
	}
	if ac.Htpasswd != "" || ac.Tokens != "" {
		g.Auth, err = access.NewAuthenticator(access.AuthenticatorConfig{Htpasswd: ac.Htpasswd, Tokens: ac.Tokens, Logger: log})
		if err != nil {
			return fmt.Errorf("htpasswd, tokens: %w", err)
		}
	}
	if ac.Rules != "" {
		if g.Rules, err = access.WatchRules(ac.Rules, 0, log); err != nil {
			return fmt.Errorf("access-rules: %w", err)
		}
	} else if g.Auth != nil {
		// Users but no rules: every signed-in user may read everything
		// that is not private.
		def := &access.Rules{Rules: []access.Rule{{Groups: []string{access.GroupAuthenticated}, Allow: ptr(true)}}}
		g.Rules = func() *access.Rules { return def }
	}
	if err := checkPrivateCovered(cfg, g.Rules); err != nil {
		return err
	}
	if err := checkMavenPrivateCovered(cfg, g.Rules); err != nil {
		return err
	}
	if ac.TLSCert != "" {
		if a.tls, err = tlsreload.New(tlsreload.Config{CertFile: ac.TLSCert, KeyFile: ac.TLSKey, Logger: log}); err != nil {
			return fmt.Errorf("tls-cert, tls-key: %w", err)
		}
	}
	a.guardCfg = g
	pcfg.Admit = a.admit
	return nil
}

func ptr[T any](v T) *T { return &v }

// checkPrivateCovered refuses a configuration that would serve private
// modules to anyone who can reach it: on an address other than loopback,
// every private pattern needs a rule that names it.
func checkPrivateCovered(cfg config.Config, rules access.RulesSource) error {
	if cfg.Private == "" || loopbackOnly(cfg.Listen) {
		return nil
	}
	for p := range strings.SplitSeq(cfg.Private, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if rules == nil || !rules().Covers(goproxy.Ecosystem, p) {
			return fmt.Errorf("private: modules matching %q would be served to anyone who can reach %s: "+
				"name who may read them in an access rules file (--access-rules, a rule with ecosystem: go and paths: [%q]; see docs/deploy.md), "+
				"or listen on loopback only (--listen 127.0.0.1:PORT)", p, cfg.Listen, p)
		}
	}
	return nil
}

// loopbackOnly reports whether addr (host:port) listens on a loopback
// address only.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// admit is the core's admission hook; the guard exists by the time a
// request reaches the core.
func (a *accessControl) admit(ctx context.Context) (func(), error) {
	if a.guard == nil {
		return func() {}, nil
	}
	return a.guard.Admit(ctx)
}

// wrap puts the guard in front of rt, and makes the operations listener's
// handler.
// With nothing to enforce (no users, rules, limits or operations
// listener: a mirror open to its network) the router is served as it is.
func (a *accessControl) wrap(rt *router, m *metrics.Metrics) http.Handler {
	a.ops = instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isOps(r.URL.Path) && !isAdmin(r.URL.Path) {
			goproxy.WriteError(w, http.StatusNotFound, "not found: this listener serves only the operations endpoints")
			return
		}
		rt.ServeHTTP(w, r)
	}), a.log, m, rt)
	g := a.guardCfg
	ac := a.cfg.Access
	if g.Rules == nil && rt.hasPrivate() && !loopbackOnly(a.cfg.Listen) {
		// Content fetched with credentials is private: without rules
		// that name it, no one reads it.
		def := &access.Rules{Rules: []access.Rule{{Allow: ptr(true)}}}
		g.Rules = func() *access.Rules { return def }
		a.log.Warn("content fetched with credentials is served to no one: name who may read it in an access rules file, or declare its upstream public (--public-upstreams)")
	}
	a.log.Info("access control", "https", a.tls != nil, "htpasswd", ac.Htpasswd, "tokens", ac.Tokens, "rules", ac.Rules,
		"open", g.Auth == nil && g.Rules == nil, "rate_limit", g.RequestRate.String(), "fills_per_client", g.FillsPerClient,
		"ops_listen", ac.OpsListen)
	if g.Auth == nil && g.Rules == nil && g.RequestRate.N == 0 && g.FillsPerClient == 0 && !g.OpsElsewhere {
		return rt
	}
	g.Classify = classifier(rt, a.cfg.Private)
	// Each ecosystem answers in its own error format.
	g.Errors = map[string]access.ErrorWriter{"oci": oci.WriteError, "npm": npm.WriteError, cargo.Ecosystem: cargo.WriteError}
	guard, err := access.New(rt, g)
	if err != nil {
		panic(err) // Classify is set: cannot happen.
	}
	a.guard = guard
	return guard
}

func isAdmin(p string) bool { return p == "/-" || strings.HasPrefix(p, "/-/") }

// classifier names each request's ecosystem, as the router routes it,
// and its subject, as that ecosystem's own parser reads it (the route's
// subject, goproxy.Subject for module paths), with the route's rule of
// privacy; modules matching private (GOPRIVATE syntax) are private,
// matched ignoring case. A new ecosystem whose names matter to the rules
// gives its route a subject parser.
func classifier(rt *router, private string) access.Classifier {
	return func(r *http.Request) access.Subject {
		p := r.URL.Path
		switch {
		case p == "/healthz" || p == "/readyz":
			return access.Subject{Ecosystem: access.EcosystemHealth}
		case isOps(p):
			return access.Subject{Ecosystem: access.EcosystemOps, Name: strings.TrimPrefix(p, "/")}
		case isAdmin(p):
			return access.Subject{Ecosystem: access.EcosystemAdmin, Name: strings.TrimPrefix(p, "/-/")}
		}
		s := access.Subject{Ecosystem: rt.ecosystem(r)}
		ro := rt.find(p)
		if ro != nil && !strings.HasPrefix(r.URL.EscapedPath(), ro.prefix) && r.URL.EscapedPath()+"/" != ro.prefix {
			// The prefix itself came escaped ("/npm%2F..."): handlers
			// read the escaped path, and would not agree on the name.
			s.Invalid = true
			return s
		}
		switch {
		case ro == nil && s.Ecosystem == goproxy.Ecosystem:
			mod, ok := goproxy.Subject(r)
			s.Name, s.Invalid = mod, !ok
			s.Private = ok && modglob.Match(private, mod)
			return s
		case ro == nil || ro.subject == nil:
			return s
		}
		name, ok := ro.subject(r)
		s.Name, s.Invalid = name, !ok
		s.Private = ok && ro.private != nil && ro.private(name)
		// The registry API's base endpoint, which clients call to check
		// their credentials.
		s.Probe = ok && ro.prefix == "/v2/" && (p == "/v2/" || p == "/v2")
		return s
	}
}

// trimPrefix is the subject parser of a file mirror: the file's path
// below prefix.
func trimPrefix(prefix string) func(r *http.Request) (string, bool) {
	return func(r *http.Request) (string, bool) { return strings.TrimPrefix(r.URL.Path, prefix), true }
}

// ociSubject is the OCI mirror's subject parser, with its default
// registry.
func ociSubject(defaultRegistry string) func(r *http.Request) (string, bool) {
	return func(r *http.Request) (string, bool) { return oci.Subject(r, defaultRegistry) }
}

// serve serves hs on ln, over TLS when a certificate is configured.
func (a *accessControl) serve(hs *http.Server, ln net.Listener) error {
	if a.tls == nil {
		return hs.Serve(ln)
	}
	hs.TLSConfig = a.tls.TLSConfig()
	return hs.ServeTLS(ln, "", "")
}

// startOps starts the operations listener, when one is configured, as a
// copy of main's settings.
func (a *accessControl) startOps(main *http.Server) error {
	if a.cfg.Access.OpsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.Access.OpsListen)
	if err != nil {
		return fmt.Errorf("ops-listen: %w", err)
	}
	a.opsServer = &http.Server{
		Handler:           a.ops,
		ReadHeaderTimeout: main.ReadHeaderTimeout,
		IdleTimeout:       main.IdleTimeout,
		ErrorLog:          main.ErrorLog,
		BaseContext:       main.BaseContext,
	}
	a.log.Info("serving the operations endpoints", "addr", ln.Addr().String())
	go func() {
		if err := a.opsServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("operations listener", "err", err)
		}
	}()
	return nil
}

// stopOps shuts the operations listener down.
func (a *accessControl) stopOps(ctx context.Context) {
	if a.opsServer != nil {
		a.opsServer.Shutdown(ctx)
	}
}

// closeOps closes the operations listener at once.
func (a *accessControl) closeOps() {
	if a.opsServer != nil {
		a.opsServer.Close()
	}
}

func (a *accessControl) close() error {
	if a.auditFile != nil {
		return a.auditFile.Close()
	}
	return nil
}

// Audit returns the logger of the audit trail, for parts that record
// their own decisions (the module policy's "policy denied"): each record
// logged with a request's context gets the user and address that asked.
func (s *Server) Audit() *slog.Logger { return slog.New(access.AuditHandler(s.access.audit.Handler())) }
