// Package authfile edits the credentials file of the container tools, the
// "auths" of containers-auth.json(5) (podman, skopeo, buildah) and of
// Docker's config.json: per registry host, the base64 of user:secret.
package authfile

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Entry is the credentials of one registry, as the file stores them.
type Entry struct {
	Auth string `json:"auth"`
}

// Set returns data with host's credentials set to user and secret, every
// other key and registry kept. It reports whether data changed. Empty
// data is a new file.
func Set(data []byte, host, user, secret string) ([]byte, bool, error) {
	top := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, false, fmt.Errorf("authfile: %w", err)
		}
	}
	auths := map[string]json.RawMessage{}
	if raw, ok := top["auths"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if err := json.Unmarshal(raw, &auths); err != nil {
			return nil, false, fmt.Errorf("authfile: auths: %w", err)
		}
	}
	want := base64.StdEncoding.EncodeToString([]byte(user + ":" + secret))
	if raw, ok := auths[host]; ok {
		var e map[string]any
		if json.Unmarshal(raw, &e) == nil && e["auth"] == want {
			return data, false, nil
		}
	}
	entry, _ := json.Marshal(Entry{Auth: want})
	auths[host] = entry
	rawAuths, err := json.Marshal(auths)
	if err != nil {
		return nil, false, fmt.Errorf("authfile: %w", err)
	}
	top["auths"] = rawAuths
	out, err := json.MarshalIndent(top, "", "\t")
	if err != nil {
		return nil, false, fmt.Errorf("authfile: %w", err)
	}
	return append(out, '\n'), true, nil
}

// Get returns the user and secret stored for host.
func Get(data []byte, host string) (user, secret string, ok bool) {
	var f struct {
		Auths map[string]Entry `json:"auths"`
	}
	if json.Unmarshal(data, &f) != nil {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(f.Auths[host].Auth)
	if err != nil {
		return "", "", false
	}
	u, sec, ok := bytes.Cut(raw, []byte(":"))
	return string(u), string(sec), ok
}
