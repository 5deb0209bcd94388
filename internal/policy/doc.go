// Package policy decides which versions of which packages gomirror may
// serve. It knows nothing of any protocol: a rule names an ecosystem ("go"
// for Go modules), package names by glob and versions by range, and each
// ecosystem brings its own way of comparing versions ([Versioning]; Go's is
// [Semver]) and, optionally, a vulnerability database ([Vulns]).
//
// A [Config] has deny rules, allow rules that are exceptions to them, and
// deny-vulnerable, which denies every version that the vulnerability
// database says is affected by a known vulnerability:
//
//	deny-vulnerable: true
//	deny:
//	  - name: example.com/abandoned
//	    reason: unmaintained, use example.com/kept
//	  - name: github.com/corp/*
//	    versions: ">=v1.0.0 <v1.4.0"
//	allow:
//	  - name: golang.org/x/text
//	    versions: v0.3.5
//	    reason: not reachable from our code (checked by govulncheck)
//	  - name: golang.org/x/net
//	    vulns: [GO-2023-2102, CVE-2023-45288]
//
// An allow rule that matches wins over every deny; one that names vulns
// only takes those vulnerabilities out of what deny-vulnerable finds. [Policy.Decide] answers
// for one version; each denial is logged ("policy denied") and counted in
// gomirror_policy_denials_total{ecosystem,rule}.
package policy
