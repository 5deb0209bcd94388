package access

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf8"
)

// MaxAuthorizationLen bounds an Authorization header. Real credentials are
// far shorter; anything longer is refused unread.
const MaxAuthorizationLen = 4096

// Credential is what an Authorization header carries.
type Credential struct {
	// Scheme is "basic" or "bearer".
	Scheme string
	// User is the Basic user name; empty for a bearer token.
	User string
	// Secret is the Basic password or the bearer token.
	Secret string
}

// errMalformed marks an Authorization header that cannot be read.
var errMalformed = errors.New("malformed Authorization header")

// ParseAuthorization reads the value of an Authorization header: "Basic"
// and the base64 of user:password (RFC 7617), or "Bearer" and a token
// (RFC 6750). The scheme is case-insensitive. It refuses headers longer
// than MaxAuthorizationLen, other schemes, bad base64, a Basic value
// without a colon, and user names or secrets that are not UTF-8 or hold
// control characters. Its errors never repeat the secret.
func ParseAuthorization(h string) (Credential, error) {
	if len(h) > MaxAuthorizationLen {
		return Credential{}, errors.Join(errMalformed, errors.New("header too long"))
	}
	scheme, value, ok := strings.Cut(h, " ")
	if !ok {
		return Credential{}, errors.Join(errMalformed, errors.New("want a scheme and credentials"))
	}
	value = strings.TrimLeft(value, " ")
	if value == "" || strings.ContainsAny(value, " \t") {
		return Credential{}, errors.Join(errMalformed, errors.New("want one token after the scheme"))
	}
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(value)
		}
		if err != nil {
			return Credential{}, errors.Join(errMalformed, errors.New("bad base64 in Basic credentials"))
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return Credential{}, errors.Join(errMalformed, errors.New("Basic credentials without a colon"))
		}
		if !printable(user) || !printable(pass) {
			return Credential{}, errors.Join(errMalformed, errors.New("control characters or bad UTF-8 in Basic credentials"))
		}
		return Credential{Scheme: "basic", User: user, Secret: pass}, nil
	case "bearer":
		if !token68(value) {
			return Credential{}, errors.Join(errMalformed, errors.New("bad characters in bearer token"))
		}
		return Credential{Scheme: "bearer", Secret: value}, nil
	default:
		return Credential{}, errors.Join(errMalformed, errors.New("unsupported scheme: want Basic or Bearer"))
	}
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// token68 reports whether s has the syntax of RFC 7235's token68.
func token68(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
