// Package vulndb builds, reads and queries the Go vulnerability database in
// the v1 format that govulncheck reads with -db (see
// https://go.dev/security/vuln/database#api):
//
//	index/db.json       {"modified": TIME}
//	index/modules.json  [{"path": MODULE, "vulns": [{"id", "modified", "fixed"}]}]
//	index/vulns.json    [{"id", "modified", "aliases"}]
//	ID/GO-YYYY-NNNN.json  one OSV entry
//
// each also compressed as NAME.json.gz. govulncheck reads the .json files of
// a file:// database and the .json.gz files of an http(s) one, and finds an
// http(s) database by a HEAD of index/modules.json.gz.
//
// [Build] makes a whole database from a version of the golang.org/x/vulndb
// module, whose data/osv directory holds one OSV file per entry. [Load]
// reads one back from the files a database serves. A [DB] answers which
// entries affect a module version ([DB.Affected]) and writes its files into
// a store ([DB.Write]).
//
// Times are honest: db.json's modified is the time of the x/vulndb version
// the database was built from, and each entry keeps the modified time its
// OSV file gives (the files of x/vulndb say 0001-01-01T00:00:00Z, which is
// what is served; vuln.go.dev fills in commit times that the module zip does
// not carry).
package vulndb
