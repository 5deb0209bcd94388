package access

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gomirror/gomirror/internal/pull"
)

// Audit events, the "event" attribute of each record.
const (
	EventAuthFailed   = "auth failed"   // wrong or malformed credentials
	EventDenied       = "denied"        // the rules refused a request
	EventPrivateRead  = "private read"  // a read of private content
	EventThrottled    = "throttled"     // a client over one of its limits
	EventQueryRefused = "query refused" // credentials in a URL query
)

// auditor writes audit events: who, what, when (the record's time), from
// where. Secrets never reach it.
type auditor struct {
	log *slog.Logger
}

func (a *auditor) request(ctx context.Context, event string, r *http.Request, id *Identity, s Subject, attrs ...slog.Attr) {
	all := append([]slog.Attr{
		slog.String("event", event),
		slog.String("user", id.User),
		slog.String("remote", id.Addr),
		slog.String("method", r.Method),
		slog.String("path", pull.OneLine(clipPath(r.URL.Path))),
		slog.String("ecosystem", s.Ecosystem),
		slog.String("subject", s.Name),
		slog.Bool("private", s.Private),
	}, attrs...)
	a.log.LogAttrs(ctx, slog.LevelInfo, "audit", all...)
}

func clipPath(p string) string {
	if len(p) > 512 {
		return p[:512] + "..."
	}
	return p
}

// AuditHandler returns h adding to each record the user and address of
// the request identity in its context, when there is one: for parts that
// log their own decisions into the audit trail (the module policy's
// denials) without knowing who asked.
func AuditHandler(h slog.Handler) slog.Handler { return identityHandler{h} }

type identityHandler struct{ slog.Handler }

func (h identityHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := FromContext(ctx); id != nil {
		r = r.Clone()
		r.AddAttrs(slog.String("user", id.User), slog.String("remote", id.Addr))
	}
	return h.Handler.Handle(ctx, r)
}

func (h identityHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return identityHandler{h.Handler.WithAttrs(attrs)}
}

func (h identityHandler) WithGroup(name string) slog.Handler {
	return identityHandler{h.Handler.WithGroup(name)}
}
