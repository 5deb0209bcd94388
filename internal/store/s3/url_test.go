package s3

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/store/storetest"
)

func TestParseURL(t *testing.T) {
	for _, tt := range []struct {
		url                              string
		bucket, prefix, endpoint, region string
	}{
		{"s3://mirror?endpoint=http://127.0.0.1:9000", "mirror", "", "http://127.0.0.1:9000", ""},
		{"s3://mirror/?endpoint=http://127.0.0.1:9000/", "mirror", "", "http://127.0.0.1:9000/", ""},
		{"s3://mirror/go/modules/?endpoint=https://s3.example.com&region=eu-west-1", "mirror", "go/modules/", "https://s3.example.com", "eu-west-1"},
		{"s3://my.mirror-1", "my.mirror-1", "", DefaultEndpoint, ""},
		{"s3://mirror/a?region=us-east-1", "mirror", "a/", DefaultEndpoint, "us-east-1"},
	} {
		t.Run(tt.url, func(t *testing.T) {
			loc, err := parseURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if loc.bucket != tt.bucket || loc.prefix != tt.prefix || loc.endpoint.String() != tt.endpoint || loc.region != tt.region {
				t.Errorf("got bucket %q prefix %q endpoint %q region %q, want %q %q %q %q",
					loc.bucket, loc.prefix, loc.endpoint, loc.region, tt.bucket, tt.prefix, tt.endpoint, tt.region)
			}
		})
	}
}

func TestNewBadURL(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"http://mirror", `scheme is "http"`},
		{"mirror", `scheme is ""`},
		{"s3:mirror", "want s3://BUCKET"},
		{"s3://", "no bucket"},
		{"s3:///prefix", "no bucket"},
		{"s3://Bad_Bucket", `bucket "Bad_Bucket"`},
		{"s3://ab", `bucket "ab"`},
		{"s3://mirror:9000", `bucket "mirror:9000"`},
		{"s3://key:s3cr3t@mirror", "credentials do not belong in the URL"},
		{"s3://mirror/../x", "prefix"},
		{"s3://mirror/a/.tmp", "prefix"},
		{"s3://mirror/a//b", "prefix"},
		{"s3://mirror#x", "fragment"},
		{"s3://mirror?endpoint=ftp://host", `endpoint "ftp://host"`},
		{"s3://mirror?endpoint=127.0.0.1:9000", "endpoint"},
		{"s3://mirror?endpoint=http://", "no host"},
		{"s3://mirror?endpoint=http://:9000", "no host"},
		{"s3://mirror?endpoint=http://host/path", "only a scheme, host and port"},
		{"s3://mirror?endpoint=http://host?x=1", "only a scheme, host and port"},
		{"s3://mirror?endpoint=http://u:s3cr3t@host", "credentials do not belong"},
		{"s3://mirror?endpoint=http://a&endpoint=http://b", `"endpoint" given 2 times`},
		{"s3://mirror?endpiont=http://a", `unknown parameter "endpiont"`},
		{"s3://mirror?access_key=x", `unknown parameter "access_key"`},
		{"s3://mirror?%zz", "query"},
	} {
		t.Run(tt.url, func(t *testing.T) {
			// These fail before any request, so no server is needed.
			_, err := New(t.Context(), tt.url, mapEnv(nil), nil)
			if err == nil {
				t.Fatalf("got no error, want one about %s", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to mention %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q reveals a password", err)
			}
		})
	}
}

func TestResolveCredentials(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "credentials")
	content := "[default]\naws_access_key_id = DEFAULTID\naws_secret_access_key = defaultsecret\n" +
		"[mirror]\naws_access_key_id = MIRRORID\naws_secret_access_key = mirrorsecret\naws_session_token = tok\n" +
		"[empty]\nregion = us-east-1\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte("[default]\naws_access_key_id = HOMEID\naws_secret_access_key = homesecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		desc                 string
		env                  map[string]string
		wantID, wantSecret   string
		wantToken, wantError string
	}{
		{"environment", map[string]string{"AWS_ACCESS_KEY_ID": "ENVID", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "t", "AWS_SHARED_CREDENTIALS_FILE": file}, "ENVID", "envsecret", "t", ""},
		{"old environment names", map[string]string{"AWS_ACCESS_KEY": "ENVID", "AWS_SECRET_KEY": "envsecret"}, "ENVID", "envsecret", "", ""},
		{"only the key id", map[string]string{"AWS_ACCESS_KEY_ID": "ENVID", "AWS_SHARED_CREDENTIALS_FILE": file}, "", "", "", "AWS_SECRET_ACCESS_KEY is not"},
		{"only the secret", map[string]string{"AWS_SECRET_ACCESS_KEY": "envsecret"}, "", "", "", "AWS_ACCESS_KEY_ID is not"},
		{"file default profile", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file}, "DEFAULTID", "defaultsecret", "", ""},
		{"file named profile", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "mirror"}, "MIRRORID", "mirrorsecret", "tok", ""},
		{"file in HOME", map[string]string{"HOME": home}, "HOMEID", "homesecret", "", ""},
		{"missing profile", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "nope"}, "", "", "", `profile "nope" in ` + file},
		{"profile without keys", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "empty"}, "", "", "", `profile "empty"`},
		{"missing file", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "nope")}, "", "", "", filepath.Join(dir, "nope")},
		{"nothing", nil, "", "", "", "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			creds, err := resolveCredentials(mapEnv(tt.env))
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("got %v, want an error mentioning %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v, err := creds.Get()
			if err != nil {
				t.Fatal(err)
			}
			if v.AccessKeyID != tt.wantID || v.SecretAccessKey != tt.wantSecret || v.SessionToken != tt.wantToken {
				t.Errorf("got %q %q %q, want %q %q %q", v.AccessKeyID, v.SecretAccessKey, v.SessionToken, tt.wantID, tt.wantSecret, tt.wantToken)
			}
		})
	}
}

func TestSized(t *testing.T) {
	small := storetest.Content(1, 1000)
	large := storetest.Content(2, partSize+1000)
	f, err := os.CreateTemp(t.TempDir(), "content")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(small); err != nil {
		t.Fatal(err)
	}
	f.Seek(10, io.SeekStart)
	partly := bytes.NewReader(small)
	partly.Seek(20, io.SeekStart)

	for _, tt := range []struct {
		desc     string
		content  io.Reader
		want     []byte
		wantSize int64
	}{
		{"file at an offset", f, small[10:], int64(len(small) - 10)},
		{"partly read bytes.Reader", partly, small[20:], int64(len(small) - 20)},
		{"bytes.Buffer", bytes.NewBuffer(small), small, int64(len(small))},
		{"small stream", struct{ io.Reader }{bytes.NewReader(small)}, small, int64(len(small))},
		{"empty stream", struct{ io.Reader }{strings.NewReader("")}, nil, 0},
		{"stream of exactly one part", struct{ io.Reader }{bytes.NewReader(large[:partSize])}, large[:partSize], partSize},
		{"large stream", struct{ io.Reader }{bytes.NewReader(large)}, large, -1},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			r, size, err := sized(t.Context(), tt.content)
			if err != nil {
				t.Fatal(err)
			}
			if size != tt.wantSize {
				t.Errorf("size: got %d, want %d", size, tt.wantSize)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("content: got %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
}
