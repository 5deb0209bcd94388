package oci

import (
	"encoding/hex"
	"net/http"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gomirror/gomirror/internal/pull"
)

// digest is a content digest in the only algorithm gomirror accepts,
// sha256, with the hexadecimal sum in lower case.
type digest struct {
	hash v1.Hash
}

// parseDigest parses s, "sha256:<64 lower-case hex digits>".
func parseDigest(s string) (digest, *Error) {
	alg, hexSum, ok := strings.Cut(s, ":")
	if !ok || alg == "" || hexSum == "" {
		return digest{}, errorf(http.StatusBadRequest, CodeDigestInvalid, "invalid digest "+quote(s)+": want sha256:<hex>")
	}
	if alg != "sha256" {
		return digest{}, errorf(http.StatusBadRequest, CodeUnsupported, "digest algorithm "+quote(alg)+" is not supported: want sha256")
	}
	if len(hexSum) != 64 || strings.ToLower(hexSum) != hexSum {
		return digest{}, errorf(http.StatusBadRequest, CodeDigestInvalid, "invalid digest "+quote(s)+": want 64 lower-case hex digits")
	}
	h, err := v1.NewHash(s)
	if err != nil {
		return digest{}, errorf(http.StatusBadRequest, CodeDigestInvalid, "invalid digest "+quote(s))
	}
	return digest{hash: h}, nil
}

func (d digest) String() string { return d.hash.String() }
func (d digest) isZero() bool   { return d.hash.Hex == "" }

// want is the core's trusted digest for content named by d; source says
// where the digest comes from.
func (d digest) want(size int64, source string) *pull.Digest {
	sum, _ := hex.DecodeString(d.hash.Hex) // Checked by parseDigest.
	return &pull.Digest{Algorithm: "sha256", Sum: sum, Size: size, Source: source}
}
