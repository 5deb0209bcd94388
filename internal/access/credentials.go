package access

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Htpasswd is a parsed htpasswd file: bcrypt hashes by user name.
type Htpasswd map[string][]byte

// ParseHtpasswd parses an htpasswd file: one user:hash a line, blank lines
// and lines starting with # ignored. Only bcrypt hashes ($2a$, $2b$, $2y$,
// as `htpasswd -B` writes them) are accepted: the error names the line of
// any other kind (MD5 $apr1$, SHA {SHA}, crypt, plain text), and of a
// user name given twice.
func ParseHtpasswd(data []byte) (Htpasswd, error) {
	users := Htpasswd{}
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d: want user:hash", n)
		case user == "" || !printable(user) || strings.ContainsAny(user, " \t"):
			return nil, fmt.Errorf("line %d: bad user name %q", n, clip(user))
		case users[user] != nil:
			return nil, fmt.Errorf("line %d: user %q given twice", n, user)
		}
		if kind := hashKind(hash); kind != "bcrypt" {
			return nil, fmt.Errorf("line %d: user %q: hash is %s, not bcrypt: make it with htpasswd -B", n, user, kind)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("line %d: user %q: bad bcrypt hash: %v", n, user, err)
		}
		users[user] = []byte(hash)
	}
	return users, nil
}

// hashKind names the kind of an htpasswd hash, for messages.
func hashKind(h string) string {
	switch {
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		return "bcrypt"
	case strings.HasPrefix(h, "$apr1$"):
		return "MD5 ($apr1$)"
	case strings.HasPrefix(h, "{SHA}"):
		return "SHA-1 ({SHA})"
	case strings.HasPrefix(h, "$1$"), strings.HasPrefix(h, "$5$"), strings.HasPrefix(h, "$6$"):
		return "crypt (" + h[:3] + ")"
	case h == "":
		return "empty"
	default:
		return "crypt or plain text"
	}
}

// Token is one entry of a tokens file.
type Token struct {
	User   string
	Groups []string
	Sum    [sha256.Size]byte // sha256 of the token
}

// Tokens is a parsed tokens file, by the sha256 of each token.
type Tokens map[[sha256.Size]byte]Token

// ParseTokens parses a tokens file. Each line is
//
//	USER sha256:HEX [GROUP,GROUP...]
//
// where HEX is the sha256 of the token (`printf %s "$TOKEN" | sha256sum`),
// so that the file holds no secret. Blank lines and lines starting with #
// are ignored. A user may have several tokens; a token may not be listed
// twice. The error names the line.
func ParseTokens(data []byte) (Tokens, error) {
	toks := Tokens{}
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("line %d: want USER sha256:HEX [GROUP,...]", n)
		}
		if !printable(f[0]) || strings.Contains(f[0], ":") {
			return nil, fmt.Errorf("line %d: bad user name %q", n, clip(f[0]))
		}
		hexSum, ok := strings.CutPrefix(f[1], "sha256:")
		if !ok {
			return nil, fmt.Errorf("line %d: user %q: want sha256:HEX, the sha256 of the token, not the token itself", n, f[0])
		}
		raw, err := hex.DecodeString(hexSum)
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("line %d: user %q: sha256 is not 64 hex digits", n, f[0])
		}
		t := Token{User: f[0]}
		copy(t.Sum[:], raw)
		if len(f) == 3 {
			for g := range strings.SplitSeq(f[2], ",") {
				if g == "" || !printable(g) {
					return nil, fmt.Errorf("line %d: user %q: bad group list %q", n, f[0], clip(f[2]))
				}
				t.Groups = append(t.Groups, g)
			}
		}
		if _, dup := toks[t.Sum]; dup {
			return nil, fmt.Errorf("line %d: user %q: token listed twice", n, f[0])
		}
		toks[t.Sum] = t
	}
	return toks, nil
}

// HashToken returns the form a tokens file stores token in: "sha256:HEX".
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// NewToken returns a new random token: 32 bytes of crypto/rand in hex,
// prefixed "gm_".
func NewToken() string {
	var b [32]byte
	rand.Read(b[:])
	return "gm_" + hex.EncodeToString(b[:])
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Authenticator checks credentials against an htpasswd file and a tokens
// file, either of which may be absent. Both are reloaded when they change.
// It is safe for concurrent use.
type Authenticator struct {
	users  *watched[Htpasswd] // nil when there is no file
	tokens *watched[Tokens]   // nil when there is no file

	// Checking a bcrypt hash takes tens of milliseconds, and the go
	// command sends its credentials with every request: good passwords
	// are remembered for a while, by a keyed hash of user and password.
	key    [32]byte
	mu     sync.Mutex
	goodPw map[[32]byte]goodPassword
	now    func() time.Time

	dummyOnce sync.Once
	dummyPw   []byte // a bcrypt hash that unknown users are checked against

	// compare is bcrypt.CompareHashAndPassword; tests count its calls.
	compare func(hash, password []byte) error

	// emptyMu guards empty, the hashes already checked against the empty
	// password at load, so that a reload checks only new entries.
	emptyMu sync.Mutex
	empty   map[string]bool
}

type goodPassword struct {
	hash    string // the stored hash it matched
	expires time.Time
}

const (
	goodPasswordTTL = 10 * time.Minute
	maxGoodPassword = 10_000
)

// AuthenticatorConfig configures an Authenticator. Either file may be
// empty.
type AuthenticatorConfig struct {
	Htpasswd string // htpasswd file of bcrypt hashes
	Tokens   string // tokens file (see ParseTokens)
	// Interval is how often the files are checked for changes. Zero means
	// DefaultReloadInterval.
	Interval time.Duration
	Logger   *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// NewAuthenticator reads the files of cfg. Its errors name the file and
// the bad line.
func NewAuthenticator(cfg AuthenticatorConfig) (*Authenticator, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultReloadInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{goodPw: map[[32]byte]goodPassword{}, now: cfg.Now, compare: bcrypt.CompareHashAndPassword, empty: map[string]bool{}}
	rand.Read(a.key[:])
	var err error
	if cfg.Htpasswd != "" {
		parse := func(data []byte) (Htpasswd, error) {
			users, err := ParseHtpasswd(data)
			if err != nil {
				return nil, err
			}
			a.refuseEmpty(users, cfg.Htpasswd, cfg.Logger)
			return users, nil
		}
		if a.users, err = newWatched(cfg.Htpasswd, "htpasswd file", parse, cfg.Interval, cfg.Logger, cfg.Now); err != nil {
			return nil, err
		}
		a.users.revoke = func() Htpasswd { return Htpasswd{} }
	}
	if cfg.Tokens != "" {
		if a.tokens, err = newWatched(cfg.Tokens, "tokens file", ParseTokens, cfg.Interval, cfg.Logger, cfg.Now); err != nil {
			return nil, err
		}
		a.tokens.revoke = func() Tokens { return Tokens{} }
	}
	return a, nil
}

// refuseEmpty removes from users, and logs, every user whose hash is that
// of the empty password: such an entry would let anyone in under that
// name. Each hash is checked once in the process's life.
func (a *Authenticator) refuseEmpty(users Htpasswd, file string, log *slog.Logger) {
	a.emptyMu.Lock()
	defer a.emptyMu.Unlock()
	for user, hash := range users {
		empty, seen := a.empty[string(hash)]
		if !seen {
			empty = a.compare(hash, nil) == nil
			a.empty[string(hash)] = empty
		}
		if empty {
			log.Warn("htpasswd: refusing a user whose password is empty", "file", file, "user", user)
			delete(users, user)
		}
	}
}

// Check returns the user and groups of c, or ok false when c is wrong.
// A Basic password is checked against the htpasswd file and then, as a
// token, against the tokens file (pip and the go command send tokens
// that way; the Basic user name is then not checked); a bearer token
// against the tokens file.
//
// The token is looked up first, by its sha256: a token sent as a Basic
// password (as `gomirror use --token-file` writes it to .netrc) costs what
// a bearer token costs, not a bcrypt check. An empty password never
// signs in.
func (a *Authenticator) Check(c Credential) (user string, groups []string, method string, ok bool) {
	if c.Secret == "" {
		return "", nil, "", false
	}
	if t, ok := a.token(c.Secret); ok {
		return t.User, t.Groups, "token", true
	}
	if c.Scheme == "basic" && a.password(c.User, c.Secret) {
		return c.User, nil, "password", true
	}
	return "", nil, "", false
}

func (a *Authenticator) password(user, pass string) bool {
	if a.users == nil {
		return false
	}
	hash, known := a.users.get()[user]
	mac := hmac.New(sha256.New, a.key[:])
	mac.Write([]byte(user))
	mac.Write([]byte{0})
	mac.Write([]byte(pass))
	var k [32]byte
	copy(k[:], mac.Sum(nil))
	now := a.now()
	a.mu.Lock()
	g, seen := a.goodPw[k]
	a.mu.Unlock()
	if seen && known && now.Before(g.expires) && subtle.ConstantTimeCompare([]byte(g.hash), hash) == 1 {
		return true
	}
	if !known {
		// As slow as a known user, so that timing does not tell which
		// users exist.
		a.compare(a.dummy(), []byte(pass))
		return false
	}
	if a.compare(hash, []byte(pass)) != nil {
		return false
	}
	a.mu.Lock()
	if len(a.goodPw) >= maxGoodPassword {
		clear(a.goodPw)
	}
	a.goodPw[k] = goodPassword{hash: string(hash), expires: now.Add(goodPasswordTTL)}
	a.mu.Unlock()
	return true
}

// dummy returns a hash of a random password at the cost of the file's
// hashes.
func (a *Authenticator) dummy() []byte {
	a.dummyOnce.Do(func() {
		cost := bcrypt.DefaultCost
		for _, h := range a.users.get() {
			if c, err := bcrypt.Cost(h); err == nil {
				cost = c
				break
			}
		}
		a.dummyPw, _ = bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	})
	return a.dummyPw
}

// token looks a token up by its sha256. The map is keyed by the hash of
// the secret, so lookup time tells nothing useful about the secret; the
// final comparison is constant-time all the same.
func (a *Authenticator) token(secret string) (Token, bool) {
	if a.tokens == nil || secret == "" {
		return Token{}, false
	}
	sum := sha256.Sum256([]byte(secret))
	t, ok := a.tokens.get()[sum]
	if !ok || subtle.ConstantTimeCompare(t.Sum[:], sum[:]) != 1 {
		return Token{}, false
	}
	return t, true
}

// Users returns the names of every user the files know.
func (a *Authenticator) Users() []string {
	var names []string
	if a.users != nil {
		for u := range a.users.get() {
			names = append(names, u)
		}
	}
	if a.tokens != nil {
		for _, t := range a.tokens.get() {
			names = append(names, t.User)
		}
	}
	return names
}
