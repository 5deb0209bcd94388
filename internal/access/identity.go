package access

import (
	"context"
	"net"
	"net/http"
	"slices"
)

// Identity is who made a request, as authenticated by a [Guard].
type Identity struct {
	// User is the authenticated user, or "" for an anonymous client.
	User string
	// Groups are the user's groups, from the rules file and the tokens
	// file.
	Groups []string
	// Method is how the user signed in: "password", "token" or "" for
	// none.
	Method string
	// Addr is the client's address, without its port.
	Addr string
}

// Anonymous reports whether id carries no user.
func (id *Identity) Anonymous() bool { return id == nil || id.User == "" }

// InGroup reports whether id belongs to group.
func (id *Identity) InGroup(group string) bool {
	return id != nil && slices.Contains(id.Groups, group)
}

// key names the client for per-client limits: its user, or its address
// when anonymous.
func (id *Identity) key() string {
	if id.User != "" {
		return "user:" + id.User
	}
	return "addr:" + id.Addr
}

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the identity a Guard put in ctx, or nil when the
// request did not pass a Guard (a sync job, a maintenance command).
func FromContext(ctx context.Context) *Identity {
	id, _ := ctx.Value(identityKey{}).(*Identity)
	return id
}

// clientAddr returns the host part of r's remote address.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
