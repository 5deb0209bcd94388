package maven

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// maxChecksumFile bounds a checksum file from upstream.
const maxChecksumFile = 4 << 10

// digestLen is the length in bytes of each algorithm's digest.
var digestLen = map[string]int{"md5": md5.Size, "sha1": sha1.Size, "sha256": sha256.Size, "sha512": sha512.Size}

// newHash returns a hash of algorithm, one of digestLen's keys.
func newHash(algorithm string) hash.Hash {
	switch algorithm {
	case "md5":
		return md5.New()
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	default:
		return sha512.New()
	}
}

// parseChecksum reads a checksum file of algorithm as repositories write
// them: the hex digest alone ("hex"), followed by a file name ("hex
// name", "hex *name", as sha1sum writes), or after one in the BSD form
// ("SHA1 (name) = hex", "name: hex"), in either case, with any
// surrounding white space. The first token of the right length made only
// of hex digits is the digest; a file with none, or with two that differ,
// is refused.
func parseChecksum(algorithm string, data []byte) ([]byte, error) {
	want, ok := digestLen[algorithm]
	if !ok {
		return nil, fmt.Errorf("unknown checksum algorithm %q", algorithm)
	}
	if len(data) > maxChecksumFile {
		return nil, fmt.Errorf("%s checksum file is longer than %d bytes", algorithm, maxChecksumFile)
	}
	var found []byte
	for _, tok := range strings.FieldsFunc(string(data), func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '=' || r == ':' || r == '*'
	}) {
		if len(tok) != 2*want {
			continue
		}
		sum, err := hex.DecodeString(tok)
		if err != nil {
			continue
		}
		if found != nil && string(found) != string(sum) {
			return nil, fmt.Errorf("%s checksum file holds two different digests", algorithm)
		}
		found = sum
	}
	if found == nil {
		return nil, fmt.Errorf("%s checksum file holds no %d-digit hex digest", algorithm, 2*want)
	}
	return found, nil
}
