package pull

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
)

// Validators are what the mirror keeps of an upstream's answer to
// revalidate the stored copy of a metadata document (an npm packument, a
// Cargo index file) with a conditional request. Such a document is stored
// as one line of JSON, its Validators, followed by the upstream's body as
// it came: [StoredBody] writes that form, [SplitStored] reads it.
type Validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// URL is where the body came from.
	URL string `json:"url"`
}

// MaxValidatorsLine bounds the line of Validators before a stored body.
const MaxValidatorsLine = 8 << 10

// SplitStored splits a stored document into its Validators and the
// upstream's body. It fails when data has no valid line of Validators.
func SplitStored(data []byte) (Validators, []byte, error) {
	var v Validators
	line, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok || len(line) > MaxValidatorsLine {
		return v, nil, errors.New("stored copy has no header line")
	}
	if err := json.Unmarshal(line, &v); err != nil {
		return v, nil, fmt.Errorf("stored copy's header: %w", err)
	}
	return v, body, nil
}

// Revalidate sets on hdr the conditional request that revalidates prev,
// the stored copy of rawURL given to an [Artifact]'s Fetch: If-None-Match
// with its ETag, else If-Modified-Since with its Last-Modified. A nil
// prev, or the copy of another URL, sets nothing. An upstream's 304 then
// comes back as an error matching [ErrNotModified].
func Revalidate(hdr http.Header, prev io.Reader, rawURL string) {
	if prev == nil {
		return
	}
	line, err := bufio.NewReaderSize(prev, MaxValidatorsLine+1).ReadSlice('\n')
	var old Validators
	if err != nil || json.Unmarshal(line, &old) != nil || old.URL != rawURL {
		return
	}
	if old.ETag != "" {
		hdr.Set("If-None-Match", old.ETag)
	} else if old.LastModified != "" {
		hdr.Set("If-Modified-Since", old.LastModified)
	}
}

// StoredBody returns resp, the answer for rawURL, in the stored form: the
// line of its Validators, then its body. The result announces its size
// (a Size method) when resp's body did, as [HTTPUpstream.Do]'s does.
func StoredBody(resp *http.Response, rawURL string) io.ReadCloser {
	line, _ := json.Marshal(Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), URL: rawURL}) // Strings only: cannot fail.
	line = append(line, '\n')
	b := &storedBody{Reader: io.MultiReader(bytes.NewReader(line), resp.Body), closer: resp.Body, size: -1}
	if s, ok := resp.Body.(interface{ Size() int64 }); ok && s.Size() >= 0 {
		b.size = int64(len(line)) + s.Size()
	}
	return b
}

type storedBody struct {
	io.Reader
	closer io.Closer
	size   int64
}

func (b *storedBody) Close() error { return b.closer.Close() }

// Size returns the length of the stored form, or -1 when unknown.
func (b *storedBody) Size() int64 { return b.size }

// CheckStored returns an [Artifact]'s Check for a document fetched in the
// stored form ([StoredBody]): it reads the downloaded file and calls check
// with the upstream's body.
func CheckStored(check func(ctx context.Context, body []byte) error) func(context.Context, *os.File) error {
	return func(ctx context.Context, f *os.File) error {
		data, err := io.ReadAll(f)
		if err != nil {
			return fmt.Errorf("%w: reading the download: %w", ErrUpstream, err)
		}
		_, body, err := SplitStored(data)
		if err != nil {
			return err
		}
		return check(ctx, body)
	}
}
