package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// AccessConfig configures HTTPS, sign-in, the access rules, per-client
// limits, the audit trail and the operations listener. Credentials are
// only ever read from the files it names.
type AccessConfig struct {
	TLSCert string // PEM certificate chain; with TLSKey, serve HTTPS (HTTP/2); reloaded when it changes
	TLSKey  string // PEM private key of TLSCert

	Htpasswd string // htpasswd file of bcrypt hashes (htpasswd -B); reloaded when it changes
	Tokens   string // tokens file: USER sha256:HEX [GROUP,...] a line; reloaded when it changes
	Rules    string // access rules file (YAML: groups and rules); reloaded when it changes

	AuditLog  string // file the audit events are appended to as JSON lines, or - for standard output; empty means the server's log
	OpsListen string // host:port for /metrics, /healthz, /readyz and /-/...; empty means the main listener

	AuthFailureLimit string // failed sign-ins allowed per client address, as N/s, N/m or N/h; empty means 10/m
	RateLimit        string // requests allowed per client (user, or address when anonymous), as N/s, N/m or N/h; empty means no limit
	FillsPerClient   string // upstream fills one client may have under way at once; empty or 0 means no bound

	// PublicUpstreams declares upstreams reached with credentials public
	// on purpose: their content is served like any other, without a rule
	// naming it. Comma-separated ECOSYSTEM or ECOSYSTEM:WHAT entries:
	// npm (every registry), npm:@scope, pypi (every index), pypi:HOST,
	// oci (every registry), oci:HOST or oci:HOST/repository (a glob,
	// matched as GOPRIVATE patterns are). Empty means none: everything
	// fetched with credentials is private.
	PublicUpstreams string
}

func (c *Config) accessSettings() []setting {
	a := &c.Access
	return []setting{
		{name: "tls-cert", usage: "PEM certificate chain to serve HTTPS with (with --tls-key); reloaded when the file changes", str: &a.TLSCert},
		{name: "tls-key", usage: "PEM private key of --tls-cert", str: &a.TLSKey},
		{name: "htpasswd", usage: "htpasswd file of users with bcrypt hashes (htpasswd -B); reloaded when it changes", str: &a.Htpasswd},
		{name: "tokens", usage: "tokens file, one 'USER sha256:HEX [GROUP,...]' a line; reloaded when it changes", str: &a.Tokens},
		{name: "access-rules", usage: "access rules file (YAML: groups, and rules of users/groups, ecosystem, paths and allow); reloaded when it changes", str: &a.Rules},
		{name: "audit-log", usage: "file to append audit events to, as JSON lines, or - for standard output (default: the server's log)", str: &a.AuditLog},
		{name: "ops-listen", usage: "separate address for /metrics, /healthz, /readyz and /-/ (default: the main listener)", str: &a.OpsListen},
		{name: "auth-failure-limit", usage: "failed sign-ins allowed per client address, as N/s, N/m or N/h; past it, 429 (default 10/m)", str: &a.AuthFailureLimit},
		{name: "rate-limit", usage: "requests allowed per client (user, or address when anonymous), as N/s, N/m or N/h; past it, 429 (default: no limit)", str: &a.RateLimit},
		{name: "public-upstreams", usage: "upstreams reached with credentials whose content anyone may read, comma-separated: npm, npm:@scope, pypi, pypi:HOST, oci, oci:HOST[/REPOSITORY] (default: none, such content is private)", str: &a.PublicUpstreams},
		{name: "fills-per-client", usage: "upstream fills one client may have under way at once; past it, 429; 0 means no bound", str: &a.FillsPerClient},
	}
}

func (a *AccessConfig) validate() error {
	if (a.TLSCert == "") != (a.TLSKey == "") {
		return fmt.Errorf("tls-cert, tls-key: give both or neither")
	}
	if a.OpsListen != "" {
		if _, port, err := net.SplitHostPort(a.OpsListen); err != nil || port == "" {
			return fmt.Errorf("ops-listen: %q is not host:port", a.OpsListen)
		}
	}
	if a.AuthFailureLimit == "0" {
		return fmt.Errorf("auth-failure-limit: must be a positive rate, such as 10/m")
	}
	for _, r := range []struct{ name, val string }{{"auth-failure-limit", a.AuthFailureLimit}, {"rate-limit", a.RateLimit}} {
		if err := checkRate(r.val); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	for e := range strings.SplitSeq(a.PublicUpstreams, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		eco, what, _ := strings.Cut(e, ":")
		switch {
		case eco != "npm" && eco != "pypi" && eco != "oci":
			return fmt.Errorf("public-upstreams: %q: want npm, pypi or oci, optionally with :WHAT", e)
		case eco == "npm" && what != "" && (!strings.HasPrefix(what, "@") || strings.Contains(what, "/")):
			return fmt.Errorf("public-upstreams: %q: want npm:@scope", e)
		}
	}
	if n, err := strconv.Atoi(a.FillsPerClient); a.FillsPerClient != "" && (err != nil || n < 0) {
		return fmt.Errorf("fills-per-client: %q is not a whole number of fills, 0 or more", a.FillsPerClient)
	}
	return nil
}

// checkRate checks a rate: N/s, N/m or N/h; empty or 0 for none.
func checkRate(s string) error {
	if s == "" || s == "0" {
		return nil
	}
	num, unit, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 0 || n > 1_000_000 || (unit != "s" && unit != "m" && unit != "h") {
		return fmt.Errorf("invalid rate %q: want N/s, N/m or N/h", s)
	}
	return nil
}
