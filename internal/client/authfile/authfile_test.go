package authfile

import (
	"strings"
	"testing"
)

func TestSet(t *testing.T) {
	in := `{"auths":{"quay.io":{"auth":"eDp5"}},"credHelpers":{"gcr.io":"gcloud"}}`
	out, changed, err := Set([]byte(in), "mirror.example:8443", "alice", "gm_tok")
	if err != nil || !changed {
		t.Fatalf("Set: %v, changed %v", err, changed)
	}
	if u, s, ok := Get(out, "mirror.example:8443"); !ok || u != "alice" || s != "gm_tok" {
		t.Errorf("Get: %q %q %v", u, s, ok)
	}
	for _, keep := range []string{`"quay.io"`, `"eDp5"`, `"credHelpers"`, `"gcloud"`} {
		if !strings.Contains(string(out), keep) {
			t.Errorf("lost %s:\n%s", keep, out)
		}
	}
	again, changed, err := Set(out, "mirror.example:8443", "alice", "gm_tok")
	if err != nil || changed || string(again) != string(out) {
		t.Errorf("Set again: changed %v, %v", changed, err)
	}
	if out, _, err := Set(nil, "m", "u", "s"); err != nil || !strings.Contains(string(out), `"auths"`) {
		t.Errorf("a new file: %s, %v", out, err)
	}
	if _, _, err := Set([]byte("{not json"), "m", "u", "s"); err == nil {
		t.Error("a broken file: got no error")
	}
}
