package vulndb

import "strings"

// ValidName reports whether name, relative to the root of a database, is a
// file a database can serve: "index/db.json", "index/modules.json",
// "index/vulns.json" or "ID/GO-YYYY-NNNN.json", each optionally with ".gz".
// A server answers any other name under /vuln/ "not found" without looking
// in its store; a valid name may still be absent.
func ValidName(name string) bool {
	name = strings.TrimSuffix(name, ".gz")
	switch name {
	case DBIndex, ModulesIndex, VulnsIndex:
		return true
	}
	id, ok := strings.CutPrefix(name, "ID/")
	if !ok {
		return false
	}
	id, ok = strings.CutSuffix(id, ".json")
	return ok && idRE.MatchString(id)
}

// ContentType returns the media type to serve the file name with:
// "application/json" for .json, "application/gzip" for .json.gz. The
// .json.gz files must be served as they are, with no Content-Encoding:
// govulncheck decompresses them itself, and Go's HTTP client would
// decompress a body marked gzip before it.
func ContentType(name string) string {
	if strings.HasSuffix(name, ".gz") {
		return "application/gzip"
	}
	return "application/json"
}
